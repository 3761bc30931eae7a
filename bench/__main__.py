"""Run every benchmark module (or those named on the command line) one after another.

``python -m bench`` (``make bench``) runs every ``bench_*`` module; ``python -m bench mirror sync``
runs those named (the ``bench_`` prefix may be left out). Each module prints its figures beside a
baseline measured in the same run, then its duration; the runner ends with every duration.

Sizes: some modules measure at the scale their issue asks for (a million SKUs), which alone takes
tens of minutes on a loaded 2-core machine. So that the whole run stays bounded (about 40 minutes
there, beside a ``make test`` loop), a whole run (no module named) sets :data:`SIZES` as defaults
of the modules' own size variables; a variable already set in the environment wins. Every figure
keeps its baseline at the same size. A run that names its modules (``python -m bench million``)
measures at the modules' own sizes, as their owners set them for their issues' figures.

``bench/pacing_trace.py`` is not a benchmark but a diagnostic (where a paced run's 429s come from):
it is not run here; ``python -m bench.pacing_trace [hogs] [scale] [n]``.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import resource
import sys
import time
import traceback
from pathlib import Path

#: Defaults for the modules' size variables when run through this runner (see the docstring).
SIZES = {
    # bench_million: validate and the no-change re-sync at 100,000 SKUs (the module's default is
    # the 1,000,000: run it alone for that figure).
    "LISTINGSYNC_BENCH_MILLION_N": "100000",
    # ... and its first sync --via feed + no-change re-sync at 20,000 SKUs x 2 marketplaces (the
    # emulator validates and applies every feed message: 100,000 took over half an hour here).
    "LISTINGSYNC_BENCH_NOCHANGE_N": "20000",
    # bench_mirror: remapping 20,000 SKUs from the mirror vs a full Sales Layer re-read (100,000).
    "BENCH_REMAP_N": "20000",
    # bench_mapping: 3,000 products per configuration (6,000); each phase runs 3 times per config.
    "LISTINGSYNC_BENCH_MAPPING_N": "3000",
    # bench_feed: submit and follow to all-done 25,000 SKUs, one feed (sizing and build: 100,000).
    "LISTINGSYNC_BENCH_FEED_SUBMIT_N": "25000",
    # bench_workers: none here; its defaults are sized for make bench by its owner (~15 min).
}


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (emulator processes, CLI
    runs): on a shared machine, what a module costs, beside how long it took."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    # A line at a time, also into a file: a run of tens of minutes (nohup ... > log) shows each
    # figure as it comes, and a run cut short keeps those it had.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    available = _modules()
    wanted = [a if a.startswith("bench_") else f"bench_{a}" for a in argv] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    if not argv:  # make bench: bounded sizes (before the modules are imported: they read them then)
        for name, value in SIZES.items():
            os.environ.setdefault(name, value)
    failed = []
    durations: dict[str, tuple[float, float]] = {}
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started, cpu = time.perf_counter(), _cpu()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
        durations[name] = (time.perf_counter() - started, _cpu() - cpu)
        wall, used = durations[name]
        print(f"--- {name}: {wall:.1f} s ({used:.1f} s CPU)", flush=True)
    if len(durations) > 1:
        print("\ndurations (wall, CPU of this process and its ended children):")
        for name, (wall, used) in durations.items():
            print(f"  {name:<20} {wall:7.1f} s  {used:7.1f} s CPU")
        print(
            f"  {'total':<20} {sum(w for w, _ in durations.values()):7.1f} s  "
            f"{sum(c for _, c in durations.values()):7.1f} s CPU"
        )
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
