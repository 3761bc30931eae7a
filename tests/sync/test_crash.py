"""kill -9 at random points of a ~500-SKU sync, restart each time: Amazon ends equal to the catalogue
and no SKU was created twice (the emulator's write log). The sync runs as a subprocess
(``python -m listingsync sync``) against an emulator in this test process."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.sync.store import StateStore

from .helpers import assert_amazon_holds_the_catalogue, demo_env, sample_dir

COPIES = 8  # 62 sample products x 8 ≈ 500 SKUs (x 2 marketplaces)


def _big_catalogue(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    out = []
    for k in range(COPIES):
        for row in rows:
            copy = dict(row)
            copy["sku"] = f"{row['sku']}-{k}"
            if row["parent_sku"]:
                copy["parent_sku"] = f"{row['parent_sku']}-{k}"
            out.append(copy)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(out)


def _retitle(path: Path, rng: random.Random, round_: int, count: int = 25) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    for row in rng.sample(rows, count):
        row["title_fr"] = f"{row['title_fr'][:80]} r{round_}"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("via", "scale", "kill_after"),
    # Kill windows cover each path's run: items send for ~10 s; a feed run builds, submits and
    # polls within a few seconds (later runs resume the feed by id, then have nothing to do).
    [("items", 20.0, (1.0, 7.0)), ("feed", 2.0, (0.8, 4.0))],
)
def test_kill9_at_random_points_converges(
    tmp_path: Path, via: str, scale: float, kill_after: tuple[float, float]
) -> None:
    rng = random.Random(20261127 + len(via))
    with run_in_thread(EmulatorSettings(rate_scale=scale)) as server:
        cfg_path = sample_dir(tmp_path, server, via=via)
        _big_catalogue(tmp_path / "products.csv")
        env = demo_env(server, scale)
        cmd = [sys.executable, "-m", "listingsync", "sync", "--config", str(cfg_path), "--via", via, "--json"]
        kills = 0
        in_flight: list[int] = []  # writes/feeds a kill left between intent and outcome
        for attempt in range(5):
            if attempt:
                # Every restart also finds a few changed products, so each run has work to be
                # killed in (and the end state must match the latest catalogue).
                _retitle(tmp_path / "products.csv", rng, attempt)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(*kill_after))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(timeout=60)
            with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
                in_flight.append(len(store.listings(pending_only=True)) + len(store.open_feeds()))
        final = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
        assert kills >= 3, "the kills should land while the sync is running"
        assert any(in_flight), f"no kill landed between an intent and its outcome: {in_flight}"

        assert_amazon_holds_the_catalogue(cfg_path, server)
        created = Counter((w["sku"], w["marketplace_id"]) for w in server.state.write_log if w["created"])
        assert created and max(created.values()) == 1, [k for k, n in created.items() if n > 1][:5]
