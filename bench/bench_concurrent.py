"""Two ``listingsync sync`` processes on one state database at once, 10 times per database.

Each round: a fresh state database (SQLite file; PostgreSQL schema when ``LISTINGSYNC_TEST_POSTGRES``
names a server) and a fresh emulator; two syncs of the sample catalogue started back to back, the
first with ``--wait 0`` (refuse), the second with ``--wait 600`` (queue behind). Figures: how the
second run behaved (refused naming the holder / waited / ran after), writes sent against the
minimum (one per listing), and whether the state database matches Amazon afterwards. Baseline,
same run: one sync alone (its writes are the minimum; its time beside the pair's).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from importlib import resources
from pathlib import Path

import sqlalchemy as sa

from bench.fixtures import demo_cli_env
from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.sync.store import StateStore

ROUNDS = 10
SCALE = 50.0


def _config(tmp: Path, server: EmulatorServer, state_url: str) -> list[str]:
    sample = resources.files("listingsync") / "data" / "sample"
    text = (sample / "listingsync.yaml").read_text(encoding="utf-8")
    text = text.replace("${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", server.endpoint("eu"))
    text = text.replace("${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url)
    text = (
        re.sub(r"(?m)^state: .*\n", "", text).replace("via: auto", "via: items") + f"state: {state_url!r}\n"
    )
    (tmp / "listingsync.yaml").write_text(text, encoding="utf-8")
    (tmp / "products.csv").write_bytes((sample / "products.csv").read_bytes())
    return [sys.executable, "-m", "listingsync", "sync", "--config", str(tmp / "listingsync.yaml"), "--json"]


def _state_urls(kind: str, tmp: Path) -> tuple[str, str | None]:
    """A fresh state database: (URL, PostgreSQL schema to drop afterwards)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'state.db'}", None
    base = os.environ["LISTINGSYNC_TEST_POSTGRES"]
    schema = f"ls_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop(schema: str | None) -> None:
    if schema is None:
        return
    engine = sa.create_engine(os.environ["LISTINGSYNC_TEST_POSTGRES"])
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _round(kind: str, pair: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, run_in_thread(EmulatorSettings(rate_scale=SCALE)) as server:
        url, schema = _state_urls(kind, Path(tmp))
        try:
            cmd = _config(Path(tmp), server, url)
            started = time.perf_counter()
            waits = ["0", "600"] if pair else ["0"]
            procs = [
                subprocess.Popen(
                    [*cmd, "--wait", w],
                    env=demo_cli_env(SCALE),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
                for w in waits
            ]
            outs = []
            for p in procs:
                _, err = p.communicate()  # read while waiting: a full pipe would block the sync
                outs.append((p.returncode, err.decode()))
            elapsed = time.perf_counter() - started
            server.flush()  # realistic emulator: compare with what Amazon holds once it processed all
            writes = Counter((w["sku"], w["marketplace_id"]) for w in server.state.write_log)
            held = {(sku, mp) for (s, mp, sku) in server.state.listings if s == "DEMOV"}
            with StateStore.open(url) as store:
                states = store.listings()
                accepted = {s.key for s in states if s.status in ("accepted", "live")}
                clean = not store.listings(pending_only=True) and all(
                    r["status"] != "running" for r in store.runs()
                )
            second = "alone"
            if pair:
                if any(code == 2 and "another run holds" in err for code, err in outs):
                    second = "refused, holder named"
                elif any("waiting up to" in err for _, err in outs):
                    second = "waited, then ran"
                else:
                    second = "ran after (no overlap)"
            return {
                "second": second,
                "codes": [c for c, _ in outs],
                "writes": sum(writes.values()),
                "minimum": len(held),
                "duplicates": sum(n - 1 for n in writes.values() if n > 1),
                "matches": accepted == held and clean,
                "tracebacks": sum("Traceback" in err for _, err in outs),
                "elapsed": elapsed,
            }
        finally:
            _drop(schema)


def main() -> None:
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("LISTINGSYNC_TEST_POSTGRES") else [])
    if len(kinds) == 1:
        print("(PostgreSQL skipped: set LISTINGSYNC_TEST_POSTGRES to include it)")
    for kind in kinds:
        alone = _round(kind, pair=False)
        rounds = [_round(kind, pair=True) for _ in range(ROUNDS)]
        behaviours = Counter(str(r["second"]) for r in rounds)
        print(f"{kind}: {ROUNDS} rounds of two syncs at once on one state database")
        print(f"  second run:      {dict(behaviours)}")
        writes = [int(str(r["writes"])) for r in rounds]
        print(
            f"  writes per round: median {statistics.median(writes):.0f} (min {min(writes)}, max {max(writes)}), "
            f"minimum {alone['minimum']}  |  baseline, one sync alone: {alone['writes']}"
        )
        print(
            f"  duplicate writes: {sum(int(str(r['duplicates'])) for r in rounds)}; state matches Amazon: "
            f"{sum(bool(r['matches']) for r in rounds)}/{ROUNDS}; tracebacks: "
            f"{sum(int(str(r['tracebacks'])) for r in rounds)}"
        )
        pair_time = statistics.median(float(str(r["elapsed"])) for r in rounds)
        print(
            f"  wall time: pair median {pair_time:.1f} s  |  baseline, one sync alone {float(str(alone['elapsed'])):.1f} s "
            f"(ratio {pair_time / float(str(alone['elapsed'])):.2f})"
        )


if __name__ == "__main__":
    main()
