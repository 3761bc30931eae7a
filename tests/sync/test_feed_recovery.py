"""A createFeed whose answer is lost never leaves an orphan feed to overwrite newer values
(issue 14 item 3). The emulator's ``lose`` fault applies createFeed and drops the answer; a kill
at ``feed.after-create-feed`` leaves a feed Amazon has but the state database does not know."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.killpoints import KILL_ENV

from .helpers import assert_amazon_holds_the_catalogue, demo_env, edit_csv, sample_dir, sync


def _feeds(server: EmulatorServer) -> list[dict[str, object]]:
    feeds = httpx.get(f"{server.url}/_emulator/feeds", timeout=30).json()["feeds"]
    return [f for f in feeds if f["sellerId"] == "DEMOV"]


def _settled(server: EmulatorServer) -> list[dict[str, object]]:
    """Every feed ended (retried on the condition: the emulator works them off in the background)."""
    for _ in range(600):
        feeds = _feeds(server)
        if all(f["processingStatus"] in ("DONE", "FATAL", "CANCELLED") for f in feeds):
            return feeds
        time.sleep(0.1)
    raise AssertionError(f"feeds never ended: {feeds}")


def test_a_lost_createfeed_answer_is_found_with_getfeeds(tmp_path: Path) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000, faults="lose=1.0,lose_ops=createFeed")) as server:
        cfg = sample_dir(tmp_path, server, via="feed")
        limits = FeedLimits().scaled(1000)
        report, _ = sync(cfg, server, via="feed", feed_limits=limits)
        assert server.state.requests["fault:lose"] >= 1  # every createFeed answer was lost ...
        assert not [r.sku for r in report.results if r.status in ("error", "pending")]
        # ... and none was sent twice: one feed per marketplace (FR, DE).
        assert sorted(str(f["marketplaceIds"]) for f in _settled(server)) == [
            "['A13V1IB3VIYZZH']",
            "['A1PA6795UKMFR9']",
        ]
        assert_amazon_holds_the_catalogue(cfg, server)
        again, _ = sync(cfg, server, via="feed", feed_limits=limits)
        assert again.plan["create"] == again.plan["update"] == 0


def test_an_orphan_feed_of_a_killed_run_never_overwrites_newer_values(tmp_path: Path) -> None:
    # rate_scale 100: Amazon's 5 minutes per feed take ~3 s here, so the orphan is still queued when
    # the next run starts; before the fix that run resent through items and the orphan overwrote it.
    with run_in_thread(EmulatorSettings(rate_scale=100.0)) as server:
        cfg = sample_dir(tmp_path, server, via="feed")
        cmd = [sys.executable, "-m", "listingsync", "sync", "--config", str(cfg), "--json"]
        env = {**demo_env(server, 100.0), KILL_ENV: "feed.after-create-feed"}
        killed = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert killed.returncode == -9, killed.stderr.decode()[-2000:]
        edit_csv(
            tmp_path / "products.csv",
            {
                sku: {"title_fr": f"Titre plus récent {sku}"}
                for sku in ("MD-CUSH-001", "MD-CUSH-002", "MD-VASE-001")
            },
        )
        report, _ = sync(
            cfg, server, 100.0, via="items", reconcile=False, feed_limits=FeedLimits().scaled(1000)
        )
        assert report.recovery is not None and report.recovery.feeds_resumed == 1
        assert not [(r.sku, r.status, r.issues) for r in report.results if r.status in ("error", "pending")]
        assert len(_settled(server)) == 1
        assert_amazon_holds_the_catalogue(cfg, server)  # the newer titles, after every feed ran
