"""Workers that read the catalogue themselves (``build_from_source``, ``SourceWorkers``): order,
failures, clean-up, workers started before the outline."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from listingsync.catalog import CatalogProblem, open_source
from listingsync.catalog.csv_source import CheckVerdicts, CsvSource
from listingsync.catalog.source import CatalogError
from listingsync.config import load_config
from listingsync.mapping import BundledSchemas, MappingPipeline
from listingsync.mapping.parallel import ChunkSpec, MappingWorkerError, SourceWorkers, build_from_source
from listingsync.mapping.pipeline import Outline, outline_csv

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "listingsync" / "data" / "sample"


def _catalogue(directory: Path, copies: int) -> Path:
    """The sample catalogue ``copies`` times over with fresh SKUs (families stay families)."""
    with (SAMPLE / "products.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (directory / "products.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                parent = row["parent_sku"] and f"{row['parent_sku']}-{copy}"
                writer.writerow(dict(row, sku=f"{row['sku']}-{copy}", parent_sku=parent))
    shutil.copy(SAMPLE / "listingsync.yaml", directory / "listingsync.yaml")
    return directory / "listingsync.yaml"


def _outline_and_spec(config_path: Path) -> tuple[Outline, ChunkSpec]:
    source = open_source(load_config(config_path))
    outline = Outline.of(source.records(), source.columns)  # the header, once read
    return outline, ChunkSpec(str(config_path), bundled=True, fields=frozenset(outline.fields), lean=True)


def _summary(results: list) -> list[tuple[str, str, list[str]]]:
    return [
        (
            r.sku,
            r.origin,
            [f"{i.listing.marketplace_id} {x.code} {x.path}" for i in r.listings for x in i.issues],
        )
        for r in results
    ]


def _as_json_lines(config_path: Path) -> None:
    """The catalogue beside ``config_path`` as JSON Lines (a source the workers read as records)."""
    directory = config_path.parent
    with (directory / "products.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (directory / "products.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
        out.write('{"sku": "broken",\n')
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace("type: csv", "type: jsonl").replace("products.csv", "products.jsonl"))


def _with_family_problems(csv_path: Path) -> None:
    """A duplicate SKU and a variant whose parent never comes (cross-record problems), then a
    broken last row."""
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    orphan = next(r for r in rows if r["parent_sku"])
    with csv_path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writerow(rows[3])
        writer.writerow(dict(orphan, sku="ORPHAN-1", parent_sku="NO-SUCH-PARENT"))
        handle.write('"unterminated,\n')


@pytest.mark.parametrize("kind", ["csv", "csv, checks replayed", "jsonl"])
def test_blocks_come_back_in_the_order_one_process_builds_them(tmp_path: Path, kind: str) -> None:
    """Three workers, blocks of 5 records: families straddle blocks and workers, problems (a
    duplicate, an orphan variant, a broken row) keep their places; the merged stream equals the
    one-process run. A CSV's rows are scanned (products built for a worker's own blocks only),
    its cross-record checks run in each worker or replayed from the first pass's verdicts; other
    sources are read whole."""
    config_path = _catalogue(tmp_path, 2)
    if kind.startswith("csv"):
        _with_family_problems(tmp_path / "products.csv")
    else:
        _as_json_lines(config_path)
    outline, spec = _outline_and_spec(config_path)
    verdicts = None
    if kind == "csv, checks replayed":
        source = open_source(load_config(config_path))
        assert isinstance(source, CsvSource)
        verdicts = CheckVerdicts()
        assert outline_csv(source.scan(verdicts), source) == outline
        assert verdicts.replaced and verdicts.tail  # the duplicate; the orphan, reported at the end
    config = load_config(config_path)
    one = list(MappingPipeline(config, BundledSchemas()).run(open_source(config).records(), outline=outline))
    merged = list(build_from_source(spec, outline, workers=3, block=5, verdicts=verdicts))
    assert _summary(merged) == _summary(one)
    assert len(merged) == (125 if kind == "jsonl" else 128) and any(r.problem for r in merged)
    assert all(r.product is None for r in merged)  # lean: the records stay in the workers
    assert not multiprocessing.active_children()


def test_a_worker_that_fails_raises_its_error_in_the_main_process(tmp_path: Path) -> None:
    config_path = _catalogue(tmp_path, 1)
    outline, spec = _outline_and_spec(config_path)
    (tmp_path / "products.csv").unlink()  # the workers read the source after the main process did
    with pytest.raises(CatalogError, match=r"products\.csv"):
        list(build_from_source(spec, outline, workers=2, block=5))
    assert not multiprocessing.active_children()


def test_a_killed_worker_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """Worker 1 is killed once block 0 (worker 0's) is in: what it sent before still comes, then
    the run stops with its exit code. Its share (about 300 KB of results) is far more than a pipe
    holds (64 KB), so it cannot have sent everything before the kill."""
    config_path = _catalogue(tmp_path, 64)
    outline, spec = _outline_and_spec(config_path)
    results = build_from_source(spec, outline, workers=2, block=1)
    next(results)
    (worker,) = [p for p in multiprocessing.active_children() if p.name == "listingsync-mapping-1"]
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(MappingWorkerError, match=r"worker 2 of 2 ended without finishing \(exit code -9\)"):
        list(results)
    assert not multiprocessing.active_children()


def test_stopping_early_ends_the_workers(tmp_path: Path) -> None:
    config_path = _catalogue(tmp_path, 64)  # more results than a pipe holds: neither worker can be done
    outline, spec = _outline_and_spec(config_path)
    results = build_from_source(spec, outline, workers=2, block=3)
    next(results)
    assert len(multiprocessing.active_children()) == 2
    results.close()
    assert not multiprocessing.active_children()


def test_the_csv_outline_from_a_scan_equals_the_one_from_built_records(tmp_path: Path) -> None:
    """``validate`` outlines a CSV from its rows (no products built): the same parents, variant
    counts, fields and record count as from the records, problems (a duplicate, a broken row) included."""
    config_path = _catalogue(tmp_path, 2)
    with (tmp_path / "products.csv").open("a", encoding="utf-8") as handle:
        handle.write("MD-CUSH-001-0" + ",x" * 10 + "\n" + '"unterminated,\n')
    source = open_source(load_config(config_path))
    assert isinstance(source, CsvSource)
    scanned = outline_csv(source.scan(), source)
    built = Outline.of(source.records(), source.columns())
    assert scanned == built
    assert scanned.parents and scanned.records == 126


def test_a_scan_replays_the_checks_it_recorded(tmp_path: Path) -> None:
    config_path = _catalogue(tmp_path, 1)
    _with_family_problems(tmp_path / "products.csv")
    source = open_source(load_config(config_path))
    assert isinstance(source, CsvSource)
    verdicts = CheckVerdicts()
    checked = list(source.scan(verdicts))
    assert verdicts.complete and list(source.scan(verdicts)) == checked == list(source.scan())
    problems = [str(p) for p in checked if isinstance(p, CatalogProblem)]
    assert any("ORPHAN-1" in p for p in problems) and len(problems) == 3


def test_workers_started_before_the_outline_build_with_the_fields_it_gives(tmp_path: Path) -> None:
    """``validate`` starts the workers before its first pass, so they learn the catalogue's field
    names with the outline, not from the spec they started with: a field the catalogue has (here
    said to have, no record fills it) is an empty cell, as in one process, not an unknown name."""
    config_path = _catalogue(tmp_path, 2)
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('color: "{{ color }}"', 'color: "{{ colour }}"'), encoding="utf-8")
    outline, _ = _outline_and_spec(config_path)
    outline = replace(outline, fields=outline.fields | {"colour"})
    config = load_config(config_path)
    one = list(MappingPipeline(config, BundledSchemas()).run(open_source(config).records(), outline=outline))
    assert not any("LS-MAP-TEMPLATE" in issue for _, _, issues in _summary(one) for issue in issues)
    with SourceWorkers(ChunkSpec(str(config_path), bundled=True, lean=True), workers=2, block=5) as pool:
        assert len(multiprocessing.active_children()) == 2  # running before there is an outline
        merged = list(pool.results(outline))
    assert _summary(merged) == _summary(one)
    assert not multiprocessing.active_children()


def test_workers_that_never_get_an_outline_end_by_themselves(tmp_path: Path) -> None:
    """The main process stopped before its first pass was done (a broken catalogue, ^C, a kill):
    a worker waiting for the outline sees its pipe close and ends cleanly, it does not linger."""
    config_path = _catalogue(tmp_path, 1)
    pool = SourceWorkers(ChunkSpec(str(config_path), bundled=True, lean=True), workers=2)
    for orders in pool._orders:  # what the death of the main process does to the pipes
        orders.close()
    for worker in pool._processes:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    pool.close()
    assert not multiprocessing.active_children()
