"""Where the Feeds API keeps its documents and feeds: ``state.extra["feeds"]``, plain JSON.

Kept in the emulator state so it is persisted (``--state FILE``) and reset with the rest. Document
bytes go to the state's blob store (on disk: a million-SKU sync uploads gigabytes), the rest is plain
JSON. All access goes through :class:`FeedStore`, which takes the state lock for every change.

Identifiers look like Amazon's: feed ids are decimal numbers ("50012019948"), document ids
``amzn1.tortuga.4.<region>.<uuid>.T<n>``. Anything else cannot be one of ours, which lets the API
answer 400 for a malformed id and 404 for a well-formed unknown one (the models' sandbox examples
answer ``badFeedId1`` / ``badDocumentId1`` with 400).
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from listingsync.emulator.state import State

__all__ = [
    "DOCUMENT_TTL",
    "FEED_TTL",
    "PROCESSING",
    "FeedStore",
    "Timeline",
    "is_document_id",
    "is_feed_id",
    "iso",
]

#: "A feedDocumentId expires after 2 days if no feed is created from it" (spapi.md §5.1).
DOCUMENT_TTL: Final = 2 * 24 * 3600.0
#: Feeds are kept (and listed by getFeeds) for 90 days.
FEED_TTL: Final = 90 * 24 * 3600.0
_FIRST_FEED_ID: Final = 50_012_019_948
#: Stored status while the worker applies a feed's messages; callers see IN_PROGRESS.
PROCESSING: Final = "PROCESSING"

_FEED_ID = re.compile(r"^[0-9]{1,20}$")
_DOC_ID = re.compile(r"^amzn1\.tortuga\.4\.(na|eu|fe)\.[0-9a-f-]{36}\.T[0-9A-Z]+$")


def is_feed_id(value: str) -> bool:
    return bool(_FEED_ID.match(value))


def is_document_id(value: str) -> bool:
    return bool(_DOC_ID.match(value))


def iso(epoch: float) -> str:
    """ISO 8601 with milliseconds and Z, as the Feeds API writes times."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


@dataclass(frozen=True, slots=True)
class Timeline:
    """When a feed leaves the queue and when it is done (epoch seconds, wall clock)."""

    start: float
    end: float


class FeedStore:
    """Documents and feeds of every selling partner, inside ``state.extra["feeds"]``."""

    def __init__(self, state: State, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        #: The emulator clock (``Clock.now``): queue and processing times are read off it.
        self.clock = clock

    @property
    def _root(self) -> dict[str, Any]:
        root = self.state.extra.get("feeds")
        if not isinstance(root, dict):
            root = self.state.extra["feeds"] = {"documents": {}, "feeds": {}, "next_id": _FIRST_FEED_ID}
        return root

    def purge(self, now: float | None = None) -> int:
        """Forget what Amazon forgets: unused uploads after 2 days, feeds (and their documents)
        after 90 days. Keeps a long-running emulator's state file from growing without bound."""
        now = self.clock() if now is None else now
        with self.state.lock:
            root = self._root
            old_feeds = [fid for fid, f in root["feeds"].items() if now - f["created"] > FEED_TTL]
            for fid in old_feeds:
                del root["feeds"][fid]
            gone = set(old_feeds)
            stale = [
                did
                for did, d in root["documents"].items()
                if (d["feed_id"] is None and now - d["created"] > DOCUMENT_TTL) or d["feed_id"] in gone
            ]
            for did in stale:
                del root["documents"][did]
                self.state.blobs.pop(did, None)
            if old_feeds or stale:
                self.state.mark_dirty()
            return len(old_feeds) + len(stale)

    # -- documents ---------------------------------------------------------------------------------

    def new_document(self, seller_id: str, region: str, content_type: str, *, kind: str) -> dict[str, Any]:
        with self.state.lock:
            root = self._root
            serial = len(root["documents"]) + 1
            doc_id = f"amzn1.tortuga.4.{region}.{uuid.uuid4()}.T{serial:X}"
            doc = {
                "id": doc_id,
                "seller_id": seller_id,
                "region": region,
                "content_type": content_type,
                "kind": kind,  # "input" (uploaded by the caller) or "result" (processing report)
                "created": self.clock(),
                "data": None,  # base64 of the bytes in older state files; now in state.blobs
                "compression": None,  # "GZIP" for compressed result documents
                "feed_id": None,
            }
            root["documents"][doc_id] = doc
            self.state.mark_dirty()
            return dict(doc)

    def document(self, doc_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            doc = self._root["documents"].get(doc_id)
            return dict(doc) if doc is not None else None

    def write_document(
        self, doc_id: str, data: bytes, *, compression: str | None = None, feed_id: str | None = None
    ) -> None:
        with self.state.lock:
            doc = self._root["documents"][doc_id]
            self.state.blobs[doc_id] = data
            doc["data"] = None
            doc["size"] = len(data)
            doc["compression"] = compression
            if feed_id is not None:
                doc["feed_id"] = feed_id
            self.state.mark_dirty()

    def link_document(self, doc_id: str, feed_id: str) -> None:
        with self.state.lock:
            self._root["documents"][doc_id]["feed_id"] = feed_id
            self.state.mark_dirty()

    def document_bytes(self, doc: dict[str, Any]) -> bytes | None:
        """The document's bytes once uploaded (or written), else None."""
        data = doc.get("data")
        if isinstance(data, str):  # a state file written before the blob store
            return base64.b64decode(data)
        return self.state.blobs.get(doc["id"])

    # -- feeds -------------------------------------------------------------------------------------

    def new_feed(
        self,
        *,
        seller_id: str,
        region: str,
        feed_type: str,
        marketplace_ids: list[str],
        input_document_id: str,
        feed_options: dict[str, str] | None,
        queue_seconds: float,
        processing_seconds: float,
    ) -> dict[str, Any]:
        """Create a feed IN_QUEUE. Feeds of one selling partner are processed one after another."""
        now = self.clock()
        with self.state.lock:
            root = self._root
            feed_id = str(root["next_id"])
            root["next_id"] += 1
            previous_end = max(
                (
                    f["end"]
                    for f in root["feeds"].values()
                    if f["seller_id"] == seller_id and f["status"] not in ("CANCELLED",)
                ),
                default=0.0,
            )
            start = max(now + queue_seconds, previous_end)
            feed = {
                "feedId": feed_id,
                "feedType": feed_type,
                "marketplaceIds": list(marketplace_ids),
                "seller_id": seller_id,
                "region": region,
                "input": input_document_id,
                "options": dict(feed_options or {}),
                "created": now,
                "start": start,
                "end": start + processing_seconds,
                # "IN_QUEUE" until processed; then DONE / FATAL / CANCELLED. IN_QUEUE vs
                # IN_PROGRESS is read off the clock (see status()).
                "status": "IN_QUEUE",
                "result": None,
                "summary": None,
            }
            root["feeds"][feed_id] = feed
            self.state.mark_dirty()
            return dict(feed)

    def feed(self, feed_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            feed = self._root["feeds"].get(feed_id)
            return dict(feed) if feed is not None else None

    def feeds(self) -> Iterator[dict[str, Any]]:
        with self.state.lock:
            snapshot = [dict(f) for f in self._root["feeds"].values()]
        yield from snapshot

    def update_feed(self, feed_id: str, **changes: Any) -> dict[str, Any]:
        with self.state.lock:
            feed = self._root["feeds"][feed_id]
            feed.update(changes)
            self.state.mark_dirty()
            return dict(feed)

    def status(self, feed: dict[str, Any], now: float | None = None) -> str:
        """The processingStatus a caller sees now."""
        stored = str(feed["status"])
        if stored == PROCESSING:
            return "IN_PROGRESS"
        if stored != "IN_QUEUE":
            return stored
        now = self.clock() if now is None else now
        return "IN_PROGRESS" if now >= feed["start"] else "IN_QUEUE"

    def due(self, feed: dict[str, Any], now: float | None = None) -> bool:
        """True when the clock says the feed should be finished but it has not been processed."""
        now = self.clock() if now is None else now
        return bool(feed["status"] == "IN_QUEUE" and now >= float(feed["end"]))

    def public(self, feed: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        """The model's ``Feed`` object."""
        status = self.status(feed, now)
        out: dict[str, Any] = {
            "feedId": feed["feedId"],
            "feedType": feed["feedType"],
            "marketplaceIds": list(feed["marketplaceIds"]),
            "createdTime": iso(feed["created"]),
            "processingStatus": status,
        }
        if status in ("IN_PROGRESS", "DONE", "FATAL"):
            out["processingStartTime"] = iso(feed["start"])
        if status in ("DONE", "FATAL"):
            out["processingEndTime"] = iso(feed.get("finished") or feed["end"])
        if status == "CANCELLED":
            # As Amazon's own example of a cancelled feed shows it: both times, at the cancellation.
            out["processingStartTime"] = out["processingEndTime"] = iso(
                feed.get("finished") or feed["created"]
            )
        if feed.get("result") and status in ("DONE", "FATAL"):
            out["resultFeedDocumentId"] = feed["result"]
        return out
