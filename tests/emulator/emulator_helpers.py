"""Emulator test helpers: demo credentials, authorised clients, valid listing documents."""

from __future__ import annotations

from typing import Any

import httpx

from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

SELLER = "A3DEMOSELLER01"
VENDOR = "DEMOV"
US = "ATVPDKIKX0DER"
FR = "A13V1IB3VIYZZH"
DE = "A1PA6795UKMFR9"
SELLER_TOKEN = "Atzr|listingsync-demo-seller-na"
VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"


def access_token(server: EmulatorServer, refresh_token: str) -> str:
    response = httpx.post(
        server.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def client_for(server: EmulatorServer, refresh_token: str, region: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.endpoint(region),
        headers={"x-amz-access-token": access_token(server, refresh_token)},
        timeout=10,
    )


def flush(client: httpx.Client) -> None:
    """Let the emulator behind ``client`` (base URL ``<emulator>/<region>``) finish what Amazon
    still has queued, by moving its clock (``/_emulator/processing/flush``), instead of waiting."""
    emulator_url = str(client.base_url).rstrip("/").rsplit("/", 1)[0]
    httpx.post(f"{emulator_url}/_emulator/processing/flush", timeout=60).raise_for_status()


def _text(value: str, marketplace: str, language: str) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": language, "marketplace_id": marketplace}]


def _plain(value: Any, marketplace: str) -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": marketplace}]


def home_us(title: str = "Cozy Throw Blanket, Grey") -> dict[str, Any]:
    """A HOME listing the US schema accepts with requirements LISTING."""
    m, lang = US, "en_US"
    return {
        "item_name": _text(title, m, lang),
        "brand": _text("Acme", m, lang),
        "bullet_point": _text("Soft fleece", m, lang),
        "product_description": _text("A warm blanket", m, lang),
        "item_type_keyword": _plain("throw-blankets", m),
        "country_of_origin": _plain("US", m),
        "supplier_declared_dg_hz_regulation": _plain("not_applicable", m),
        "batteries_required": _plain(False, m),
        "color": _text("Grey", m, lang),
        "condition_type": _plain("new_new", m),
        "externally_assigned_product_identifier": [
            {"type": "ean", "value": "4006381333931", "marketplace_id": m}
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}],
        "generic_keyword": _text("blanket", m, lang),
        "item_package_dimensions": [
            {
                "length": {"value": 12, "unit": "inches"},
                "width": {"value": 8, "unit": "inches"},
                "height": {"value": 4, "unit": "inches"},
                "marketplace_id": m,
            }
        ],
        "item_package_weight": [{"value": 2.5, "unit": "pounds", "marketplace_id": m}],
        "list_price": [{"value": 29.99, "currency": "USD", "marketplace_id": m}],
        "manufacturer": _text("Acme Inc", m, lang),
        "merchant_shipping_group": _plain("legacy-template-id", m),
        "model_name": _text("Cozy", m, lang),
        "model_number": _plain("CZ-1", m),
        "number_of_boxes": _plain(1, m),
        "number_of_items": _plain(1, m),
        "part_number": _plain("CZ-1", m),
        "purchasable_offer": [
            {
                "marketplace_id": m,
                "currency": "USD",
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": 24.99}]}],
            }
        ],
        "required_product_compliance_certificate": _plain("Not Applicable", m),
    }


def home_product_only(marketplace: str, language: str, title: str = "Plaid douillet") -> dict[str, Any]:
    """A HOME listing for a vendor (LISTING_PRODUCT_ONLY) in an EU marketplace."""
    m = marketplace
    return {
        "item_name": _text(title, m, language),
        "brand": _text("Acme", m, language),
        "bullet_point": _text("Polaire douce", m, language),
        "product_description": _text("Un plaid chaud", m, language),
        "country_of_origin": _plain("FR", m),
        "supplier_declared_dg_hz_regulation": _plain("not_applicable", m),
        "recommended_browse_nodes": _plain("1234567", m),
        "accepted_voltage_frequency": _plain("220v_240v_50hz", m),
        "batteries_required": _plain(False, m),
        "color": _text("Gris", m, language),
        "externally_assigned_product_identifier": [
            {"type": "ean", "value": "4006381333931", "marketplace_id": m}
        ],
        "is_fragile": _plain(False, m),
        "item_package_dimensions": [
            {
                "length": {"value": 30, "unit": "centimeters"},
                "width": {"value": 20, "unit": "centimeters"},
                "height": {"value": 10, "unit": "centimeters"},
                "marketplace_id": m,
            }
        ],
        "item_package_weight": [{"value": 1.2, "unit": "kilograms", "marketplace_id": m}],
        "manufacturer": _text("Acme SAS", m, language),
        "model_number": _plain("CZ-1", m),
        "number_of_boxes": _plain(1, m),
        "number_of_items": _plain(1, m),
        "part_number": _plain("CZ-1", m),
        "power_plug_type": _plain("no_plug", m),
        "size": _text("150 x 200 cm", m, language),
    }


def ean13(first12: str) -> str:
    """``first12`` + its GTIN check digit: an EAN the emulator (and Amazon) takes."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)
