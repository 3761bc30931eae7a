"""Feeds API 2021-06-30 / JSON_LISTINGS_FEED against the running emulator (loopback HTTP)."""

from __future__ import annotations

import copy
import gzip
import json
import random
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
from emulator_helpers import flush

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.feed_report import report_schema_errors
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"
SELLER_TOKEN = "Atzr|listingsync-demo-seller-na"
FEEDS = "/feeds/2021-06-30"
JSON_CT = "application/json; charset=UTF-8"


def _client(server: EmulatorServer, refresh_token: str, region: str) -> httpx.Client:
    answer = httpx.post(
        server.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    return httpx.Client(base_url=server.endpoint(region), headers={"x-amz-access-token": token})


@pytest.fixture
def vendor(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with _client(emulator, VENDOR_TOKEN, "eu") as client:
        yield client


@cache
def _home_listing(marketplace_id: str, language_tag: str, seed: int) -> dict[str, Any]:
    schema = ProductTypeRegistry().get("HOME", marketplace_id)
    assert schema is not None
    derived = derive(schema, "LISTING_PRODUCT_ONLY")
    return sample_listing(derived, random.Random(seed), marketplace_id, language_tag, optional=0.0)


def home_listing(seed: int = 1, marketplace_id: str = DE, language_tag: str = "de_DE") -> dict[str, Any]:
    """A valid vendor (LISTING_PRODUCT_ONLY) HOME listing, deterministic for ``seed``."""
    return copy.deepcopy(_home_listing(marketplace_id, language_tag, seed))


def feed_document(
    messages: list[dict[str, Any]], *, report: bool = False, seller: str = "DEMOV"
) -> dict[str, Any]:
    header: dict[str, Any] = {"sellerId": seller, "version": "2.0", "issueLocale": "de_DE"}
    if report:
        header["report"] = {"includedData": ["summaries", "issues", "attributes"], "apiVersion": "2021-08-01"}
    return {"header": header, "messages": messages}


def upload(client: httpx.Client, data: bytes, *, content_type: str = JSON_CT) -> str:
    created = client.post(f"{FEEDS}/documents", json={"contentType": content_type})
    assert created.status_code == 201, created.text
    put = httpx.put(created.json()["url"], content=data, headers={"content-type": content_type})
    assert put.status_code == 200, put.text
    return str(created.json()["feedDocumentId"])


def submit(
    client: httpx.Client,
    document: dict[str, Any] | bytes,
    marketplaces: list[str] | None = None,
    feed_type: str = "JSON_LISTINGS_FEED",
) -> str:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    doc_id = upload(client, data)
    created = client.post(
        f"{FEEDS}/feeds",
        json={"feedType": feed_type, "marketplaceIds": marketplaces or [DE], "inputFeedDocumentId": doc_id},
    )
    assert created.status_code == 202, created.text
    return str(created.json()["feedId"])


def wait(client: httpx.Client, feed_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The feed once it ended: the emulator's time is moved on until Amazon finished everything
    queued (the feed and the writes of its messages), then getFeed is asked (again only on 429)."""
    flush(client)
    deadline = time.monotonic() + timeout
    while True:
        feed = client.get(f"{FEEDS}/feeds/{feed_id}")
        if feed.status_code == 429:  # getFeed: 2 rps, burst 15 on a real-speed emulator
            time.sleep(0.5)
            continue
        assert feed.status_code == 200, feed.text
        body: dict[str, Any] = feed.json()
        if body["processingStatus"] in ("DONE", "FATAL", "CANCELLED") or time.monotonic() > deadline:
            return body
        time.sleep(0.01)


def report_of(client: httpx.Client, feed: dict[str, Any]) -> dict[str, Any]:
    doc = client.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}")
    assert doc.status_code == 200, doc.text
    data = httpx.get(doc.json()["url"]).content
    if doc.json().get("compressionAlgorithm") == "GZIP":
        data = gzip.decompress(data)
    report: dict[str, Any] = json.loads(data)
    assert report_schema_errors(report) == []
    return report


def listing(client: httpx.Client, sku: str, marketplace_id: str = DE) -> httpx.Response:
    return client.get(
        f"/listings/2021-08-01/items/DEMOV/{sku}",
        params={"marketplaceIds": marketplace_id, "includedData": "summaries,attributes"},
    )


def test_missing_required_attribute_gives_90220_for_that_message(vendor: httpx.Client) -> None:
    good = home_listing(1)
    bad = home_listing(2)
    del bad["brand"]
    document = feed_document(
        [
            {
                "messageId": 7,
                "sku": "GOOD-1",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": good,
            },
            {
                "messageId": 8,
                "sku": "BAD-2",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": bad,
            },
        ],
        report=True,
    )
    feed = wait(vendor, submit(vendor, document))
    assert feed["processingStatus"] == "DONE"
    assert feed["processingStartTime"] <= feed["processingEndTime"]
    report = report_of(vendor, feed)
    assert report["header"]["feedId"] == feed["feedId"] and report["header"]["sellerId"] == "DEMOV"
    missing = [i for i in report["issues"] if i["code"] == "90220"]
    assert missing and all(i["messageId"] == 8 and i["sku"] == "BAD-2" for i in missing)
    assert any(i.get("attributeName") == "brand" for i in missing)
    assert report["summary"]["messagesProcessed"] == 2
    assert report["summary"]["messagesAccepted"] == 1 and report["summary"]["messagesInvalid"] == 1
    assert report["summary"]["errors"] == len([i for i in report["issues"] if i["severity"] == "ERROR"])
    # includedData → items of the accepted SKUs, as getListingsItem shows them.
    assert [item["sku"] for item in report["items"]] == ["GOOD-1"]
    assert report["items"][0]["summaries"][0]["marketplaceId"] == DE
    assert report["summary"]["itemSummary"]["items"] == 1
    assert listing(vendor, "GOOD-1").status_code == 200
    assert listing(vendor, "BAD-2").status_code == 404


def test_partial_update_patch_and_delete_apply_like_the_listings_api(vendor: httpx.Client) -> None:
    attributes = home_listing(3)
    first = feed_document(
        [
            {
                "messageId": 1,
                "sku": "SKU-P",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": attributes,
            }
        ]
    )
    assert report_of(vendor, wait(vendor, submit(vendor, first)))["summary"]["messagesAccepted"] == 1
    title = [{"value": "Neuer Titel", "language_tag": "de_DE", "marketplace_id": DE}]
    model = [{"value": "MODEL-42", "marketplace_id": DE}]
    second = feed_document(
        [
            {
                "messageId": 1,
                "sku": "SKU-P",
                "operationType": "PARTIAL_UPDATE",
                "productType": "HOME",
                "attributes": {"item_name": title},
            },
            {
                "messageId": 2,
                "sku": "SKU-P",
                "operationType": "PATCH",
                "productType": "HOME",
                "patches": [{"op": "replace", "path": "/attributes/model_number", "value": model}],
            },
        ]
    )
    report = report_of(vendor, wait(vendor, submit(vendor, second)))
    assert report["summary"]["messagesAccepted"] == 2, report["issues"]
    stored = listing(vendor, "SKU-P").json()["attributes"]
    assert stored["item_name"] == title and stored["model_number"] == model
    assert stored["brand"] == attributes["brand"]  # untouched attributes stay
    third = feed_document([{"messageId": 1, "sku": "SKU-P", "operationType": "DELETE"}])
    assert report_of(vendor, wait(vendor, submit(vendor, third)))["summary"]["messagesAccepted"] == 1
    assert listing(vendor, "SKU-P").status_code == 404


def test_each_marketplace_of_create_feed_gets_the_message(vendor: httpx.Client) -> None:
    document = feed_document(
        [
            {
                "messageId": 1,
                "sku": "SKU-M",
                "operationType": "UPDATE",
                "productType": "HOME",
                "requirements": "LISTING_PRODUCT_ONLY",
                "attributes": home_listing(4),
            }
        ]
    )
    report = report_of(vendor, wait(vendor, submit(vendor, document, [DE, FR])))
    assert report["summary"]["messagesAccepted"] == 1, report["issues"]
    assert listing(vendor, "SKU-M", DE).status_code == 200
    assert listing(vendor, "SKU-M", FR).status_code == 200
    # A marketplace the vendor does not sell in: the Listings API refuses, the message is invalid.
    uk = report_of(vendor, wait(vendor, submit(vendor, document, ["A1F83G8C2ARO7P"])))
    assert uk["summary"]["messagesInvalid"] == 1
    assert "combination" in uk["issues"][0]["message"]


def test_schema_invalid_message_is_rejected_alone(vendor: httpx.Client) -> None:
    document = feed_document(
        [
            {"messageId": 1, "sku": "X-1", "operationType": "UPDATE", "productType": "HOME"},
            {"messageId": 2, "sku": "X-2", "operationType": "DELETE"},
        ]
    )
    feed = wait(vendor, submit(vendor, document))
    assert feed["processingStatus"] == "DONE"
    report = report_of(vendor, feed)
    rejected = [i for i in report["issues"] if i.get("messageId") == 1]
    assert rejected and "attributes" in rejected[0]["message"]
    assert report["summary"]["messagesInvalid"] == 1 and report["summary"]["messagesAccepted"] == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"header": {"sellerId": "DEMOV", "version": "1.0"}, "messages": []}).encode(), "2.0"),
        (b"", "empty"),
        (
            json.dumps(
                feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}], seller="OTHER")
            ).encode(),
            "header.sellerId",
        ),
    ],
)
def test_unusable_document_ends_fatal_with_reason(vendor: httpx.Client, payload: bytes, reason: str) -> None:
    doc_id = vendor.post(f"{FEEDS}/documents", json={"contentType": JSON_CT}).json()
    if payload:
        httpx.put(doc_id["url"], content=payload, headers={"content-type": JSON_CT}).raise_for_status()
    created = vendor.post(
        f"{FEEDS}/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [DE],
            "inputFeedDocumentId": doc_id["feedDocumentId"],
        },
    )
    feed = wait(vendor, created.json()["feedId"])
    assert feed["processingStatus"] == "FATAL"
    report = report_of(vendor, feed)
    assert report["summary"]["errors"] == 1 and "messageId" not in report["issues"][0]
    assert reason in report["issues"][0]["message"]


def test_too_many_messages_is_fatal(vendor: httpx.Client) -> None:
    messages = [{"messageId": i, "sku": f"S{i}", "operationType": "DELETE"} for i in range(1, 25_002)]
    feed = wait(vendor, submit(vendor, feed_document(messages)))
    assert feed["processingStatus"] == "FATAL"
    assert "at most 25000" in report_of(vendor, feed)["issues"][0]["message"]


def test_gzip_upload_and_gzip_report(vendor: httpx.Client) -> None:
    messages = [
        {
            "messageId": i,
            "sku": f"G-{i}",
            "operationType": "UPDATE",
            "productType": "HOME",
            "requirements": "LISTING_PRODUCT_ONLY",
            "attributes": {"item_name": [{"value": "x", "marketplace_id": DE}]},
        }
        for i in range(1, 30)
    ]
    feed = wait(vendor, submit(vendor, gzip.compress(json.dumps(feed_document(messages)).encode())))
    assert feed["processingStatus"] == "DONE"
    doc = vendor.get(f"{FEEDS}/documents/{feed['resultFeedDocumentId']}").json()
    assert doc["compressionAlgorithm"] == "GZIP"  # a large report is stored compressed
    report = json.loads(gzip.decompress(httpx.get(doc["url"]).content))
    assert report["summary"]["messagesInvalid"] == 29
    encoded = vendor.get(
        f"{FEEDS}/documents/{feed['resultFeedDocumentId']}", params={"enableContentEncodingUrlHeader": "true"}
    ).json()
    served = httpx.get(encoded["url"])  # httpx honours Content-Encoding: gzip
    assert served.headers["content-encoding"] == "gzip" and served.json() == report


def test_upload_url_behaves_like_s3(vendor: httpx.Client) -> None:
    created = vendor.post(f"{FEEDS}/documents", json={"contentType": JSON_CT}).json()
    assert created["feedDocumentId"].startswith("amzn1.tortuga.")
    wrong_type = httpx.put(created["url"], content=b"{}", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 403 and "SignatureDoesNotMatch" in wrong_type.text
    tampered = httpx.put(
        created["url"].replace("X-Amz-Date=", "X-Amz-Date=1"),
        content=b"{}",
        headers={"content-type": JSON_CT},
    )
    assert tampered.status_code == 403
    assert vendor.post(f"{FEEDS}/documents", json={}).status_code == 400


def test_create_feed_validation(vendor: httpx.Client) -> None:
    doc_id = upload(
        vendor, json.dumps(feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}])).encode()
    )
    cases = [
        ({"marketplaceIds": [DE], "inputFeedDocumentId": doc_id}, "feedType"),
        (
            {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [], "inputFeedDocumentId": doc_id},
            "marketplaceIds",
        ),
        (
            {
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": ["ATVPDKIKX0DER"],
                "inputFeedDocumentId": doc_id,
            },
            "region",
        ),
        (
            {
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [DE],
                "inputFeedDocumentId": "badDocumentId",
            },
            "inputFeedDocumentId",
        ),
    ]
    for body, word in cases:
        answer = vendor.post(f"{FEEDS}/feeds", json=body)
        assert answer.status_code == 400, body
        assert word in answer.json()["errors"][0]["message"]


def test_get_feed_ids_and_ownership(emulator: EmulatorServer, vendor: httpx.Client) -> None:
    assert vendor.get(f"{FEEDS}/feeds/badFeedId1").status_code == 400
    assert vendor.get(f"{FEEDS}/feeds/123").status_code == 404
    assert vendor.get(f"{FEEDS}/documents/badDocumentId1").status_code == 400
    feed_id = submit(vendor, feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}]))
    with _client(emulator, SELLER_TOKEN, "na") as seller:
        assert seller.get(f"{FEEDS}/feeds/{feed_id}").status_code == 404  # another partner's feed


def test_get_feeds_filters_and_pages(vendor: httpx.Client) -> None:
    one = feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}])
    ids = [submit(vendor, one) for _ in range(3)]
    for feed_id in ids:
        wait(vendor, feed_id)
    assert vendor.get(f"{FEEDS}/feeds").status_code == 400  # feedTypes or nextToken required
    first = vendor.get(f"{FEEDS}/feeds", params={"feedTypes": "JSON_LISTINGS_FEED", "pageSize": 2}).json()
    assert [f["feedId"] for f in first["feeds"]] == ids[::-1][:2]  # newest first
    with_other = vendor.get(f"{FEEDS}/feeds", params={"nextToken": first["nextToken"], "pageSize": 2})
    assert with_other.status_code == 400  # nextToken must come alone
    second = vendor.get(f"{FEEDS}/feeds", params={"nextToken": first["nextToken"]}).json()
    assert [f["feedId"] for f in second["feeds"]] == [ids[0]] and "nextToken" not in second
    done = vendor.get(
        f"{FEEDS}/feeds", params={"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "CANCELLED"}
    )
    assert done.json()["feeds"] == []
    assert (
        vendor.get(f"{FEEDS}/feeds", params={"feedTypes": "X", "processingStatuses": "BAD_VALUE"}).status_code
        == 400
    )


def test_legacy_feed_type_ends_fatal(vendor: httpx.Client) -> None:
    feed = wait(vendor, submit(vendor, b"<xml/>", feed_type="POST_PRODUCT_DATA"))
    assert feed["processingStatus"] == "FATAL"
    assert "JSON_LISTINGS_FEED" in report_of(vendor, feed)["issues"][0]["message"]


def test_introspection_lists_feeds_and_reports(emulator: EmulatorServer, vendor: httpx.Client) -> None:
    feed_id = submit(vendor, feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}]))
    wait(vendor, feed_id)
    listed = httpx.get(f"{emulator.url}/_emulator/feeds").json()
    assert [f["feedId"] for f in listed["feeds"]] == [feed_id]
    assert listed["feeds"][0]["summary"]["messagesAccepted"] == 1
    one = httpx.get(f"{emulator.url}/_emulator/feeds/{feed_id}").json()
    assert one["processingStatus"] == "DONE" and one["report"]["summary"]["messagesProcessed"] == 1


def test_queue_cancel_background_processing_and_throttle() -> None:
    """Own server at real-ish speed: IN_QUEUE is observable, cancel works, 5 feeds / 5 min / region.
    Instant mode (feeds done in seconds) so that the background timer is seen applying a feed that
    nobody polls; realistic feed durations are tested in test_realistic.py with the clock moved."""
    with (
        run_in_thread(EmulatorSettings(rate_scale=1.0, instant=True)) as server,
        _client(server, VENDOR_TOKEN, "eu") as client,
    ):
        attributes = home_listing(5)
        message = {
            "messageId": 1,
            "sku": "BG-1",
            "operationType": "UPDATE",
            "productType": "HOME",
            "requirements": "LISTING_PRODUCT_ONLY",
            "attributes": attributes,
        }
        kept = submit(client, feed_document([message]))
        cancelled = submit(client, feed_document([{**message, "sku": "BG-2"}]))
        assert client.get(f"{FEEDS}/feeds/{cancelled}").json()["processingStatus"] == "IN_QUEUE"
        assert client.delete(f"{FEEDS}/feeds/{cancelled}").status_code == 200
        assert client.get(f"{FEEDS}/feeds/{cancelled}").json()["processingStatus"] == "CANCELLED"
        assert client.delete(f"{FEEDS}/feeds/{cancelled}").status_code == 400
        # Nobody polls `kept`: the timer applies it when due (queue 1 s + processing 2 s here).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stored = httpx.get(f"{server.url}/_emulator/listings", params={"seller_id": "DEMOV"}).json()
            if stored["count"]:
                break
            time.sleep(0.05)
        assert [r["sku"] for r in stored["listings"]] == ["BG-1"]
        assert wait(client, kept)["processingStatus"] == "DONE"  # the report follows the last message
        assert client.delete(f"{FEEDS}/feeds/{kept}").status_code == 400  # DONE cannot be cancelled
        # 2 submitted; 3 more fit the 5-per-5-minutes budget of the EU region, the 6th is throttled.
        one = json.dumps(feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}])).encode()
        for _ in range(3):
            submit(client, one)
        doc_id = upload(client, one)
        body = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [DE], "inputFeedDocumentId": doc_id}
        throttled = client.post(f"{FEEDS}/feeds", json=body)
        assert throttled.status_code == 429 and throttled.json()["errors"][0]["code"] == "QuotaExceeded"
        # Other feed types keep their own budget.
        assert (
            client.post(f"{FEEDS}/feeds", json={**body, "feedType": "POST_PRODUCT_DATA"}).status_code == 202
        )
        # Another selling partner (here in the NA region) has its own JSON_LISTINGS_FEED budget.
        with _client(server, SELLER_TOKEN, "na") as seller:
            na_doc = upload(seller, one)
            answer = seller.post(
                f"{FEEDS}/feeds",
                json={
                    "feedType": "JSON_LISTINGS_FEED",
                    "marketplaceIds": ["ATVPDKIKX0DER"],
                    "inputFeedDocumentId": na_doc,
                },
            )
            assert answer.status_code == 202


def test_a_processing_crash_ends_the_feed_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    from listingsync.emulator import feeds

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(feeds, "apply_messages", explode)
    with (
        run_in_thread(EmulatorSettings(rate_scale=1000.0)) as server,
        _client(server, VENDOR_TOKEN, "eu") as client,
    ):
        feed = wait(
            client, submit(client, feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}]))
        )
        assert feed["processingStatus"] == "FATAL"
        assert "RuntimeError" in report_of(client, feed)["issues"][0]["message"]


def test_get_feed_does_not_wait_for_a_long_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed whose messages take long to apply shows IN_PROGRESS; getFeed answers promptly."""
    from listingsync.emulator import feeds

    real = feeds.apply_messages

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds, "apply_messages", slow)
    with (
        # Instant mode: the feed leaves the queue at once (the slow apply is what is tested here).
        run_in_thread(EmulatorSettings(rate_scale=1000.0, instant=True)) as server,
        _client(server, VENDOR_TOKEN, "eu") as client,
    ):
        feed_id = submit(client, feed_document([{"messageId": 1, "sku": "A", "operationType": "DELETE"}]))
        time.sleep(0.05)
        started = time.monotonic()
        first = client.get(f"{FEEDS}/feeds/{feed_id}").json()
        assert time.monotonic() - started < 1.2
        assert first["processingStatus"] == "IN_PROGRESS" and "resultFeedDocumentId" not in first
        assert client.delete(f"{FEEDS}/feeds/{feed_id}").status_code == 400
        done = wait(client, feed_id)
        assert (
            done["processingStatus"] == "DONE" and report_of(client, done)["summary"]["messagesAccepted"] == 1
        )
