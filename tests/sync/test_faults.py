"""Faults on (5% 500/503, 429 storms, token expiry every 100 calls): the sync still ends right."""

from __future__ import annotations

from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.sync.feeds import FeedLimits

from .helpers import assert_amazon_holds_the_catalogue, sample_dir, sync

FAULTS = "error=0.05,storm=0.01:20,expire_every=100"


@pytest.mark.parametrize("via", ["items", "feed"])
def test_sync_converges_under_faults(tmp_path: Path, via: str) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=200, faults=FAULTS, seed=7)) as server:
        cfg = sample_dir(tmp_path, server, via=via)
        limits = FeedLimits().scaled(200)
        report, _ = sync(cfg, server, scale=200, via=via, feed_limits=limits)
        runs = 1
        stats = report.stats
        # The faults really happened: retried 5xx/429 and refreshed expired tokens.
        assert stats["retries"] > 0
        assert via == "feed" or stats["token_refreshes"] > 0
        # A write that still failed after the client's retries is an 'error' and is resent next run.
        while any(r.status == "error" for r in report.results) and runs < 4:
            report, _ = sync(cfg, server, scale=200, via=via, feed_limits=limits)
            runs += 1
        assert not any(r.status == "error" for r in report.results)
        assert_amazon_holds_the_catalogue(cfg, server)
        assert report.stats["requests"] > 0
        # Converged: one more run sends nothing.
        again, _ = sync(cfg, server, scale=200, via=via, feed_limits=limits)
        assert again.plan["create"] == again.plan["update"] == 0
