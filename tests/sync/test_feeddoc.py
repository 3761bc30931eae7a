from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson

from listingsync.sync.feeddoc import build_documents, parse_report
from listingsync.sync.plan import Action, Op

MP = "A1PA6795UKMFR9"
SCHEMAS = Path(__file__).parents[2] / "src" / "listingsync" / "data" / "schemas"


def _actions(n: int) -> list[Action]:
    out = []
    for i in range(n):
        attrs = {"item_name": [{"value": f"n{i}", "marketplace_id": MP}]}
        out.append(Action(Op.CREATE, f"S{i}", MP, "HOME", "LISTING", "h", attrs))
    out.append(
        Action(
            Op.UPDATE,
            "U",
            MP,
            "HOME",
            patches=[{"op": "replace", "path": "/attributes/x", "value": [{"a": 1}]}],
        )
    )
    out.append(Action(Op.DELETE, "D", MP, "HOME"))
    out.append(
        Action(Op.CREATE, "OTHER", "A13V1IB3VIYZZH", "HOME", None, "h", {"item_name": [{"value": "x"}]})
    )
    return out


def test_documents_valid_against_amazons_schema_and_split() -> None:
    schema = json.loads((SCHEMAS / "listings-feed-schema-v2.json").read_text())
    docs = list(build_documents(_actions(5), "A1SELLER12345", max_messages=4))
    assert [(d.marketplace_id, len(d.messages)) for d in docs] == [(MP, 4), (MP, 3), ("A13V1IB3VIYZZH", 1)]
    for doc in docs:
        body = orjson.loads(doc.body)
        jsonschema.validate(body, schema)
        assert body["header"]["report"]["includedData"]
        assert [m["messageId"] for m in body["messages"]] == list(range(1, len(doc.messages) + 1))
    assert docs[1].messages == [(1, "S4", "UPDATE"), (2, "U", "PATCH"), (3, "D", "DELETE")]


def test_report_maps_issues_to_skus() -> None:
    report = {
        "header": {"sellerId": "A1", "version": "2.0", "feedId": "1"},
        "issues": [
            {
                "messageId": 2,
                "code": "90220",
                "severity": "ERROR",
                "message": "brand missing",
                "attributeName": "brand",
            },
            {"messageId": 1, "code": "1", "severity": "WARNING", "message": "meh"},
            {"code": "x", "severity": "ERROR", "message": "feed-level"},
        ],
        "summary": {
            "errors": 2,
            "warnings": 1,
            "messagesProcessed": 3,
            "messagesAccepted": 2,
            "messagesInvalid": 1,
        },
        "items": [
            {
                "sku": "A",
                "summaries": [{"marketplaceId": MP, "asin": "B000000001", "status": ["DISCOVERABLE"]}],
            }
        ],
    }
    results, feed_level = parse_report(
        report, {1: ("A", "UPDATE"), 2: ("B", "UPDATE"), 3: ("C", "DELETE")}, MP
    )
    by = {r.sku: r for r in results}
    assert (
        by["A"].kind == "live" and by["A"].asin == "B000000001" and by["A"].issues[0]["severity"] == "WARNING"
    )
    assert by["B"].kind == "invalid" and by["B"].issues[0]["attributeNames"] == ["brand"]
    assert by["C"].kind == "deleted"
    assert feed_level[0]["message"] == "feed-level"


def test_documents_are_sized_by_the_message_limit_not_the_10_mib_guidance() -> None:
    """25,000 messages of 2 KB (about 50 MiB) are one feed: Amazon limits messages, not bytes; a
    byte ceiling still cuts, at a message boundary, when it is given."""
    text = "x" * 2000
    actions = [
        Action(Op.CREATE, f"S{i}", MP, "HOME", "LISTING", "h", {"item_name": [{"value": f"{text}{i}"}]})
        for i in range(25_001)
    ]
    docs = list(build_documents(actions, "A1SELLER12345"))
    assert [len(d.messages) for d in docs] == [25_000, 1]
    assert len(docs[0].body) > 10 * 2**20
    capped = list(build_documents(actions[:100], "A1SELLER12345", max_bytes=50_000))
    assert all(len(d.body) <= 50_000 for d in capped) and sum(len(d.messages) for d in capped) == 100
