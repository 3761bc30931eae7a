"""Engine decisions that need no network: via auto, dry-run results, the feed window."""

from __future__ import annotations

import asyncio
from typing import Any

from listingsync.mapping.listing import Listing, Requirements
from listingsync.sync.engine import AUTO_FEED_THRESHOLD, SyncEngine, SyncOptions
from listingsync.sync.feeds import FeedExecutor, FeedLimits
from listingsync.sync.plan import Candidate
from listingsync.sync.store import StateStore

DE = "A1PA6795UKMFR9"


def _cands(n: int) -> list[Candidate]:
    return [
        Candidate(
            Listing(
                f"S{i}",
                DE,
                "HOME",
                Requirements.LISTING,
                {"item_name": [{"value": f"n{i}", "marketplace_id": DE}]},
            )
        )
        for i in range(n)
    ]


def test_via_auto_by_size_of_change_set(store: StateStore) -> None:
    small = SyncEngine(store, None, "DEMOV", options=SyncOptions(mode="dry-run", auto_threshold=5))
    assert asyncio.run(small.run(_cands(4))).via == "items"
    assert asyncio.run(small.run(_cands(5))).via == "feed"
    assert AUTO_FEED_THRESHOLD == 1000  # documented in the README and the engine docstring


def test_dry_run_records_nothing(store: StateStore) -> None:
    engine = SyncEngine(store, None, "DEMOV", options=SyncOptions(mode="dry-run"))
    report = asyncio.run(engine.run(_cands(3)))
    assert [r.op for r in report.results] == ["create"] * 3
    assert store.counts() == {} and store.runs() == []


def test_feed_window_waits_for_the_oldest_of_the_last_five(store: StateStore) -> None:
    for i in range(5):
        feed = store.create_feed(None, DE, [(1, f"S{i}", "UPDATE")])
        store.feed_submitted(feed, f"doc{i}", f"F{i}")
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)  # the stored feeds age out of the window

    executor: Any = FeedExecutor(
        None,  # type: ignore[arg-type]
        store,
        "DEMOV",
        run_id=None,
        limits=FeedLimits(window=1.0),
        sleep=fake_sleep,
    )
    asyncio.run(executor._respect_window())
    assert waits and 0.5 < waits[0] <= 1.0
