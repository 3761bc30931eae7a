"""``listingsync serve`` as a process: kill -9 during a run and restart (the run is recovered, nothing is
lost or sent twice); SIGTERM during a run (it stops cleanly, writes left as intents; the next run
finishes them). Waits are on conditions (the emulator's write log, the run's row), never on time."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import httpx
import pytest
from service_helpers import credentials_of, sample_document

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.service import Workspace, add_connection, get_run, list_runs
from listingsync.service.tokens import create_token

COPIES = 8  # 62 sample products x 8 ≈ 500 SKUs, x 2 marketplaces: ~1,000 writes
SCALE = 20.0  # Amazon's 5 writes/s x 20: the run sends for several seconds
BOUND = 180.0  # an upper bound on every wait (a hung service fails instead of hanging the suite)


def _wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for {what} after {BOUND:.0f} s")
        time.sleep(0.05)


def _big_catalogue(path: Path) -> None:
    sample = resources.files("listingsync") / "data" / "sample" / "products.csv"
    with sample.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for k in range(COPIES):
            for row in rows:
                parent = f"{row['parent_sku']}-{k}" if row["parent_sku"] else ""
                writer.writerow({**row, "sku": f"{row['sku']}-{k}", "parent_sku": parent})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(db: str, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "listingsync", "serve", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for("serve to answer", lambda: _healthy(port) or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.soak
def test_kill9_during_a_run_then_sigterm_during_another(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ws.db'}"
    env = {**os.environ, "LISTINGSYNC_RATE_SCALE": str(SCALE), "LISTINGSYNC_KEYRING": "off"}
    # Amazon's processing at x100 (0.3-3 s), within the recovery run's budget (120 s / SCALE): a
    # write accepted just before the kill is found, not sent again.
    processing = (0.3 * SCALE, 3.0 * SCALE)
    with run_in_thread(EmulatorSettings(rate_scale=SCALE, processing_delay=processing)) as server:
        _big_catalogue(tmp_path / "vendor.csv")
        with Workspace.open(db) as ws:
            doc = sample_document("vendor", server)
            doc["sync"]["via"] = "items"
            add_connection(ws, "vendor-eu", doc, base_dir=tmp_path, secrets=credentials_of("vendor"))
            _, token = create_token(ws, "test")
        api = {"Authorization": f"Bearer {token}"}
        port = _free_port()

        # 1. kill -9 while the run is sending.
        with _serve(db, port, env) as proc:
            started = httpx.post(f"http://127.0.0.1:{port}/api/v1/connections/vendor-eu/runs", headers=api)
            assert started.status_code == 202, started.text
            first = started.json()["id"]
            _wait_for("the run to send", lambda: len(server.state.write_log) >= 50)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        with Workspace.open(db) as ws:
            assert get_run(ws, first).status == "running"  # nobody closed it: the process died
            in_flight = len(ws.store("vendor-eu").listings(pending_only=True))
        sent_before_restart = len(server.state.write_log)

        # 2. Restart: the dead run is recorded as failed and a recovery run finishes the job.
        with _serve(db, port, env) as proc, Workspace.open(db) as ws:
            _wait_for("the recovery run", lambda: _finished(ws, trigger="recovery"))
            dead = get_run(ws, first)
            assert dead.status == "failed" and "interrupted" in (dead.error or "")
            [recovery] = [r for r in list_runs(ws) if r.trigger == "recovery"]
            assert recovery.status in ("succeeded", "partial"), (recovery.error, recovery.fix)
            if in_flight:
                assert recovery.counts and "recovered" in recovery.counts
            assert not ws.store("vendor-eu").listings(pending_only=True)
            assert len(server.state.write_log) > sent_before_restart

            # 3. SIGTERM during a run: it stops, its writes in flight stay as intents.
            (tmp_path / "vendor.csv").write_text(
                (tmp_path / "vendor.csv")
                .read_text(encoding="utf-8")
                .replace("Maison Demo,", "Maison Demo Neu,"),
                encoding="utf-8",
            )
            count = len(server.state.write_log)
            started = httpx.post(f"http://127.0.0.1:{port}/api/v1/connections/vendor-eu/runs", headers=api)
            assert started.status_code == 202, started.text
            third = started.json()["id"]
            _wait_for("the third run to send", lambda: len(server.state.write_log) >= count + 50)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=BOUND) == 0
            stopped = get_run(ws, third)
            assert stopped.status in ("cancelled", "partial", "succeeded"), stopped
        # 4. The next start finishes what the stopped run left.
        with _serve(db, port, env), Workspace.open(db) as ws:
            done = httpx.post(f"http://127.0.0.1:{port}/api/v1/connections/vendor-eu/runs", headers=api)
            assert done.status_code == 202, done.text
            _wait_for("the last run", lambda: get_run(ws, done.json()["id"]).finished)
            assert get_run(ws, done.json()["id"]).status in ("succeeded", "partial")
            assert not ws.store("vendor-eu").listings(pending_only=True)
        server.flush()  # Amazon processes what it accepted, then its state is read below

    # Nothing lost: every valid listing is on Amazon with the latest brand; nothing created twice.
    statuses = Counter(s.status for s in _states(db))
    assert statuses["pending"] == 0 and statuses["error"] == 0, statuses
    created = Counter((w["marketplace_id"], w["sku"]) for w in server.state.write_log if w.get("created"))
    assert created and max(created.values()) == 1, [k for k, n in created.items() if n > 1][:5]
    held = {(key[1], key[2]): rec for key, rec in server.state.listings.items()}
    valid = [s for s in _states(db) if s.status in ("accepted", "live")]
    assert valid and all((s.marketplace_id, s.sku) in held for s in valid)
    assert all("Maison Demo Neu" in str(held[(s.marketplace_id, s.sku)].attributes["brand"]) for s in valid)


def _finished(ws: Workspace, *, trigger: str) -> bool:
    return any(r.trigger == trigger and r.finished for r in list_runs(ws))


def _states(db: str) -> list[object]:
    with Workspace.open(db) as ws:
        return list(ws.store("vendor-eu").listings())
