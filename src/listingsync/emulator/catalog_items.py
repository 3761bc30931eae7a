"""Catalog Items API 2022-04-01: ``searchCatalogItems`` and ``getCatalogItem`` over Amazon's catalogue.

The emulator's Amazon catalogue is its seeded products (``amazon_catalog``) plus what its listings
say: every processed listing (any selling partner) contributes an item under its ASIN in its
marketplace, with the identifiers it declared
in ``externally_assigned_product_identifier``. So a connector can match EAN/UPC/GTIN → ASIN the way
it would against Amazon (spapi.md §7): 20 identifiers per call, ``identifiersType`` required with
``identifiers``, ``keywords`` never mixed with ``identifiers``, one marketplace, pages of ≤ 20 and
at most 1,000 results paged through. Responses follow the model's ``ItemSearchResults`` / ``Item``.

Identifier matching treats the GTIN family (EAN, UPC, GTIN, JAN, ISBN-13) as one number space:
``0887276302195`` (EAN) finds the item whose UPC is ``887276302195``, as Amazon's own example
shows (its item lists the same number as EAN, GTIN and UPC).

Catalogue data is product data only: offer attributes (price, quantity, cost …, ``OFFER_ATTRIBUTES``)
of whichever account's listing describes the item never appear in ``attributes``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.amazon import marketplaces as mp
from listingsync.emulator.amazon_catalog import CatalogProduct, SeededCatalog
from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.errors import bad_request, not_found
from listingsync.emulator.state import ListingRecord

__all__ = ["INCLUDED_DATA", "CatalogItem", "catalog_items", "render_item", "routes"]

INCLUDED_DATA: Final = (
    "attributes",
    "classifications",
    "dimensions",
    "identifiers",
    "images",
    "productTypes",
    "relationships",
    "salesRanks",
    "summaries",
    "vendorDetails",
)
IDENTIFIER_TYPES: Final = ("ASIN", "EAN", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")
_GTIN_FAMILY: Final = frozenset({"EAN", "GTIN", "UPC", "JAN", "ISBN"})
MAX_IDENTIFIERS: Final = 20
MAX_PAGE_SIZE: Final = 20
#: "At most 1000 results can be paged through" (model, searchCatalogItems).
MAX_RESULTS: Final = 1000

_IMAGE_VARIANTS: Final = (
    ("main_product_image_locator", "MAIN"),
    *((f"other_product_image_locator_{i}", f"PT0{i}") for i in range(1, 9)),
    ("swatch_product_image_locator", "SWCH"),
)
#: The emulator never downloads images; Amazon reports their pixel size, so a nominal one is shown.
_NOMINAL_IMAGE_SIZE: Final = 1000


# -- the catalogue view of the listings --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One ASIN in one marketplace, as the listings that carry it describe it."""

    asin: str
    marketplace_id: str
    listings: tuple[ListingRecord, ...]  # newest first

    @property
    def main(self) -> ListingRecord:
        return self.listings[0]

    def identifiers(self) -> list[tuple[str, str]]:
        """(identifierType, identifier) pairs, deduplicated, GTIN-family numbers also as GTIN-14."""
        seen: dict[tuple[str, str], None] = {}
        for record in self.listings:
            for entry in _values(record.attributes, "externally_assigned_product_identifier"):
                kind = str(entry.get("type", "")).upper()
                value = str(entry.get("value", "")).strip()
                if not kind or not value:
                    continue
                seen[(kind, value)] = None
                if kind in _GTIN_FAMILY and value.isdigit() and len(value) <= 14:
                    seen[("GTIN", value.zfill(14))] = None
        return list(seen)


def _values(
    attributes: Mapping[str, Any], name: str, marketplace_id: str | None = None
) -> list[dict[str, Any]]:
    """The attribute's entries (objects), those of ``marketplace_id`` or with no marketplace first."""
    entries = [e for e in attributes.get(name) or () if isinstance(e, dict)]
    if marketplace_id is None:
        return entries
    return [e for e in entries if e.get("marketplace_id") in (None, marketplace_id)]


def _first(attributes: Mapping[str, Any], name: str, marketplace_id: str) -> Any:
    entries = _values(attributes, name, marketplace_id)
    return entries[0].get("value") if entries else None


#: Offer and account data: part of a selling partner's listing, never of Amazon's catalogue
#: (issue 14 item 16: another seller's price and quantity must not leak through getCatalogItem).
OFFER_ATTRIBUTES: Final = frozenset(
    {
        "purchasable_offer",
        "fulfillment_availability",
        "cost_price",
        "list_price",
        "uvp_list_price",
        "map_policy",
        "merchant_shipping_group",
        "merchant_release_date",
        "merchant_suggested_asin",
        "condition_type",
        "condition_note",
        "max_order_quantity",
        "skip_offer",
        "product_tax_code",
        "gift_options",
        "main_offer_image_locator",
        *(f"other_offer_image_locator_{i}" for i in range(1, 6)),
    }
)


def _seeded(product: CatalogProduct, marketplace_id: str) -> ListingRecord:
    """A seeded catalogue product as a record of no account; newest of all, so its facts win."""
    return ListingRecord(
        seller_id="",
        sku="",
        marketplace_id=marketplace_id,
        product_type=product.product_type,
        requirements="LISTING_PRODUCT_ONLY",
        attributes=product.attributes(marketplace_id),
        asin=product.asin,
        created=0.0,
        updated=float("inf"),
    )


def catalog_items(
    records: Iterable[ListingRecord], marketplace_id: str, seeded: SeededCatalog | None = None
) -> dict[str, CatalogItem]:
    """ASIN → item, from Amazon's seeded products and every listing of ``marketplace_id`` (all
    selling partners) that processing gave an ASIN."""
    grouped: dict[str, list[ListingRecord]] = {}
    for product in seeded.in_marketplace(marketplace_id) if seeded is not None else ():
        grouped[product.asin] = [_seeded(product, marketplace_id)]
    for record in records:
        if record.marketplace_id == marketplace_id and record.asin:
            grouped.setdefault(record.asin, []).append(record)
    return {
        asin: CatalogItem(asin, marketplace_id, tuple(sorted(group, key=lambda r: -r.updated)))
        for asin, group in sorted(grouped.items())
    }


def _gtin_key(value: str) -> str | None:
    digits = value.strip()
    return digits.lstrip("0") or "0" if digits.isdigit() else None


def _matches(item: CatalogItem, kind: str, wanted: set[str], seller_id: str | None) -> bool:
    if kind == "ASIN":
        return item.asin in wanted
    if kind == "SKU":
        return any(r.sku in wanted and r.seller_id == seller_id for r in item.listings)
    pairs = item.identifiers()
    if kind in _GTIN_FAMILY:
        keys = {k for w in wanted if (k := _gtin_key(w)) is not None}
        own = {k for t, v in pairs if t in _GTIN_FAMILY and (k := _gtin_key(v)) is not None}
        if keys & own:
            return True
    return any(t == kind and v in wanted for t, v in pairs)


def _keyword_match(item: CatalogItem, words: Sequence[str]) -> bool:
    text = " ".join(
        str(_first(r.attributes, name, item.marketplace_id) or "")
        for r in item.listings
        for name in ("item_name", "brand", "generic_keyword", "model_name")
    ).lower()
    return all(w.lower() in text for w in words)


# -- rendering ---------------------------------------------------------------------------------------


def _summary(item: CatalogItem) -> dict[str, Any]:
    attrs, mid = item.main.attributes, item.marketplace_id
    summary: dict[str, Any] = {"marketplaceId": mid}
    for key, name in (
        ("brand", "brand"),
        ("color", "color"),
        ("itemName", "item_name"),
        ("manufacturer", "manufacturer"),
        ("modelNumber", "model_number"),
        ("partNumber", "part_number"),
        ("size", "size"),
        ("style", "style"),
    ):
        value = _first(attrs, name, mid)
        if value is not None:
            summary[key] = str(value)
    parentage = _first(attrs, "parentage_level", mid)
    summary["itemClassification"] = "VARIATION_PARENT" if parentage == "parent" else "BASE_PRODUCT"
    quantity = _first(attrs, "item_package_quantity", mid)
    if isinstance(quantity, int) and not isinstance(quantity, bool):
        summary["packageQuantity"] = quantity
    return summary


def _images(item: CatalogItem) -> list[dict[str, Any]]:
    images = []
    for name, variant in _IMAGE_VARIANTS:
        for entry in _values(item.main.attributes, name, item.marketplace_id)[:1]:
            link = entry.get("media_location")
            if isinstance(link, str) and link:
                images.append(
                    {
                        "variant": variant,
                        "link": link,
                        "height": _NOMINAL_IMAGE_SIZE,
                        "width": _NOMINAL_IMAGE_SIZE,
                    }
                )
    return images


def _dimension(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    value = entry.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        out: dict[str, Any] = {"value": value}
        if isinstance(entry.get("unit"), str):
            out["unit"] = entry["unit"]
        return out
    return None


def _dimensions(attrs: Mapping[str, Any], mid: str, box: str, weight: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in _values(attrs, box, mid)[:1]:
        for side in ("height", "length", "width"):
            part = entry.get(side)
            if isinstance(part, dict) and (dim := _dimension(part)) is not None:
                out[side] = dim
    for entry in _values(attrs, weight, mid)[:1]:
        if (dim := _dimension(entry)) is not None:
            out["weight"] = dim
    return out


def _relationships(item: CatalogItem, all_items: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    """VARIATION links through ``child_parent_sku_relationship`` (parent SKU → its ASIN)."""
    record, mid = item.main, item.marketplace_id
    relationships: list[dict[str, Any]] = []
    parents = sorted(
        {
            asin
            for e in _values(record.attributes, "child_parent_sku_relationship", mid)
            if (asin := all_items.get((record.seller_id, str(e.get("parent_sku", ""))))) is not None
        }
    )
    theme_name: str | None = None
    for entry in _values(record.attributes, "variation_theme", mid)[:1]:
        if isinstance(entry.get("name"), str):
            theme_name = entry["name"]
    if parents:
        relation: dict[str, Any] = {"type": "VARIATION", "parentAsins": parents}
        if theme_name:
            relation["variationTheme"] = {"theme": theme_name, "attributes": theme_name.lower().split("/")}
        relationships.append(relation)
    return relationships


def render_item(
    item: CatalogItem,
    included: Sequence[str],
    *,
    parents: Mapping[tuple[str, str], str] | None = None,
    vendor: bool = False,
) -> dict[str, Any]:
    """The model's ``Item`` with the ``includedData`` sets asked for."""
    mid, attrs = item.marketplace_id, item.main.attributes
    out: dict[str, Any] = {"asin": item.asin}
    if "attributes" in included:
        out["attributes"] = {k: v for k, v in attrs.items() if k not in OFFER_ATTRIBUTES}
    if "classifications" in included:
        # Browse node names are not in the listings; Amazon may also return an empty list.
        out["classifications"] = [{"marketplaceId": mid, "classifications": []}]
    if "dimensions" in included:
        dims: dict[str, Any] = {"marketplaceId": mid}
        item_dims = _dimensions(attrs, mid, "item_dimensions", "item_weight")
        package = _dimensions(attrs, mid, "item_package_dimensions", "item_package_weight")
        if item_dims:
            dims["item"] = item_dims
        if package:
            dims["package"] = package
        out["dimensions"] = [dims]
    if "identifiers" in included:
        out["identifiers"] = [
            {
                "marketplaceId": mid,
                "identifiers": [{"identifierType": t, "identifier": v} for t, v in item.identifiers()],
            }
        ]
    if "images" in included:
        out["images"] = [{"marketplaceId": mid, "images": _images(item)}]
    if "productTypes" in included:
        out["productTypes"] = [{"marketplaceId": mid, "productType": item.main.product_type}]
    if "relationships" in included:
        out["relationships"] = [{"marketplaceId": mid, "relationships": _relationships(item, parents or {})}]
    if "salesRanks" in included:
        # Nothing sells in the emulator: no ranks, as Amazon shows for a new ASIN.
        out["salesRanks"] = [{"marketplaceId": mid, "classificationRanks": [], "displayGroupRanks": []}]
    if "summaries" in included:
        out["summaries"] = [_summary(item)]
    if "vendorDetails" in included and vendor:
        # "Vendor details are only available to vendors" (model).
        out["vendorDetails"] = [{"marketplaceId": mid}]
    return out


# -- request parsing ---------------------------------------------------------------------------------


def _csv(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(","))
    return [v for v in values if v]


def _marketplace(request: Request, *, single: bool) -> str:
    ids = _csv(request, "marketplaceIds")
    if not ids:
        raise bad_request(
            "Missing required parameter 'marketplaceIds'.",
            "Pass the marketplace to search, e.g. marketplaceIds=ATVPDKIKX0DER.",
        )
    if single and len(ids) > 1:
        raise bad_request(
            f"Only one marketplace may be searched at a time; got {len(ids)} in 'marketplaceIds'.",
            "searchCatalogItems takes at most 1 marketplaceIds value.",
        )
    for mid in ids:
        if not mp.is_amazon_marketplace(mid):
            raise bad_request(f"Invalid marketplace identifier '{mid}' in 'marketplaceIds'.")
    return ids[0]


def _included(request: Request) -> list[str]:
    included = _csv(request, "includedData") or ["summaries"]
    unknown = [v for v in included if v not in INCLUDED_DATA]
    if unknown:
        raise bad_request(
            f"Invalid value(s) {', '.join(map(repr, unknown))} for 'includedData'.",
            f"Allowed: {', '.join(INCLUDED_DATA)}.",
        )
    return included


def _page_size(request: Request) -> int:
    raw = request.query_params.get("pageSize")
    if raw is None or raw == "":
        return 10
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"'pageSize' must be an integer, not {raw!r}.") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"'pageSize' must be between 1 and {MAX_PAGE_SIZE}; got {size}.")
    return size


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"catalog:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, offset = text.partition(":")
        if prefix != "catalog":
            raise ValueError(token)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request(
            "Invalid 'pageToken'.", "Pass a pageToken exactly as a previous response gave it."
        ) from None


def _search_params(request: Request) -> tuple[str | None, list[str], list[str]]:
    """(identifiersType, identifiers, keywords), with the model's combination rules enforced."""
    identifiers = _csv(request, "identifiers")
    keywords = _csv(request, "keywords")
    kind = request.query_params.get("identifiersType")
    if identifiers and keywords:
        raise bad_request("Cannot use 'keywords' together with 'identifiers'.")
    if not identifiers and not keywords:
        raise bad_request("Either 'identifiers' or 'keywords' is required.")
    if identifiers:
        if len(identifiers) > MAX_IDENTIFIERS:
            raise bad_request(
                f"At most {MAX_IDENTIFIERS} values may be given in 'identifiers'; got {len(identifiers)}."
            )
        if not kind:
            raise bad_request("'identifiersType' is required when 'identifiers' is given.")
        if kind not in IDENTIFIER_TYPES:
            raise bad_request(
                f"Invalid 'identifiersType' {kind!r}.", f"Allowed: {', '.join(IDENTIFIER_TYPES)}."
            )
    if len(keywords) > MAX_IDENTIFIERS:
        raise bad_request(
            f"At most {MAX_IDENTIFIERS} values may be given in 'keywords'; got {len(keywords)}."
        )
    for name in ("brandNames", "classificationIds"):
        if identifiers and _csv(request, name):
            raise bad_request(f"Cannot use '{name}' together with 'identifiers'.")
    return kind, identifiers, keywords


# -- routes ------------------------------------------------------------------------------------------


def _parents(records: Iterable[ListingRecord], marketplace_id: str) -> dict[tuple[str, str], str]:
    return {(r.seller_id, r.sku): r.asin for r in records if r.marketplace_id == marketplace_id and r.asin}


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    async def search(request: Request) -> Response:
        caller = ctx.guard(request, "searchCatalogItems")
        marketplace_id = _marketplace(request, single=True)
        included = _included(request)
        kind, identifiers, keywords = _search_params(request)
        seller_id = request.query_params.get("sellerId")
        if kind == "SKU":
            if not seller_id:
                raise bad_request("'sellerId' is required when 'identifiersType' is SKU.")
            if seller_id != caller.seller_id:
                raise bad_request(f"Invalid 'sellerId' {seller_id!r} for this authorization.")
        size = _page_size(request)
        token = request.query_params.get("pageToken")
        offset = _decode_token(token) if token else 0
        with ctx.state.lock:
            records = list(ctx.state.listings.values())
        items = catalog_items(records, marketplace_id, ctx.catalog)
        if identifiers and kind is not None:
            wanted = set(identifiers)
            found = [i for i in items.values() if _matches(i, kind, wanted, seller_id)]
        else:
            found = [i for i in items.values() if _keyword_match(i, keywords)]
        found = found[:MAX_RESULTS]
        page = found[offset : offset + size]
        parents = _parents(records, marketplace_id)
        body: dict[str, Any] = {
            "numberOfResults": len(found),
            "pagination": {},
            "items": [
                render_item(i, included, parents=parents, vendor=caller.account.is_vendor) for i in page
            ],
        }
        if offset + size < len(found):
            body["pagination"]["nextToken"] = _encode_token(offset + size)
        if offset > 0:
            body["pagination"]["previousToken"] = _encode_token(max(0, offset - size))
        if keywords:
            brands: dict[str, int] = {}
            for item in found:
                brand = _first(item.main.attributes, "brand", marketplace_id)
                if brand:
                    brands[str(brand)] = brands.get(str(brand), 0) + 1
            body["refinements"] = {
                "brands": [{"numberOfResults": n, "brandName": b} for b, n in sorted(brands.items())],
                "classifications": [],
            }
        return ctx.respond(request, body)

    async def get_item(request: Request) -> Response:
        caller = ctx.guard(request, "getCatalogItem")
        asin = request.path_params["asin"]
        marketplace_id = _marketplace(request, single=False)
        included = _included(request)
        with ctx.state.lock:
            records = list(ctx.state.listings.values())
        item = catalog_items(records, marketplace_id, ctx.catalog).get(asin)
        if item is None:
            raise not_found(f"Requested item '{asin}' not found in marketplace(s) [{marketplace_id}].")
        body = render_item(
            item, included, parents=_parents(records, marketplace_id), vendor=caller.account.is_vendor
        )
        return ctx.respond(request, body)

    async def no_asin(request: Request) -> Response:
        ctx.guard(request, "getCatalogItem")
        raise bad_request("Missing required path parameter 'asin'.", "Call /catalog/2022-04-01/items/{asin}.")

    return [
        Route("/catalog/2022-04-01/items", search, methods=["GET"]),
        Route("/catalog/2022-04-01/items/", no_asin, methods=["GET"]),
        Route("/catalog/2022-04-01/items/{asin}", get_item, methods=["GET"]),
    ]
