"""Catalog Items 2022-04-01 against the running emulator: EAN/UPC/GTIN → ASIN over known listings."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
from emulator_helpers import ean13, flush

from listingsync.emulator import EmulatorServer
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

DE = "A1PA6795UKMFR9"
ITEMS = "/catalog/2022-04-01/items"


@pytest.fixture
def vendor(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    answer = httpx.post(
        emulator.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|listingsync-demo-vendor-eu",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    token = answer.json()["access_token"]
    with httpx.Client(base_url=emulator.endpoint("eu"), headers={"x-amz-access-token": token}) as client:
        yield client


@cache
def _sample(seed: int) -> dict[str, Any]:
    schema = ProductTypeRegistry().get("HOME", DE)
    assert schema is not None
    return sample_listing(
        derive(schema, "LISTING_PRODUCT_ONLY"), random.Random(seed), DE, "de_DE", optional=0.0
    )


def put(client: httpx.Client, sku: str, ean: str | None, seed: int, **extra: Any) -> None:
    attributes = copy.deepcopy(_sample(seed))
    attributes.pop("merchant_suggested_asin", None)
    attributes.pop("merchant_release_date", None)  # date vs date-time: validators disagree on it
    if ean is None:
        attributes.pop("externally_assigned_product_identifier", None)
        attributes["supplier_declared_has_product_identifier_exemption"] = [
            {"value": True, "marketplace_id": DE}
        ]
    else:
        attributes["externally_assigned_product_identifier"] = [
            {"type": "ean", "value": ean, "marketplace_id": DE}
        ]
    attributes.update(extra)
    answer = client.put(
        f"/listings/2021-08-01/items/DEMOV/{sku}",
        params={"marketplaceIds": DE},
        json={"productType": "HOME", "requirements": "LISTING_PRODUCT_ONLY", "attributes": attributes},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "ACCEPTED", answer.text
    flush(client)  # Amazon matches and lists it when it processes the write


def asin_of(client: httpx.Client, sku: str) -> str:
    item = client.get(f"/listings/2021-08-01/items/DEMOV/{sku}", params={"marketplaceIds": DE}).json()
    return str(item["summaries"][0]["asin"])


def test_search_by_ean_upc_and_gtin_finds_the_asin(vendor: httpx.Client) -> None:
    put(vendor, "CAT-1", "0887276302195", 11)
    put(vendor, "CAT-2", "4006381333931", 12)
    asin = asin_of(vendor, "CAT-1")
    included = "identifiers,summaries,productTypes,attributes,images,dimensions,relationships,salesRanks,classifications"
    for kind, value in (("EAN", "0887276302195"), ("UPC", "887276302195"), ("GTIN", "00887276302195")):
        found = vendor.get(
            ITEMS,
            params={
                "marketplaceIds": DE,
                "identifiersType": kind,
                "identifiers": value,
                "includedData": included,
            },
        )
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["numberOfResults"] == 1 and [i["asin"] for i in body["items"]] == [asin]
        item = body["items"][0]
        pairs = {(x["identifierType"], x["identifier"]) for x in item["identifiers"][0]["identifiers"]}
        assert ("EAN", "0887276302195") in pairs and ("GTIN", "00887276302195") in pairs
        assert item["productTypes"] == [{"marketplaceId": DE, "productType": "HOME"}]
        assert item["summaries"][0]["marketplaceId"] == DE and "itemName" in item["summaries"][0]
    both = vendor.get(
        ITEMS,
        params={"marketplaceIds": DE, "identifiersType": "EAN", "identifiers": "0887276302195,4006381333931"},
    ).json()
    assert both["numberOfResults"] == 2
    assert "summaries" in both["items"][0] and "identifiers" not in both["items"][0]  # default includedData
    none = vendor.get(
        ITEMS, params={"marketplaceIds": DE, "identifiersType": "EAN", "identifiers": "1234567890123"}
    )
    assert none.json() == {"numberOfResults": 0, "pagination": {}, "items": []}


def test_get_catalog_item_and_sku_search(vendor: httpx.Client) -> None:
    put(vendor, "CAT-3", "5901234123457", 13)
    asin = asin_of(vendor, "CAT-3")
    got = vendor.get(
        f"{ITEMS}/{asin}", params={"marketplaceIds": DE, "includedData": "summaries,identifiers"}
    )
    assert got.status_code == 200 and got.json()["asin"] == asin
    missing = vendor.get(f"{ITEMS}/B000000000", params={"marketplaceIds": DE})
    assert missing.status_code == 404
    by_sku = vendor.get(
        ITEMS,
        params={"marketplaceIds": DE, "identifiersType": "SKU", "identifiers": "CAT-3", "sellerId": "DEMOV"},
    )
    assert [i["asin"] for i in by_sku.json()["items"]] == [asin]


def test_keyword_search_pages_and_refines(vendor: httpx.Client) -> None:
    title = [{"value": "Kuschelkissen Nord", "language_tag": "de_DE", "marketplace_id": DE}]
    for n in range(3):
        put(vendor, f"KW-{n}", ean13(f"40063813339{n}"), 20 + n, item_name=title)
    first = vendor.get(
        ITEMS, params={"marketplaceIds": DE, "keywords": "kuschelkissen", "pageSize": 2}
    ).json()
    assert first["numberOfResults"] == 3 and len(first["items"]) == 2
    assert "brands" in first["refinements"]
    second = vendor.get(
        ITEMS,
        params={
            "marketplaceIds": DE,
            "keywords": "kuschelkissen",
            "pageSize": 2,
            "pageToken": first["pagination"]["nextToken"],
        },
    ).json()
    assert len(second["items"]) == 1 and "previousToken" in second["pagination"]
    assert {i["asin"] for i in first["items"] + second["items"]} == {
        asin_of(vendor, f"KW-{n}") for n in range(3)
    }


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"identifiersType": "EAN", "identifiers": "1"}, "marketplaceIds"),
        ({"marketplaceIds": f"{DE},A13V1IB3VIYZZH", "keywords": "x"}, "one marketplace"),
        ({"marketplaceIds": DE, "identifiers": "1"}, "identifiersType"),
        ({"marketplaceIds": DE, "identifiers": "1", "identifiersType": "EAN", "keywords": "x"}, "keywords"),
        (
            {
                "marketplaceIds": DE,
                "identifiers": ",".join(str(i) for i in range(21)),
                "identifiersType": "EAN",
            },
            "20",
        ),
        ({"marketplaceIds": DE, "identifiers": "1", "identifiersType": "SKU"}, "sellerId"),
        ({"marketplaceIds": DE, "keywords": "x", "includedData": "everything"}, "includedData"),
        ({"marketplaceIds": DE, "keywords": "x", "pageSize": "21"}, "pageSize"),
        ({"marketplaceIds": DE, "keywords": "x", "pageToken": "garbage"}, "pageToken"),
        ({"marketplaceIds": DE}, "identifiers"),
        ({"marketplaceIds": ""}, "marketplaceIds"),
    ],
)
def test_search_rejects_bad_parameters(vendor: httpx.Client, params: dict[str, str], word: str) -> None:
    answer = vendor.get(ITEMS, params=params)
    assert answer.status_code == 400
    assert word in answer.json()["errors"][0]["message"]


def test_catalog_search_is_rate_limited_like_amazon() -> None:
    """searchCatalogItems: 2 rps, burst 2 (model and DOCS)."""
    from listingsync.emulator import EmulatorSettings, run_in_thread

    with run_in_thread(EmulatorSettings(rate_scale=0.01)) as server:
        answer = httpx.post(
            server.lwa_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|listingsync-demo-vendor-eu",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
        )
        headers = {"x-amz-access-token": answer.json()["access_token"]}
        params = {"marketplaceIds": DE, "identifiersType": "EAN", "identifiers": "4006381333931"}
        codes = [
            httpx.get(f"{server.endpoint('eu')}{ITEMS}", params=params, headers=headers).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
