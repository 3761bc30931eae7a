"""Recovery and reconciliation against Amazon's processing delay (the emulator in realistic mode).

ACCEPTED only means queued: a listing Amazon has not processed yet answers 404. Neither recovery
nor reconciliation may take that for "gone"; they read again within their budget. Time here is the
emulator's: the injected ``sleep`` moves the emulator clock (and a fake monotonic clock) instead of
waiting, so the tests are deterministic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.sync import tables
from listingsync.sync.feeds import FeedExecutor
from listingsync.sync.items import intent_for
from listingsync.sync.plan import Planner
from listingsync.sync.recovery import reconcile, recover
from listingsync.sync.store import StateStore

from .helpers import DE, client_for, home_candidate, sample_dir


@pytest.fixture
def realistic() -> Iterator[EmulatorServer]:
    # Amazon's pace unscaled (30 s to 5 min per write): only the injected sleep moves time.
    with run_in_thread(EmulatorSettings(instant=False, rate_scale=1.0, limits=False, seed=11)) as server:
        yield server


def emulator_time(server: EmulatorServer) -> tuple[Callable[[], float], Callable[[float], Awaitable[None]]]:
    """(clock, sleep): sleeping moves the emulator's clock on by the same seconds."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{server.url}/_emulator/clock/advance", params={"seconds": seconds})
            answer.raise_for_status()

    return (lambda: now[0]), sleep


def test_recovery_waits_for_a_queued_write_and_resends_only_the_lost_one(
    realistic: EmulatorServer, tmp_path: Path
) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 's.db'}")
    clock, sleep = emulator_time(realistic)

    async def go() -> None:
        async with client_for(realistic, 1000) as client:
            plan = Planner(store).plan([home_candidate("QUEUED", "a"), home_candidate("LOST", "b")])
            store.record_intents(1, [intent_for(a) for a in plan.writes])
            queued = plan.writes[0]
            answer = await client.listings.put_listings_item(
                "DEMOV",
                "QUEUED",
                {
                    "productType": "HOME",
                    "requirements": "LISTING_PRODUCT_ONLY",
                    "attributes": queued.attributes,
                },
                marketplace_ids=[DE],
            )
            assert answer["status"] == "ACCEPTED"  # queued: Amazon answers 404 for minutes
            feeds = FeedExecutor(client, store, "DEMOV", run_id=None)
            report = await recover(
                client, store, "DEMOV", feeds, run_id=None, window=330, clock=clock, sleep=sleep
            )
            assert (report.landed, report.resend) == (1, 1)
            state = store.get("QUEUED", DE)
            assert state is not None and state.status in ("accepted", "live") and state.pending_op is None

    asyncio.run(go())
    store.close()


def test_reconciliation_reads_again_until_amazon_has_a_verdict(
    realistic: EmulatorServer, tmp_path: Path
) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 's.db'}")
    clock, sleep = emulator_time(realistic)

    async def go() -> None:
        async with client_for(realistic, 1000) as client:
            plan = Planner(store).plan([home_candidate("SLOW", "a")])
            (write,) = plan.writes
            store.record_intents(1, [intent_for(write)])
            answer = await client.listings.put_listings_item(
                "DEMOV",
                "SLOW",
                {
                    "productType": "HOME",
                    "requirements": "LISTING_PRODUCT_ONLY",
                    "attributes": write.attributes,
                },
                marketplace_ids=[DE],
            )
            from listingsync.sync.outcomes import outcome_from_submission

            store.record_outcomes(1, [outcome_from_submission(write, answer)])
            # Without a budget the 404 leaves the answered status alone (never "gone") ...
            assert await reconcile(client, store, "DEMOV", [("SLOW", DE)], run_id=1) == {}
            state = store.get("SLOW", DE)
            assert state is not None and state.status == "accepted"
            # ... and with one, it is read again until Amazon processed it.
            counts = await reconcile(
                client, store, "DEMOV", [("SLOW", DE)], run_id=1, wait=330, clock=clock, sleep=sleep
            )
            assert counts == {"live": 1}
            state = store.get("SLOW", DE)
            assert state is not None and state.status == "live" and state.asin

    asyncio.run(go())
    store.close()


def test_recovery_waits_only_for_what_amazon_may_still_be_processing(
    realistic: EmulatorServer, tmp_path: Path
) -> None:
    """The window runs from each intent: a write recorded longer ago than Amazon's processing time
    is resent without a wait; one recorded 200 s ago is read again only for the 130 s left."""
    store = StateStore.open(f"sqlite:///{tmp_path / 's.db'}")
    clock, sleep = emulator_time(realistic)

    def age(sku: str, seconds: float) -> None:
        with store.engine.begin() as conn:
            conn.execute(
                tables.listings.update()
                .where(tables.listings.c.sku == sku)
                .values(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds))
            )

    async def go() -> None:
        async with client_for(realistic, 1000) as client:
            plan = Planner(store).plan([home_candidate("OLD", "a"), home_candidate("RECENT", "b")])
            store.record_intents(1, [intent_for(a) for a in plan.writes])
            age("OLD", 400)
            age("RECENT", 200)
            feeds = FeedExecutor(client, store, "DEMOV", run_id=None)
            report = await recover(
                client, store, "DEMOV", feeds, run_id=None, window=330, clock=clock, sleep=sleep
            )
            assert (report.landed, report.resend) == (0, 2)
            assert 125 <= clock() <= 131  # RECENT's remaining window, not 330 s from now

    asyncio.run(go())
    store.close()


@pytest.mark.parametrize("scale", [1.0, 50.0, 1000.0])
def test_the_cli_waits_as_long_as_the_emulator_may_process(
    scale: float, realistic: EmulatorServer, tmp_path: Path
) -> None:
    """The CLI's budgets cover the realistic emulator's longest processing delay at every time scale:
    shorter, a queued create is taken for lost and sent again, and verdicts stay unread."""
    from listingsync.config import load_config
    from listingsync.sync.pipeline import sync_options

    options = sync_options(load_config(sample_dir(tmp_path, realistic)), scale=scale)
    longest = EmulatorSettings().processing_delay[1] / scale
    assert options.processing_window >= longest and options.reconcile_wait >= longest
