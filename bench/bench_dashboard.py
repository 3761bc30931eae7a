"""The dashboard's listings page with 100,000 SKUs in the state: server latency per page kind.

A workspace on SQLite holds one connection with 100,000 SKUs × 1 marketplace (1 in 10 invalid with
Amazon-shaped issues, titles in what was sent). ``serve``'s app runs on loopback (uvicorn in a
thread); a signed-in client asks for the first page, a filtered page (invalid), an issue-code
filter, a title search, and a deep page (keyset cursor near the end), each many times. Printed:
p50 and p99 in ms per kind, beside the baseline of the same run: the sign-in page (a template and
no query) and the bare SQL count of the table. The goal is under 300 ms; nothing asserts it.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.fixtures import fill_listings

SKUS = int(os.environ.get("BENCH_DASHBOARD_SKUS", "100000"))
ROUNDS = int(os.environ.get("BENCH_DASHBOARD_ROUNDS", "30"))


def _timed(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed * 1000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    from listingsync.emulator.server import serve_in_thread
    from listingsync.service import Workspace, add_connection
    from listingsync.service.inspect import encode_cursor
    from listingsync.service.users import UserStore
    from listingsync.web import create_app

    os.environ.setdefault("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(f"sqlite:///{Path(tmp) / 'ws.db'}", directory=Path(tmp))
        add_connection(
            ws, "big", {"account": {"type": "vendor", "selling_partner_id": "DEMOV", "marketplaces": ["FR"]}}
        )
        started = time.perf_counter()
        fill_listings(ws.engine, "big", SKUS)
        print(f"state filled with {SKUS:,} listings in {time.perf_counter() - started:.1f} s")
        UserStore(ws.engine).add("bench", "viewer", "bench password")
        app = create_app(ws)
        with serve_in_thread(app, name="serve") as url, httpx.Client(base_url=url, timeout=60) as client:
            login = client.get("/login")
            client.post(
                "/login",
                data={
                    "username": "bench",
                    "password": "bench password",
                    "csrf_token": login.cookies.get("ls_login_csrf") or "",
                    "next": "/",
                },
            )
            base = "/connections/big/listings"
            near_end = SimpleNamespace(sku=f"SKU-{SKUS - 60:07d}", marketplace_id="A13V1IB3VIYZZH")
            deep = httpx.QueryParams({"after": encode_cursor(near_end)})  # type: ignore[arg-type]
            kinds = {
                "sign-in page (baseline: template, no query)": "/login",
                "listings, first page": base,
                "listings, status=invalid": f"{base}?status=invalid",
                "listings, issue code 90220": f"{base}?issue_code=90220",
                "listings, title search": f"{base}?q=Cushion+99",
                "listings, deep page (keyset)": f"{base}?{deep}",
            }
            for url_ in kinds.values():  # warm caches once
                _timed(client, url_)
            times: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(ROUNDS):
                for kind, url_ in kinds.items():
                    times[kind].append(_timed(client, url_))
            with ws.engine.connect() as conn:
                count_ms = []
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    conn.execute(sa.text("SELECT count(*) FROM ls_listings WHERE scope = 'big'")).scalar()
                    count_ms.append((time.perf_counter() - started) * 1000)
        app.state.executor.shutdown(wait=True)
        ws.close()
    baseline = statistics.median(times["sign-in page (baseline: template, no query)"])
    print(f"{'page':48} {'p50 ms':>8} {'p99 ms':>8} {'× sign-in p50':>14}")
    for kind, values in times.items():
        print(
            f"{kind:48} {statistics.median(values):8.1f} {_p(values, 0.99):8.1f} {statistics.median(values) / baseline:14.1f}"
        )
    print(
        f"{'bare SQL count(*) of the scope (baseline)':48} {statistics.median(count_ms):8.1f} {_p(count_ms, 0.99):8.1f}"
    )
    print(f"goal: every listings page under 300 ms at p50 with {SKUS:,} SKUs")
