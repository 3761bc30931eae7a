"""kill -9 at every recorded step of the items and feed paths, with a catalogue change between runs:
Amazon ends equal to the latest catalogue every time, and no SKU was created twice (the emulator's
write log). The sync runs as a subprocess (``python -m listingsync sync``) against an emulator in
this test process; ``LISTINGSYNC_KILL_AT=STEP:N`` (``sync.killpoints``) makes it SIGKILL itself at
the Nth time it reaches STEP, so each kill lands exactly where it is meant to, however loaded the
machine (the old version slept a random time and missed the window under load).
"""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.sync.killpoints import KILL_ENV
from listingsync.sync.store import StateStore

from .helpers import assert_amazon_holds_the_catalogue, demo_env, sample_dir

COPIES = 1  # the 62 sample products (x 2 marketplaces), renamed
SCALE = 50.0

#: (path, step, N): the Nth time the step is reached; mid-run for items (chunks of 32 writes).
MATRIX = [
    ("items", "items.before-intent", 3),
    ("items", "items.after-intent", 3),
    ("items", "items.after-request", 60),
    ("feed", "feed.before-intent", 1),
    ("feed", "feed.after-intent", 1),
    ("feed", "feed.after-upload", 1),
    ("feed", "feed.after-create-feed", 1),
    ("feed", "feed.before-report", 1),
]


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


def _in_flight(tmp_path: Path) -> int:
    with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
        return len(store.listings(pending_only=True)) + len(store.open_feeds())


@pytest.mark.slow
@pytest.mark.parametrize(("via", "step", "nth"), MATRIX, ids=[m[1] for m in MATRIX])
def test_kill9_at_each_step_converges(tmp_path: Path, via: str, step: str, nth: int) -> None:
    rng = random.Random(20261127)
    with run_in_thread(EmulatorSettings(rate_scale=SCALE)) as server:
        cfg_path = sample_dir(tmp_path, server, via=via)
        _big_catalogue(tmp_path / "products.csv")
        env = demo_env(server, SCALE)
        cmd = [sys.executable, "-m", "listingsync", "sync", "--config", str(cfg_path), "--via", via, "--json"]
        # First run: killed at the step; then the catalogue changes and a run goes to the end.
        killed = subprocess.run(cmd, env={**env, KILL_ENV: f"{step}:{nth}"}, capture_output=True, timeout=600)
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
        if step not in ("items.before-intent", "feed.before-intent"):
            assert _in_flight(tmp_path), "the kill should leave a write between intent and outcome"
        _retitle(tmp_path / "products.csv", rng, 9)
        final = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
        assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
        assert not _in_flight(tmp_path)

        assert_amazon_holds_the_catalogue(cfg_path, server)
        created = Counter((w["sku"], w["marketplace_id"]) for w in server.state.write_log if w["created"])
        assert created and max(created.values()) == 1, [k for k, n in created.items() if n > 1][:5]
