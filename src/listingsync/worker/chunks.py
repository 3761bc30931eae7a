"""Map and validate a catalogue on the cluster's workers: the CPU-bound part of a run, shared out.

The enqueuer reads the catalogue once, as ``validate`` does (a first pass for the outline, then the
records in building order from :meth:`MappingPipeline.ordered`: parents before their variants, each
variant with its parent's record), and sends them in chunks. A worker builds a chunk with
:func:`listingsync.mapping.parallel.build_chunk`, the very function ``validate``'s process pool runs,
and answers counts. Records travel as JSON (:func:`job_to_dict`), so no worker reads the source, and
at most ``in_flight`` chunks are out at once, so the enqueuer's memory stays bounded however big the
catalogue.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from listingsync.catalog import CatalogProblem, open_source
from listingsync.catalog.model import Origin, Product, ProductStatus
from listingsync.config import load_config
from listingsync.mapping.parallel import CHUNK_SIZE, ChunkSpec, build_chunk
from listingsync.mapping.pipeline import Job, MappingPipeline, Outline, ProductResult
from listingsync.sync.pipeline import SCHEMA_CACHE_DIR, schema_provider

__all__ = [
    "ChunkResult",
    "job_from_dict",
    "job_to_dict",
    "spec_for",
    "validate_catalogue",
    "validate_jobs",
]


@dataclass(slots=True)
class ChunkResult:
    """Counts of a chunk, or of a whole catalogue (:meth:`add`)."""

    records: int = 0
    listings: int = 0
    valid: int = 0
    invalid: int = 0
    problems: int = 0
    #: Issue codes of the ERRORs, with their counts.
    error_codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    chunks: int = 0

    def count(self, results: list[ProductResult]) -> None:
        for result in results:
            if result.problem is not None:
                self.problems += 1
                continue
            self.records += 1
            for listing in result.listings:
                self.listings += 1
                if listing.ok:
                    self.valid += 1
                else:
                    self.invalid += 1
                    self.error_codes.update(i.code for i in listing.errors)

    def add(self, other: dict[str, Any]) -> None:
        for name in ("records", "listings", "valid", "invalid", "problems", "chunks"):
            setattr(self, name, getattr(self, name) + int(other.get(name, 0)))
        self.error_codes.update(other.get("error_codes", {}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "listings": self.listings,
            "valid": self.valid,
            "invalid": self.invalid,
            "problems": self.problems,
            "error_codes": dict(self.error_codes),
            "seconds": round(self.seconds, 3),
            "chunks": self.chunks,
        }


# --- records as JSON (task arguments are JSON: a broker message must not be able to run code) -----


def _product_to_dict(p: Product) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "origin": [p.origin.source, p.origin.line, p.origin.record_id],
        "source_id": p.source_id,
        "parent_sku": p.parent_sku,
        "category_path": list(p.category_path),
        "fields": p.fields,
        "localized": p.localized,
        "images": p.images,
        "images_unchanged": p.images_unchanged,
        "status": p.status.value,
        # ``raw`` is for previews only; the build never reads it, so it does not travel.
    }


def _product_from_dict(d: dict[str, Any]) -> Product:
    source, line, record_id = d["origin"]
    return Product(
        sku=d["sku"],
        origin=Origin(source, line, record_id),
        source_id=d["source_id"],
        parent_sku=d["parent_sku"],
        category_path=tuple(d["category_path"]),
        fields=d["fields"],
        localized=d["localized"],
        images=d["images"],
        images_unchanged=d["images_unchanged"],
        status=ProductStatus(d["status"]),
    )


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "product": _product_to_dict(job.product),
        "parent": _product_to_dict(job.parent) if job.parent is not None else None,
        "is_parent": job.is_parent,
    }


def job_from_dict(d: dict[str, Any]) -> Job:
    parent = d["parent"]
    return Job(
        _product_from_dict(d["product"]), _product_from_dict(parent) if parent else None, d["is_parent"]
    )


def _spec_to_dict(spec: ChunkSpec) -> dict[str, Any]:
    return {"config_path": spec.config_path, "bundled": spec.bundled, "fields": sorted(spec.fields)}


def _spec_from_dict(d: dict[str, Any]) -> ChunkSpec:
    return ChunkSpec(d["config_path"], bool(d["bundled"]), frozenset(d["fields"]))


# --- the worker's side -----------------------------------------------------------------------------


def validate_jobs(spec: dict[str, Any], jobs: list[dict[str, Any]]) -> ChunkResult:
    """Build and validate one chunk (the ``listingsync.validate_chunk`` task's body)."""
    started = time.perf_counter()
    out = ChunkResult(chunks=1)
    out.count(build_chunk(_spec_from_dict(spec), [job_from_dict(j) for j in jobs]))
    out.seconds = time.perf_counter() - started
    return out


# --- the enqueuer's side ---------------------------------------------------------------------------


class Pending(Protocol):
    """What submitting a chunk gives back (a Celery ``AsyncResult``)."""

    def get(self, timeout: float | None = None) -> Any: ...


def spec_for(config_path: str | Path) -> ChunkSpec:
    """The chunk spec of a config: its schema cache when it has one (workers never fetch), else the
    schemas bundled with listingsync, as :func:`~listingsync.sync.pipeline.schema_provider` chooses."""
    path = Path(config_path).resolve()
    cache = load_config(path).resolve_path(SCHEMA_CACHE_DIR)
    return ChunkSpec(str(path), bundled=not (cache.is_dir() and any(cache.iterdir())))


def _chunks(
    config_path: Path, chunk_size: int
) -> tuple[Outline, Callable[[MappingPipeline], Iterator[list[Job] | CatalogProblem]]]:
    config = load_config(config_path)
    with open_source(config) as source:
        outline = Outline.of(source.records(), source.columns)

    def chunks(pipeline: MappingPipeline) -> Iterator[list[Job] | CatalogProblem]:
        jobs: list[Job] = []
        with open_source(config) as source:
            for item in pipeline.ordered(source.records(), outline):
                if isinstance(item, CatalogProblem):
                    yield item
                    continue
                jobs.append(item)
                if len(jobs) >= chunk_size:
                    yield jobs
                    jobs = []
        if jobs:
            yield jobs

    return outline, chunks


def validate_catalogue(
    config_path: str | Path,
    submit: Callable[[dict[str, Any], list[dict[str, Any]]], Pending],
    *,
    chunk_size: int = CHUNK_SIZE,
    in_flight: int = 8,
    timeout: float | None = 3600,
) -> ChunkResult:
    """Validate a whole catalogue in chunks that ``submit(spec, jobs)`` hands to workers
    (``validate_chunk.delay``); the catalogue's unreadable records are counted here."""
    import asyncio

    started = time.perf_counter()
    path = Path(config_path).resolve()
    outline, chunks = _chunks(path, chunk_size)
    spec = spec_for(path)
    spec_dict = _spec_to_dict(ChunkSpec(spec.config_path, spec.bundled, frozenset(outline.fields)))
    config = load_config(path)
    # Only to put records in building order here; the workers build with their own pipelines.
    pipeline = MappingPipeline(config, asyncio.run(schema_provider(config, None)))
    total = ChunkResult()
    pending: deque[Pending] = deque()
    for chunk in chunks(pipeline):
        if isinstance(chunk, CatalogProblem):
            total.problems += 1
            continue
        pending.append(submit(spec_dict, [job_to_dict(j) for j in chunk]))
        while len(pending) >= in_flight:
            total.add(pending.popleft().get(timeout=timeout))
    while pending:
        total.add(pending.popleft().get(timeout=timeout))
    total.seconds = time.perf_counter() - started
    return total
