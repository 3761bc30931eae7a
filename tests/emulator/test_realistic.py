"""The emulator in realistic mode behaves as Amazon does, seen through Amazon's own SDK.

Asynchronous processing, the seeded catalogue, Amazon's checks and codes, vendor rules and wire
details (issue 10; docs/emulator-fidelity.md lists each behaviour with its source). Time is moved
with ``/_emulator/clock/advance`` and ``/_emulator/processing/flush``: nothing here sleeps.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from emulator_helpers import DE, SELLER, SELLER_TOKEN, US, VENDOR_TOKEN, access_token, home_us
from spapi.api.listings_items_v2021_08_01.listings_api import ListingsApi
from spapi.api.sellers_v1.sellers_api import SellersApi
from spapi.auth.credentials import SPAPIConfig
from spapi.client import SPAPIClient
from spapi.models.listings_items_v2021_08_01 import (
    ListingsItemPatchRequest,
    ListingsItemPutRequest,
    PatchOperation,
)
from spapi.rest import ApiException

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Account, default_accounts

ITEMS = "/listings/2021-08-01/items"
#: The built-in catalogue's "Northwind Home Waffle Throw Blanket, Charcoal" (emulator/data/catalog.json).
CATALOG_ASIN, CATALOG_UPC = "B0EMUHOME1", "885000000010"
OTHER_SELLER_TOKEN = "Atzr|listingsync-test-other-seller-na"


def _accounts() -> list[Account]:
    accounts = default_accounts()
    seller = accounts[1]
    other = Account(
        name="other",
        account_type="seller",
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        refresh_token=OTHER_SELLER_TOKEN,
        selling_partner_id="A3OTHERSELLER2",
        region=seller.region,
        marketplace_ids=seller.marketplace_ids,
    )
    return [*accounts, other]


@pytest.fixture(scope="module")
def realistic() -> Iterator[EmulatorServer]:
    """Amazon's pace (30 s to 5 min per write, minutes per feed): tests move the clock instead."""
    settings = EmulatorSettings(accounts=_accounts(), instant=False, rate_scale=1.0, limits=False, seed=7)
    with run_in_thread(settings) as server:
        yield server


@pytest.fixture
def sdk(realistic: EmulatorServer) -> Any:
    config = SPAPIConfig(
        client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, refresh_token=SELLER_TOKEN, region="NA"
    )
    return SPAPIClient(config, oauth_endpoint=realistic.lwa_url, endpoint=realistic.endpoint("na"))


@pytest.fixture
def listings(sdk: Any) -> ListingsApi:
    return ListingsApi(sdk.api_client)


@pytest.fixture
def raw(realistic: EmulatorServer) -> Iterator[httpx.Client]:
    headers = {"x-amz-access-token": access_token(realistic, SELLER_TOKEN)}
    with httpx.Client(base_url=realistic.endpoint("na"), headers=headers, timeout=10) as client:
        yield client


def advance(server: EmulatorServer, seconds: float) -> dict[str, Any]:
    answer = httpx.post(f"{server.url}/_emulator/clock/advance", params={"seconds": seconds})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def flush(server: EmulatorServer) -> None:
    answer = httpx.post(f"{server.url}/_emulator/processing/flush")
    assert answer.status_code == 200, answer.text
    assert answer.json()["pending_writes"] == 0


def put(api: ListingsApi, sku: str, attributes: dict[str, Any], **kwargs: Any) -> Any:
    request = ListingsItemPutRequest(
        product_type=kwargs.pop("product_type", "HOME"),
        requirements=kwargs.pop("requirements", "LISTING"),
        attributes=attributes,
    )
    return api.put_listings_item(SELLER, sku, [US], request, **kwargs)


def get(api: ListingsApi, sku: str) -> Any:
    return api.get_listings_item(SELLER, sku, [US], included_data=["summaries", "issues", "attributes"])


def test_put_is_accepted_then_404_then_found_after_the_processing_delay(
    listings: ListingsApi, realistic: EmulatorServer
) -> None:
    answer = put(listings, "RT-ASYNC", home_us())
    assert answer.status == "ACCEPTED"
    with pytest.raises(ApiException) as missing:
        get(listings, "RT-ASYNC")
    assert missing.value.status == 404  # ACCEPTED only means queued
    (queued,) = [
        w
        for w in httpx.get(f"{realistic.url}/_emulator/processing").json()["pending"]
        if w["sku"] == "RT-ASYNC"
    ]
    now = httpx.get(f"{realistic.url}/_emulator/clock").json()["now"]
    assert 30 <= queued["due"] - queued["submitted"] <= 300  # Amazon's minutes, unscaled here
    advance(realistic, queued["due"] - now + 0.001)  # just past this write's processing
    item = get(listings, "RT-ASYNC")
    (summary,) = item.summaries
    assert summary.asin and summary.status == ["DISCOVERABLE"]  # the item first, the offer later
    flush(realistic)
    advance(realistic, 300)
    assert get(listings, "RT-ASYNC").summaries[0].status == ["BUYABLE", "DISCOVERABLE"]


def test_a_new_version_shows_only_once_processed(listings: ListingsApi, realistic: EmulatorServer) -> None:
    put(listings, "RT-VERSION", home_us("Old title"))
    flush(realistic)
    put(listings, "RT-VERSION", home_us("New title"))
    assert get(listings, "RT-VERSION").attributes["item_name"][0]["value"] == "Old title"
    flush(realistic)
    assert get(listings, "RT-VERSION").attributes["item_name"][0]["value"] == "New title"


def test_patch_of_a_missing_sku_is_accepted_then_shows_an_issue(
    listings: ListingsApi, realistic: EmulatorServer
) -> None:
    patch = ListingsItemPatchRequest(
        product_type="HOME",
        patches=[
            PatchOperation(
                op="replace",
                path="/attributes/fulfillment_availability",
                value=[{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            )
        ],
    )
    answer = listings.patch_listings_item(SELLER, "RT-NOSUCH", [US], patch)
    assert answer.status == "ACCEPTED" and answer.issues == []
    flush(realistic)
    item = get(listings, "RT-NOSUCH")
    assert item.summaries == []  # no product was created
    codes = {i.code for i in item.issues}
    assert codes == {"90220"}
    names = {n for i in item.issues for n in i.attribute_names}
    assert {"item_name", "brand"} <= names


def test_gtin_of_a_catalogue_item_with_another_brand_gets_amazons_conflict_issue(
    listings: ListingsApi, realistic: EmulatorServer
) -> None:
    attributes = home_us("Northwind Home Waffle Throw Blanket, Charcoal")
    attributes["externally_assigned_product_identifier"][0].update(type="upc", value=CATALOG_UPC)
    conflicting = copy.deepcopy(attributes)
    conflicting["brand"][0]["value"] = "Acme"
    attributes["brand"][0]["value"] = "Northwind Home"
    assert put(listings, "RT-CONFLICT", conflicting).status == "ACCEPTED"
    assert put(listings, "RT-MATCH", attributes).status == "ACCEPTED"
    flush(realistic)
    conflict = get(listings, "RT-CONFLICT")
    (issue,) = conflict.issues
    assert issue.code == "8541" and issue.severity == "ERROR"
    assert (
        CATALOG_ASIN in issue.message
        and '"brand" (Seller: "Acme" / Amazon: "Northwind Home")' in issue.message
    )
    assert conflict.summaries == []
    matched = get(listings, "RT-MATCH")
    assert matched.issues == [] and matched.summaries[0].asin == CATALOG_ASIN  # attached, not created


def test_product_creation_with_product_is_refused_with_amazons_code(listings: ListingsApi) -> None:
    answer = put(listings, "RT-PRODUCT", home_us(), product_type="PRODUCT")
    assert answer.status == "INVALID"
    (issue,) = answer.issues
    assert issue.code == "4000004"
    assert issue.message.startswith(
        'Creating products is not supported with the "PRODUCT" Amazon product type.'
    )


def test_offer_only_needs_an_existing_asin(listings: ListingsApi, realistic: EmulatorServer) -> None:
    offer = {
        "condition_type": [{"value": "new_new", "marketplace_id": US}],
        "purchasable_offer": home_us()["purchasable_offer"],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
        "list_price": home_us()["list_price"],
        "merchant_shipping_group": [{"value": "legacy-template-id", "marketplace_id": US}],
    }
    known = {**offer, "merchant_suggested_asin": [{"value": CATALOG_ASIN, "marketplace_id": US}]}
    unknown = {**offer, "merchant_suggested_asin": [{"value": "B0NOSUCH00", "marketplace_id": US}]}
    ok = put(listings, "RT-OFFER-OK", known, requirements="LISTING_OFFER_ONLY")
    assert ok.status == "ACCEPTED", ok.issues
    assert put(listings, "RT-OFFER-KO", unknown, requirements="LISTING_OFFER_ONLY").status == "ACCEPTED"
    flush(realistic)
    assert get(listings, "RT-OFFER-OK").summaries[0].asin == CATALOG_ASIN
    refused = get(listings, "RT-OFFER-KO")
    assert [i.code for i in refused.issues] == ["13013"] and refused.summaries == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda a: a["externally_assigned_product_identifier"][0].update(value="4006381333932"), "8602"),
        (lambda a: a["externally_assigned_product_identifier"][0].update(value="abc"), "8602"),
        (lambda a: a["list_price"][0].update(currency="EUR"), "LS-CURRENCY-MARKETPLACE"),
        (lambda a: a["item_name"][0].update(language_tag="de_DE"), "LS-LANGUAGE-MARKETPLACE"),
        (lambda a: a["color"][0].update(marketplace_id=DE), "LS-MARKETPLACE-MISMATCH"),
        (lambda a: a["list_price"][0].update(value=0), "LS-PRICE-NOT-POSITIVE"),
    ],
    ids=["check-digit", "not-digits", "currency", "language", "marketplace", "zero-price"],
)
def test_amazons_checks_beyond_the_schema(listings: ListingsApi, change: Any, code: str) -> None:
    attributes = home_us()
    change(attributes)
    answer = put(listings, "RT-CHECK", attributes)
    assert answer.status == "INVALID"
    assert code in [i.code for i in answer.issues], answer.issues


def test_issue_locale_picks_the_language_of_the_message(listings: ListingsApi) -> None:
    attributes = home_us()
    attributes["externally_assigned_product_identifier"][0]["value"] = "4006381333932"
    french = put(listings, "RT-LOCALE", attributes, issue_locale="fr_FR").issues[0]
    english = put(listings, "RT-LOCALE", attributes, issue_locale="en_US").issues[0]
    assert french.code == english.code == "8602"
    assert french.message.startswith("Valeur StandardProductID non valide")
    assert english.message.startswith("Invalid StandardProductID value")


def test_feeds_stay_queued_for_amazon_like_durations(realistic: EmulatorServer, raw: httpx.Client) -> None:
    doc = raw.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
    body = {
        "header": {"sellerId": SELLER, "version": "2.0"},
        "messages": [
            {
                "messageId": 1,
                "sku": "RT-FEED",
                "operationType": "UPDATE",
                "productType": "HOME",
                "attributes": home_us(),
            }
        ],
    }
    assert httpx.put(doc["url"], json=body, headers={"content-type": "application/json"}).status_code == 200
    feed = raw.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": doc["feedDocumentId"],
        },
    ).json()
    path = f"/feeds/2021-06-30/feeds/{feed['feedId']}"
    assert raw.get(path).json()["processingStatus"] == "IN_QUEUE"
    advance(realistic, 150)  # out of the queue (120 s), still processing (180 s)
    assert raw.get(path).json()["processingStatus"] == "IN_PROGRESS"
    flush(realistic)
    assert raw.get(path).json()["processingStatus"] == "DONE"
    assert raw.get(f"{ITEMS}/{SELLER}/RT-FEED", params={"marketplaceIds": US}).status_code == 200


def test_processing_delays_repeat_with_the_seed() -> None:
    from listingsync.emulator.context import EmulatorContext

    def delays(seed: int) -> list[float]:
        processing = EmulatorContext(EmulatorSettings(instant=False, seed=seed, rate_scale=10)).processing
        return [processing.delay(n) for n in range(1, 20)]

    assert delays(3) == delays(3) != delays(4)
    assert all(3.0 <= d <= 30.0 for d in delays(3))  # 30 s .. 5 min, ten times faster


# -- wire details ---------------------------------------------------------------------------------


def test_rate_limit_header_is_written_as_amazon_writes_it(realistic: EmulatorServer) -> None:
    settings = EmulatorSettings(rate_scale=1000.0)
    with run_in_thread(settings) as server:
        token = access_token(server, SELLER_TOKEN)
        answer = httpx.get(
            f"{server.endpoint('na')}{ITEMS}/{SELLER}/NOPE",
            params={"marketplaceIds": US},
            headers={"x-amz-access-token": token},
        )
    assert answer.status_code == 404
    assert answer.headers["x-amzn-RateLimit-Limit"] == "5.0"
    assert answer.json()["errors"][0]["details"] == ""


def test_unknown_paths_and_unencoded_slashes_answer_not_found(raw: httpx.Client) -> None:
    newline = raw.get(f"{ITEMS}/{SELLER}/%0A", params={"marketplaceIds": US})
    assert newline.status_code == 404 and newline.json()["errors"][0]["code"] == "NOT_FOUND"
    unknown = raw.get("/listings/2021-08-01/nothing%0Ahere")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NOT_FOUND"
    slash = raw.get(f"{ITEMS}/{SELLER}/A/B", params={"marketplaceIds": US})
    assert slash.status_code == 404 and "%2F" in slash.json()["errors"][0]["details"]


def test_patch_takes_several_marketplaces(raw: httpx.Client, realistic: EmulatorServer) -> None:
    ca = "A2EUQ1WTGCTBG2"
    answer = raw.patch(
        f"{ITEMS}/{SELLER}/RT-MULTI",
        params={"marketplaceIds": f"{US},{ca}"},
        json={
            "productType": "HOME",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}],
                }
            ],
        },
    )
    assert answer.status_code == 200 and answer.json()["status"] == "ACCEPTED", answer.text
    flush(realistic)
    for marketplace in (US, ca):
        assert (
            raw.get(f"{ITEMS}/{SELLER}/RT-MULTI", params={"marketplaceIds": marketplace}).status_code == 200
        )


def test_get_account_through_the_sdk(sdk: Any) -> None:
    account = SellersApi(sdk.api_client).get_account()
    assert account.payload.selling_plan == "PROFESSIONAL"
    assert US in [p.marketplace.id for p in account.payload.marketplace_participation_list]


# -- tenant isolation and vendors -------------------------------------------------------------------


def test_catalogue_data_never_carries_another_sellers_offer(
    raw: httpx.Client, realistic: EmulatorServer
) -> None:
    answer = raw.put(
        f"{ITEMS}/{SELLER}/RT-TENANT",
        params={"marketplaceIds": US},
        json={"productType": "HOME", "requirements": "LISTING", "attributes": home_us()},
    )
    assert answer.json()["status"] == "ACCEPTED"
    flush(realistic)
    asin = raw.get(f"{ITEMS}/{SELLER}/RT-TENANT", params={"marketplaceIds": US}).json()["summaries"][0][
        "asin"
    ]
    other = {"x-amz-access-token": access_token(realistic, OTHER_SELLER_TOKEN)}
    item = httpx.get(
        f"{realistic.endpoint('na')}/catalog/2022-04-01/items/{asin}",
        params={"marketplaceIds": US, "includedData": "attributes,summaries"},
        headers=other,
    ).json()
    assert item["attributes"]["item_name"]  # product facts are there
    leaked = {"purchasable_offer", "fulfillment_availability", "list_price", "condition_type"} & set(
        item["attributes"]
    )
    assert leaked == set()


def test_seeded_catalogue_items_are_found_without_any_listing(raw: httpx.Client) -> None:
    found = raw.get(
        "/catalog/2022-04-01/items",
        params={"marketplaceIds": US, "identifiersType": "UPC", "identifiers": CATALOG_UPC},
    ).json()
    assert [i["asin"] for i in found["items"]] == [CATALOG_ASIN]
    item = raw.get(f"/catalog/2022-04-01/items/{CATALOG_ASIN}", params={"marketplaceIds": US}).json()
    assert item["summaries"][0]["brand"] == "Northwind Home"


def test_vendor_sends_cost_price_but_no_offer(realistic: EmulatorServer) -> None:
    from emulator_helpers import home_product_only

    headers = {"x-amz-access-token": access_token(realistic, VENDOR_TOKEN)}
    base = f"{realistic.endpoint('eu')}{ITEMS}/DEMOV"
    attributes = home_product_only(DE, "de_DE")
    attributes["cost_price"] = [{"value": 12.5, "currency": "EUR", "marketplace_id": DE}]
    ok = httpx.put(
        f"{base}/RT-VENDOR",
        params={"marketplaceIds": DE},
        json={"productType": "HOME", "requirements": "LISTING_PRODUCT_ONLY", "attributes": attributes},
        headers=headers,
    ).json()
    assert ok["status"] == "ACCEPTED", ok
    offer = {**attributes, "purchasable_offer": [{"currency": "EUR", "marketplace_id": DE, "our_price": []}]}
    refused = httpx.put(
        f"{base}/RT-VENDOR-OFFER",
        params={"marketplaceIds": DE},
        json={"productType": "HOME", "requirements": "LISTING_PRODUCT_ONLY", "attributes": offer},
        headers=headers,
    ).json()
    assert refused["status"] == "INVALID"
    assert {"code": "90000900", "attributeNames": ["purchasable_offer"]}.items() <= next(
        i for i in refused["issues"] if i["code"] == "90000900"
    ).items()
    # Amazon's answer alone: the vendor schema's own refusal of the offer is not repeated
    assert [i["code"] for i in refused["issues"]] == ["90000900"], refused["issues"]
    flush(realistic)
    procurement = httpx.get(
        f"{base}/RT-VENDOR", params={"marketplaceIds": DE, "includedData": "procurement"}, headers=headers
    ).json()["procurement"]
    assert procurement == [{"costPrice": {"currencyCode": "EUR", "amount": "12.5"}}]


def test_a_sellers_cost_price_is_refused_like_any_attribute_its_schema_lacks(listings: ListingsApi) -> None:
    """cost_price is in vendors' schemas only: a seller's is an unknown attribute, nothing is stored."""
    attributes = {**home_us(), "cost_price": [{"value": 12.5, "currency": "USD", "marketplace_id": US}]}
    answer = put(listings, "RT-SELLER-COST", attributes)
    assert answer.status == "INVALID"
    (issue,) = [i for i in answer.issues if i.attribute_names == ["cost_price"]]
    assert issue.code == "LS-UNKNOWN-ATTRIBUTE" and issue.severity == "ERROR"
    assert issue.message.startswith("'cost_price' is not an attribute of this product type")
    assert put(listings, "RT-SELLER-COST", home_us()).status == "ACCEPTED"  # the rest was fine
