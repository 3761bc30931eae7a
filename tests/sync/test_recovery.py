"""Recovery of interrupted writes and feeds against the emulator (without killing anything)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from listingsync.emulator import EmulatorServer
from listingsync.sync.engine import SyncEngine, SyncOptions
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.hashing import listing_hash
from listingsync.sync.items import intent_for
from listingsync.sync.plan import Planner
from listingsync.sync.store import StateStore

from .helpers import DE, client_for, home_attributes, home_candidate


def test_interrupted_writes_are_looked_up_not_blindly_resent(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 's.db'}")

    async def go() -> None:
        async with client_for(emulator, 1000) as client:
            # LANDED reached Amazon before the "crash"; LOST never left.
            plan = Planner(store).plan([home_candidate("LANDED", "a"), home_candidate("LOST", "b")])
            store.record_intents(1, [intent_for(a) for a in plan.writes])
            landed = plan.writes[0]
            await client.listings.put_listings_item(
                "DEMOV",
                "LANDED",
                {
                    "productType": "HOME",
                    "requirements": "LISTING_PRODUCT_ONLY",
                    "attributes": landed.attributes,
                },
                marketplace_ids=[DE],
            )
            emulator.flush()  # ... and Amazon processed it (a still queued write: test_processing_delay)
            engine = SyncEngine(store, client, "DEMOV", options=SyncOptions(via="items"))
            recovered = await engine.recover()
            assert (recovered.landed, recovered.resend) == (1, 1)
            landed_state = store.get("LANDED", DE)
            assert landed_state is not None and landed_state.status in ("accepted", "live")
            assert landed_state.sent_hash == listing_hash(
                "HOME", "LISTING_PRODUCT_ONLY", home_attributes("a")
            )
            lost = store.get("LOST", DE)
            assert lost is not None and lost.status == "error" and lost.pending_op is None
            # The next run sends only the lost one.
            before = len(emulator.state.write_log)
            report = await engine.run(
                [home_candidate("LANDED", "a"), home_candidate("LOST", "b")], recovered=recovered
            )
            assert report.plan["create"] == 1
            assert [w["sku"] for w in emulator.state.write_log[before:]] == ["LOST"]

    asyncio.run(go())
    store.close()


def test_submitted_feed_is_polled_by_id_on_restart(emulator: EmulatorServer, tmp_path: Path) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 's.db'}")
    limits = FeedLimits().scaled(1000)

    async def go() -> None:
        async with client_for(emulator, 1000) as client:
            plan = Planner(store).plan([home_candidate("F1", "x"), home_candidate("F2", "y")])
            # Everything up to createFeed happened, then the process died before polling.
            from listingsync.sync.feeddoc import build_documents

            (doc,) = list(build_documents(plan.writes, "DEMOV"))
            feed = store.create_feed(None, DE, doc.messages)
            store.record_intents(None, [intent_for(a, feed) for a in plan.writes])
            created = await client.feeds.create_feed_document()
            await client.feeds.upload_feed_document(created["url"], doc.body)
            submitted = await client.feeds.create_feed("JSON_LISTINGS_FEED", [DE], created["feedDocumentId"])
            store.feed_submitted(feed, created["feedDocumentId"], submitted["feedId"])

            engine = SyncEngine(store, client, "DEMOV", options=SyncOptions(via="feed", feed_limits=limits))
            recovered = await engine.recover()
            assert recovered.feeds_resumed == 1
            assert {s.status for s in store.listings()} <= {"accepted", "live"}
            assert store.open_feeds() == []
            report = await engine.run(
                [home_candidate("F1", "x"), home_candidate("F2", "y")], recovered=recovered
            )
            assert report.plan["unchanged"] == 2 and not report.results

    asyncio.run(go())
    store.close()
