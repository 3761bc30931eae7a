"""Two ``listingsync sync`` processes on one state database at once (SQLite and PostgreSQL).

Before the run lock, both sent everything (twice the writes), left listings ``error`` that Amazon
held, and PostgreSQL raised DeadlockDetected. Now the second refuses naming the first (or, with
``--wait``, runs after it and finds nothing to send): the writes are the minimum and the state
database matches Amazon. ``bench/bench_concurrent.py`` repeats this 10 times per database.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.sync.store import StateStore

from .helpers import amazon_listings, assert_amazon_holds_the_catalogue, demo_env, sample_dir

SCALE = 50.0


def configure(tmp: Path, server: EmulatorServer, state_url: str, via: str = "items") -> list[str]:
    """The sample catalogue on ``state_url``; the command line of one sync."""
    cfg = sample_dir(tmp, server, via=via)
    # Point state: at the database under test (replacing the sample's own line, if it has one).
    text = re.sub(r"(?m)^state: .*\n", "", cfg.read_text(encoding="utf-8"))
    cfg.write_text(f"{text}state: {state_url!r}\n", encoding="utf-8")
    return [sys.executable, "-m", "listingsync", "sync", "--config", str(cfg), "--json"]


def run_pair(cmd: list[str], env: dict[str, str], wait: float) -> list[subprocess.CompletedProcess[bytes]]:
    """Start two syncs back to back (both with ``--wait``) and collect both."""
    procs = [
        subprocess.Popen([*cmd, "--wait", str(wait)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def check_pair(
    results: list[subprocess.CompletedProcess[bytes]], cfg: Path, server: EmulatorServer, state_url: str
) -> str:
    """The invariants of two concurrent syncs; returns what the loser did (refused / waited / none)."""
    refused = [r for r in results if r.returncode == 2]
    for r in refused:
        message = r.stderr.decode()
        assert "another run holds this state database" in message and "pid " in message, message
    assert len(refused) <= 1, [r.stderr.decode()[-500:] for r in results]
    ran = [r for r in results if r.returncode != 2]
    assert all(r.returncode in (0, 1) for r in ran), [r.stderr.decode()[-2000:] for r in ran]
    assert all(b"Traceback" not in r.stderr for r in results)
    # Minimum writes: every listing created once, none twice, no PATCH of what was just created.
    writes = Counter((w["sku"], w["marketplace_id"]) for w in server.state.write_log)
    held = assert_amazon_holds_the_catalogue(cfg, server)
    assert set(writes) == set(held) and max(writes.values()) == 1
    # The state database says what Amazon holds.
    with StateStore.open(state_url) as store:
        states = {s.key: s for s in store.listings()}
        assert not store.listings(pending_only=True)
        assert all(r["status"] != "running" for r in store.runs())
    assert {k for k, s in states.items() if s.status in ("accepted", "live")} == set(amazon_listings(server))
    if refused:
        return "refused"
    return "waited" if any(b"waiting up to" in r.stderr for r in results) else "none"


@pytest.mark.slow
@pytest.mark.parametrize("wait", [0, 600])
def test_two_syncs_at_once_write_the_minimum(tmp_path: Path, state_url: str, wait: float) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=SCALE)) as server:
        cmd = configure(tmp_path, server, state_url)
        results = run_pair(cmd, demo_env(server, SCALE), wait)
        outcome = check_pair(results, tmp_path / "listingsync.yaml", server, state_url)
        if wait == 0:
            # Both start together; unless one finished before the other looked, one refuses.
            assert outcome in ("refused", "none")
        else:
            assert outcome != "refused"
