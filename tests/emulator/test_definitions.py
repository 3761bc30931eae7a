"""Product Type Definitions 2020-09-01 against the running emulator (loopback HTTP)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft201909Validator

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.definitions import property_groups, search_product_types
from listingsync.emulator.product_types import ProductTypeRegistry, bundled_dir
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import OFFER_GROUP

DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
US = "ATVPDKIKX0DER"
PTD = "/definitions/2020-09-01/productTypes"


def _token(emulator: EmulatorServer, refresh_token: str) -> str:
    answer = httpx.post(
        emulator.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture
def vendor(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    token = _token(emulator, "Atzr|listingsync-demo-vendor-eu")
    with httpx.Client(base_url=emulator.endpoint("eu"), headers={"x-amz-access-token": token}) as client:
        yield client


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_search_by_keyword_and_all(vendor: httpx.Client) -> None:
    found = vendor.get(PTD, params={"marketplaceIds": DE, "keywords": "home"})
    assert found.status_code == 200
    body = found.json()
    assert [p["name"] for p in body["productTypes"]] == ["HOME"]
    assert body["productTypes"][0] == {"name": "HOME", "displayName": "Home", "marketplaceIds": [DE]}
    assert isinstance(body["productTypeVersion"], str) and body["productTypeVersion"]
    everything = vendor.get(PTD, params={"marketplaceIds": DE}).json()
    assert {p["name"] for p in everything["productTypes"]} == {"HOME", "PRODUCT"}
    nothing = vendor.get(PTD, params={"marketplaceIds": DE, "keywords": "LUGGAGE"}).json()
    assert nothing["productTypes"] == []


def test_search_keywords_and_item_name_are_exclusive(vendor: httpx.Client) -> None:
    answer = vendor.get(PTD, params={"marketplaceIds": DE, "keywords": "home", "itemName": "Home cushion"})
    assert answer.status_code == 400
    assert "itemName" in answer.json()["errors"][0]["message"]


def test_item_name_recommends_matching_or_generic_type() -> None:
    registry = ProductTypeRegistry()
    assert [p["name"] for p in search_product_types(registry, [US], item_name="Cosy home blanket")] == [
        "HOME"
    ]
    assert [p["name"] for p in search_product_types(registry, [US], item_name="Running shoes")] == ["PRODUCT"]


def test_get_definition_shape_links_and_checksums(vendor: httpx.Client) -> None:
    answer = vendor.get(f"{PTD}/HOME", params={"marketplaceIds": FR, "sellerId": "DEMOV"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["productType"] == "HOME"
    assert body["marketplaceIds"] == [FR]
    assert body["requirements"] == "LISTING" and body["requirementsEnforced"] == "ENFORCED"
    assert body["locale"] == "fr_FR"  # DEFAULT → the marketplace's language
    assert body["productTypeVersion"]["latest"] is True
    schema_bytes = httpx.get(body["schema"]["link"]["resource"]).content
    meta_bytes = httpx.get(body["metaSchema"]["link"]["resource"]).content
    assert body["schema"]["checksum"] == _md5_b64(schema_bytes)
    assert body["metaSchema"]["checksum"] == _md5_b64(meta_bytes)
    schema = httpx.get(body["schema"]["link"]["resource"]).json()
    Draft201909Validator.check_schema(schema)
    assert "brand" in schema["required"]
    # Every property sits in exactly one group, and the offer group is the one requirements.py uses.
    grouped = [n for g in body["propertyGroups"].values() for n in g["propertyNames"]]
    assert sorted(grouped) == sorted(schema["properties"])
    assert set(body["propertyGroups"]["offer"]["propertyNames"]) == set(schema["properties"]) & OFFER_GROUP
    assert "parentage_level" in body["propertyGroups"]["variations"]["propertyNames"]


def test_requirements_and_not_enforced_change_the_schema(vendor: httpx.Client) -> None:
    def fetch(**params: str) -> tuple[dict[str, Any], dict[str, Any]]:
        body = vendor.get(f"{PTD}/HOME", params={"marketplaceIds": DE, **params}).json()
        return body, httpx.get(body["schema"]["link"]["resource"]).json()

    listing, full = fetch()
    offer_body, offer = fetch(requirements="LISTING_OFFER_ONLY")
    product_body, product = fetch(requirements="LISTING_PRODUCT_ONLY")
    loose_body, loose = fetch(requirementsEnforced="NOT_ENFORCED")
    assert offer_body["requirements"] == "LISTING_OFFER_ONLY"
    assert set(offer["properties"]) < set(full["properties"])
    assert "item_name" not in offer["properties"] and "purchasable_offer" in offer["properties"]
    assert set(offer_body["propertyGroups"]) <= {"offer", "product_identity"}
    assert not set(product.get("required", [])) & OFFER_GROUP
    assert loose_body["requirementsEnforced"] == "NOT_ENFORCED"
    assert loose.get("required", []) == []
    checksums = {b["schema"]["checksum"] for b in (listing, offer_body, product_body, loose_body)}
    assert len(checksums) == 4
    # One version for every view of the same schema.
    assert {b["productTypeVersion"]["version"] for b in (listing, offer_body, loose_body)} == {
        listing["productTypeVersion"]["version"]
    }
    # NOT_ENFORCED: an attribute alone validates structurally.
    Draft201909Validator(loose).validate({"item_name": [{"value": "Kissen", "language_tag": "de_DE"}]})


@pytest.mark.parametrize(
    ("params", "status", "word"),
    [
        ({"marketplaceIds": f"{DE},{FR}"}, 400, "one marketplace"),
        ({}, 400, "marketplaceIds"),
        ({"marketplaceIds": DE, "requirements": "EVERYTHING"}, 400, "requirements"),
        ({"marketplaceIds": DE, "locale": "xx_XX"}, 400, "locale"),
        ({"marketplaceIds": DE, "sellerId": "SOMEONE"}, 400, "sellerId"),
        ({"marketplaceIds": US}, 400, "region"),
        ({"marketplaceIds": DE, "productTypeVersion": "nope"}, 404, "Version"),
    ],
)
def test_get_definition_rejects_bad_parameters(
    vendor: httpx.Client, params: dict[str, str], status: int, word: str
) -> None:
    answer = vendor.get(f"{PTD}/HOME", params=params)
    assert answer.status_code == status
    assert word in answer.json()["errors"][0]["message"]


def test_unknown_product_type_is_invalid_input(vendor: httpx.Client) -> None:
    answer = vendor.get(f"{PTD}/LUGGAGE", params={"marketplaceIds": DE})
    assert answer.status_code == 400
    assert "LUGGAGE" in answer.json()["errors"][0]["message"]


def test_release_candidate_falls_back_to_latest(vendor: httpx.Client) -> None:
    latest = vendor.get(f"{PTD}/PRODUCT", params={"marketplaceIds": DE}).json()
    candidate = vendor.get(
        f"{PTD}/PRODUCT", params={"marketplaceIds": DE, "productTypeVersion": "RELEASE_CANDIDATE"}
    ).json()
    assert candidate["productTypeVersion"] == latest["productTypeVersion"]
    pinned = vendor.get(
        f"{PTD}/PRODUCT",
        params={"marketplaceIds": DE, "productTypeVersion": latest["productTypeVersion"]["version"]},
    )
    assert pinned.status_code == 200


def test_without_token_is_403(emulator: EmulatorServer) -> None:
    answer = httpx.get(f"{emulator.endpoint('eu')}{PTD}", params={"marketplaceIds": DE})
    assert answer.status_code == 403


def test_property_groups_cover_every_property_once() -> None:
    schema = ProductTypeRegistry().get("HOME", US)
    assert schema is not None
    groups = property_groups(schema)
    names = [n for g in groups.values() for n in g["propertyNames"]]
    assert len(names) == len(set(names)) == len(schema["properties"])
    assert "main_product_image_locator" in groups["images"]["propertyNames"]
    assert "batteries_required" in groups["safety_and_compliance"]["propertyNames"]


def test_operator_product_types_are_served(tmp_path: Path) -> None:
    """``--product-types DIR``: a schema file exactly as Amazon serves it becomes searchable."""
    source = json.loads((bundled_dir() / "PRODUCT.json").read_text("utf-8"))
    source["$id"] = source["$id"].rsplit("/", 1)[0] + "/LUGGAGE"
    (tmp_path / "LUGGAGE.json").write_text(json.dumps(source), "utf-8")
    with run_in_thread(EmulatorSettings(product_type_dirs=[tmp_path], rate_scale=1000.0)) as server:
        token = _token(server, "Atzr|listingsync-demo-seller-na")
        with httpx.Client(base_url=server.endpoint("na"), headers={"x-amz-access-token": token}) as client:
            found = client.get(PTD, params={"marketplaceIds": US, "keywords": "luggage"}).json()
            assert found["productTypes"] == [
                {"name": "LUGGAGE", "displayName": "Luggage", "marketplaceIds": [US]}
            ]
            got = client.get(f"{PTD}/LUGGAGE", params={"marketplaceIds": US})
            assert got.status_code == 200 and got.json()["displayName"] == "Luggage"
            assert got.headers["x-amzn-RateLimit-Limit"] == "5.0"


def test_definitions_are_rate_limited_like_amazon() -> None:
    """5 rps, burst 5 (DOCS): the 6th immediate call is a 429 in Amazon's envelope."""
    with run_in_thread(EmulatorSettings(rate_scale=0.01)) as server:
        token = _token(server, "Atzr|listingsync-demo-vendor-eu")
        with httpx.Client(base_url=server.endpoint("eu"), headers={"x-amz-access-token": token}) as client:
            codes = [client.get(PTD, params={"marketplaceIds": DE}).status_code for _ in range(6)]
            assert codes == [200] * 5 + [429]
            throttled = client.get(PTD, params={"marketplaceIds": DE})
            assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
            assert "x-amzn-RateLimit-Limit" not in throttled.headers


@pytest.mark.parametrize("level", ["NONE", "CHILD", "PARENT"])
def test_parentage_level_resolution_keeps_the_verdicts(level: str) -> None:
    """The smaller schema judges every listing of that level exactly as the full schema does."""
    from jsonschema import Draft201909Validator as Plain

    from listingsync.emulator.definitions import resolve_parentage
    from listingsync.schema.samples import sample_listing

    schema = ProductTypeRegistry().get("HOME", US)
    assert schema is not None
    resolved = resolve_parentage(schema, level)
    assert len(resolved["allOf"]) < len(schema["allOf"])
    full_check, small_check = Plain(schema), Plain(resolved)
    rng = random.Random(level)
    parentage = {"NONE": None, "CHILD": "child", "PARENT": "parent"}[level]

    def verdict(validator: Any, doc: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((e.json_path, e.message) for e in validator.iter_errors(doc))

    for _ in range(4):
        doc = sample_listing(schema, rng, US, "en_US", parentage=parentage, optional=0.3)
        if level == "CHILD":
            doc["child_parent_sku_relationship"] = [
                {"child_relationship_type": "variation", "parent_sku": "P-1", "marketplace_id": US}
            ]
        if level != "NONE":
            doc.setdefault("variation_theme", [{"name": "COLOR", "marketplace_id": US}])
        else:
            for name in ("parentage_level", "child_parent_sku_relationship", "variation_theme"):
                doc.pop(name, None)
        assert verdict(small_check, doc) == verdict(full_check, doc)
        for name in rng.sample(sorted(doc), 3):  # broken variants: each loses one attribute
            if name in ("parentage_level", "child_parent_sku_relationship", "variation_theme"):
                continue
            broken = {k: v for k, v in doc.items() if k != name}
            assert verdict(small_check, broken) == verdict(full_check, broken)


def test_parentage_level_is_served(vendor: httpx.Client) -> None:
    full = vendor.get(f"{PTD}/HOME", params={"marketplaceIds": DE}).json()
    parent = vendor.get(f"{PTD}/HOME", params={"marketplaceIds": DE, "parentageLevel": "PARENT"}).json()
    assert parent["schema"]["checksum"] != full["schema"]["checksum"]
    served = httpx.get(parent["schema"]["link"]["resource"])
    assert _md5_b64(served.content) == parent["schema"]["checksum"]
    assert len(served.json()["allOf"]) < len(httpx.get(full["schema"]["link"]["resource"]).json()["allOf"])
    assert (
        vendor.get(f"{PTD}/HOME", params={"marketplaceIds": DE, "parentageLevel": "UNCLE"}).status_code == 400
    )


def test_a_vendors_seller_id_gets_the_vendor_schema(vendor: httpx.Client, emulator: EmulatorServer) -> None:
    """With the vendor's sellerId the schema declares cost_price and forbids offers; without a
    sellerId (or for a seller) it is the generic one."""
    mine = vendor.get(
        f"{PTD}/HOME",
        params={"marketplaceIds": DE, "sellerId": "DEMOV", "requirements": "LISTING_PRODUCT_ONLY"},
    ).json()
    generic = vendor.get(
        f"{PTD}/HOME", params={"marketplaceIds": DE, "requirements": "LISTING_PRODUCT_ONLY"}
    ).json()
    assert mine["schema"]["checksum"] != generic["schema"]["checksum"]
    assert mine["productTypeVersion"] == generic["productTypeVersion"]  # one version, derived views
    served = httpx.get(mine["schema"]["link"]["resource"])
    assert _md5_b64(served.content) == mine["schema"]["checksum"]
    schema = served.json()
    Draft201909Validator.check_schema(schema)
    assert schema["properties"]["cost_price"]["items"]["properties"]["currency"]["enum"] == ["EUR"]
    assert {"not": {"required": ["purchasable_offer"]}} in schema["allOf"]
    assert "cost_price" in {n for g in mine["propertyGroups"].values() for n in g["propertyNames"]}
    assert "cost_price" not in httpx.get(generic["schema"]["link"]["resource"]).json()["properties"]
    token = _token(emulator, "Atzr|listingsync-demo-seller-na")
    seller = httpx.get(
        f"{emulator.endpoint('na')}{PTD}/HOME",
        params={"marketplaceIds": US, "sellerId": "A3DEMOSELLER01"},
        headers={"x-amz-access-token": token},
    ).json()
    assert "cost_price" not in httpx.get(seller["schema"]["link"]["resource"]).json()["properties"]
    bad = mine["schema"]["link"]["resource"].replace("view=vendor", "view=other")
    assert httpx.get(bad).status_code == 404
