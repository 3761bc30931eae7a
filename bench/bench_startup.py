"""How long ``listingsync --help`` and ``listingsync check --help`` take to start, beside ``python -c pass``.

Each command runs in a fresh interpreter (the installed console script's way: ``-m listingsync``)
several times, interleaved with the baseline so that machine load hits both alike; the figures are
medians. The goal for the help commands is under 0.5 s; nothing here asserts it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 9

COMMANDS: dict[str, list[str]] = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "listingsync --help": [sys.executable, "-m", "listingsync", "--help"],
    "listingsync check --help": [sys.executable, "-m", "listingsync", "check", "--help"],
    "listingsync sync --help": [sys.executable, "-m", "listingsync", "sync", "--help"],
    "import every command module (before: what --help cost)": [
        sys.executable,
        "-c",
        "from listingsync.cli import COMMANDS; from listingsync.cli.lazy import load_command; "
        "[load_command(c) for c in COMMANDS]",
    ],
}


def _once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # warm the file cache and .pyc files once
        _once(argv)
    for _ in range(RUNS):
        for name, argv in COMMANDS.items():
            times[name].append(_once(argv))
    baseline = statistics.median(times["python -c pass (baseline)"])
    print(f"{'command':<58} {'median':>8} {'min':>8} {'x baseline':>11}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<58} {median:>7.3f}s {min(values):>7.3f}s {median / baseline:>10.1f}x")


if __name__ == "__main__":
    main()
