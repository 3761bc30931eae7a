"""Mapping test helpers: configs from YAML text, hand-made products."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from listingsync.catalog.model import Origin, Product
from listingsync.config import Config, parse_config

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "listingsync" / "data" / "sample"
US = "ATVPDKIKX0DER"
FR = "A13V1IB3VIYZZH"
DE = "A1PA6795UKMFR9"


def config(listings: str = "", *, seller: bool = True, marketplaces: str = "[US]") -> Config:
    account = (
        f"account: {{type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: {marketplaces}}}\n"
        if seller
        else f"account: {{type: vendor, selling_partner_id: DEMOV, marketplaces: {marketplaces}}}\n"
    )
    return parse_config(account + "listings:\n" + listings)


def product(sku: str = "SKU-1", **kwargs: Any) -> Product:
    fields = kwargs.pop("fields", {})
    return Product(sku=sku, origin=Origin("products.csv", 2), fields=fields, **kwargs)


def home_fields(**extra: Any) -> dict[str, Any]:
    return {
        "brand": "Acme",
        "price": "19.90",
        "quantity": "12",
        "handling_time": "2",
        "ean": "4006381333931",
        **extra,
    }
