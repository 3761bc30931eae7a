"""The feed executor: JSON_LISTINGS_FEED documents, submitted within Amazon's feed budget.

Per document: record the feed and its messageId → SKU map and the listings' intents (commit),
createFeedDocument, upload, createFeed, commit the feedId at once. A killed process therefore
finds either a ``building`` feed (never created as far as we know: its SKUs are reconciled) or a
``submitted`` one with its feedId, which the next run polls instead of resending.

A createFeed whose answer is lost (a connection cut after Amazon created the feed, or a 5xx that
may have come after it did) is not sent again blindly: the executor asks getFeeds for this
account's JSON_LISTINGS_FEED feeds created since just before the call that the state database does
not know, and takes the oldest as this document's feed (getFeeds does not return the input
document id, so time and "not ours yet" are what tie them; the run lock keeps other syncs of this
state database out). When even that lookup fails the feed stays ``building`` with its intents, and
the next run's recovery looks again (:meth:`FeedExecutor.adopt`) before anything is planned, so an
orphan feed is followed to its end instead of overwriting newer values later.

Budget: at most 5 JSON_LISTINGS_FEED submissions per 5 minutes per region. The window is also
checked against the store's createFeed times, so a restart does not burst past it. getFeed is
polled with exponential backoff; the report is parsed and mapped back to SKUs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from listingsync.amazon import SPAPIClient, SPAPIConnectionError, SPAPIError
from listingsync.errors import ListingSyncError
from listingsync.sync import killpoints
from listingsync.sync.feeddoc import (
    MAX_BYTES,
    MAX_MESSAGES,
    OPERATIONS,
    MessageResult,
    feed_header,
    message_for,
    parse_report,
)
from listingsync.sync.hashing import json_bytes
from listingsync.sync.items import intent_for
from listingsync.sync.plan import Action
from listingsync.sync.progress import NullProgress, ProgressTask
from listingsync.sync.store import FeedRecord, Outcome, StateStore

__all__ = ["FeedExecutor", "FeedLimits", "FeedResult", "FeedSink"]

FEED_TYPE = "JSON_LISTINGS_FEED"
DONE_STATES = {"DONE", "CANCELLED", "FATAL"}
MAX_POLL_FAILURES = 10
#: Looking for a feed whose createFeed answer was lost: how far before our own clock to look
#: (Amazon's createdTime comes from its clock) and how many getFeeds pages at most.
CLOCK_SKEW = dt.timedelta(minutes=2)
MAX_FEED_PAGES = 10


class FeedInDoubt(ListingSyncError):
    """createFeed's answer was lost and getFeeds could not tell whether the feed exists."""


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """Amazon's JSON_LISTINGS_FEED budget and our polling schedule (``scaled`` for the emulator)."""

    per_window: int = 5
    window: float = 300.0
    max_messages: int = MAX_MESSAGES
    #: getFeed polling: first wait, growth factor, ceiling (seconds). getFeed allows 2 rps.
    poll_initial: float = 15.0
    poll_factor: float = 1.5
    poll_max: float = 120.0
    #: Bytes per document: Amazon documents no limit; ours bounds memory (see ``feeddoc``).
    max_bytes: int = MAX_BYTES

    def scaled(self, factor: float) -> FeedLimits:
        """The same budget on a clock ``factor`` times faster (emulator ``rate_scale``)."""
        return FeedLimits(
            self.per_window,
            self.window / factor,
            self.max_messages,
            self.poll_initial / factor,
            self.poll_factor,
            self.poll_max / factor,
            self.max_bytes,
        )


@dataclass(slots=True)
class FeedResult:
    feed: int
    feed_id: str | None
    marketplace_id: str
    processing_status: str
    messages: int
    #: Feed-level issues (per-message results go to the store, not here: a run may have 40 feeds
    #: of 25,000 messages, and keeping their results would grow with the catalogue) ...
    feed_issues: list[dict[str, Any]]
    #: ... but how many messages ended each way (accepted, live, invalid, deleted) ...
    kinds: dict[str, int] = field(default_factory=dict)
    #: ... and the first one Amazon refused, to name in a summary.
    first_invalid: MessageResult | None = None


class FeedExecutor:
    def __init__(
        self,
        client: SPAPIClient,
        store: StateStore,
        seller_id: str,
        *,
        run_id: int | None,
        limits: FeedLimits | None = None,
        submit_task: ProgressTask | None = None,
        wait_task: ProgressTask | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wait: bool = True,
    ) -> None:
        self.client = client
        self.store = store
        self.seller_id = seller_id
        self.run_id = run_id
        self.limits = limits or FeedLimits()
        self.submit_task = submit_task or NullProgress().phase("submit", "")
        self.wait_task = wait_task or NullProgress().phase("feed", "")
        self._sleep = sleep
        #: False: submit and return; the feeds stay ``submitted`` for :meth:`poll` (a worker's
        #: polling task) or the next run's recovery to follow, so nobody waits minutes per feed.
        self.follow = wait
        #: Feeds submitted and left to follow (``follow=False``).
        self.submitted: list[FeedRecord] = []
        self._submitted: list[float] = []  # monotonic times of our own createFeed calls
        #: Feeds that could not be followed to the end this run (polled again next run).
        self.errors: list[str] = []
        self._waits: list[asyncio.Task[FeedResult | None]] = []
        self._reports = asyncio.Semaphore(1)

    async def execute(self, actions: Iterable[Action]) -> list[FeedResult]:
        """Send these writes as feeds and follow them (see :class:`FeedSink`, which this uses)."""
        sink = self.sink()
        await sink.add(actions)
        return await sink.finish()

    def sink(self) -> FeedSink:
        """A :class:`FeedSink` to stream writes into, batch by batch."""
        return FeedSink(self)

    async def _send_document(self, feed: int, marketplace_id: str, messages: int, body: bytes | Path) -> None:
        """Submit one closed document (its intents are recorded) and start following it."""
        await self._respect_window()
        try:
            record = await self._submit(feed, marketplace_id, body)
        except FeedInDoubt as exc:
            # Maybe created: the feed stays 'building' with its intents for recovery to settle.
            self.errors.append(str(exc))
            self.submit_task.advance(messages)
            return
        except Exception as exc:  # this document failed; the others still go
            skus = [s for s, _ in self.store.feed_messages(feed).values()]
            self._failed_submission(feed, marketplace_id, skus, exc)
            self.submit_task.advance(messages)
            return
        self.submit_task.advance(messages)
        if not self.follow:
            self.submitted.append(record)
            return
        # Poll while the next documents are filled and submitted.
        self._waits.append(asyncio.create_task(self._wait_safely(record)))

    async def _gather(self) -> list[FeedResult]:
        waits, self._waits = self._waits, []
        return [r for r in await asyncio.gather(*waits) if r is not None]

    def _failed_submission(self, feed: int, marketplace_id: str, skus: list[str], exc: Exception) -> None:
        issue = {
            "code": "LS-FEED-SUBMIT",  # invented: our marker, not an Amazon code
            "message": f"the feed could not be submitted ({exc}); the next sync sends these SKUs again",
            "severity": "ERROR",
            "attributeNames": [],
            "categories": [],
            "source": "listingsync",
        }
        self.store.feed_finished(
            feed,
            state="failed",
            processing_status=None,
            result_document_id=None,
            summary=None,
            outcomes=[Outcome(sku, marketplace_id, "error", [issue]) for sku in skus],
            run_id=self.run_id,
        )

    async def _wait_safely(self, record: FeedRecord) -> FeedResult | None:
        try:
            return await self.wait(record)
        except Exception as exc:
            # The feed exists on Amazon: keep it 'submitted' with its SKUs pending; the next run
            # polls it by id instead of sending anything again.
            self.errors.append(f"feed {record.feed_id}: {exc}")
            return None

    async def _submit(self, feed: int, marketplace_id: str, body: bytes | Path) -> FeedRecord:
        document = await self.client.feeds.create_feed_document()
        await self.client.feeds.upload_feed_document(document["url"], body)
        killpoints.reached("feed.after-upload")
        since = dt.datetime.now(dt.UTC) - CLOCK_SKEW
        try:
            created = await self.client.feeds.create_feed(
                FEED_TYPE, [marketplace_id], document["feedDocumentId"]
            )
            feed_id = str(created["feedId"])
        except (SPAPIConnectionError, SPAPIError) as exc:
            if isinstance(exc, SPAPIError) and exc.status < 500:
                raise  # refused (4xx): certainly not created
            try:
                found = await self.created_since(marketplace_id, since)
            except (SPAPIConnectionError, SPAPIError) as lookup:
                raise FeedInDoubt(
                    f"createFeed's answer was lost ({exc}) and getFeeds failed too ({lookup}); the "
                    "next sync looks for the feed again before sending anything"
                ) from exc
            if not found:
                raise  # not created: the SKUs are resent next run
            feed_id = str(found[0]["feedId"])
        killpoints.reached("feed.after-create-feed")
        self.store.feed_submitted(feed, document["feedDocumentId"], feed_id)
        self._submitted.append(asyncio.get_running_loop().time())
        now = dt.datetime.now(dt.UTC)
        return FeedRecord(
            feed,
            self.run_id,
            marketplace_id,
            "submitted",
            0,
            document["feedDocumentId"],
            feed_id,
            None,
            now,
            now,
        )

    async def created_since(self, marketplace_id: str, since: dt.datetime) -> list[dict[str, Any]]:
        """This account's JSON_LISTINGS_FEED feeds for the marketplace created since ``since`` that
        the state database does not know, oldest first (getFeeds, paged)."""
        known = self.store.known_feed_ids(since - CLOCK_SKEW)
        found: list[dict[str, Any]] = []
        page = await self.client.feeds.get_feeds(
            feed_types=[FEED_TYPE], marketplace_ids=[marketplace_id], created_since=since, page_size=100
        )
        for _ in range(MAX_FEED_PAGES):
            found.extend(f for f in page.get("feeds") or [] if str(f.get("feedId")) not in known)
            token = page.get("nextToken")
            if not token:
                break
            page = await self.client.feeds.get_feeds(next_token=str(token))  # the token only
        return sorted(found, key=lambda f: (str(f.get("createdTime") or ""), str(f.get("feedId"))))

    async def adopt(self, record: FeedRecord) -> FeedRecord | None:
        """A ``building`` feed left by a killed run: the feed Amazon created for it, if any (the
        oldest unknown one since the record was made), recorded as submitted; None if none."""
        found = await self.created_since(record.marketplace_id, record.created_at - CLOCK_SKEW)
        if not found:
            return None
        feed_id = str(found[0]["feedId"])
        self.store.feed_submitted(record.id, record.document_id or "", feed_id)
        record.feed_id, record.state = feed_id, "submitted"
        return record

    async def _respect_window(self) -> None:
        """Wait until fewer than ``per_window`` feeds were created in the last ``window`` seconds."""
        loop = asyncio.get_running_loop()
        while True:
            since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.limits.window)
            stored = self.store.feed_submission_times(since)
            now = loop.time()
            recent = [t for t in self._submitted if now - t < self.limits.window]
            if max(len(stored), len(recent)) < self.limits.per_window:
                return
            if len(recent) >= len(stored) and recent:
                wait = self.limits.window - (now - recent[-self.limits.per_window])
            else:
                oldest = stored[-self.limits.per_window]
                wait = self.limits.window - (dt.datetime.now(dt.UTC) - oldest).total_seconds()
            await self._sleep(max(wait, 0.01))

    async def poll(self, record: FeedRecord) -> FeedResult | None:
        """One getFeed: when Amazon is done, read the report and record the outcomes (as
        :meth:`wait` does); None while it is still processing."""
        if record.feed_id is None:
            raise ListingSyncError(f"feed #{record.id} has no feedId to poll")
        feed = await self.client.feeds.get_feed(record.feed_id)
        if str(feed.get("processingStatus") or "") not in DONE_STATES:
            return None
        return await self.wait(record)

    async def wait(self, record: FeedRecord) -> FeedResult:
        """Poll getFeed until it ends, then read the report and record every SKU's outcome."""
        if record.feed_id is None:
            raise ListingSyncError(f"feed #{record.id} has no feedId to poll")
        delay = self.limits.poll_initial
        failures = 0
        while True:
            try:
                feed = await self.client.feeds.get_feed(record.feed_id)
            except (SPAPIError, SPAPIConnectionError):
                # A poll that failed after the client's own retries: the feed is still Amazon's
                # to finish; keep polling (a few more times) rather than give it up.
                failures += 1
                if failures >= MAX_POLL_FAILURES:
                    raise
                await self._sleep(delay)
                delay = min(delay * self.limits.poll_factor, self.limits.poll_max)
                continue
            failures = 0
            status = str(feed.get("processingStatus") or "")
            if status in DONE_STATES:
                break
            await self._sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * self.limits.poll_factor, self.limits.poll_max)
        # One report at a time: feeds followed together finish together, and each report (up to
        # 25,000 messages, with every item's issues and summaries) is read whole.
        async with self._reports:
            return await self._apply_report(record, feed, status)

    async def _apply_report(self, record: FeedRecord, feed: dict[str, Any], status: str) -> FeedResult:
        """Read a finished feed's report and record every SKU's outcome."""
        assert record.feed_id is not None
        killpoints.reached("feed.before-report")
        messages = self.store.feed_messages(record.id)
        results: list[MessageResult] = []
        feed_issues: list[dict[str, Any]] = []
        summary: dict[str, Any] | None = None
        report_id = feed.get("resultFeedDocumentId")
        if report_id:
            doc = await self.client.feeds.get_feed_document(str(report_id))
            raw = await self.client.feeds.download_document(doc["url"], doc.get("compressionAlgorithm"))
            report = orjson.loads(raw)
            summary = report.get("summary")
            results, feed_issues = parse_report(report, messages, record.marketplace_id)
        outcomes: list[Outcome]
        if status == "DONE" and report_id:
            outcomes = [
                Outcome(r.sku, record.marketplace_id, r.kind, r.issues, None, r.asin) for r in results
            ]
        else:
            # FATAL/CANCELLED: Amazon says some, none or all messages may have been applied. The
            # intents become errors: the next run plans them again against the last known base.
            note = {
                "code": "LS-FEED-" + (status or "UNKNOWN"),  # invented: our marker, not Amazon's
                "message": f"feed {record.feed_id} ended {status}; the next sync resends these SKUs",
                "severity": "ERROR",
                "attributeNames": [],
                "categories": [],
                "source": "listingsync",
            }
            issues_by_sku = {r.sku: r.issues for r in results}
            outcomes = [
                Outcome(
                    sku, record.marketplace_id, "error", [*issues_by_sku.get(sku, []), *feed_issues, note]
                )
                for sku, _ in messages.values()
            ]
        self.store.feed_finished(
            record.id,
            state="done" if status == "DONE" else "failed",
            processing_status=status,
            result_document_id=str(report_id) if report_id else None,
            summary=summary,
            outcomes=outcomes,
            run_id=self.run_id,
        )
        self.wait_task.advance(len(messages))
        kinds: dict[str, int] = {}
        for r in results:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        return FeedResult(
            record.id,
            record.feed_id,
            record.marketplace_id,
            status,
            len(messages),
            feed_issues,
            kinds,
            next((r for r in results if r.kind == "invalid"), None),
        )


@dataclass(slots=True)
class _OpenDocument:
    """A document being filled: its feed row (``building``), its messages so far in a file."""

    feed: int
    marketplace_id: str
    path: Path
    file: IO[bytes]
    messages: int = 0
    size: int = 0


class FeedSink:
    """Writes streamed into JSON_LISTINGS_FEED documents, one open document per marketplace.

    Each :meth:`add` encodes its writes into the open documents' files (on disk, not in memory)
    and records their intents and messageId → SKU rows (the document's feed row was recorded
    ``building`` when it opened), all before anything of that document is uploaded: the same
    write-ahead order as a document built whole. A document that reaches ``max_messages`` (or
    ``max_bytes``) is closed and submitted at once, and followed while the next ones fill; what
    stays in memory is one document's bytes while it is uploaded, never the run's writes.
    :meth:`finish` submits the last documents and waits for the feeds (when following them).
    """

    def __init__(self, executor: FeedExecutor) -> None:
        self.executor = executor
        self.store = executor.store
        limits = executor.limits
        self.max_messages = limits.max_messages
        self.max_bytes = limits.max_bytes
        self.head = b'{"header":' + orjson.dumps(feed_header(executor.seller_id)) + b',"messages":['
        self._open: dict[str, _OpenDocument] = {}

    async def add(self, actions: Iterable[Action]) -> None:
        pending: dict[str, list[Action]] = {}
        messages: dict[str, list[tuple[int, str, str]]] = {}
        for action in actions:
            if not action.op.is_write:
                continue
            mp = action.marketplace_id
            doc = self._open.get(mp) or self._start(mp)
            raw = json_bytes(message_for(action, doc.messages + 1))
            if doc.messages and (
                doc.messages >= self.max_messages or doc.size + len(raw) + 1 > self.max_bytes
            ):
                self._record(doc, pending.pop(mp, []), messages.pop(mp, []))
                await self._close(doc)
                doc = self._start(mp)
                raw = json_bytes(message_for(action, 1))
            if doc.messages:
                doc.file.write(b",")
            doc.file.write(raw)
            doc.messages += 1
            doc.size += len(raw) + 1
            pending.setdefault(mp, []).append(action)
            messages.setdefault(mp, []).append((doc.messages, action.sku, OPERATIONS[action.op]))
        for mp, acts in pending.items():
            self._record(self._open[mp], acts, messages[mp])

    async def finish(self) -> list[FeedResult]:
        """Close and submit the documents still open, then wait for every feed of this sink."""
        for doc in list(self._open.values()):
            await self._close(doc)
        return await self.executor._gather()

    def close(self) -> None:
        """Drop the open documents' files (an interrupted run: their feeds stay ``building``)."""
        for doc in self._open.values():
            doc.file.close()
            doc.path.unlink(missing_ok=True)
        self._open.clear()

    def _start(self, mp: str) -> _OpenDocument:
        killpoints.reached("feed.before-intent")
        feed = self.store.create_feed(self.executor.run_id, mp, [])
        handle, name = tempfile.mkstemp(prefix="listingsync-feed-", suffix=".json")
        # Closed by _close (or close()): the document outlives this call.
        doc = _OpenDocument(feed, mp, Path(name), os.fdopen(handle, "w+b"), size=len(self.head) + 2)
        doc.file.write(self.head)
        self._open[mp] = doc
        return doc

    def _record(
        self, doc: _OpenDocument, actions: list[Action], messages: list[tuple[int, str, str]]
    ) -> None:
        self.store.record_intents(self.executor.run_id, [intent_for(a, doc.feed) for a in actions])
        self.store.add_feed_messages(doc.feed, messages)

    async def _close(self, doc: _OpenDocument) -> None:
        del self._open[doc.marketplace_id]
        killpoints.reached("feed.after-intent")
        doc.file.write(b"]}")
        doc.file.close()
        try:
            # Uploaded from the file (the client streams a Path): never the whole document in memory.
            await self.executor._send_document(doc.feed, doc.marketplace_id, doc.messages, doc.path)
        finally:
            doc.path.unlink(missing_ok=True)
