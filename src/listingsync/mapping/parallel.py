"""Build and validate on every core: chunks of records mapped in worker processes, results in order.

Mapping and validation are CPU-bound Python, so one process uses one core. Two ways to share them:

- :func:`build_from_source` (``validate`` on a file): every worker reads the catalogue itself, puts
  it in building order (:meth:`MappingPipeline.ordered`, parents before variants) and builds every
  n-th block of it; the main process only merges the blocks back in order. Records never cross a
  process boundary: sending them cost the main process as much as reading them, and the workers
  as much to unpickle (a pool of two was no faster than one process).
- :func:`build_in_parallel`: the main process reads the records and hands them out in chunks (a
  Sales Layer export, read once into memory). Each chunk is built by :func:`build_chunk`, which is a
  plain function of picklable arguments, so a task queue (the Celery worker) can run the same chunks
  on other machines:

    spec = ChunkSpec(config_path="listingsync.yaml", bundled=False)
    results = build_chunk(spec, jobs)          # list[ProductResult], in the jobs' order

A worker loads the config and its schemas once (never from the network: the main process fetched
what was missing into the schema cache beside the config, or the run uses the bundled schemas) and
keeps its pipeline for the next chunks. At most ``2 × workers`` chunks are in flight, so memory
stays bounded however big the catalogue.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

from listingsync.catalog.csv_source import CheckVerdicts, CsvSource, RowStamp
from listingsync.catalog.model import CatalogProblem, Product
from listingsync.errors import ListingSyncError
from listingsync.mapping.listing import Listing
from listingsync.mapping.pipeline import (
    Job,
    ListingResult,
    MappingPipeline,
    Outline,
    ProductResult,
    problem_result,
)

__all__ = [
    "CHUNK_SIZE",
    "ChunkSpec",
    "MappingWorkerError",
    "SourceWorkers",
    "auto_workers",
    "build_chunk",
    "build_from_source",
    "build_in_parallel",
]

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
#: Whether this worker froze its long-lived objects (``gc.get_freeze_count()`` would tell, but it
#: counts them one by one: 20 ms a chunk once a million objects are frozen).
_frozen = False


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
    results = _build(spec, jobs)
    if spec.lean:
        for result in results:
            result.product = None
            for item in result.listings:  # built here, for this result alone: emptied in place
                item.listing.attributes = {}
                item.listing.build_issues = []
    return results


def _build(spec: ChunkSpec, items: Iterable[Job | CatalogProblem]) -> list[ProductResult]:
    global _frozen
    if spec in _PIPELINES and not _frozen:
        # After a first chunk, what stays alive (the config, the schemas and their compiled
        # validators, the caches) lives as long as the worker: kept out of the collector's sight,
        # full collections no longer walk it again and again (garbage collected first).
        gc.collect()
        gc.freeze()
        _frozen = True
    pipeline = _pipeline(spec)
    # A chunk's listings all live until it is validated (MappingPipeline.results): the collector,
    # running every 700 allocations meanwhile, would walk them again and again (builds 1.5x
    # slower). Paused for the chunk; what it leaves behind is collected as usual afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        results = pipeline.results(items)
    finally:
        if collecting:
            gc.enable()
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
                    yield problem_result(problem)
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


# -- every worker reads the source ------------------------------------------------------------------

#: What a stripe worker sends: ``(block number, results)``, then ``(_DONE, None)``, or
#: ``(_FAILED, exception)`` once something went wrong.
_DONE = -1
_FAILED = -2
#: What the main process notes when a worker's pipe closed before it said it was done.
_ENDED = -3
#: Blocks a worker may have built ahead of their turn (held by the main process).
_AHEAD = 4
#: A stripe worker's blocks between full garbage collections.
_FULL_COLLECTION = 64


class MappingWorkerError(ListingSyncError):
    """A worker process of :func:`build_from_source` ended without finishing its share."""


def build_from_source(
    spec: ChunkSpec,
    outline: Outline,
    workers: int,
    block: int | None = None,
    verdicts: CheckVerdicts | None = None,
) -> Iterator[ProductResult]:
    """Results of the catalogue ``spec``'s config names, in :meth:`MappingPipeline.run`'s order.

    Worker ``k`` of ``workers`` reads the whole source (a CSV's rows are only scanned, a product
    built for its own blocks: reading is a small share of building), orders it
    with ``outline`` (from the main process's first pass) and builds blocks ``k``, ``k + workers``,
    … of ``block`` records; the main process takes block 0 from worker 0, block 1 from worker 1, and
    so on. A worker sends its next block only once the main process has taken the one before (a
    pipe), so memory stays bounded. The source must read the same twice (a file, not an export).
    ``verdicts``, from the first pass's scan of a CSV, spare each worker the cross-record checks
    and their memory per SKU (about 130 MB a worker at a million SKUs).
    """
    with SourceWorkers(spec, workers, block) as pool:
        yield from pool.results(outline, verdicts)


class SourceWorkers:
    """The worker processes of :func:`build_from_source`, started before the outline exists.

    A worker takes most of a second to start (a fresh interpreter importing listingsync, loading
    the config and its schemas), and the main process about as long for its first pass over a
    catalogue of 100,000 rows: started first, the workers get ready meanwhile and wait for the
    outline, instead of starting once it is made (``validate`` of 100,000 SKUs, one process per
    core, spent about a tenth of its time so)::

        with SourceWorkers(spec, workers=2) as pool:
            outline = outline_csv(source.scan(verdicts), source)   # the workers start meanwhile
            for result in pool.results(outline, verdicts):
                ...

    Leaving the ``with`` block ends the workers, whether they were given an outline or not.
    """

    def __init__(self, spec: ChunkSpec, workers: int, block: int | None = None) -> None:
        self.spec = spec
        self.workers = workers
        # Spawned, not forked: the main process may run threads (a progress display) whose locks a
        # forked child would inherit held.
        context = multiprocessing.get_context("spawn")
        self._links: list[Connection] = []
        self._orders: list[Connection] = []
        self._processes: list[SpawnProcess] = []
        try:
            for stripe in range(workers):
                receiver, sender = context.Pipe(duplex=False)
                orders, order_sender = context.Pipe(duplex=False)
                process = context.Process(
                    target=_build_stripe,
                    args=(spec, stripe, workers, block or CHUNK_SIZE, sender, orders),
                    name=f"listingsync-mapping-{stripe}",
                    daemon=True,
                )
                process.start()
                # The worker's ends only: its death is then an EOF here, not a hang; ours closed,
                # a worker waiting for its outline sees an EOF and ends.
                sender.close()
                orders.close()
                self._links.append(receiver)
                self._orders.append(order_sender)
                self._processes.append(process)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> SourceWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def results(self, outline: Outline, verdicts: CheckVerdicts | None = None) -> Iterator[ProductResult]:
        """Every result, in order, once the workers have ``outline`` (the catalogue's field names
        with it) and ``verdicts``."""
        for orders in self._orders:
            # A worker that already ended (it failed starting) cannot take it: the merge says why.
            with contextlib.suppress(OSError):
                orders.send((outline, verdicts))
        links, processes, workers = self._links, self._processes, self.workers
        queues: list[deque[tuple[int, Any]]] = [deque() for _ in range(workers)]
        ended: set[int] = set()
        number = 0
        while True:
            stripe = number % workers
            while not queues[stripe]:
                _receive(links, queues, ended)
            got, payload = queues[stripe].popleft()
            if got == _ENDED:
                processes[stripe].join()
                raise MappingWorkerError(
                    f"mapping worker {stripe + 1} of {workers} ended without finishing "
                    f"(exit code {processes[stripe].exitcode})",
                    fix="run again with --workers 1 to build in one process; a negative exit code is the "
                    "signal that ended it (-9: killed, often for lack of memory)",
                )
            if got == _FAILED:
                raise payload
            if got == _DONE:  # the worker that would hold this block has none: the catalogue ended
                break
            yield from _unpacked(payload) if self.spec.lean else payload
            number += 1
        for worker in processes:
            worker.join()

    def close(self) -> None:
        """End the workers (those still running: the consumer stopped early, one failed, or they
        never got an outline) and close the pipes."""
        for orders in self._orders:
            orders.close()
        for worker in self._processes:
            if worker.is_alive():
                worker.terminate()
                worker.join()
        for link in self._links:
            link.close()


def _receive(links: list[Connection], queues: list[deque[tuple[int, Any]]], ended: set[int]) -> None:
    """Wait until a worker has sent something, and queue it. Blocks are taken as they come, up
    to _AHEAD per worker, so that a worker faster than the other (or than the main process) goes
    on building rather than wait for its block's turn in a full pipe."""
    readable = [link for i, link in enumerate(links) if i not in ended and len(queues[i]) < _AHEAD]
    ready = wait(readable)
    for index, link in enumerate(links):
        if link not in ready:
            continue
        try:
            message: tuple[int, Any] = link.recv()
        except EOFError:
            message = (_ENDED, None)
        queues[index].append(message)
        if message[0] < 0:
            ended.add(index)


def _build_stripe(
    spec: ChunkSpec,
    stripe: int,
    stripes: int,
    block: int,
    link: Connection,
    orders: Connection,
) -> None:
    """A worker of :class:`SourceWorkers`: get ready, wait for the outline, then read the source,
    build and send every block of ours."""
    try:
        from listingsync.catalog import open_source

        # The collector, left to itself, ran ~9,000 times per 20,000 records and cost a tenth of
        # the build: this process is ours alone, so it collects once per block instead (what a
        # block left behind is garbage by then), and fully every _FULL_COLLECTION blocks, which
        # bounds whatever cycles outlived their block.
        gc.disable()
        pipeline = _pipeline(spec)
        try:
            outline, verdicts = orders.recv()
        except EOFError:  # closed before it sent an outline: nothing to build
            return
        source = open_source(pipeline.config)
        if isinstance(source, CsvSource):
            # Rows are only scanned: a product is built for the blocks of this worker (and for a
            # parent they need), not for the others' (a third of the cost of reading them).
            rows: Iterable[Product | CatalogProblem] = _scanned(source, verdicts)
        else:
            rows = source.records()
        items = iter(pipeline.ordered(rows, outline))
        number = 0
        while chunk := list(islice(items, block)):
            if number % stripes == stripe:
                results = _build(spec, [_built(item) for item in chunk])
                link.send((number, _packed(results) if spec.lean else results))
                # Freed first, the block is not walked by the collection: it finds no cycle
                # among the block's records and results, and walking them cost 7% of the build.
                del chunk, results
                gc.collect(0 if number // stripes % _FULL_COLLECTION else 2)
            number += 1
        link.send((_DONE, None))
    except BaseException as exc:  # every failure is the main process's to raise
        link.send((_FAILED, _sendable(exc)))
    finally:
        link.close()


def _packed(results: list[ProductResult]) -> list[tuple[Any, ...]]:
    """What a lean result keeps (no record, no attribute document), as plain tuples: pickled in a
    tenth of the time the objects take (each one a ``__reduce_ex__`` call)."""
    return [(r.sku, r.origin, r.problem, [_packed_listing(i) for i in r.listings]) for r in results]


def _packed_listing(item: ListingResult) -> tuple[Any, ...]:
    got = item.listing
    return (
        got.sku,
        got.marketplace_id,
        got.product_type,
        got.requirements,
        got.parent_sku,
        got.parentage,
        got.origin,
        item.issues,
    )


def _unpacked(packed: list[tuple[Any, ...]]) -> list[ProductResult]:
    return [
        ProductResult(
            sku=sku,
            origin=origin,
            problem=problem,
            listings=[
                ListingResult(Listing(own_sku, market, kind, needs, {}, parent, parentage, where), issues)
                for own_sku, market, kind, needs, parent, parentage, where, issues in listings
            ],
        )
        for sku, origin, problem, listings in packed
    ]


class _Row:
    """A scanned CSV row standing in for its product in :meth:`MappingPipeline.ordered`, which
    reads only ``sku`` and ``parent_sku``: the product is built when a job needs it."""

    __slots__ = ("_product", "parent_sku", "sku", "source", "stamp")

    def __init__(self, source: CsvSource, stamp: RowStamp) -> None:
        self.sku, self.parent_sku = stamp[0], stamp[1]
        self.source = source
        self.stamp = stamp
        self._product: Product | CatalogProblem | None = None

    @property
    def product(self) -> Product | CatalogProblem:
        if self._product is None:
            self._product = self.source.product_of(self.stamp)
        return self._product


def _scanned(source: CsvSource, verdicts: CheckVerdicts | None) -> Iterator[Any]:
    """The records of ``source`` as :meth:`CsvSource.records` gives them, each row as a :class:`_Row`."""
    for item in source.scan(verdicts):
        yield item if isinstance(item, CatalogProblem) else _Row(source, item)


def _built(item: Job | CatalogProblem) -> Job | CatalogProblem:
    """``item`` with the products of scanned rows (:class:`_Row`) built."""
    if isinstance(item, CatalogProblem) or not isinstance(item.product, _Row):
        return item
    product = item.product.product
    if isinstance(product, CatalogProblem):  # what the scan let through, the product refused
        return product
    parent = item.parent.product if isinstance(item.parent, _Row) else item.parent
    return Job(product, parent if isinstance(parent, Product) else None, item.is_parent)


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (the main process raises it as it is), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:  # whatever does not cross processes
        return MappingWorkerError(f"a mapping worker failed: {type(exc).__name__}: {exc}")
    return exc
