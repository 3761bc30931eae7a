"""Compare code on a kept no-change state, in minutes rather than the hour a million-SKU first sync takes.

``python -m bench.ab_nochange DIR ROUNDS NAME=SRC [NAME=SRC ...]``

``DIR`` is what ``LISTINGSYNC_BENCH_KEEP`` left behind (:mod:`bench.bench_million`): a catalogue, its
configs and a state in which every listing is current. Each round runs, for each arm, the CLI's
no-change ``sync --via feed`` with ``SRC`` first on ``PYTHONPATH`` (``src`` of a ``git worktree`` of
another commit, or this one's), then the same csv.reader + hash baseline as bench_million. At the
end it prints each arm's medians, its ratio to the baseline's median, and the writes it made.

The arms talk to a fresh emulator process: the first sync's emulator is gone, and the listings
with it. So the config these runs use (``ab.yaml``, written in ``DIR``) points at the new emulator
and turns the rolling read-back off (``sync.reconcile_share: 0``). Reading back listings this
emulator never received would record them as drift, and that would change the state the next
round measures. Figures here leave out the read-back that bench_million's include (a fraction of
a second at its rate scale): compare the arms with each other, not with that bench.

Not run by ``make bench``: it has no state to run on. This is a tool for comparing changes.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import yaml

from bench.bench_million import _BASELINE, SCALE, measure
from bench.bench_sync import RemoteEmulator, emulator_process
from bench.fixtures import demo_cli_env


def _config(directory: Path, server: RemoteEmulator) -> None:
    """``ab.yaml``: the kept config pointed at ``server``, with no rolling read-back."""
    config = yaml.safe_load((directory / "listingsync.yaml").read_text(encoding="utf-8"))
    config["account"]["endpoint"] = server.endpoint("eu")
    config["account"]["lwa_endpoint"] = server.lwa_url
    config.setdefault("sync", {})["reconcile_share"] = 0
    (directory / "ab.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or not argv[1].isdigit() or not all("=" in a for a in argv[2:]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    directory, rounds = Path(argv[0]), int(argv[1])
    # Resolved here: the runs' working directory is DIR, where a relative path would mean another.
    arms = [(name, str(Path(src).resolve())) for name, src in (a.split("=", 1) for a in argv[2:])]
    if not (directory / ".listingsync" / "state.db").exists():
        print(
            f"{directory} holds no state: run bench_million with LISTINGSYNC_BENCH_KEEP first",
            file=sys.stderr,
        )
        return 2
    cli = [sys.executable, "-m", "listingsync", "sync", "-c", "ab.yaml", "--via", "feed"]
    runs: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name, _ in arms}
    bases: list[float] = []
    with emulator_process(SCALE) as server:
        _config(directory, server)
        for round_ in range(1, rounds + 1):
            for name, src in arms:
                before = server.get("write-log?count=true")["count"]
                wall, cpu, memory, _ = measure(cli, directory, demo_cli_env(SCALE, PYTHONPATH=src))
                writes = server.get("write-log?count=true")["count"] - before
                runs[name].append((wall, cpu, memory, writes))
                print(
                    f"round {round_}, {name}: {wall:.2f} s wall, {cpu:.1f} s CPU, {memory:.0f} MiB, {writes} writes"
                )
            base, _, _, _ = measure([sys.executable, "-c", _BASELINE, "products.csv"], directory)
            bases.append(base)
            print(f"round {round_}, baseline: {base:.2f} s")
    baseline = statistics.median(bases)
    print(f"baseline csv.reader + hash, median of {rounds}: {baseline:.2f} s")
    for name, got in runs.items():
        wall, cpu = statistics.median(r[0] for r in got), statistics.median(r[1] for r in got)
        print(
            f"{name}: median {wall:.2f} s wall ({wall / baseline:.2f}x the baseline), {cpu:.1f} s CPU, "
            f"peak {max(r[2] for r in got):.0f} MiB, {sum(r[3] for r in got)} writes"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
