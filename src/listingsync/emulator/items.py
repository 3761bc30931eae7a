"""What the Listings Items API derives from stored attributes: ASINs, summaries, offers, issues.

Pure functions over :class:`~listingsync.emulator.state.ListingRecord`, kept apart from the HTTP
handlers (``listings.py``) so feeds (emulator-2) can build the same ``Item`` objects for its reports.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from listingsync.emulator import amazon_checks
from listingsync.emulator.state import ListingRecord
from listingsync.schema.issues import Issue, Severity
from listingsync.schema.reference import CODE_MISSING

__all__ = [
    "INCLUDED_DATA",
    "amazon_issue",
    "build_item",
    "deterministic_asin",
    "isoformat",
    "item_status",
    "late_issue_for",
]

INCLUDED_DATA = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)


def isoformat(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def deterministic_asin(seller_id: str, sku: str) -> str:
    """``B0`` + 8 characters from a hash of seller and SKU: the same listing always gets the same ASIN."""
    digest = hashlib.sha256(f"{seller_id}\x00{sku}".encode()).digest()
    return "B0" + base64.b32encode(digest).decode("ascii")[:8]


def _first(attributes: dict[str, Any], name: str, key: str = "value") -> Any:
    values = attributes.get(name)
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0].get(key)
    return None


def amazon_issue(issue: Issue, marketplace_id: str | None = None, lang: str = "en") -> dict[str, Any]:
    """Our :class:`Issue` in the Listings API's ``Issue`` shape (code, message, severity, names, categories).

    90220 is worded in ``lang`` (issueLocale); the schema's other messages are English.
    """
    attribute = issue.attribute
    depth = issue.path.strip("/").count("/")
    message = issue.message if depth == 0 or not issue.path else f"{issue.message} (at {issue.path})"
    if issue.code == CODE_MISSING and depth == 0 and attribute:
        message = amazon_checks.message(CODE_MISSING, lang, attribute=attribute)
    if issue.code == CODE_MISSING:
        categories = ["MISSING_ATTRIBUTE"]
    elif issue.code in (amazon_checks.CODE_INVALID_PRODUCT_TYPE, amazon_checks.CODE_PRODUCT_CREATION):
        categories = []
    else:
        categories = ["INVALID_ATTRIBUTE"]
    out: dict[str, Any] = {
        "code": issue.code,
        "message": message,
        "severity": issue.severity.value,
        "categories": categories,
    }
    if attribute:
        out["attributeNames"] = [attribute]
    if marketplace_id:
        out["marketplaceIds"] = [marketplace_id]
    return out


def late_issue_for(record: ListingRecord, share: float, seed: int) -> list[dict[str, Any]]:
    """The issue Amazon raises after acceptance for a deterministic ``share`` of items, else none.

    Modelled on Amazon's image processing finding (code 18027, INVALID_IMAGE) that only appears once
    the catalogue processed the item; the message text is ours. The roll depends on the main image,
    so sending a new image can clear it, as fixing the image does on Amazon.
    """
    if share <= 0:
        return []
    image = orjson.dumps(record.attributes.get("main_product_image_locator"), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(
        f"{seed}\x00{record.seller_id}\x00{record.marketplace_id}\x00{record.sku}\x00".encode() + image
    ).digest()
    if int.from_bytes(digest[:8], "big") / 2**64 >= share:
        return []
    return [
        {
            "code": "18027",
            "message": "The main image could not be processed: provide a publicly reachable JPEG or PNG "
            "image of at least 1000 pixels on its longest side.",
            "severity": Severity.ERROR.value,
            "attributeNames": ["main_product_image_locator"],
            "categories": ["INVALID_IMAGE"],
            "enforcements": {
                "actions": [{"action": "SEARCH_SUPPRESSED"}],
                "exemption": {"status": "NOT_EXEMPT"},
            },
            "marketplaceIds": [record.marketplace_id],
        }
    ]


def item_status(record: ListingRecord, is_vendor: bool, now: float) -> list[str]:
    """Summary ``status``: DISCOVERABLE unless an ERROR issue suppresses it; BUYABLE with an offer in
    stock, once the offer is processed (``record.buyable_at``: Amazon shows DISCOVERABLE first)."""
    if not record.asin or any(i.get("severity") == "ERROR" for i in record.late_issues):
        return []
    status = ["DISCOVERABLE"]
    # BUYABLE never applies to vendor listings (spapi.md §3.1).
    if not is_vendor and record.requirements != "LISTING_PRODUCT_ONLY":
        quantity = _first(record.attributes, "fulfillment_availability", "quantity")
        in_stock = isinstance(quantity, int) and quantity > 0
        if "purchasable_offer" in record.attributes and in_stock and now >= record.buyable_at:
            status.insert(0, "BUYABLE")
    return status


def _summary(record: ListingRecord, is_vendor: bool, now: float) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "marketplaceId": record.marketplace_id,
        "asin": record.asin,
        "productType": record.product_type,
        "status": item_status(record, is_vendor, now),
        "createdDate": isoformat(record.created),
        "lastUpdatedDate": isoformat(record.updated),
    }
    condition = _first(record.attributes, "condition_type")
    if isinstance(condition, str):
        summary["conditionType"] = condition
    name = _first(record.attributes, "item_name")
    if isinstance(name, str):
        summary["itemName"] = name
    image = _first(record.attributes, "main_product_image_locator", "media_location")
    if isinstance(image, str):
        summary["mainImage"] = {"link": image, "height": 1000, "width": 1000}
    return summary


def _money(currency: Any, amount: Any) -> dict[str, Any]:
    # The model's Decimal is a string ("with no loss of precision").
    return {"currencyCode": str(currency), "amount": f"{amount}"}


def _offers(record: ListingRecord) -> list[dict[str, Any]]:
    offers = []
    for offer in record.attributes.get("purchasable_offer", []) or []:
        if not isinstance(offer, dict):
            continue
        try:
            price = offer["our_price"][0]["schedule"][0]
            amount = price.get("value_with_tax", price.get("value"))
        except (KeyError, IndexError, TypeError, AttributeError):
            continue
        if amount is None:
            continue
        audience = offer.get("audience", "ALL")
        offers.append(
            {
                "marketplaceId": record.marketplace_id,
                "offerType": "B2B" if audience == "B2B" else "B2C",
                "price": _money(offer.get("currency", ""), amount),
                "audience": {
                    "value": audience,
                    "displayName": "Amazon Business (B2B)" if audience == "B2B" else "Sell on Amazon",
                },
            }
        )
    return offers


def _fulfillment(record: ListingRecord) -> list[dict[str, Any]]:
    out = []
    for entry in record.attributes.get("fulfillment_availability", []) or []:
        if isinstance(entry, dict) and "fulfillment_channel_code" in entry:
            item: dict[str, Any] = {"fulfillmentChannelCode": entry["fulfillment_channel_code"]}
            if isinstance(entry.get("quantity"), int):
                item["quantity"] = entry["quantity"]
            out.append(item)
    return out


def _procurement(record: ListingRecord) -> list[dict[str, Any]]:
    out = []
    for entry in record.attributes.get("cost_price", []) or []:
        if isinstance(entry, dict) and "value" in entry:
            out.append({"costPrice": _money(entry.get("currency", ""), entry["value"])})
    return out


def _relationships(record: ListingRecord, siblings: Iterable[ListingRecord]) -> dict[str, Any]:
    relationships: list[dict[str, Any]] = []
    theme = _first(record.attributes, "variation_theme", "name")
    parents = sorted(
        {
            str(r["parent_sku"])
            for r in record.attributes.get("child_parent_sku_relationship", []) or []
            if isinstance(r, dict) and r.get("parent_sku")
        }
    )
    if parents:
        relationships.append({"type": "VARIATION", "parentSkus": parents})
    children = sorted(
        other.sku
        for other in siblings
        if other.sku != record.sku
        and any(
            isinstance(r, dict) and r.get("parent_sku") == record.sku
            for r in other.attributes.get("child_parent_sku_relationship", []) or []
        )
    )
    if children:
        rel: dict[str, Any] = {"type": "VARIATION", "childSkus": children}
        if isinstance(theme, str):
            rel["variationTheme"] = {"attributes": [t.lower() for t in theme.split("/")], "theme": theme}
        relationships.append(rel)
    return {"marketplaceId": record.marketplace_id, "relationships": relationships}


def build_item(
    sku: str,
    records: Sequence[ListingRecord],
    included: Iterable[str],
    *,
    is_vendor: bool,
    now: float,
    siblings: Iterable[ListingRecord] = (),
) -> dict[str, Any]:
    """The Listings API ``Item`` for ``sku`` from its records in the requested marketplaces.

    A record without an ASIN (its creation failed in processing: 8541, 13013, 90220 …) has issues
    but no summary, as Amazon shows such an item."""
    item: dict[str, Any] = {"sku": sku}
    wanted = set(included)
    if "summaries" in wanted:
        item["summaries"] = [_summary(r, is_vendor, now) for r in records if r.asin]
    if "attributes" in wanted:
        merged: dict[str, list[Any]] = {}
        for r in records:
            for name, values in r.attributes.items():
                merged.setdefault(name, []).extend(values if isinstance(values, list) else [values])
        item["attributes"] = merged
    if "issues" in wanted:
        item["issues"] = [issue for r in records for issue in r.late_issues]
    if "offers" in wanted:
        item["offers"] = [o for r in records for o in _offers(r)]
    if "fulfillmentAvailability" in wanted:
        item["fulfillmentAvailability"] = [f for r in records for f in _fulfillment(r)]
    if "procurement" in wanted:
        item["procurement"] = [p for r in records for p in _procurement(r)]
    if "relationships" in wanted:
        sibling_list = list(siblings)
        item["relationships"] = [
            _relationships(r, [s for s in sibling_list if s.marketplace_id == r.marketplace_id])
            for r in records
        ]
    if "productTypes" in wanted:
        item["productTypes"] = [
            {"marketplaceId": r.marketplace_id, "productType": r.product_type} for r in records
        ]
    return item
