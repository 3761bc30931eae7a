"""Map + validate through the CLI: ``listingsync validate`` on N products, in listings per second.

Issue 16 asks for 10,000 listings/s on this machine's two cores for the sample mapping. This runs
the command a user runs (``validate --bundled``, a process per core, the summary on the terminal)
on the sample catalogue repeated to N products (fresh SKUs), for the sample mapping (vendor, FR+DE:
two listings a product) and the seller's (US: one). The baseline, measured in the same run on the
same file, is reading it with ``csv.reader`` and hashing every row (the floor of any pass over it).
Figures are medians of a few runs: wall time, listings per second, and CPU of every process. One run
in one process (``--workers 1``) is shown beside the sample mapping's: what a core does, and so how
much the second core adds on this machine.
"""

from __future__ import annotations

import csv
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_mapping import _catalogue

PRODUCTS = int(os.environ.get("LISTINGSYNC_BENCH_VALIDATE_N", "100000"))
RUNS = int(os.environ.get("LISTINGSYNC_BENCH_VALIDATE_RUNS", "3"))
TARGET = 10_000


def _read_and_hash(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest()
    return time.perf_counter() - started


def _validate(directory: Path, config: str, *options: str) -> tuple[float, float]:
    """Wall and CPU seconds (this command's processes) of one ``validate`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "listingsync", "validate", "--bundled", "-c", config, *options],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: the sample's deliberate errors
        raise SystemExit(f"validate failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _catalogue(directory, PRODUCTS)
        baseline = statistics.median(_read_and_hash(directory / "products.csv") for _ in range(RUNS))
        print(
            f"{PRODUCTS:,} products; baseline, csv.reader + a hash per row: {baseline:.2f} s "
            f"({PRODUCTS / baseline:,.0f} rows/s); median of {RUNS} runs, {os.cpu_count()} cores:"
        )
        for config, label, per_product in (
            ("listingsync.yaml", "sample mapping (vendor, FR+DE)", 2),
            ("listingsync-seller.yaml", "seller mapping (US)", 1),
        ):
            runs = [_validate(directory, config) for _ in range(RUNS)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            rate = PRODUCTS * per_product / wall
            print(
                f"  validate, {label}: {wall:.2f} s wall ({wall / baseline:.1f}x the baseline), "
                f"{cpu:.1f} s CPU, {rate:,.0f} listings/s (target >= {TARGET:,}: "
                f"{'met' if rate >= TARGET else 'not met'})"
            )
            if per_product == 2:
                one_wall, one_cpu = _validate(directory, config, "--workers", "1")
                print(
                    f"    the same in one process (one run): {one_wall:.2f} s wall, {one_cpu:.1f} s CPU, "
                    f"{PRODUCTS * per_product / one_wall:,.0f} listings/s; the pool is "
                    f"{one_wall / wall:.2f}x as fast on {os.cpu_count()} cores"
                )


if __name__ == "__main__":
    main()
