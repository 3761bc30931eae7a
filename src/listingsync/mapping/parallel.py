"""Build and validate on every core: chunks of records mapped in worker processes, results in order.

Mapping and validation are CPU-bound Python, so one process uses one core. The embedded mode
(``validate``) reads the catalogue once in the main process, puts the records in building order
(:meth:`MappingPipeline.ordered`, parents before variants) and hands them out in chunks; each chunk
is built by :func:`build_chunk`, which is a plain function of picklable arguments, so a task queue
(the Celery worker) can run the same chunks on other machines:

    spec = ChunkSpec(config_path="listingsync.yaml", bundled=False)
    results = build_chunk(spec, jobs)          # list[ProductResult], in the jobs' order

A worker loads the config and its schemas once (never from the network: the main process fetched
what was missing into the schema cache beside the config, or the run uses the bundled schemas) and
keeps its pipeline for the next chunks. At most ``2 × workers`` chunks are in flight, so memory
stays bounded however big the catalogue.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from listingsync.catalog.model import CatalogProblem
from listingsync.mapping.pipeline import Job, MappingPipeline, ProductResult

__all__ = ["CHUNK_SIZE", "ChunkSpec", "auto_workers", "build_chunk", "build_in_parallel"]

#: Records per chunk: large enough that sending records and results between processes stays a small
#: share of building them, small enough that results come back steadily.
CHUNK_SIZE = 500
#: Below this many records a process pool costs more to start than it saves.
MIN_RECORDS = 2_000


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """What a worker needs to build chunks the way the main process would (all picklable)."""

    config_path: str
    #: Use the schemas bundled with listingsync instead of the cache beside the config.
    bundled: bool = False
    #: Field names the whole catalogue has (an absent field is an empty cell, not an unknown name).
    fields: frozenset[str] = frozenset()
    #: Send back what a report needs (SKUs, listings' identity, issues), not the source records nor
    #: the built documents: unpickling those in the main process cost about what building them cost
    #: in a worker, so the pool was slower than one process (``validate`` reports, it sends nothing).
    lean: bool = False


_PIPELINES: dict[ChunkSpec, MappingPipeline] = {}


def _pipeline(spec: ChunkSpec) -> MappingPipeline:
    found = _PIPELINES.get(spec)
    if found is None:
        from listingsync.config import load_config
        from listingsync.mapping.schemas import BundledSchemas
        from listingsync.schema.store import SchemaStore

        config = load_config(Path(spec.config_path))
        if spec.bundled:
            schemas = BundledSchemas()
            found = MappingPipeline(config, schemas)
        else:
            cache = config.resolve_path(".listingsync/schemas")
            found = MappingPipeline(
                config, SchemaStore(None, cache, config.account.selling_partner_id).get_cached
            )
        found.builder.known_fields = set(spec.fields)
        _PIPELINES.clear()  # one config per worker at a time
        _PIPELINES[spec] = found
    return found


def build_chunk(spec: ChunkSpec, jobs: Sequence[Job]) -> list[ProductResult]:
    """Build and validate ``jobs`` (records with their parents, from :meth:`MappingPipeline.ordered`)."""
    if spec in _PIPELINES and not gc.get_freeze_count():
        # After a first chunk, what stays alive (the config, the schemas and their compiled
        # validators, the caches) lives as long as the worker: kept out of the collector's sight,
        # full collections no longer walk it again and again (garbage collected first).
        gc.collect()
        gc.freeze()
    pipeline = _pipeline(spec)
    results = [pipeline.result(j.product, parent=j.parent, is_parent=j.is_parent) for j in jobs]
    if spec.lean:
        for result in results:
            result.product = None
            for item in result.listings:
                item.listing = replace(item.listing, attributes={}, build_issues=[])
    return results


def auto_workers(records: int) -> int:
    """Worker processes for a catalogue of ``records``: every core, or none for a small one."""
    if records < MIN_RECORDS:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def build_in_parallel(
    spec: ChunkSpec,
    items: Iterable[Job | CatalogProblem],
    workers: int,
    chunk_size: int | None = None,
) -> Iterator[ProductResult]:
    """Results of ``items`` in their order, built by ``workers`` processes; problems pass through."""
    chunk_size = chunk_size or CHUNK_SIZE
    pending: deque[tuple[list[CatalogProblem], Future[list[ProductResult]] | None]] = deque()
    # Spawned, not forked: the main process may run threads (a progress display) whose locks a
    # forked child would inherit held.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:

        def drain(keep: int) -> Iterator[ProductResult]:
            while len(pending) > keep:
                problems, future = pending.popleft()
                for problem in problems:
                    yield ProductResult(sku=problem.sku or "", origin=str(problem.origin), problem=problem)
                if future is not None:
                    yield from future.result()

        jobs: list[Job] = []
        problems: list[CatalogProblem] = []
        for item in items:
            if isinstance(item, CatalogProblem):
                # A problem keeps its place: it goes out after the jobs read before it.
                pending.append((problems, pool.submit(build_chunk, spec, jobs) if jobs else None))
                jobs, problems = [], [item]
                continue
            jobs.append(item)
            if len(jobs) >= chunk_size:
                pending.append((problems, pool.submit(build_chunk, spec, jobs)))
                jobs, problems = [], []
                yield from drain(2 * workers)
        pending.append((problems, pool.submit(build_chunk, spec, jobs) if jobs else None))
        yield from drain(0)
