"""JSON_LISTINGS_FEED documents out, processing reports in (schemas in ``data/schemas``).

A feed's messages carry no marketplace: ``createFeed.marketplaceIds`` sets it, so each document
holds one marketplace's actions. ``header.report.includedData`` asks Amazon to put the listing as
it stands after processing (summaries, issues) into the report, so semantic issues found after
acceptance come back with the feed, mapped to SKUs through messageId.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from listingsync.sync.hashing import json_bytes
from listingsync.sync.plan import Action, Op

__all__ = [
    "MAX_MESSAGES",
    "OPERATIONS",
    "FeedDocument",
    "MessageResult",
    "build_documents",
    "feed_header",
    "message_for",
    "parse_report",
]

# How big a JSON_LISTINGS_FEED document may be, from Amazon's own documents:
# - Messages: at most 25,000 per feed, the feed type's only stated size limit (changelog "Feed size
#   and rate limit changes for the JSON_LISTINGS_FEED", 2025-05-06: "Items per request increases
#   from 10,000 to 25,000 per feed"; the feed schema's ``messages.maxItems`` says the same).
# - Bytes: no limit is documented for this feed type. The 10 MiB figure comes from "Feeds API Best
#   Practices" (developer-docs.amazon.com/sp-api/docs/feeds-api-best-practices), a recommendation
#   written for the legacy XML and flat-file feeds ("if your file exceeds the recommended size,
#   ... divide it"), and the same page asks for fewer, larger feeds. Cutting at 10 MiB made
#   100,000 listings 29 feeds, i.e. 5 extra 5-minute submission windows, where 4 feeds of 25,000
#   do. We cap a document at 100 MiB only so that one document (held in memory while it is
#   uploaded) stays within a run's memory budget: listings up to 4 KB reach the message limit first.
# - Compression: uploads must be plain. Amazon serves *reports* gzip-compressed
#   (``compressionAlgorithm``), but "compressed file uploads (e.g., gzip) are not currently supported
#   when uploading feed documents" (Amazon, github.com/amzn/selling-partner-api-models/issues/4907,
#   2026-05-18), so documents are sized by their uncompressed bytes.

#: JSON_LISTINGS_FEED ``messages.maxItems`` (raised from 10,000 on 2025-05-06).
MAX_MESSAGES = 25_000
#: Our ceiling per document (Amazon documents none; see above).
MAX_BYTES = 100 * 1024 * 1024
#: The cut before it was researched: Amazon's 10 MiB best-practice figure (for comparisons).
GUIDANCE_BYTES = 10 * 1024 * 1024
REPORT_INCLUDED_DATA = ["issues", "summaries"]


@dataclass(slots=True)
class FeedDocument:
    marketplace_id: str
    actions: list[Action]
    #: (messageId, sku, operationType) in message order.
    messages: list[tuple[int, str, str]]
    body: bytes


@dataclass(slots=True)
class MessageResult:
    sku: str
    message_id: int | None
    operation: str
    #: accepted | live | invalid | deleted
    kind: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    asin: str | None = None


def message_for(action: Action, message_id: int) -> dict[str, Any]:
    if action.op in (Op.CREATE, Op.REPLACE):
        msg: dict[str, Any] = {
            "messageId": message_id,
            "sku": action.sku,
            "operationType": "UPDATE",
            "productType": action.product_type,
            "attributes": action.attributes,
        }
        if action.requirements:
            msg["requirements"] = action.requirements
        return msg
    if action.op is Op.UPDATE:
        return {
            "messageId": message_id,
            "sku": action.sku,
            "operationType": "PATCH",
            "productType": action.product_type,
            "patches": action.patches,
        }
    if action.op is Op.DELETE:
        return {"messageId": message_id, "sku": action.sku, "operationType": "DELETE"}
    raise ValueError(f"{action.sku}: {action.op} is not a write")


#: The feed message ``operationType`` of each write.
OPERATIONS = {Op.CREATE: "UPDATE", Op.REPLACE: "UPDATE", Op.UPDATE: "PATCH", Op.DELETE: "DELETE"}


def feed_header(seller_id: str, issue_locale: str | None = None) -> dict[str, Any]:
    """The document header: ``report.includedData`` brings each listing's issues and summaries."""
    header: dict[str, Any] = {
        "sellerId": seller_id,
        "version": "2.0",
        "report": {"includedData": REPORT_INCLUDED_DATA, "apiVersion": "2021-08-01"},
    }
    if issue_locale:
        header["issueLocale"] = issue_locale
    return header


def build_documents(
    actions: Sequence[Action],
    seller_id: str,
    *,
    issue_locale: str | None = None,
    max_messages: int = MAX_MESSAGES,
    max_bytes: int = MAX_BYTES,
) -> Iterator[FeedDocument]:
    """Documents of up to ``max_messages`` messages (and about ``max_bytes``), one marketplace each.

    Action order is kept inside each marketplace, so parents stay ahead of their children.
    """
    by_mp: dict[str, list[Action]] = {}
    for a in actions:
        if a.op.is_write:
            by_mp.setdefault(a.marketplace_id, []).append(a)
    head = orjson.dumps(feed_header(seller_id, issue_locale))
    for mp, mp_actions in by_mp.items():
        chunk: list[Action] = []
        encoded: list[bytes] = []
        size = len(head) + 32
        for action in mp_actions:
            raw = json_bytes(message_for(action, len(chunk) + 1))
            if chunk and (len(chunk) >= max_messages or size + len(raw) + 1 > max_bytes):
                yield _document(mp, chunk, encoded, head)
                chunk, encoded, size = [], [], len(head) + 32
                raw = json_bytes(message_for(action, 1))
            chunk.append(action)
            encoded.append(raw)
            size += len(raw) + 1
        if chunk:
            yield _document(mp, chunk, encoded, head)


def _document(mp: str, actions: list[Action], encoded: list[bytes], head: bytes) -> FeedDocument:
    # Assembled from pre-encoded messages: no second serialisation of 25,000 attribute documents.
    body = b'{"header":' + head + b',"messages":[' + b",".join(encoded) + b"]}"
    messages = [(i + 1, a.sku, OPERATIONS[a.op]) for i, a in enumerate(actions)]
    return FeedDocument(mp, list(actions), messages, body)


def parse_report(
    report: dict[str, Any],
    messages: dict[int, tuple[str, str]],
    marketplace_id: str,
) -> tuple[list[MessageResult], list[dict[str, Any]]]:
    """Per-message results (every message of the feed gets one) and the feed-level issues.

    A message with an ERROR issue is ``invalid``; one without is accepted (``live`` when the
    report's item summaries show it BUYABLE or DISCOVERABLE) or ``deleted`` for a DELETE.
    """
    by_message: dict[int, list[dict[str, Any]]] = {}
    by_sku: dict[str, list[dict[str, Any]]] = {}
    feed_level: list[dict[str, Any]] = []
    for raw in report.get("issues") or []:
        issue = _issue(raw, marketplace_id)
        mid = raw.get("messageId")
        if isinstance(mid, int) and mid in messages:
            by_message.setdefault(mid, []).append(issue)
        elif raw.get("sku"):
            by_sku.setdefault(str(raw["sku"]), []).append(issue)
        else:
            feed_level.append(issue)
    items: dict[str, dict[str, Any]] = {}
    for item in report.get("items") or []:
        if isinstance(item, dict) and item.get("sku"):
            items[str(item["sku"])] = item
    results: list[MessageResult] = []
    for mid, (sku, operation) in sorted(messages.items()):
        issues = by_message.get(mid, []) + by_sku.pop(sku, [])
        item = items.get(sku)
        asin = None
        live = False
        if item is not None:
            for issue in item.get("issues") or []:
                converted = _issue(issue, marketplace_id)
                if converted not in issues:
                    issues.append(converted)
            for summary in item.get("summaries") or []:
                if summary.get("marketplaceId") in (None, marketplace_id):
                    asin = summary.get("asin") or asin
                    live = live or bool(set(summary.get("status") or []) & {"BUYABLE", "DISCOVERABLE"})
        if any(i["severity"] == "ERROR" for i in issues):
            kind = "invalid"
        elif operation == "DELETE":
            kind = "deleted"
        else:
            kind = "live" if live else "accepted"
        results.append(MessageResult(sku, mid, operation, kind, issues, asin))
    return results, feed_level


def _issue(raw: dict[str, Any], marketplace_id: str) -> dict[str, Any]:
    """Report issues name one ``attributeName``; the API's (and our store's) shape is a list."""
    names = raw.get("attributeNames")
    if names is None:
        names = [raw["attributeName"]] if raw.get("attributeName") else []
    return {
        "code": str(raw.get("code") or ""),
        "message": str(raw.get("message") or ""),
        "severity": str(raw.get("severity") or "ERROR"),
        "attributeNames": list(names),
        "categories": list(raw.get("categories") or []),
        "source": "amazon",
    }
