"""Amazon's own catalogue in the emulator: products that exist on Amazon but belong to no account.

A listing whose GTIN (EAN/UPC/GTIN/JAN/ISBN) is one of these products' is *attached* to that
product's ASIN when processed, or gets Amazon's conflict issue 8541 when its brand, title or
product type disagree with the catalogue's (Amazon's wording, as quoted in
selling-partner-api-models issue #4969). An offer-only listing (``LISTING_OFFER_ONLY``) must name
an ASIN that exists (``merchant_suggested_asin``) or carry a matching identifier, else it gets 13013
(selling-partner-api-models issue #5311).

The items come from a built-in set (``emulator/data/catalog.json``, GTINs used nowhere else, so they
only match on purpose) and from ``--catalog FILE`` (JSON or YAML: ``items: [{asin, gtins, brand,
title, product_type, marketplaces}]``). searchCatalogItems and getCatalogItem find them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from listingsync.amazon import marketplaces as mp
from listingsync.errors import ListingSyncError

__all__ = ["CatalogProduct", "SeededCatalog", "gtin_key", "listing_gtins", "load_catalog"]

#: Identifier types that share the GTIN number space (an EAN may equal a zero-padded UPC).
GTIN_TYPES = frozenset({"ean", "upc", "gtin", "jan", "isbn"})


def gtin_key(value: str) -> str | None:
    """The GTIN-14 of a GTIN-family number (so an EAN and its UPC compare equal), None if not digits."""
    digits = value.strip()
    return digits.zfill(14) if digits.isdigit() and len(digits) <= 14 else None


def listing_gtins(attributes: Mapping[str, Any]) -> list[str]:
    """GTIN-14 keys of the GTIN-family identifiers a listing declares."""
    keys = []
    for entry in attributes.get("externally_assigned_product_identifier") or ():
        if isinstance(entry, dict) and str(entry.get("type", "")).lower() in GTIN_TYPES:
            key = gtin_key(str(entry.get("value", "")))
            if key is not None:
                keys.append(key)
    return keys


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """One product of Amazon's catalogue, in the marketplaces it is sold in."""

    asin: str
    gtins: tuple[str, ...]
    brand: str
    title: str
    product_type: str
    marketplace_ids: tuple[str, ...]

    def attributes(self, marketplace_id: str) -> dict[str, Any]:
        """The catalogue's attributes (product facts only: Amazon's catalogue carries no offer)."""
        language = mp.by_id(marketplace_id).language_tag
        text = {"language_tag": language, "marketplace_id": marketplace_id}
        return {
            "item_name": [{"value": self.title, **text}],
            "brand": [{"value": self.brand, **text}],
            "externally_assigned_product_identifier": [
                {"type": "ean", "value": g, "marketplace_id": marketplace_id} for g in self.gtins
            ],
        }


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _first(attributes: Mapping[str, Any], name: str) -> str | None:
    for entry in attributes.get(name) or ():
        if isinstance(entry, dict) and entry.get("value") not in (None, ""):
            return str(entry["value"])
    return None


class SeededCatalog:
    """The seeded products, indexed by ASIN and by GTIN-14, per marketplace."""

    def __init__(self, products: Iterable[CatalogProduct]) -> None:
        self.products = list(products)
        self._by_asin: dict[str, CatalogProduct] = {p.asin: p for p in self.products}
        self._by_gtin: dict[str, CatalogProduct] = {}
        for product in self.products:
            for gtin in product.gtins:
                key = gtin_key(gtin)
                if key is not None:
                    self._by_gtin[key] = product

    def get(self, asin: str, marketplace_id: str) -> CatalogProduct | None:
        product = self._by_asin.get(asin)
        return product if product is not None and marketplace_id in product.marketplace_ids else None

    def by_gtins(self, keys: Sequence[str], marketplace_id: str) -> CatalogProduct | None:
        for key in keys:
            product = self._by_gtin.get(key)
            if product is not None and marketplace_id in product.marketplace_ids:
                return product
        return None

    def in_marketplace(self, marketplace_id: str) -> list[CatalogProduct]:
        return [p for p in self.products if marketplace_id in p.marketplace_ids]

    @staticmethod
    def conflicts(
        product: CatalogProduct, product_type: str, attributes: Mapping[str, Any]
    ) -> list[tuple[str, str, str]]:
        """(attribute, seller's value, Amazon's value) for each fact that contradicts the catalogue.

        Brand and product type must match (case and spacing aside); a title conflicts when neither
        title contains the other, so a seller may add words but not describe another product.
        """
        found = []
        brand = _first(attributes, "brand")
        if brand is not None and _norm(brand) != _norm(product.brand):
            found.append(("brand", brand, product.brand))
        title = _first(attributes, "item_name")
        if (
            title is not None
            and _norm(product.title) not in _norm(title)
            and _norm(title) not in _norm(product.title)
        ):
            found.append(("item_name", title, product.title))
        if product_type not in ("PRODUCT", product.product_type):
            found.append(("product_type", product_type, product.product_type))
        return found


def _builtin() -> list[dict[str, Any]]:
    text = resources.files("listingsync.emulator").joinpath("data/catalog.json").read_text("utf-8")
    items: list[dict[str, Any]] = json.loads(text)["items"]
    return items


def load_catalog(path: Path | None) -> SeededCatalog:
    """The built-in products plus those of ``path`` (errors name the file and the entry)."""
    entries = [(e, "built-in catalogue") for e in _builtin()]
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ListingSyncError(
                f"cannot read the catalogue file: {exc}",
                where=str(path),
                fix="pass a JSON or YAML file with `items: [{asin, gtins, brand, title, product_type}]`",
            ) from None
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ListingSyncError(
                "the catalogue file holds no `items` list",
                where=str(path),
                fix="write `items:` followed by a list of {asin, gtins, brand, title, product_type}",
            )
        entries += [(e, f"{path}: items[{i}]") for i, e in enumerate(items)]
    return SeededCatalog(_product(entry, where) for entry, where in entries)


def _product(entry: Any, where: str) -> CatalogProduct:
    if not isinstance(entry, dict):
        raise ListingSyncError("a catalogue item must be a mapping", where=where)
    missing = [k for k in ("asin", "gtins", "brand", "title", "product_type") if not entry.get(k)]
    if missing:
        raise ListingSyncError(f"missing key(s) {', '.join(missing)}", where=where)
    asin = str(entry["asin"])
    if len(asin) != 10 or not asin.isalnum():
        raise ListingSyncError(f"ASIN {asin!r} is not 10 letters and digits", where=f"{where}.asin")
    gtins = entry["gtins"] if isinstance(entry["gtins"], list) else [entry["gtins"]]
    for gtin in gtins:
        if gtin_key(str(gtin)) is None:
            raise ListingSyncError(f"GTIN {gtin!r} is not 8 to 14 digits", where=f"{where}.gtins")
    countries = entry.get("marketplaces") or [m.country for m in mp.MARKETPLACES]
    try:
        ids = tuple(mp.get(str(c)).marketplace_id for c in countries)
    except mp.UnknownMarketplaceError as exc:
        raise ListingSyncError(str(exc), where=f"{where}.marketplaces") from None
    return CatalogProduct(
        asin=asin,
        gtins=tuple(str(g) for g in gtins),
        brand=str(entry["brand"]),
        title=str(entry["title"]),
        product_type=str(entry["product_type"]),
        marketplace_ids=ids,
    )
