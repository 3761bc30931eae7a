"""Amazon's official Python SDK (PyPI ``amzn-sp-api``) runs unchanged against the emulator.

The SDK is pointed at our hosts the way it documents (``SPAPIClient(config, oauth_endpoint=…,
endpoint=…)``); everything else is the SDK's own code: the LWA exchange, request building, and the
deserialisation of every answer into its generated models (which would raise on a shape that breaks
Amazon's model, e.g. an unknown enum value).
"""

from __future__ import annotations

import copy
import gzip
import json
import random
import time
from functools import cache
from typing import Any

import httpx
import pytest

# A hard import: these are acceptance tests (dev dependencies), never silently skipped.
from spapi.api.feeds_v2021_06_30.feeds_api import FeedsApi
from spapi.api.listings_items_v2021_08_01.listings_api import ListingsApi
from spapi.api.product_type_definitions_v2020_09_01.definitions_api import DefinitionsApi
from spapi.auth.credentials import SPAPIConfig
from spapi.client import SPAPIClient
from spapi.models.feeds_v2021_06_30 import (
    CreateFeedDocumentSpecification,
    CreateFeedSpecification,
)
from spapi.models.listings_items_v2021_08_01 import (
    ListingsItemPatchRequest,
    ListingsItemPutRequest,
    PatchOperation,
)
from spapi.rest import ApiException

from listingsync.emulator import EmulatorServer
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

DE = "A1PA6795UKMFR9"


@cache
def _listing() -> dict[str, Any]:
    schema = ProductTypeRegistry().get("HOME", DE)
    assert schema is not None
    return sample_listing(
        derive(schema, "LISTING_PRODUCT_ONLY"), random.Random(42), DE, "de_DE", optional=0.0
    )


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Any:
    config = SPAPIConfig(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        refresh_token="Atzr|listingsync-demo-vendor-eu",
        region="EU",
    )
    return SPAPIClient(config, oauth_endpoint=emulator.lwa_url, endpoint=emulator.endpoint("eu"))


def test_sdk_listings_items_roundtrip(sdk: Any, emulator: EmulatorServer) -> None:
    api = ListingsApi(sdk.api_client)
    attributes = copy.deepcopy(_listing())
    put = api.put_listings_item(
        "DEMOV",
        "SDK-1",
        [DE],
        ListingsItemPutRequest(
            product_type="HOME", requirements="LISTING_PRODUCT_ONLY", attributes=attributes
        ),
    )
    assert put.status == "ACCEPTED" and put.sku == "SDK-1"
    emulator.flush()  # ACCEPTED means queued: Amazon applies the write later
    item = api.get_listings_item("DEMOV", "SDK-1", [DE], included_data=["summaries", "attributes", "issues"])
    assert item.sku == "SDK-1" and item.summaries[0].marketplace_id == DE
    assert item.summaries[0].product_type == "HOME" and item.summaries[0].asin
    title = [{"value": "SDK Titel", "language_tag": "de_DE", "marketplace_id": DE}]
    patched = api.patch_listings_item(
        "DEMOV",
        "SDK-1",
        [DE],
        ListingsItemPatchRequest(
            product_type="HOME",
            patches=[PatchOperation(op="replace", path="/attributes/item_name", value=title)],
        ),
    )
    assert patched.status == "ACCEPTED"
    emulator.flush()
    assert (
        api.get_listings_item("DEMOV", "SDK-1", [DE], included_data=["attributes"]).attributes["item_name"]
        == title
    )
    deleted = api.delete_listings_item("DEMOV", "SDK-1", [DE])
    assert deleted.status == "ACCEPTED"
    emulator.flush()
    with pytest.raises(ApiException) as missing:
        api.get_listings_item("DEMOV", "SDK-1", [DE])
    assert missing.value.status == 404


def test_sdk_vendor_cost_price_is_procurement(sdk: Any, emulator: EmulatorServer) -> None:
    """A vendor's ``cost_price`` is judged by the vendor's schema and shown as procurement.costPrice."""
    api = ListingsApi(sdk.api_client)
    cost = [{"value": 12.5, "currency": "EUR", "marketplace_id": DE}]
    attributes = {**copy.deepcopy(_listing()), "cost_price": cost}
    put = api.put_listings_item(
        "DEMOV",
        "SDK-COST",
        [DE],
        ListingsItemPutRequest(
            product_type="HOME", requirements="LISTING_PRODUCT_ONLY", attributes=attributes
        ),
    )
    assert put.status == "ACCEPTED", put.issues
    emulator.flush()
    item = api.get_listings_item("DEMOV", "SDK-COST", [DE], included_data=["procurement"])
    assert [(p.cost_price.currency_code, p.cost_price.amount) for p in item.procurement] == [("EUR", "12.5")]
    # merge updates the entry with the same selectors (marketplace_id, currency), as for list_price
    raised = [{"value": 13.0, "currency": "EUR", "marketplace_id": DE}]
    patched = api.patch_listings_item(
        "DEMOV",
        "SDK-COST",
        [DE],
        ListingsItemPatchRequest(
            product_type="HOME",
            patches=[PatchOperation(op="merge", path="/attributes/cost_price", value=raised)],
        ),
    )
    assert patched.status == "ACCEPTED", patched.issues
    emulator.flush()
    item = api.get_listings_item("DEMOV", "SDK-COST", [DE], included_data=["procurement"])
    assert [(p.cost_price.currency_code, p.cost_price.amount) for p in item.procurement] == [("EUR", "13.0")]
    # a currency the DE schema does not list, and a cost of 0, are refused where they are
    bad = {**attributes, "cost_price": [{"value": 0, "currency": "USD", "marketplace_id": DE}]}
    refused = api.put_listings_item(
        "DEMOV",
        "SDK-COST-BAD",
        [DE],
        ListingsItemPutRequest(product_type="HOME", requirements="LISTING_PRODUCT_ONLY", attributes=bad),
    )
    assert refused.status == "INVALID"
    messages = [i.message for i in refused.issues if i.attribute_names == ["cost_price"]]
    assert any("/cost_price/0/currency" in m and "USD" in m for m in messages), messages
    assert any("/cost_price/0/value" in m for m in messages), messages


def test_sdk_product_type_definitions(sdk: Any) -> None:
    api = DefinitionsApi(sdk.api_client)
    found = api.search_definitions_product_types([DE], keywords=["HOME"])
    assert [p.name for p in found.product_types] == ["HOME"]
    definition = api.get_definitions_product_type(
        "HOME", [DE], seller_id="DEMOV", requirements="LISTING_PRODUCT_ONLY", locale="de_DE"
    )
    assert definition.product_type == "HOME" and definition.requirements == "LISTING_PRODUCT_ONLY"
    assert definition.marketplace_ids == [DE] and definition.locale == "de_DE"
    assert definition.var_schema.link.verb == "GET"
    schema = httpx.get(definition.var_schema.link.resource).json()
    assert definition.meta_schema.checksum and definition.product_type_version.latest is True
    assert schema["$id"].endswith("/HOME")
    assert "offer" not in definition.property_groups or definition.property_groups["offer"].property_names
    assert "cost_price" in schema["properties"]  # the vendor's schema, asked with its sellerId


def test_sdk_feed_roundtrip(sdk: Any) -> None:
    api = FeedsApi(sdk.api_client)
    content_type = "application/json; charset=UTF-8"
    document = api.create_feed_document(CreateFeedDocumentSpecification(content_type=content_type))
    feed_json = {
        "header": {
            "sellerId": "DEMOV",
            "version": "2.0",
            "report": {"includedData": ["issues"], "apiVersion": "2021-08-01"},
        },
        "messages": [
            {
                "messageId": 1,
                "sku": "SDK-F1",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": copy.deepcopy(_listing()),
            },
            {
                "messageId": 2,
                "sku": "SDK-F2",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": {"item_name": [{"value": "x", "marketplace_id": DE}]},
            },
        ],
    }
    uploaded = httpx.put(
        document.url, content=json.dumps(feed_json).encode(), headers={"content-type": content_type}
    )
    assert uploaded.status_code == 200
    created = api.create_feed(
        CreateFeedSpecification(
            feed_type="JSON_LISTINGS_FEED",
            marketplace_ids=[DE],
            input_feed_document_id=document.feed_document_id,
        )
    )
    deadline = time.monotonic() + 10
    feed = api.get_feed(created.feed_id)
    while feed.processing_status not in ("DONE", "FATAL") and time.monotonic() < deadline:
        time.sleep(0.02)
        feed = api.get_feed(created.feed_id)
    assert feed.processing_status == "DONE" and feed.feed_type == "JSON_LISTINGS_FEED"
    assert feed.created_time is not None and feed.processing_end_time is not None
    listed = api.get_feeds(feed_types=["JSON_LISTINGS_FEED"], page_size=10)
    assert created.feed_id in [f.feed_id for f in listed.feeds]
    result = api.get_feed_document(feed.result_feed_document_id)
    data = httpx.get(result.url).content
    if result.compression_algorithm == "GZIP":
        data = gzip.decompress(data)
    report = json.loads(data)
    assert report["summary"]["messagesAccepted"] == 1 and report["summary"]["messagesInvalid"] == 1
    assert {i["messageId"] for i in report["issues"] if i["severity"] == "ERROR"} == {2}
