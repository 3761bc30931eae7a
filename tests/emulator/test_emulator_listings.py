"""Listings Items API 2021-08-01 against the running emulator."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from emulator_helpers import DE, FR, SELLER, US, VENDOR, home_product_only, home_us

from listingsync.emulator import EmulatorServer
from listingsync.emulator.items import deterministic_asin

ITEMS = "/listings/2021-08-01/items"


def put(
    client: httpx.Client, seller: str, sku: str, marketplace: str, body: dict[str, Any], **params: str
) -> httpx.Response:
    return client.put(f"{ITEMS}/{seller}/{sku}", params={"marketplaceIds": marketplace, **params}, json=body)


def home_body(attributes: dict[str, Any] | None = None, requirements: str = "LISTING") -> dict[str, Any]:
    return {"productType": "HOME", "requirements": requirements, "attributes": attributes or home_us()}


def test_put_then_get_every_included_data(seller: httpx.Client, emulator: EmulatorServer) -> None:
    response = put(seller, SELLER, "SKU-1", US, home_body())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ACCEPTED" and body["sku"] == "SKU-1" and body["submissionId"]
    assert body["issues"] == []
    assert response.headers["x-amzn-RateLimit-Limit"] == "5.0"
    assert response.headers["x-amzn-RequestId"]
    emulator.flush()  # ACCEPTED means queued: Amazon applies the write later

    included = (
        "summaries,attributes,issues,offers,fulfillmentAvailability,procurement,relationships,productTypes"
    )
    got = seller.get(f"{ITEMS}/{SELLER}/SKU-1", params={"marketplaceIds": US, "includedData": included})
    assert got.status_code == 200, got.text
    item = got.json()
    summary = item["summaries"][0]
    assert summary["asin"] == deterministic_asin(SELLER, "SKU-1")
    assert summary["asin"].startswith("B0") and len(summary["asin"]) == 10
    assert summary["itemName"] == "Cozy Throw Blanket, Grey"
    assert summary["conditionType"] == "new_new"
    assert summary["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert item["attributes"]["brand"][0]["value"] == "Acme"
    assert item["offers"] == [
        {
            "marketplaceId": US,
            "offerType": "B2C",
            "price": {"currencyCode": "USD", "amount": "24.99"},
            "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
        }
    ]
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 10}]
    assert item["productTypes"] == [{"marketplaceId": US, "productType": "HOME"}]
    assert item["issues"] == [] and item["procurement"] == []
    assert item["relationships"] == [{"marketplaceId": US, "relationships": []}]


def test_default_included_data_is_summaries(seller: httpx.Client, emulator: EmulatorServer) -> None:
    put(seller, SELLER, "SKU-D", US, home_body())
    emulator.flush()
    item = seller.get(f"{ITEMS}/{SELLER}/SKU-D", params={"marketplaceIds": US}).json()
    assert set(item) == {"sku", "summaries"}


def test_identical_put_does_not_touch_last_updated(seller: httpx.Client, emulator: EmulatorServer) -> None:
    put(seller, SELLER, "SKU-2", US, home_body())
    emulator.flush()
    first = emulator.state.get_listing(SELLER, US, "SKU-2")
    assert first is not None
    again = put(seller, SELLER, "SKU-2", US, home_body())
    assert again.json()["status"] == "ACCEPTED"
    emulator.flush()
    assert emulator.state.get_listing(SELLER, US, "SKU-2").updated == first.updated  # type: ignore[union-attr]
    changed = put(seller, SELLER, "SKU-2", US, home_body(home_us("New title")))
    assert changed.json()["status"] == "ACCEPTED"
    emulator.flush()
    record = emulator.state.get_listing(SELLER, US, "SKU-2")
    assert record is not None and record.updated > first.updated and record.created == first.created
    log = [(w["op"], w["created"], w["changed"]) for w in emulator.state.write_log if w["sku"] == "SKU-2"]
    assert log == [("PUT", True, True), ("PUT", False, False), ("PUT", False, True)]


def test_get_unknown_sku_is_404(seller: httpx.Client) -> None:
    response = seller.get(f"{ITEMS}/{SELLER}/NOPE", params={"marketplaceIds": US})
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert error["code"] == "NOT_FOUND"
    assert error["message"].startswith("Requested item, NOPE, not found in marketplace(s)")
    assert US in error["message"]
    assert "x-amzn-RateLimit-Limit" in response.headers


def test_wrong_seller_or_marketplace_is_invalid_combination(seller: httpx.Client) -> None:
    for seller_id, marketplace in (("A1OTHERSELLER", US), (SELLER, DE)):
        response = seller.get(f"{ITEMS}/{seller_id}/SKU", params={"marketplaceIds": marketplace})
        assert response.status_code == 400
        assert response.json()["errors"][0] == {
            "code": "InvalidInput",
            "message": "Invalid 'sellerId' and 'marketplaceId' combination provided.",
            "details": "",
        }


def test_four_invalid_cases_name_the_attribute(seller: httpx.Client, emulator: EmulatorServer) -> None:
    cases: dict[str, tuple[dict[str, Any], str, str]] = {}
    missing = home_us()
    del missing["brand"]
    cases["missing"] = (missing, "brand", "90220")
    wrong_enum = home_us()
    wrong_enum["condition_type"] = [{"value": "brand_new", "marketplace_id": US}]
    cases["enum"] = (wrong_enum, "condition_type", "LS-ENUM")
    cases["too long"] = (home_us("x" * 201), "item_name", "LS-MAX-LENGTH")
    duplicated = home_us()
    duplicated["item_name"] = duplicated["item_name"] + copy.deepcopy(duplicated["item_name"])
    cases["duplicate"] = (duplicated, "item_name", "LS-MAX-UNIQUE-ITEMS")
    for name, (attributes, attribute, code) in cases.items():
        body = put(seller, SELLER, f"BAD-{name}", US, home_body(attributes)).json()
        assert body["status"] == "INVALID", name
        issue = next(i for i in body["issues"] if i["attributeNames"] == [attribute])
        assert issue["code"] == code, (name, issue)
        assert issue["severity"] == "ERROR"
        expected = "MISSING_ATTRIBUTE" if code == "90220" else "INVALID_ATTRIBUTE"
        assert issue["categories"] == [expected]
    assert emulator.state.listings == {}


def test_unknown_product_type_is_invalid(seller: httpx.Client) -> None:
    body = put(seller, SELLER, "SKU-X", US, {"productType": "NO_SUCH_TYPE", "attributes": home_us()}).json()
    assert body["status"] == "INVALID"
    # Amazon's code and wording (selling-partner-api-models issue #2427)
    assert body["issues"][0]["code"] == "4000003"
    assert body["issues"][0]["message"].startswith(
        "The Amazon product type specified is invalid or not supported."
    )


def test_validation_preview_stores_nothing_and_returns_asin(
    seller: httpx.Client, emulator: EmulatorServer
) -> None:
    response = put(
        seller, SELLER, "SKU-P", US, home_body(), mode="VALIDATION_PREVIEW", includedData="identifiers,issues"
    )
    body = response.json()
    assert body["status"] == "VALID"
    assert body["identifiers"] == [{"marketplaceId": US, "asin": deterministic_asin(SELLER, "SKU-P")}]
    assert emulator.state.listings == {} and emulator.state.write_log == []
    assert response.headers["x-amzn-RateLimit-Limit"] == "1.0"
    # identifiers without preview is refused before anything is stored
    refused = put(seller, SELLER, "SKU-P", US, home_body(), includedData="identifiers")
    assert refused.status_code == 400
    assert emulator.state.listings == {}


def test_patch_validates_the_resulting_item(seller: httpx.Client, emulator: EmulatorServer) -> None:
    put(seller, SELLER, "SKU-3", US, home_body())
    emulator.flush()
    patches = [
        {"op": "replace", "path": "/attributes/item_name", "value": home_us("Patched title")["item_name"]},
        {
            "op": "merge",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
        },
    ]
    body = seller.patch(
        f"{ITEMS}/{SELLER}/SKU-3",
        params={"marketplaceIds": US},
        json={"productType": "HOME", "patches": patches},
    ).json()
    assert body["status"] == "ACCEPTED", body
    emulator.flush()
    record = emulator.state.get_listing(SELLER, US, "SKU-3")
    assert record is not None
    assert record.attributes["item_name"][0]["value"] == "Patched title"
    assert record.attributes["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 3}
    ]
    # deleting a required attribute makes the result invalid: nothing changes
    delete = [
        {
            "op": "delete",
            "path": "/attributes/brand",
            "value": [{"marketplace_id": US, "language_tag": "en_US"}],
        }
    ]
    body = seller.patch(
        f"{ITEMS}/{SELLER}/SKU-3",
        params={"marketplaceIds": US},
        json={"productType": "HOME", "patches": delete},
    ).json()
    assert body["status"] == "INVALID"
    assert body["issues"][0]["attributeNames"] == ["brand"]
    assert "brand" in emulator.state.get_listing(SELLER, US, "SKU-3").attributes  # type: ignore[union-attr]
    # optional attributes can be added and deleted by selector
    add = [
        {
            "op": "add",
            "path": "/attributes/size",
            "value": [{"value": "L", "language_tag": "en_US", "marketplace_id": US}],
        }
    ]
    assert (
        seller.patch(
            f"{ITEMS}/{SELLER}/SKU-3",
            params={"marketplaceIds": US},
            json={"productType": "HOME", "patches": add},
        ).json()["status"]
        == "ACCEPTED"
    )
    remove = [
        {
            "op": "delete",
            "path": "/attributes/size",
            "value": [{"marketplace_id": US, "language_tag": "en_US"}],
        }
    ]
    assert (
        seller.patch(
            f"{ITEMS}/{SELLER}/SKU-3",
            params={"marketplaceIds": US},
            json={"productType": "HOME", "patches": remove},
        ).json()["status"]
        == "ACCEPTED"
    )
    emulator.flush()
    assert "size" not in emulator.state.get_listing(SELLER, US, "SKU-3").attributes  # type: ignore[union-attr]


def test_patch_path_must_be_top_level(seller: httpx.Client) -> None:
    response = seller.patch(
        f"{ITEMS}/{SELLER}/SKU-4",
        params={"marketplaceIds": US},
        json={"productType": "HOME", "patches": [{"op": "replace", "path": "item_name", "value": []}]},
    )
    assert response.status_code == 400
    assert "/attributes/<name>" in response.json()["errors"][0]["message"]


def test_delete(seller: httpx.Client, emulator: EmulatorServer) -> None:
    put(seller, SELLER, "SKU-5", US, home_body())
    response = seller.delete(f"{ITEMS}/{SELLER}/SKU-5", params={"marketplaceIds": US})
    assert response.status_code == 200 and response.json()["status"] == "ACCEPTED"
    emulator.flush()
    assert seller.get(f"{ITEMS}/{SELLER}/SKU-5", params={"marketplaceIds": US}).status_code == 404
    assert emulator.state.write_log[-1]["op"] == "DELETE"


def test_search_identifiers_and_pagination(seller: httpx.Client, emulator: EmulatorServer) -> None:
    for i in range(5):
        put(seller, SELLER, f"S-{i}", US, home_body())
    emulator.flush()
    page1 = seller.get(
        f"{ITEMS}/{SELLER}", params={"marketplaceIds": US, "pageSize": 2, "sortBy": "sku", "sortOrder": "ASC"}
    ).json()
    assert page1["numberOfResults"] == 5
    assert [i["sku"] for i in page1["items"]] == ["S-0", "S-1"]
    page2 = seller.get(
        f"{ITEMS}/{SELLER}",
        params={
            "marketplaceIds": US,
            "pageSize": 2,
            "sortBy": "sku",
            "sortOrder": "ASC",
            "pageToken": page1["pagination"]["nextToken"],
        },
    ).json()
    assert [i["sku"] for i in page2["items"]] == ["S-2", "S-3"]
    assert "previousToken" in page2["pagination"]
    by_sku = seller.get(
        f"{ITEMS}/{SELLER}", params={"marketplaceIds": US, "identifiers": "S-3,S-4", "identifiersType": "SKU"}
    ).json()
    assert sorted(i["sku"] for i in by_sku["items"]) == ["S-3", "S-4"]
    by_ean = seller.get(
        f"{ITEMS}/{SELLER}",
        params={"marketplaceIds": US, "identifiers": "4006381333931", "identifiersType": "EAN"},
    ).json()
    assert by_ean["numberOfResults"] == 5
    bad = seller.get(f"{ITEMS}/{SELLER}", params={"marketplaceIds": US, "identifiers": "S-1"})
    assert bad.status_code == 400


def test_search_by_sku_reads_the_skus_asked_for_and_their_relationships(
    seller: httpx.Client, emulator: EmulatorServer
) -> None:
    # SKU searches read the asked SKUs by key (not a scan of every listing): the answer must be the
    # same, relationships included (a parent's children are found among all listings).
    theme = [{"name": "COLOR"}]
    parent = home_us("Parent")
    parent["parentage_level"] = [{"value": "parent", "marketplace_id": US}]
    parent["child_parent_sku_relationship"] = [{"child_relationship_type": "variation", "marketplace_id": US}]
    parent["variation_theme"] = theme
    child = home_us("Child")
    child["parentage_level"] = [{"value": "child", "marketplace_id": US}]
    child["child_parent_sku_relationship"] = [
        {"child_relationship_type": "variation", "parent_sku": "FAM-P", "marketplace_id": US}
    ]
    child["variation_theme"] = theme
    for sku, attributes in (("FAM-P", parent), ("FAM-C", child), ("OTHER", home_us())):
        assert put(seller, SELLER, sku, US, home_body(attributes)).json()["status"] == "ACCEPTED"
    emulator.flush()
    found = seller.get(
        f"{ITEMS}/{SELLER}",
        params={
            "marketplaceIds": US,
            "identifiers": "FAM-P,FAM-P,NOT-THERE",
            "identifiersType": "SKU",
            "includedData": "summaries,relationships",
        },
    ).json()
    assert found["numberOfResults"] == 1
    (item,) = found["items"]
    assert item["sku"] == "FAM-P"
    assert item["relationships"][0]["relationships"][0]["childSkus"] == ["FAM-C"]
    child_item = seller.get(
        f"{ITEMS}/{SELLER}",
        params={
            "marketplaceIds": US,
            "identifiers": "FAM-C",
            "identifiersType": "SKU",
            "includedData": "relationships",
        },
    ).json()["items"][0]
    assert child_item["relationships"][0]["relationships"][0]["parentSkus"] == ["FAM-P"]
    without = seller.get(
        f"{ITEMS}/{SELLER}",
        params={"marketplaceIds": US, "identifiers": "FAM-P,OTHER", "identifiersType": "SKU"},
    ).json()
    assert sorted(i["sku"] for i in without["items"]) == ["FAM-P", "OTHER"]
    assert "relationships" not in without["items"][0]


def test_vendor_offer_only_is_400_and_product_only_in_borrowed_marketplace(
    vendor: httpx.Client, emulator: EmulatorServer
) -> None:
    offer_only = {"productType": "HOME", "requirements": "LISTING_OFFER_ONLY", "attributes": {}}
    response = put(vendor, VENDOR, "V-1", FR, offer_only)
    assert response.status_code == 400
    assert "LISTING_OFFER_ONLY" in response.json()["errors"][0]["message"]
    # DE has no HOME schema of its own: the FR one is served retargeted to DE (emulator convenience)
    for marketplace, language in ((FR, "fr_FR"), (DE, "de_DE")):
        body = {
            "productType": "HOME",
            "requirements": "LISTING_PRODUCT_ONLY",
            "attributes": home_product_only(marketplace, language),
        }
        result = put(vendor, VENDOR, "V-2", marketplace, body).json()
        assert result["status"] == "ACCEPTED", result
    emulator.flush()
    item = vendor.get(f"{ITEMS}/{VENDOR}/V-2", params={"marketplaceIds": f"{FR},{DE}"}).json()
    assert [s["marketplaceId"] for s in item["summaries"]] == [FR, DE]
    assert all(s["status"] == ["DISCOVERABLE"] for s in item["summaries"])  # vendors are never BUYABLE


def test_late_issues_show_on_get_only() -> None:
    from emulator_helpers import SELLER_TOKEN, client_for

    from listingsync.emulator import EmulatorSettings, run_in_thread

    with (
        run_in_thread(EmulatorSettings(late_issue_share=1.0, limits=False)) as server,
        client_for(server, SELLER_TOKEN, "na") as client,
    ):
        body = put(client, SELLER, "L-1", US, home_body()).json()
        assert body["status"] == "ACCEPTED" and body["issues"] == []
        server.flush()
        item = client.get(
            f"{ITEMS}/{SELLER}/L-1", params={"marketplaceIds": US, "includedData": "issues,summaries"}
        ).json()
        assert item["issues"][0]["code"] == "18027"
        assert item["issues"][0]["attributeNames"] == ["main_product_image_locator"]
        assert item["summaries"][0]["status"] == []


def test_search_by_status(seller: httpx.Client, emulator: EmulatorServer) -> None:
    put(seller, SELLER, "BUY-1", US, home_body())
    no_stock = home_us()
    no_stock["fulfillment_availability"] = [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]
    put(seller, SELLER, "OUT-1", US, home_body(no_stock))
    emulator.flush()
    params = {"marketplaceIds": US}
    buyable = seller.get(f"{ITEMS}/{SELLER}", params={**params, "withStatus": "BUYABLE"}).json()
    assert [i["sku"] for i in buyable["items"]] == ["BUY-1"]
    not_buyable = seller.get(f"{ITEMS}/{SELLER}", params={**params, "withoutStatus": "BUYABLE"}).json()
    assert [i["sku"] for i in not_buyable["items"]] == ["OUT-1"]
    assert seller.get(f"{ITEMS}/{SELLER}", params={**params, "withStatus": "SOLD"}).status_code == 400


def test_non_json_body_is_415(seller: httpx.Client) -> None:
    response = seller.put(
        f"{ITEMS}/{SELLER}/SKU-T",
        params={"marketplaceIds": US},
        content=b"sku=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "UnsupportedMediaType"
    assert "x-amzn-RateLimit-Limit" not in response.headers
