"""The vendor's view of a product type schema: what a Vendor Central (1P) account may send.

Amazon serves product type definitions per selling partner (getDefinitionsProductType ``sellerId``)
and a vendor's carry what the vendor sells Amazon, not what a seller offers shoppers:

- ``cost_price``: the price Amazon pays the vendor for the item. getListingsItem returns it as
  ``procurement[].costPrice`` (``ItemProcurement.costPrice``, a ``Money``: "The price (numeric
  value) that you want Amazon to pay you for this product", listingsItems_2021-08-01 model in
  ../shared/spapi/models, also in the listings feed processing report example); vendors sending it
  in LISTING_PRODUCT_ONLY submissions: selling-partner-api-models #5337, selling-partner-api-docs
  #3279 (docs/emulator-fidelity.md).
- no sales terms: ``purchasable_offer`` and ``fulfillment_availability`` belong to sellers; Amazon
  answers a vendor's with 90000900 "The provided value for '<attribute>' is invalid."
  (selling-partner-api-docs #3135 and #2167, selling-partner-api-models #4175).

The bundled schemas (``data/product-types``) are seller schemas without ``cost_price``.
:func:`vendor_view` adds it, shaped like the schema's own ``list_price`` (same selectors, currency
enum and ``marketplace_id``, so a marketplace's currencies are the schema's), with a value above 0;
a schema that declares ``cost_price`` already (one fetched for a vendor ``sellerId``) keeps its own.
It is optional here: in models #5337 a real vendor PATCH without it was refused with 90220 while
VALIDATION_PREVIEW passed, which Amazon has not confirmed as a rule (a submission-only check).
The refused offer attributes stay declared, so a mapping that names them is told they are not sent
instead of failing as unknown, but are required nowhere and forbidden by a ``not: required`` rule
(the connector's validator reports them; the emulator answers them with Amazon's 90000900 itself).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from listingsync.schema.requirements import derive

__all__ = ["COST_PRICE", "VENDOR_REFUSED", "vendor_view"]

COST_PRICE = "cost_price"
#: Seller offer attributes a vendor may not send (sales terms are the vendor's contract with Amazon).
VENDOR_REFUSED: tuple[str, ...] = ("purchasable_offer", "fulfillment_availability")

# Fields of list_price's array node that give cost_price the same shape (one entry per marketplace
# and currency); titles and descriptions are cost_price's own.
_ARRAY_SHAPE = ("type", "minItems", "maxItems", "minUniqueItems", "maxUniqueItems", "selectors")
# A schema object can be a few MB and is asked for per listing: views are kept per source object
# (held, so its id cannot be reused while cached). Enough for every type × marketplace × requirements
# a run uses.
_CAPACITY = 256
_cache: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}
_lock = threading.Lock()


def vendor_view(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as a vendor gets it (a new dict sharing unchanged parts; ``schema`` is not modified).

    Computed once per schema object; a view passed again is returned as is.
    """
    key = id(schema)
    with _lock:
        found = _cache.get(key)
        if found is not None and found[0] is schema:
            return found[1]
    view = _build(schema)
    with _lock:
        while len(_cache) >= _CAPACITY:
            del _cache[next(iter(_cache))]
        _cache[key] = (schema, view)
        _cache[id(view)] = (view, view)
    return view


def _build(schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = dict(schema.get("properties") or {})
    if COST_PRICE not in properties:
        cost = _cost_price(properties.get("list_price"))
        if cost is not None:
            properties[COST_PRICE] = cost
    out = {**schema, "properties": properties}
    refused = [name for name in VENDOR_REFUSED if name in properties]
    if not refused:
        return out
    # Required nowhere: derive() drops "offer group" names from every required list (top level and
    # conditional rules' then/else), which is exactly this with the refused names as the group.
    out = derive(out, "LISTING_PRODUCT_ONLY", offer_group=refused)
    found = out.get("allOf")
    rules: list[Any] = found if isinstance(found, list) else []
    forbid = [{"not": {"required": [name]}} for name in refused]
    out["allOf"] = [*rules, *(rule for rule in forbid if rule not in rules)]  # a view's view is the same
    return out


def _cost_price(list_price: Any) -> dict[str, Any] | None:
    """A ``cost_price`` property shaped like ``list_price``, or None when that cannot be read."""
    if not isinstance(list_price, dict) or not isinstance(list_price.get("items"), dict):
        return None
    entry = list_price["items"]
    fields = entry.get("properties") if isinstance(entry.get("properties"), dict) else {}
    currency = fields.get("currency")
    if not isinstance(currency, dict):
        return None  # without the marketplace's currencies the amount means nothing
    properties: dict[str, Any] = {
        "value": {
            "title": "Cost Price",
            "description": "The price, excluding tax, that you want Amazon to pay you for this product.",
            "editable": True,
            "hidden": False,
            "type": "number",
            "exclusiveMinimum": 0,
        },
        "currency": {
            **currency,
            "title": "Cost Price Currency",
            "description": "The currency of the cost price.",
        },
    }
    required = ["currency", "value"]
    if "marketplace_id" in fields:
        properties["marketplace_id"] = fields["marketplace_id"]
        if "marketplace_id" in (entry.get("required") or []):
            required.append("marketplace_id")
    node = {key: list_price[key] for key in _ARRAY_SHAPE if key in list_price}
    return {
        "title": "Cost Price",
        "description": "Vendors: the price Amazon pays you for this product (shown by getListingsItem "
        "as procurement.costPrice). This is not the list price or an offer price.",
        **node,
        "items": {
            "type": "object",
            "required": required,
            "properties": properties,
            "additionalProperties": False,
        },
    }
