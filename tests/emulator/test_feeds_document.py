"""Feed document parsing and the processing report, without a server."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.feed_document import (
    FeedDocumentError,
    FeedMessage,
    RejectedMessage,
    parse_feed_document,
)
from listingsync.emulator.feed_report import ReportBuilder, fatal_report, report_schema_errors

HEADER = {"sellerId": "S1", "version": "2.0"}


def _doc(messages: list[Any], **header: Any) -> bytes:
    return json.dumps({"header": {**HEADER, **header}, "messages": messages}).encode()


def test_amazons_example_document_parses_to_messages() -> None:
    example = Path(__file__).parents[3] / "shared/spapi/schemas/listings-feed-schema-v2.example.json"
    if not example.exists():
        pytest.skip("../shared is not beside the checkout")
    document = parse_feed_document(example.read_bytes())
    assert document.seller_id == "AXXXXXXXXXXXX" and document.issue_locale == "en_US"
    assert document.wants_items and "summaries" in document.included_data
    assert all(isinstance(m, FeedMessage) for m in document.messages)
    assert [m.operation_type for m in document.messages if isinstance(m, FeedMessage)] == [
        "DELETE",
        "PARTIAL_UPDATE",
        "UPDATE",
        "PATCH",
        "PATCH",
    ]


def test_gzip_and_bom_are_accepted() -> None:
    raw = _doc([{"messageId": 1, "sku": "A", "operationType": "DELETE"}])
    assert len(parse_feed_document(gzip.compress(raw)).messages) == 1
    assert len(parse_feed_document(b"\xef\xbb\xbf" + raw).messages) == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"\x1f\x8b\x08garbage", "gzip"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"header": ', "line 1 column"),
        (b"[]", "listings-feed-schema-v2"),
        (json.dumps({"header": {"sellerId": "S"}, "messages": [{}]}).encode(), "version"),
        (json.dumps({"header": HEADER, "messages": []}).encode(), "messages"),
        (json.dumps({"header": HEADER}).encode(), "messages"),
    ],
)
def test_unusable_documents_say_why(data: bytes, words: str) -> None:
    with pytest.raises(FeedDocumentError) as error:
        parse_feed_document(data)
    assert words in str(error.value)
    assert error.value.fix


def test_message_rules_per_operation_are_explained() -> None:
    document = parse_feed_document(
        _doc(
            [
                {
                    "messageId": 1,
                    "sku": "A",
                    "operationType": "UPDATE",
                    "productType": "HOME",
                    "attributes": {"a": []},
                    "patches": [{"op": "add", "path": "/attributes/a"}],
                },
                {"messageId": 2, "sku": "B", "operationType": "PATCH", "productType": "HOME"},
                {"messageId": 3, "sku": "C", "operationType": "DELETE", "attributes": {"a": []}},
                {
                    "messageId": 4,
                    "sku": "D",
                    "operationType": "PARTIAL_UPDATE",
                    "productType": "HOME",
                    "requirements": "LISTING",
                    "attributes": {"a": []},
                },
                {"messageId": 5, "sku": "E", "operationType": "NUKE"},
                {"messageId": 5, "sku": "F", "operationType": "DELETE"},
                {"messageId": 0, "sku": "G", "operationType": "DELETE"},
                "not a message",
                {"messageId": 6, "sku": "H", "operationType": "DELETE"},
            ]
        )
    )
    rejected = {m.sku: m.problems for m in document.messages if isinstance(m, RejectedMessage)}
    assert rejected["A"] == ("patches: not allowed in an UPDATE message",)
    assert rejected["B"] == ("patches: required in a PATCH message",)
    assert rejected["C"] == ("attributes: not allowed in a DELETE message",)
    assert rejected["D"] == ("requirements: not allowed in a PARTIAL_UPDATE message",)
    assert "NUKE" in rejected["E"][0]
    assert "unique" in rejected["F"][0]
    assert "messageId" in rejected["G"][0]
    assert "object" in rejected[None][0]  # the string "message": no messageId, no sku
    accepted = [m for m in document.messages if isinstance(m, FeedMessage)]
    assert [m.sku for m in accepted] == ["H"]


def test_report_builder_output_follows_amazons_schema() -> None:
    builder = ReportBuilder("S1", "123", included_data=["summaries", "issues"])
    builder.add_api_issues(
        4,
        "SKU-B",
        [
            {
                "code": "90220",
                "message": "'brand' is required but not supplied.",
                "severity": "ERROR",
                "attributeNames": ["brand"],
                "categories": ["MISSING_ATTRIBUTE"],
            },
            {"code": "18448", "message": "incomplete", "severity": "WARNING", "categories": []},
        ],
    )
    builder.message_done(accepted=False)
    builder.message_done(accepted=True)
    builder.add_item({"sku": "SKU-A", "issues": [{"code": "1", "message": "m", "severity": "WARNING"}]})
    report = builder.build()
    assert report_schema_errors(report) == []
    assert report["issues"][0] == {
        "messageId": 4,
        "sku": "SKU-B",
        "code": "90220",
        "severity": "ERROR",
        "message": "'brand' is required but not supplied.",
        "attributeName": "brand",
    }
    assert report["summary"] == {
        "errors": 1,
        "warnings": 1,
        "messagesProcessed": 2,
        "messagesAccepted": 1,
        "messagesInvalid": 1,
        "itemSummary": {"items": 1, "errors": 0, "warnings": 1},
    }
    assert report["header"]["report"] == {"includedData": ["summaries", "issues"], "apiVersion": "2021-08-01"}


def test_report_without_included_data_has_no_items_and_fatal_report_conforms() -> None:
    plain = ReportBuilder("S1", "1").build()
    assert "items" not in plain and "report" not in plain["header"] and report_schema_errors(plain) == []
    fatal = fatal_report("S1", "2", "The feed document is empty.")
    assert report_schema_errors(fatal) == []
    assert fatal["issues"] == [
        {"code": "LS-FEED-FATAL", "severity": "ERROR", "message": "The feed document is empty."}
    ]
    assert report_schema_errors({"header": {}, "issues": [], "summary": {}})  # the check can fail


def test_feeds_survive_an_emulator_restart(tmp_path: Path) -> None:
    import httpx

    from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    state = tmp_path / "state.json"
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|listingsync-demo-seller-na",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    with run_in_thread(EmulatorSettings(state_file=state, rate_scale=1000.0)) as server:
        token = httpx.post(server.lwa_url, data=form).json()["access_token"]
        with httpx.Client(base_url=server.endpoint("na"), headers={"x-amz-access-token": token}) as client:
            doc = client.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
            httpx.put(
                doc["url"],
                content=_doc(
                    [{"messageId": 1, "sku": "A", "operationType": "DELETE"}], sellerId="A3DEMOSELLER01"
                ),
                headers={"content-type": "application/json"},
            ).raise_for_status()
            feed_id = client.post(
                "/feeds/2021-06-30/feeds",
                json={
                    "feedType": "JSON_LISTINGS_FEED",
                    "marketplaceIds": ["ATVPDKIKX0DER"],
                    "inputFeedDocumentId": doc["feedDocumentId"],
                },
            ).json()["feedId"]
            assert client.get(f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 200
    with run_in_thread(EmulatorSettings(state_file=state, rate_scale=1000.0)) as server:
        server.flush()  # the restored feed finishes on the new server's clock, not within a timing window
        token = httpx.post(server.lwa_url, data=form).json()["access_token"]
        with httpx.Client(base_url=server.endpoint("na"), headers={"x-amz-access-token": token}) as client:
            feed = client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
            assert feed["processingStatus"] == "DONE"
            result = client.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
            report = httpx.get(result["url"]).json()
            assert report["summary"]["messagesAccepted"] == 1


def test_store_purges_what_amazon_forgets() -> None:
    from listingsync.emulator.feed_store import DOCUMENT_TTL, FEED_TTL, FeedStore
    from listingsync.emulator.state import State

    store = FeedStore(State())
    unused = store.new_document("S1", "eu", "application/json", kind="input")
    used = store.new_document("S1", "eu", "application/json", kind="input")
    feed = store.new_feed(
        seller_id="S1",
        region="eu",
        feed_type="JSON_LISTINGS_FEED",
        marketplace_ids=["A1PA6795UKMFR9"],
        input_document_id=used["id"],
        feed_options=None,
        queue_seconds=0,
        processing_seconds=0,
    )
    store.link_document(used["id"], feed["feedId"])
    assert store.purge() == 0
    assert store.purge(now=unused["created"] + DOCUMENT_TTL + 1) == 1  # the upload no feed used
    assert store.document(unused["id"]) is None and store.document(used["id"]) is not None
    assert store.purge(now=feed["created"] + FEED_TTL + 1) == 2  # the feed and its document
    assert store.feed(feed["feedId"]) is None and store.document(used["id"]) is None
