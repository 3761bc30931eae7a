"""``listingsync serve`` with 100 connections against the emulator at Amazon's real limits.

The emulator runs in its own process with an accounts file of 100 accounts (half vendors in EU/FR,
half sellers in NA/US), each its own selling partner; every connection has a small catalogue (the
sample's first ``PRODUCTS`` products) and ``schedule: {every: 1m}``. One ``listingsync serve``
process (SQLite workspace, in-process executor, ``--workers 8``) runs them all.

Figures, each beside a baseline measured in the same run:

1. scheduler overhead per tick (in-process, median of 50 ticks): 100 connections with nothing due,
   against a tick of an empty workspace;
2. the first round: wall time until every connection has a succeeded run, runs' p50/p99 duration,
   the emulator's 429 count; serve's memory (VmRSS now, VmHWM peak) against serve idle with no
   connection;
3. the listings endpoint on a connection holding 100,000 SKUs (rows written straight into its
   scope), with the schedules switched off so no run shares the CPU: p50/p99 latency of the first page, a page deep in the keyset (after SKU 90,000), a status
   filter and a SKU search, each against ``/api/v1/health`` on the same server and client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import sqlalchemy as sa
import yaml
from cryptography.fernet import Fernet

from bench.bench_mapping import SAMPLE, _catalogue
from bench.fixtures import accounts_emulator, fill_listings, write_accounts
from listingsync.service import Workspace, add_connection, list_runs
from listingsync.service.executor import InProcessExecutor
from listingsync.service.scheduler import Scheduler
from listingsync.service.tokens import create_token
from listingsync.sync import tables as state

CONNECTIONS = int(os.environ.get("LISTINGSYNC_BENCH_SERVE_CONNECTIONS", "100"))
PRODUCTS = 8
LISTINGS_N = 100_000
REQUESTS = 200


def _document(account: dict[str, Any], url: str) -> dict[str, Any]:
    vendor = account["type"] == "vendor"
    doc: dict[str, Any] = yaml.safe_load(
        (SAMPLE / ("listingsync.yaml" if vendor else "listingsync-seller.yaml")).read_text(encoding="utf-8")
    )
    doc["account"].update(
        selling_partner_id=account["selling_partner_id"],
        marketplaces=account["marketplaces"],
        endpoint=f"{url}/{'eu' if vendor else 'na'}",
        lwa_endpoint=f"{url}/auth/o2/token",
    )
    doc["sync"]["reconcile"] = False
    doc["schedule"] = {"every": "1m"}
    return doc


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _memory(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@contextlib.contextmanager
def _serve(db: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "listingsync", "serve", "--db", db, "--port", str(port), "--workers", "8"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def _tick_overhead(ws: Workspace, empty: Workspace) -> None:
    def median_tick(workspace: Workspace) -> float:
        scheduler = Scheduler(workspace, InProcessExecutor(workspace, max_workers=1))
        now = dt.datetime.now(dt.UTC)
        scheduler.tick(now)  # first due times set; nothing is due for a minute
        times = []
        for i in range(50):
            started = time.perf_counter()
            scheduler.tick(now + dt.timedelta(milliseconds=i))
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    base = median_tick(empty)
    loaded = median_tick(ws)
    print(
        f"scheduler tick, nothing due: {loaded * 1000:.1f} ms for {CONNECTIONS} connections "
        f"(baseline: empty workspace {base * 1000:.1f} ms; {(loaded - base) / CONNECTIONS * 1e6:.0f} µs per connection)"
    )
    with ws.begin() as conn:  # the overhead test set due times: let serve start afresh
        conn.exec_driver_sql("UPDATE svc_connections SET next_run_at = NULL, next_watch_at = NULL")


def _latency(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> tuple[float, float]:
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        answer = client.get(url, params=params)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return _pct(times, 50) * 1000, _pct(times, 99) * 1000


def main() -> None:
    # Removed afterwards: each run left its 100,000-listing workspace behind in /tmp; the environment
    # it sets (a secret key, the keyring off) is restored for the modules make bench runs next.
    with tempfile.TemporaryDirectory(prefix="ls-bench-serve-") as tmp, mock.patch.dict(os.environ):
        _run(Path(tmp))


def _run(root: Path) -> None:
    env = {
        **os.environ,
        "LISTINGSYNC_SECRET_KEY": Fernet.generate_key().decode(),
        "LISTINGSYNC_KEYRING": "off",
    }
    os.environ.update(env)
    accounts = write_accounts(root, CONNECTIONS, "serve")
    _catalogue(root, PRODUCTS)
    db = f"sqlite:///{root / 'workspace.db'}"
    empty_db = f"sqlite:///{root / 'empty.db'}"
    # Amazon's real limits (rate_scale 1) and its processing delay (30-300 s): realistic mode.
    with accounts_emulator(root / "accounts.yaml", 1.0) as url, Workspace.open(db, directory=root) as ws:
        for a in accounts:
            add_connection(
                ws,
                a["name"],
                {**_document(a, url), "source": {"type": "csv", "path": "products.csv"}},
                base_dir=root,
                secrets={
                    "lwa_client_id": a["client_id"],
                    "lwa_client_secret": a["client_secret"],
                    "lwa_refresh_token": a["refresh_token"],
                },
            )
        _, token = create_token(ws, "bench")
        with Workspace.open(empty_db, directory=root) as empty:
            _tick_overhead(ws, empty)
            with _serve(empty_db, env) as (idle, _):
                time.sleep(2)
                idle_rss, idle_peak = _memory(idle.pid)

        with _serve(db, env) as (proc, base):
            started = time.perf_counter()
            while True:
                done = {r.connection for r in list_runs(ws, statuses=["succeeded"], limit=10_000)}
                if len(done) >= CONNECTIONS or time.perf_counter() - started > 1800:
                    break
                time.sleep(0.5)
            wall = time.perf_counter() - started
            runs = [r for r in list_runs(ws, limit=10_000) if r.finished_at and r.started_at]
            durations = [(r.finished_at - r.started_at).total_seconds() for r in runs]  # type: ignore[operator]
            statuses: dict[str, int] = {}
            for r in runs:
                statuses[r.status] = statuses.get(r.status, 0) + 1
            counters = httpx.get(f"{url}/_emulator/counters").json()
            rss, peak = _memory(proc.pid)
            print(
                f"first round: {len(done)}/{CONNECTIONS} connections synced in {wall:.1f} s "
                f"({PRODUCTS} products each); runs {statuses}; run duration p50 {_pct(durations, 50):.1f} s, "
                f"p99 {_pct(durations, 99):.1f} s"
            )
            requests = sum(counters["requests"].values())
            throttled = sum(counters["throttled"].values())
            print(
                f"emulator: {requests} requests, {throttled} answered 429 ({throttled / max(requests, 1):.2%})"
            )
            print(
                f"serve memory: {rss:.0f} MiB now, {peak:.0f} MiB peak with {CONNECTIONS} connections "
                f"(baseline: idle serve with none {idle_rss:.0f} MiB, peak {idle_peak:.0f} MiB)"
            )

            # The API alone: schedules off, and no run left going (each would share serve's CPU).
            with ws.begin() as conn:
                conn.exec_driver_sql("UPDATE svc_connections SET enabled = false")
            while list_runs(ws, statuses=["queued", "running"], limit=1):
                time.sleep(0.5)
            fill_listings(ws.engine, accounts[0]["name"], LISTINGS_N)
            name = accounts[0]["name"]
            with ws.connect() as conn:
                held = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(state.listings)
                    .where(state.listings.c.scope == name)
                ).scalar_one()
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                deep = client.get(
                    f"/api/v1/connections/{name}/listings", params={"q": "SKU-0090000", "limit": 1}
                ).json()["items"]
                assert deep
                # The cursor of SKU 90,000 (the keyset paging's "after"), fetched the way a client pages.
                page = client.get(
                    f"/api/v1/connections/{name}/listings", params={"limit": 1, "q": "SKU-008999"}
                )
                after = page.json()["next"]
                cases = [
                    ("health (baseline)", "/api/v1/health", None),
                    ("listings, first page of 100", f"/api/v1/connections/{name}/listings", {"limit": 100}),
                    (
                        "listings, status=invalid",
                        f"/api/v1/connections/{name}/listings",
                        {"status": "invalid"},
                    ),
                    (
                        "listings, search q=SKU-00777",
                        f"/api/v1/connections/{name}/listings",
                        {"q": "SKU-00777"},
                    ),
                ]
                if after:
                    cases.append(
                        (
                            "listings, page after SKU ~90,000",
                            f"/api/v1/connections/{name}/listings",
                            {"after": after},
                        )
                    )
                print(f"listings endpoint on {held:,} SKUs of one connection ({REQUESTS} requests each):")
                baseline = None
                for label, path, params in cases:
                    p50, p99 = _latency(client, path, params)
                    baseline = baseline or p50
                    print(
                        f"  {label:<34} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({p50 / baseline:.1f}x health)"
                    )
