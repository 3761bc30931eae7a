"""Start-of-run recovery and end-of-run reconciliation against Amazon.

Recovery (before planning): a previous process may have died between an intent and its outcome.

- feeds with a feedId (``submitted``) are polled to the end and their reports applied;
- feeds without one (``building``) may or may not have reached createFeed: their SKUs are
  reconciled like interrupted item writes;
- each interrupted write is looked up on Amazon (searchListingsItems, 20 SKUs a call, falling back
  to getListingsItem): if Amazon already holds what we meant to send, it is recorded as sent and
  not sent again; otherwise the intent is dropped and the planner sends it again.

Reconciliation (after sending): listings Amazon accepted are read back (summaries, issues) so a
later catalogue issue turns them ``invalid`` and a listed one ``live``.

Transient answers (429, 5xx, a dropped connection) outlasting the client's own retries get a few
more rounds here (:data:`ROUND_DELAYS`); what still cannot be looked up never aborts the run:
recovery *holds* those SKUs (their intents stay, nothing is sent for them this run, the next run
settles them) and reconciliation leaves their status as Amazon's submission answer gave it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import NotFound, SPAPIClient, SPAPIConnectionError, SPAPIError
from listingsync.amazon.client import RETRY_STATUSES
from listingsync.sync.feeds import FeedExecutor
from listingsync.sync.hashing import canonical
from listingsync.sync.outcomes import status_from_item
from listingsync.sync.progress import NullProgress, ProgressTask
from listingsync.sync.store import FeedRecord, ListingState, Outcome, StateStore

__all__ = ["RecoveryReport", "fetch_items", "reconcile", "recover"]

#: Reconciliation re-reads listings Amazon is still processing after this many seconds, doubling
#: up to SETTLE_MAX_DELAY, within the run's budget (``SyncOptions.reconcile_wait``).
SETTLE_FIRST_DELAY = 0.25
SETTLE_MAX_DELAY = 15.0

SEARCH_BATCH = 20  # searchListingsItems: at most 20 identifiers per call
#: Waits before the extra rounds a lookup gets once the client's own retries are spent.
ROUND_DELAYS = (0.5, 2.0)

Key = tuple[str, str]


def transient(exc: BaseException) -> bool:
    """Worth trying again later: throttling, Amazon's server errors, an unreachable host."""
    return isinstance(exc, SPAPIConnectionError) or (
        isinstance(exc, SPAPIError) and exc.status in RETRY_STATUSES
    )


@dataclass(slots=True)
class RecoveryReport:
    feeds_resumed: int = 0
    feeds_abandoned: int = 0
    landed: int = 0
    resend: int = 0
    #: Interrupted writes (and feeds) that could not be settled this run: nothing is sent for
    #: these listings until a later run settles them.
    held: set[Key] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.feeds_resumed or self.feeds_abandoned or self.landed or self.resend or self.held)


async def recover(
    client: SPAPIClient,
    store: StateStore,
    seller_id: str,
    feeds: FeedExecutor,
    *,
    run_id: int | None,
    window: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RecoveryReport:
    """Settle what an earlier run left open. An interrupted write that Amazon does not show yet may
    still be in Amazon's processing queue: it is read again until ``window`` seconds (Amazon's
    processing time) after its intent was written before it counts as not landed and is sent again.
    Sent again any sooner, a create still queued would be created a second time."""
    report = RecoveryReport()

    async def follow(record: FeedRecord) -> None:
        try:
            await feeds.wait(record)
        except Exception as exc:  # still Amazon's to finish: polled again next run, SKUs held
            report.errors.append(f"feed {record.feed_id} could not be followed ({exc})")
            report.held.update(
                (sku, record.marketplace_id) for sku, _ in store.feed_messages(record.id).values()
            )

    waits = []
    for record in store.open_feeds():
        if record.state != "submitted" or not record.feed_id:
            # Killed around createFeed: Amazon may have the feed. Follow it if so; sending these
            # SKUs again first would let the orphan overwrite the newer values when it runs.
            try:
                adopted = await feeds.adopt(record)
            except Exception as exc:
                if not transient(exc):
                    raise
                report.errors.append(f"could not look for the feed of an interrupted run ({exc})")
                report.held.update(
                    (sku, record.marketplace_id) for sku, _ in store.feed_messages(record.id).values()
                )
                continue
            if adopted is None:
                store.mark_feed(record.id, "abandoned")
                report.feeds_abandoned += 1
                continue
        waits.append(follow(record))
        report.feeds_resumed += 1
    if waits:
        await asyncio.gather(*waits)
    pending = [s for s in store.listings(pending_only=True) if s.key not in report.held]
    if not pending:
        return report
    by_mp: dict[str, list[ListingState]] = {}
    for state in pending:
        by_mp.setdefault(state.marketplace_id, []).append(state)
    outcomes: list[Outcome] = []
    for mp, states in by_mp.items():
        failed: dict[str, str] = {}
        items = await fetch_items(
            client,
            seller_id,
            mp,
            [s.sku for s in states],
            ["summaries", "attributes", "issues"],
            failed=failed,
        )
        start, wall = clock(), dt.datetime.now(dt.UTC)
        deadline = {s.sku: start + _unprocessed_for(s, window, wall) for s in states}
        delay = SETTLE_FIRST_DELAY
        while True:
            unsettled = [
                s.sku
                for s in states
                if s.sku not in failed
                and deadline[s.sku] > clock()
                and _judge(s, items.get(s.sku)).kind == "abandoned"
            ]
            if not unsettled:
                break
            await sleep(min(delay, max(deadline[sku] for sku in unsettled) - clock()))
            delay = min(delay * 2, SETTLE_MAX_DELAY)
            for sku in unsettled:  # a DELETE Amazon has now applied must not be seen from before
                items.pop(sku, None)
            items.update(
                await fetch_items(
                    client, seller_id, mp, unsettled, ["summaries", "attributes", "issues"], failed=failed
                )
            )
        for state in states:
            if state.sku in failed:
                report.held.add(state.key)
                continue
            outcome = _judge(state, items.get(state.sku))
            if outcome.kind == "abandoned":
                report.resend += 1
            else:
                report.landed += 1
            outcomes.append(outcome)
        if failed:
            report.errors.append(
                f"{len(failed)} interrupted write(s) in {mp} could not be looked up on Amazon "
                f"({next(iter(failed.values()))})"
            )
    store.record_outcomes(run_id, outcomes)
    return report


def _unprocessed_for(state: ListingState, window: float, now: dt.datetime) -> float:
    """Seconds Amazon may still take to process the write whose intent ``state`` holds."""
    if state.updated_at is None:
        return window
    age = (now - state.updated_at).total_seconds()
    return min(window, max(0.0, window - age))


def _judge(state: ListingState, item: dict[str, Any] | None) -> Outcome:
    """Did the interrupted write reach Amazon? Only an exact match counts as landed."""
    resend = {
        "code": "LS-INTERRUPTED",  # invented: our marker for a write cut short by a crash
        "message": f"an interrupted {state.pending_op} did not reach Amazon; it is sent again",
        "severity": "WARNING",
        "attributeNames": [],
        "categories": [],
        "source": "listingsync",
    }
    if state.pending_op == "DELETE":
        if item is None:
            return Outcome(state.sku, state.marketplace_id, "deleted")
        return Outcome(state.sku, state.marketplace_id, "abandoned", [resend])
    if item is None or state.pending_attributes is None:
        return Outcome(state.sku, state.marketplace_id, "abandoned", [resend])
    held = item.get("attributes") or {}
    if canonical(held) != canonical(state.pending_attributes):
        return Outcome(state.sku, state.marketplace_id, "abandoned", [resend])
    status, asin, issues = status_from_item(item, state.marketplace_id)
    kind = "live" if status == "live" else "accepted"
    if status == "invalid":
        kind = "accepted"  # it landed (is the new base); its issues are recorded as found
    return Outcome(state.sku, state.marketplace_id, kind, issues, None, asin)


async def fetch_items(
    client: SPAPIClient,
    seller_id: str,
    marketplace_id: str,
    skus: Sequence[str],
    included_data: Sequence[str],
    task: ProgressTask | None = None,
    *,
    failed: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Amazon's current ``Item`` per SKU (absent: not on Amazon), 20 SKUs per search call.

    A batch whose lookup keeps failing transiently (after the client's retries and
    :data:`ROUND_DELAYS` more rounds) raises, or, given ``failed``, lands there (SKU → error).
    """
    task = task or NullProgress().phase("reconcile", "")
    found: dict[str, dict[str, Any]] = {}
    batches = [list(skus[i : i + SEARCH_BATCH]) for i in range(0, len(skus), SEARCH_BATCH)]
    sem = asyncio.Semaphore(4)

    async def one(batch: list[str]) -> None:
        async with sem:
            for delay in (*ROUND_DELAYS, None):
                try:
                    await lookup(batch)
                    break
                except Exception as exc:
                    if not transient(exc):
                        raise
                    if delay is not None:
                        await asyncio.sleep(delay)
                        continue
                    if failed is None:
                        raise
                    failed.update(dict.fromkeys(batch, str(exc)))
            task.advance(len(batch))

    async def lookup(batch: list[str]) -> None:
        try:
            result = await client.listings.search_listings_items(
                seller_id,
                marketplace_ids=[marketplace_id],
                identifiers=batch,
                identifiers_type="SKU",
                included_data=list(included_data),
                page_size=SEARCH_BATCH,
            )
            for item in result.get("items") or []:
                if item.get("sku") in batch:
                    found[str(item["sku"])] = item
        except SPAPIError as exc:
            if exc.status in (400, 404, 501):  # search unsupported here: one GET per SKU
                for sku in batch:
                    with contextlib.suppress(NotFound):
                        found[sku] = await client.listings.get_listings_item(
                            seller_id,
                            sku,
                            marketplace_ids=[marketplace_id],
                            included_data=list(included_data),
                        )
            else:
                raise

    searches = [asyncio.create_task(one(b)) for b in batches]
    try:
        await asyncio.gather(*searches)
    finally:
        # A batch that failed for good ends the lookup: the others must not go on calling Amazon
        # (spending its rate limit, filling ``found``) behind the caller's back.
        for search in searches:
            search.cancel()
        await asyncio.gather(*searches, return_exceptions=True)
    return found


async def reconcile(
    client: SPAPIClient,
    store: StateStore,
    seller_id: str,
    keys: Sequence[tuple[str, str]],
    *,
    run_id: int | None,
    task: ProgressTask | None = None,
    wait: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> dict[str, int]:
    """Read accepted listings back: ``live`` / ``accepted`` / ``invalid`` with Amazon's issues.

    Amazon applies an accepted write minutes later: until then getListingsItem answers 404 (a new
    SKU) or the item has no verdict yet. Such a listing is never taken for gone: its status stays
    as answered (``accepted``) and, within ``wait`` seconds, it is read again (backing off from
    :data:`SETTLE_FIRST_DELAY`) until Amazon shows it live or invalid.
    """
    by_mp: dict[str, list[str]] = {}
    for sku, mp in keys:
        by_mp.setdefault(mp, []).append(sku)
    counts: dict[str, int] = {}
    latest: dict[tuple[str, str], Outcome] = {}
    unread: set[tuple[str, str]] = set()
    deadline = clock() + wait
    delay = SETTLE_FIRST_DELAY
    while by_mp:
        unsettled: dict[str, list[str]] = {}
        for mp, skus in by_mp.items():
            failed: dict[str, str] = {}
            items = await fetch_items(
                client, seller_id, mp, skus, ["summaries", "issues"], task, failed=failed
            )
            unread |= {(sku, mp) for sku in failed}
            for sku in skus:
                item = items.get(sku)
                if item is not None:
                    status, asin, issues = status_from_item(item, mp)
                    latest[(sku, mp)] = Outcome(sku, mp, f"refresh:{status}", issues, None, asin)
                    unread.discard((sku, mp))
                    if status != "accepted":
                        continue
                elif sku in failed:
                    continue  # fetch_items already retried; the status stays as answered
                # Not visible yet or no verdict yet: Amazon is still processing it.
                unsettled.setdefault(mp, []).append(sku)
        remaining = deadline - clock()
        if not unsettled or remaining <= 0:
            break
        await sleep(min(delay, remaining))
        delay = min(delay * 2, SETTLE_MAX_DELAY)
        by_mp = unsettled
    for outcome in latest.values():
        status = outcome.kind.removeprefix("refresh:")
        counts[status] = counts.get(status, 0) + 1
    if unread:
        counts["unread"] = len(unread)
    store.record_outcomes(run_id, list(latest.values()))
    return counts
