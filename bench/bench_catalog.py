"""Catalogue sources: records per second through ``catalog inspect``'s code path, and peak memory.

Rates are records per CPU second of the measuring process (the machine may be shared: CPU time
is steadier than wall time, which is printed beside it); each figure's baseline ran in the same
run on the same file.

* CSV, 1,000,000 generated rows (a product and 3 variants per family, two languages, images):
  ``inspect_source`` in a child process, whose RSS high-water mark (``getrusage``) is the peak
  memory; baseline: a bare ``csv.reader`` loop over the same file in another child process.
* XLSX (20,000 rows: openpyxl's writer makes bigger files slow to generate), JSON Lines and a JSON
  array (200,000 rows each): ``inspect_source`` against the format's bare reader (openpyxl
  ``iter_rows``, ``orjson.loads`` per line, ``json.load`` of the whole file), median of 3 runs.

Run: ``python -m bench catalog`` (``BENCH_CATALOG_ROWS`` overrides the 1,000,000).
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROWS = int(os.environ.get("BENCH_CATALOG_ROWS", "1000000"))
SMALL_ROWS = 200_000
XLSX_ROWS = 20_000
HEADER = [
    "sku",
    "parent_sku",
    "title_de",
    "title_fr",
    "brand",
    "price",
    "ean",
    "image_1",
    "image_2",
    "category",
]

# Runs in a child process: prints "<records> <seconds> <max RSS KiB>".
_INSPECT = """
import resource, sys, time
from listingsync.catalog import source_from_settings
from listingsync.catalog.inspect import inspect_source
from listingsync.config.source import SourceConfig
kind, path = sys.argv[1], sys.argv[2]
source = source_from_settings(SourceConfig(type=kind, path=path))
started, cpu = time.perf_counter(), time.process_time()
report = inspect_source(source)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
assert not report.problems, report.problems[:3]
print(report.records, elapsed, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
_BASELINES = {
    "csv": """
import csv, resource, sys, time
started, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    n = sum(1 for _ in csv.reader(f)) - 1
print(n, time.perf_counter() - started, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
    "xlsx": """
import resource, sys, time, openpyxl
started, cpu = time.perf_counter(), time.process_time()
book = openpyxl.load_workbook(sys.argv[2], read_only=True, data_only=True)
n = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
print(n, time.perf_counter() - started, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
    "jsonl": """
import orjson, resource, sys, time
started, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[2], "rb") as f:
    n = sum(1 for line in f if orjson.loads(line))
print(n, time.perf_counter() - started, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
    "json": """
import json, resource, sys, time
started, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[2], encoding="utf-8") as f:
    n = len(json.load(f))
print(n, time.perf_counter() - started, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
}


def _row(i: int) -> list[str]:
    family = i // 4
    parent = "" if i % 4 == 0 else f"P{family:07d}"
    sku = f"P{family:07d}" if i % 4 == 0 else f"P{family:07d}-{i % 4}"
    return [
        sku,
        parent,
        f"Becher Modell {i}",
        f"Tasse modèle {i}",
        "Acme Home",
        f"{(i % 9000) / 100 + 1:.2f}",
        f"{4006381000000 + i}",
        f"https://img.example.test/{i}/front.jpg",
        f"https://img.example.test/{i}/side.jpg" if i % 2 else "",
        "Home > Kitchen > Mugs",
    ]


def _record(i: int) -> dict[str, object]:
    row = dict(zip(HEADER, _row(i), strict=True))
    return {k: v for k, v in row.items() if v}


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(_row(i) for i in range(rows))


def _write_jsonl(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            f.write(json.dumps(_record(i), ensure_ascii=False) + "\n")


def _write_json(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("[\n")
        for i in range(rows):
            f.write(("  " if i == 0 else ",\n  ") + json.dumps(_record(i), ensure_ascii=False))
        f.write("\n]\n")


def _write_xlsx(path: Path, rows: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Products")
    sheet.append(HEADER)
    for i in range(rows):
        sheet.append(_row(i))
    book.save(path)


def _child(code: str, kind: str, path: Path) -> tuple[int, float, float, int]:
    """(records, wall seconds, CPU seconds, peak RSS KiB) of ``code`` run in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", code, kind, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


@dataclass
class _Figures:
    cpu_rate: float  # records per CPU second (steady on a shared machine)
    wall_rate: float
    rss_kib: int


def _compare(kind: str, path: Path, rows: int, runs: int) -> tuple[_Figures, _Figures]:
    """Medians over ``runs`` of inspect and of the baseline, each in its own process."""
    ours: list[tuple[float, float, int]] = []
    base: list[tuple[float, float, int]] = []
    for _ in range(runs):
        for code, into in ((_INSPECT, ours), (_BASELINES[kind], base)):
            n, wall, cpu, rss = _child(code, kind, path)
            assert n == rows, (n, rows)
            into.append((n / cpu, n / wall, rss))
    return _median(ours), _median(base)


def _median(runs: list[tuple[float, float, int]]) -> _Figures:
    return _Figures(
        statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs)
    )


def _line(label: str, ours: _Figures, base: _Figures, baseline: str) -> None:
    print(
        f"  {label:<36} {ours.cpu_rate:>9,.0f} records/CPU-s (wall {ours.wall_rate:>9,.0f}/s)   "
        f"baseline {baseline}: {base.cpu_rate:>9,.0f}/CPU-s (wall {base.wall_rate:>9,.0f}/s)   "
        f"ratio {ours.cpu_rate / base.cpu_rate:.2f}",
        flush=True,
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        folder = Path(tmp)
        big = folder / "big.csv"
        started = time.perf_counter()
        _write_csv(big, ROWS)
        size = big.stat().st_size / 2**20
        print(f"  generated {ROWS:,} CSV rows ({size:.0f} MiB) in {time.perf_counter() - started:.1f} s")
        ours, base = _compare("csv", big, ROWS, 1)
        _line(f"CSV {ROWS:,} rows (catalog inspect)", ours, base, "csv.reader")
        print(
            f"  CSV {ROWS:,} rows peak RSS: {ours.rss_kib / 1024:.0f} MiB (budget 300 MiB); "
            f"baseline csv.reader process: {base.rss_kib / 1024:.0f} MiB",
            flush=True,
        )
        big.unlink()

        small = folder / "small.csv"
        _write_csv(small, SMALL_ROWS)
        ours, base = _compare("csv", small, SMALL_ROWS, 3)
        _line(f"CSV {SMALL_ROWS:,} rows, median of 3", ours, base, "csv.reader")

        jsonl = folder / "p.jsonl"
        _write_jsonl(jsonl, SMALL_ROWS)
        ours, base = _compare("jsonl", jsonl, SMALL_ROWS, 3)
        _line(f"JSON Lines {SMALL_ROWS:,} rows, median of 3", ours, base, "orjson per line")

        array = folder / "p.json"
        _write_json(array, SMALL_ROWS)
        ours, base = _compare("json", array, SMALL_ROWS, 3)
        _line(f"JSON array {SMALL_ROWS:,} rows, median of 3", ours, base, "json.load whole")
        print(
            f"  JSON array peak RSS: streamed {ours.rss_kib / 1024:.0f} MiB vs json.load "
            f"{base.rss_kib / 1024:.0f} MiB",
            flush=True,
        )

        xlsx = folder / "p.xlsx"
        _write_xlsx(xlsx, XLSX_ROWS)
        ours, base = _compare("xlsx", xlsx, XLSX_ROWS, 3)
        _line(f"XLSX {XLSX_ROWS:,} rows, median of 3", ours, base, "openpyxl iter_rows")


if __name__ == "__main__":
    main()
