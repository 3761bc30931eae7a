"""Mapping throughput, end to end: read CSV → build listings → validate, per phase.

The sample catalogue (62 products) is repeated with fresh SKUs to N products in a temp dir and run
through the same code path as ``listingsync validate`` (``open_source`` → ``MappingPipeline``), with
the bundled schemas. Figures are products per second (medians of a few runs); the baseline, measured
in the same run, is reading the CSV alone, so the ratios say what mapping and validation cost on top.
The last phases build and validate in one worker process per core (:mod:`listingsync.mapping.parallel`,
what ``validate`` does for catalogues of 2,000 records or more), process start-up included: first
as ``validate`` runs on a file (each worker reads it), then with the records sent to the workers in
chunks (a Sales Layer export; what ``validate`` did for files too before), the baseline for the first.
"""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from listingsync.catalog import open_source
from listingsync.catalog.csv_source import CsvSource
from listingsync.config import Config, load_config
from listingsync.mapping import BundledSchemas, MappingPipeline
from listingsync.mapping.parallel import ChunkSpec, build_from_source, build_in_parallel
from listingsync.mapping.pipeline import Outline, outline_csv

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "listingsync" / "data" / "sample"
PRODUCTS = int(os.environ.get("LISTINGSYNC_BENCH_MAPPING_N", "6000"))
RUNS = 3


def _catalogue(directory: Path, count: int) -> None:
    with (SAMPLE / "products.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = directory / "products.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        copy = 0
        written = 0
        while written < count:
            for row in rows:
                if written >= count:
                    break
                suffix = f"-{copy}"
                new = dict(row, sku=row["sku"] + suffix)
                if row["parent_sku"]:
                    new["parent_sku"] = row["parent_sku"] + suffix
                writer.writerow(new)
                written += 1
            copy += 1
    for name in ("listingsync.yaml", "listingsync-seller.yaml"):
        shutil.copy(SAMPLE / name, directory / name)


def _median_rate(run: Callable[[], int]) -> tuple[float, int]:
    rates: list[float] = []
    count = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates), count


def _phases(config: Config, schemas: BundledSchemas, config_name: str) -> dict[str, tuple[float, int]]:
    def read() -> int:
        source = open_source(config)
        return sum(1 for _ in source.records())

    def build(validate: bool) -> Callable[[], int]:
        def run() -> int:
            source = open_source(config)
            pipeline = MappingPipeline(config, schemas, validate=validate)
            listings = 0
            for result in pipeline.run(source.records(), columns=source.columns()):
                listings += len(result.listings)
            return listings

        return run

    def in_processes(config_path: Path, workers: int, *, sent: bool) -> Callable[[], int]:
        def run() -> int:
            source = open_source(config)
            assert isinstance(source, CsvSource)
            if not sent:  # as validate does it now: rows scanned for the outline, read by the workers
                outline = outline_csv(source.scan(), source)
                spec = ChunkSpec(str(config_path), bundled=True, fields=frozenset(outline.fields), lean=True)
                return sum(len(r.listings) for r in build_from_source(spec, outline, workers))
            outline = Outline.of(source.records(), source.columns())
            spec = ChunkSpec(str(config_path), bundled=True, fields=frozenset(outline.fields), lean=True)
            items = MappingPipeline(config, schemas).ordered(source.records(), outline)
            return sum(len(r.listings) for r in build_in_parallel(spec, items, workers))

        return run

    build(True)()  # warm-up: schema loading and validator compilation are not per-record costs
    workers = os.cpu_count() or 1
    return {
        "read CSV (baseline)": _median_rate(read),
        "read + build": _median_rate(build(False)),
        "read + build + validate": _median_rate(build(True)),
        f"... in {workers} processes": _median_rate(
            in_processes(config.base_dir / config_name, workers, sent=False)
        ),
        "... records sent to them": _median_rate(
            in_processes(config.base_dir / config_name, workers, sent=True)
        ),
    }


def main() -> None:
    schemas = BundledSchemas()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _catalogue(directory, PRODUCTS)
        for name, label in (("listingsync-seller.yaml", "seller, US"), ("listingsync.yaml", "vendor, FR+DE")):
            config = load_config(directory / name)
            phases = _phases(config, schemas, name)
            markets = len(config.account.marketplaces)
            baseline = phases["read CSV (baseline)"][0]
            print(f"{PRODUCTS} products, {label} ({markets} listing(s) per product), median of {RUNS} runs:")
            for phase, (rate, _count) in phases.items():
                products_per_s = rate if phase.startswith("read CSV") else rate / markets
                unit = "records" if phase.startswith("read CSV") else "listings"
                print(
                    f"  {phase:<26} {products_per_s:>9,.0f} products/s  ({rate:,.0f} {unit}/s, "
                    f"{baseline / products_per_s:.1f}x the baseline's time per product)"
                )
            build = phases["read + build"][0]
            full = phases["read + build + validate"][0]
            print(f"  validation share of end-to-end time: {1 - full / build:.0%}")
            parallel = phases[next(k for k in phases if k.startswith("... in"))][0]
            sent = phases["... records sent to them"][0]
            print(
                f"  processes vs one: {parallel / full:.2f}x ({parallel:,.0f} listings/s, target >= 10,000); "
                f"records sent to them: {sent / full:.2f}x"
            )


if __name__ == "__main__":
    main()
