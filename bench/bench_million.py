"""A million SKUs on a laptop: ``validate`` through the CLI, peak memory and wall time.

The catalogue is the sample's 62 products repeated with fresh SKUs (realistic widths: the sample's
columns, variation families included) to ``LISTINGSYNC_BENCH_MILLION_N`` records (default
1,000,000). Each command runs in its own process; its peak RSS is that process's high-water mark
(``wait4``). The baseline, in the same run: reading the CSV with ``csv.reader`` and hashing each row
(what the least any run over the file must do).

A full run takes long (tens of minutes on a busy 2-core machine): run it alone, in the background
(``nohup python -m bench million > million.log &``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_mapping import _catalogue

N = int(os.environ.get("LISTINGSYNC_BENCH_MILLION_N", "1000000"))
BUDGET_MIB = 500

_BASELINE = """
import csv, hashlib, sys
n = 0
with open(sys.argv[1], newline="", encoding="utf-8") as handle:
    for row in csv.reader(handle):
        hashlib.blake2b("\\x1f".join(row).encode(), digest_size=20).digest()
        n += 1
print(n)
"""


def measure(argv: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS MiB, exit code) of one command in a fresh process.

    CPU time is given beside wall time because the machine is shared: wall time says how long a
    user waited here, CPU time what the work costs."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some listings invalid (the sample has broken ones)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        _catalogue(directory, N)
        size = (directory / "products.csv").stat().st_size
        print(
            f"catalogue: {N:,} SKUs, {size / 2**20:.0f} MiB CSV, written in {time.perf_counter() - started:.0f} s"
        )
        base_wall, base_cpu, base_rss, _ = measure(
            [sys.executable, "-c", _BASELINE, "products.csv"], directory
        )
        print(
            f"baseline: csv.reader + hash of each row: {base_wall:.1f} s wall, {base_cpu:.1f} s CPU, "
            f"peak RSS {base_rss:.0f} MiB"
        )
        cli = [sys.executable, "-m", "listingsync"]
        wall, cpu, rss, code = measure(
            [*cli, "validate", "--bundled", "-c", "listingsync-seller.yaml", "--report", "report.csv"],
            directory,
        )
        print(
            f"validate (seller, US; CSV report of every listing): {wall:.0f} s wall, {cpu:.0f} s CPU "
            f"({N / cpu:,.0f} SKUs per CPU-second, {cpu / base_cpu:.0f}x the baseline's CPU), "
            f"peak RSS {rss:.0f} MiB (budget {BUDGET_MIB} MiB), exit {code}"
        )


if __name__ == "__main__":
    main()
