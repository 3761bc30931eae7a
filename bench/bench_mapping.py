"""Mapping throughput, end to end: read CSV → build listings → validate, per phase.

The sample catalogue (62 products) is repeated with fresh SKUs to N products in a temp dir and run
through the same code path as ``listingsync validate`` (``open_source`` → ``MappingPipeline``), with
the bundled schemas. Figures are products per second (medians of a few runs); the baseline, measured
in the same run, is reading the CSV alone, so the ratios say what mapping and validation cost on top.
"""

from __future__ import annotations

import csv
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from listingsync.catalog import open_source
from listingsync.config import Config, load_config
from listingsync.mapping import BundledSchemas, MappingPipeline

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "listingsync" / "data" / "sample"
PRODUCTS = 1500
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


def _phases(config: Config, schemas: BundledSchemas) -> dict[str, tuple[float, int]]:
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

    build(True)()  # warm-up: schema loading and validator compilation are not per-record costs
    return {
        "read CSV (baseline)": _median_rate(read),
        "read + build": _median_rate(build(False)),
        "read + build + validate": _median_rate(build(True)),
    }


def main() -> None:
    schemas = BundledSchemas()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _catalogue(directory, PRODUCTS)
        for name, label in (("listingsync-seller.yaml", "seller, US"), ("listingsync.yaml", "vendor, FR+DE")):
            config = load_config(directory / name)
            phases = _phases(config, schemas)
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


if __name__ == "__main__":
    main()
