"""The vendor's view of a product type schema (``schema/vendor.py``): cost_price declared as the
schema's own list_price is shaped, seller offers forbidden, the seller schema untouched."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from listingsync.schema import ProductTypeSchema
from listingsync.schema.reference import META_SCHEMA_ID, ReferenceValidator
from listingsync.schema.requirements import derive
from listingsync.schema.validator import Validator
from listingsync.schema.vendor import COST_PRICE, VENDOR_REFUSED, vendor_view

US, FR = "ATVPDKIKX0DER", "A13V1IB3VIYZZH"


def _schema(product_type: str, marketplace_id: str) -> dict[str, Any]:
    return ProductTypeSchema.bundled(product_type, marketplace_id).schema


@pytest.mark.parametrize(("product_type", "marketplace_id"), [("HOME", US), ("HOME", FR), ("PRODUCT", US)])
def test_cost_price_takes_the_shape_and_currencies_of_list_price(
    product_type: str, marketplace_id: str
) -> None:
    schema = _schema(product_type, marketplace_id)
    assert COST_PRICE not in schema["properties"]  # the bundled schemas are sellers'
    list_price = schema["properties"]["list_price"]
    cost = vendor_view(schema)["properties"][COST_PRICE]
    assert cost["selectors"] == list_price["selectors"] and cost["type"] == "array"
    assert cost["maxUniqueItems"] == list_price["maxUniqueItems"]
    fields = cost["items"]["properties"]
    own = list_price["items"]["properties"]
    assert fields["currency"]["enum"] == own["currency"]["enum"]
    assert fields["marketplace_id"] == own["marketplace_id"]
    assert fields["value"]["type"] == "number" and fields["value"]["exclusiveMinimum"] == 0
    assert {"currency", "value"} <= set(cost["items"]["required"])
    assert cost["items"]["additionalProperties"] is False


def test_the_view_validates_cost_price_and_forbids_offers() -> None:
    schema = derive(_schema("HOME", FR), "LISTING_PRODUCT_ONLY")
    view = Validator(vendor_view(schema))
    good = [{"value": 12.5, "currency": "EUR", "marketplace_id": FR}]
    assert [i for i in view.issues({COST_PRICE: good}) if i.attribute == COST_PRICE] == []
    bad = [{"value": 0, "currency": "USD", "marketplace_id": FR, "amount": 1}]
    paths = {i.path for i in view.issues({COST_PRICE: bad}) if i.attribute == COST_PRICE}
    assert paths == {"/cost_price/0/value", "/cost_price/0/currency", "/cost_price/0/amount"}
    offer = {"purchasable_offer": [{"currency": "EUR", "marketplace_id": FR}]}
    refused = [i for i in view.issues(offer) if i.attribute == "purchasable_offer"]
    assert [(i.path, i.code) for i in refused] == [("/purchasable_offer", "LS-NOT-ALLOWED")]
    # the seller's schema takes the offer and knows no cost price
    seller = [i for i in Validator(schema).issues({**offer, COST_PRICE: good}) if i.severity.value == "ERROR"]
    assert {(i.attribute, i.code) for i in seller if i.attribute in (COST_PRICE, "purchasable_offer")} == {
        (COST_PRICE, "LS-UNKNOWN-ATTRIBUTE")
    }


def test_offers_are_required_nowhere_for_vendors() -> None:
    """Even a LISTING schema that demands the offer (here: made to) asks a vendor for none."""
    schema = copy.deepcopy(_schema("HOME", US))
    schema["required"] = [*schema["required"], *VENDOR_REFUSED]
    schema["allOf"].append(
        {"if": {"required": ["item_name"]}, "then": {"required": ["fulfillment_availability"]}}
    )
    view = vendor_view(schema)
    assert not set(VENDOR_REFUSED) & set(view["required"])
    missing = {i.attribute for i in ReferenceValidator(view).issues({}) if i.code == "90220"}
    assert missing and not set(VENDOR_REFUSED) & missing
    assert set(VENDOR_REFUSED) <= set(view["properties"])  # still declared: a mapping naming one is warned


def test_the_source_schema_is_not_changed_and_views_are_cached() -> None:
    schema = _schema("HOME", US)
    before = copy.deepcopy(schema)
    view = vendor_view(schema)
    assert schema == before
    assert vendor_view(schema) is view  # once per schema object, not per listing
    assert vendor_view(view) is view  # a view is already a vendor's
    again = vendor_view(copy.deepcopy(view))
    assert again == view  # and rebuilt from a copy, nothing is added twice


def test_a_vendor_schema_keeps_its_own_cost_price() -> None:
    schema = copy.deepcopy(_schema("HOME", US))
    own = {"type": "array", "items": {"type": "object", "properties": {"value": {"type": "number"}}}}
    schema["properties"][COST_PRICE] = own
    assert vendor_view(schema)["properties"][COST_PRICE] is own


def test_no_cost_price_without_a_list_price_to_copy() -> None:
    schema = copy.deepcopy(_schema("HOME", US))
    del schema["properties"]["list_price"]
    assert COST_PRICE not in vendor_view(schema)["properties"]


@pytest.mark.parametrize(("product_type", "marketplace_id"), [("HOME", US), ("HOME", FR), ("PRODUCT", US)])
def test_the_view_is_a_valid_product_type_schema(product_type: str, marketplace_id: str) -> None:
    meta = ReferenceValidator({"$ref": META_SCHEMA_ID})
    assert meta.issues(vendor_view(_schema(product_type, marketplace_id))) == []
