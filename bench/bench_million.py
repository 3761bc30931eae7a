"""A million SKUs on a laptop: ``validate`` and a no-change re-sync through the CLI, peak memory
and time, each beside its baseline measured in the same run.

The catalogue is the sample's 62 products repeated with fresh SKUs (realistic widths: the sample's
columns, variation families included) to ``LISTINGSYNC_BENCH_MILLION_N`` records (default
1,000,000). Each command runs in its own process; its peak memory is that of its whole process
tree (worker processes included, see :func:`measure`). The baseline, in the same run: reading the
CSV with ``csv.reader`` and hashing each row (what the least any run over the file must do).

The no-change re-sync (``LISTINGSYNC_BENCH_NOCHANGE_N`` SKUs, default the same N) is the vendor
sample config (FR+DE) against an emulator process: a first ``sync --via feed`` fills the state, the
next ones (``LISTINGSYNC_BENCH_NOCHANGE_RUNS``, default 3, medians reported, each beside a baseline
read), measured, must find nothing to send (0 writes at the emulator) and should cost little more
than the baseline, because unchanged records are skipped before mapping.

A full run takes long (tens of minutes on a busy 2-core machine): run it alone, in the background
(``nohup python -m bench million > million.log &``). With ``LISTINGSYNC_BENCH_KEEP`` naming an empty
or absent directory, the no-change part works there and leaves it behind (catalogue, configs, the
state of a million SKUs): :mod:`bench.ab_nochange` then compares code changes on it in minutes
instead of the hour a first sync takes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.bench_mapping import _catalogue
from bench.fixtures import demo_cli_env

N = int(os.environ.get("LISTINGSYNC_BENCH_MILLION_N", "1000000"))
NO_CHANGE_N = int(os.environ.get("LISTINGSYNC_BENCH_NOCHANGE_N", str(N)))
#: No-change re-syncs (and baseline reads) measured after the one first sync, medians reported:
#: the first sync is most of the bench's time, each re-sync seconds; the machine is shared.
NO_CHANGE_RUNS = int(os.environ.get("LISTINGSYNC_BENCH_NOCHANGE_RUNS", "3"))
SCALE = 1000.0
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


def _tree_memory(pid: int) -> int:
    """Bytes of memory ``pid`` and every process below it (a process pool's workers included)
    hold, as their proportional set sizes (PSS: a page shared by forked workers counted once, not
    once per process as RSS would), read from /proc; 0 once it is gone."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:")) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended between two reads
    return total


def _high_water(pid: int) -> int:
    """Bytes of the kernel's high-water mark of ``pid``'s resident memory since it ran its program
    (``VmHWM``: an exec starts it anew); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            return next((int(line.split()[1]) * 1024 for line in handle if line.startswith("VmHWM:")), 0)
    except (FileNotFoundError, ProcessLookupError):
        return 0


def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak memory MiB, exit code) of one command in a fresh process.

    The peak is that of the whole process tree (the command and any pool of worker processes it
    starts: their PSS summed, sampled every 100 ms), or the kernel's own high-water mark of the
    command's process (``VmHWM``, sampled too) when that is larger: a command that spreads its
    work over processes must not look smaller than it is. Not ``wait4``'s ``ru_maxrss``: it counts
    the child from its fork, when it was a copy of this (large) benchmark process, so under
    ``make bench`` even ``python -c pass`` showed the benchmark's own size. CPU time (the tree's, from
    ``wait4``) is given beside wall time because the machine is shared: wall time says how long a
    user waited here, CPU time what the work costs."""
    started = time.perf_counter()
    # stderr to a file, not a pipe: a full pipe would stall the command.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_memory(proc.pid), _high_water(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):  # 1: some listings invalid (the sample has broken ones)
            errors.seek(0)
            err = errors.read().decode(errors="replace")
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak / 2**20, proc.returncode


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """A temporary directory, or ``LISTINGSYNC_BENCH_KEEP`` (empty or absent: never a directory
    with files in it, which the catalogue would overwrite), kept afterwards."""
    kept = os.environ.get("LISTINGSYNC_BENCH_KEEP")
    if not kept:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)
        return
    directory = Path(kept)
    if directory.exists() and any(directory.iterdir()):
        raise SystemExit(f"LISTINGSYNC_BENCH_KEEP={kept} is not empty: name a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    yield directory
    print(
        f"kept in {directory}: compare code on it, e.g. `python -m bench.ab_nochange {directory} 3 new=src`"
    )


def no_change(n: int) -> None:
    from bench.bench_sync import emulator_process

    with _workspace() as directory, emulator_process(SCALE) as server:
        _catalogue(directory, n)
        cfg = directory / "listingsync.yaml"
        text = cfg.read_text(encoding="utf-8")
        text = text.replace("${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", server.endpoint("eu"))
        text = text.replace(
            "${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url
        )
        cfg.write_text(text, encoding="utf-8")
        env = demo_cli_env(SCALE)
        cli = [sys.executable, "-m", "listingsync", "sync", "-c", "listingsync.yaml", "--via", "feed"]
        first_wall, first_cpu, first_rss, _ = measure(cli, directory, env)
        writes = server.get("write-log?count=true")["count"]
        print(
            f"first sync --via feed, {n:,} SKUs x 2 marketplaces (emulator x{SCALE:g}): {first_wall:.0f} s wall, "
            f"{first_cpu:.0f} s CPU, peak memory {first_rss:.0f} MiB, {writes:,} writes"
        )
        runs: list[tuple[float, float, float]] = []
        bases: list[tuple[float, float]] = []
        again = 0
        for i in range(max(1, NO_CHANGE_RUNS)):
            before = server.get("write-log?count=true")["count"]
            wall, cpu, rss, _ = measure(cli, directory, env)
            again += server.get("write-log?count=true")["count"] - before
            base_wall, base_cpu, _, _ = measure([sys.executable, "-c", _BASELINE, "products.csv"], directory)
            runs.append((wall, cpu, rss))
            bases.append((base_wall, base_cpu))
            print(
                f"  no-change re-sync {i + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak memory {rss:.0f} MiB; "
                f"baseline {base_wall:.1f} s wall, {base_cpu:.1f} s CPU"
            )
        wall, cpu, rss = (statistics.median(r[k] for r in runs) for k in range(3))
        base_wall, base_cpu = (statistics.median(b[k] for b in bases) for k in range(2))
        print(
            f"no-change re-sync through the CLI, median of {len(runs)}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
            f"peak memory {rss:.0f} MiB, {again} writes; baseline csv.reader + hash {base_wall:.1f} s wall, "
            f"{base_cpu:.1f} s CPU → {wall / base_wall:.1f}x the baseline's wall time, "
            f"{cpu / base_cpu:.1f}x its CPU time (target <= 2x)"
        )


def main() -> None:
    if NO_CHANGE_N:
        no_change(NO_CHANGE_N)
    if not N:
        return
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
            f"peak memory {base_rss:.0f} MiB"
        )
        cli = [sys.executable, "-m", "listingsync"]
        wall, cpu, rss, code = measure(
            [*cli, "validate", "--bundled", "-c", "listingsync-seller.yaml", "--report", "report.csv"],
            directory,
        )
        print(
            f"validate (seller, US; CSV report of every listing): {wall:.0f} s wall, {cpu:.0f} s CPU "
            f"({N / cpu:,.0f} SKUs per CPU-second, {cpu / base_cpu:.0f}x the baseline's CPU), "
            f"peak memory {rss:.0f} MiB (budget {BUDGET_MIB} MiB), exit {code}"
        )


if __name__ == "__main__":
    main()
