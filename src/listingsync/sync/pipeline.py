"""Config → catalogue → listings → validation → the sync engine: what ``listingsync sync`` runs.

Catalogue problems (a record that cannot be read) are reported and their SKUs are left alone: never
taken for removed, never sent. A problem whose SKU is unknown (a broken CSV row) could be any
listing, so while one is there nothing is taken for removed at all. The catalogue checkpoint (Sales Layer's incremental reads) is
committed only after the whole run went through.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from listingsync.amazon import SPAPIClient
from listingsync.amazon.lwa import Credentials
from listingsync.catalog import CatalogProblem, open_source
from listingsync.catalog.csv_source import CsvSource
from listingsync.catalog.inspect import empty_catalogue
from listingsync.catalog.model import Product
from listingsync.config import Config
from listingsync.mapping.pipeline import Job, MappingPipeline, Outline
from listingsync.skuset import SkuSet
from listingsync.sync.engine import Batch, SyncEngine, SyncOptions, SyncReport
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.fingerprint import MappingFingerprints, is_current, record_fingerprint
from listingsync.sync.guard import DeleteGuard
from listingsync.sync.lock import RunLock, acquire_lock
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.plan import Candidate
from listingsync.sync.progress import NullProgress, Progress
from listingsync.sync.rawskip import RawPass
from listingsync.sync.store import StateStore, StateStoreError, parse_state_url, sqlite_path

#: Where product type schemas are cached, beside the config (the same place ``validate`` uses).
SCHEMA_CACHE_DIR = ".listingsync/schemas"
T = TypeVar("T")

#: The run lock every sending run holds on its state database (the service scopes its own).
SYNC_LOCK = "sync"

__all__ = [
    "CatalogRead",
    "CatalogStream",
    "Selection",
    "check_account",
    "open_store",
    "read_candidates",
    "run_sync",
    "schema_provider",
    "sync_options",
]


@dataclass(slots=True)
class CatalogRead:
    #: The listings built (:func:`read_candidates`; a streamed sending run keeps none: ``listings``).
    candidates: list[Candidate] = field(default_factory=list)
    #: How many listings were built.
    listings: int = 0
    problems: list[CatalogProblem] = field(default_factory=list)
    removed_skus: set[str] = field(default_factory=set)
    #: SKUs of every product read (deleted records excepted), listings or not (not kept by a
    #: streamed sending run: :attr:`CatalogStream.present` answers for it in 8 bytes a SKU).
    read_skus: set[str] = field(default_factory=set)
    products: int = 0
    complete: bool = True
    #: A complete read that found no record at all (``problems`` says so too).
    empty: bool = False
    checkpoint: str | None = None
    #: The products the source brought (not kept by a sending run: its batches merge theirs
    #: into the mirror as they go).
    read: list[Product] = field(default_factory=list)
    #: SKUs rebuilt from the mirror (not read this run): their mapping or schema changed.
    remapped: set[str] = field(default_factory=set)
    #: Listings skipped before mapping (their records were not built): nothing that built them changed.
    skipped: int = 0

    @property
    def protected_skus(self) -> set[str]:
        """Never taken for removed: records that could not be read, and every product that was."""
        return self.read_skus | {p.sku for p in self.problems if p.sku and p.severity == "error"}

    @property
    def unattributed_problems(self) -> list[CatalogProblem]:
        """Records that could not be read and whose SKU is unknown: any known listing may be one."""
        if self.empty:  # the only problem is the empty export itself: the deletion guard's case
            return []
        return [p for p in self.problems if not p.sku and p.severity == "error"]


def open_store(config: Config, *, create: bool = True) -> StateStore:
    """The config's state database (``state:``), relative SQLite paths beside the config file.

    ``create=False`` (dry runs) never creates a SQLite file: a missing one reads as an empty store.
    """
    if not create:
        path = sqlite_path(parse_state_url(config.state), config.base_dir)
        if path is not None and not path.exists():
            return StateStore.open("sqlite://")
        wal = path.with_name(path.name + "-wal") if path is not None else None
        if path is not None and wal is not None and not os.access(path.parent, os.W_OK) and not wal.exists():
            # A read-only directory: SQLite cannot create the WAL index beside the file, so it would
            # refuse even to read. Nothing can write the file there either, so it is read as an
            # immutable snapshot (all of it is in the file: no -wal holds newer pages).
            return StateStore.open(f"sqlite:///file:{path.resolve()}?immutable=1&uri=true")
    return StateStore.open(config.state, config.base_dir)


def check_account(store: StateStore, config: Config, *, claim: bool) -> None:
    """One account per region in a state database: its rows say what *that* account holds on Amazon.

    A store filled by another vendor code or merchant token would make the planner patch listings
    this account never created (and, with ``on_removed: delete``, delete by someone else's state).
    ``claim``: record this account as the owner when none is recorded yet (sending runs).
    """
    region = config.account.resolved_region
    key = f"account/{region.value}"
    owner = store.checkpoint(key)
    mine = config.account.selling_partner_id
    if owner is None:
        if claim:
            store.set_checkpoint(mine, key)
        return
    if owner != mine:
        raise StateStoreError(
            f"this state database holds what account {owner} sent in region {region.value.upper()}; "
            f"the config is for {mine}",
            where="state",
            fix=f"give each account its own state: (e.g. state: sqlite:///.listingsync/{mine}.db), or "
            "correct account.selling_partner_id",
        )


#: How long a sync waits at the end for Amazon to process what it accepted (before ``scale``).
#: How long Amazon may take to apply an accepted write ("minutes"; the emulator's realistic
#: processing delay is 30 s to 5 min), with a margin.
PROCESSING_SECONDS = 330.0


def sync_options(
    cfg: Config,
    *,
    mode: str = "send",
    via: str | None = None,
    force: bool = False,
    concurrency: int | None = None,
    reconcile: bool | None = None,
    scale: float = 1.0,
    allow_mass_delete: bool = False,
) -> SyncOptions:
    """The engine's options from the config's ``sync:`` section and the command line."""
    return SyncOptions(
        mode=mode,  # type: ignore[arg-type]
        via=(via or cfg.sync.via),  # type: ignore[arg-type]
        force=force,
        on_removed=cfg.sync.on_removed,
        concurrency=max(1, concurrency or cfg.sync.concurrency),
        reconcile=cfg.sync.reconcile if reconcile is None else reconcile,
        auto_threshold=cfg.sync.feed_threshold,
        feed_limits=FeedLimits().scaled(scale) if scale != 1.0 else FeedLimits(),
        # Amazon processes accepted writes within minutes: reconciliation waits that long for its
        # verdicts, recovery for an interrupted write to show (scaled with the emulator's clock in
        # demo and test runs).
        reconcile_wait=PROCESSING_SECONDS / scale,
        processing_window=PROCESSING_SECONDS / scale,
        delete_guard=DeleteGuard(cfg.sync.max_delete_share, cfg.sync.delete_guard_min),
        allow_mass_delete=allow_mass_delete,
        adopt=cfg.sync.adopt,
        on_drift=cfg.sync.on_drift,
        reconcile_share=cfg.sync.reconcile_share,
        reconcile_limit=cfg.sync.reconcile_budget,
    )


async def schema_provider(config: Config, client: SPAPIClient | None) -> Callable[..., Any]:
    """Schemas for the mapping: the schema store beside the config (``.listingsync/schemas``, shared
    with ``validate``), refreshed through getDefinitionsProductType when there is a client; without
    one, what is cached there, else the schemas bundled with listingsync."""
    from listingsync.mapping.schemas import BundledSchemas, preload
    from listingsync.schema import SchemaStore

    cache_dir = config.resolve_path(SCHEMA_CACHE_DIR)
    seller_id = config.account.selling_partner_id
    if client is None:
        if cache_dir.is_dir() and any(cache_dir.iterdir()):
            return SchemaStore(None, cache_dir, seller_id).get_cached
        return BundledSchemas()
    store = SchemaStore(client, cache_dir, seller_id)
    await preload(config, store)  # failures surface per record as schema issues
    return store.get_cached


@dataclass(frozen=True, slots=True)
class Selection:
    """What a run reads: ``full`` ignores the checkpoint (Sales Layer: a refresh without
    ``last_update``); ``skus`` (``--sku``) and ``limit`` (``--limit``) restrict it to some records."""

    full: bool = False
    skus: frozenset[str] = frozenset()
    limit: int | None = None

    @property
    def restricted(self) -> bool:
        return bool(self.skus) or self.limit is not None

    def keeps(self, sku: str | None) -> bool:
        return not self.skus or (sku is not None and sku in self.skus)


#: Records fingerprinted and looked up in the state per query when skipping unchanged ones.
SKIP_BATCH = 1000


def read_candidates(
    config: Config,
    schemas: Callable[..., Any],
    *,
    since: str | None = None,
    progress: Progress | None = None,
    mirror: CatalogMirror | None = None,
    selection: Selection | None = None,
    store: StateStore | None = None,
) -> CatalogRead:
    """Read the source (from ``since`` when incremental), then build and validate the listings,
    all of them into :attr:`CatalogRead.candidates` (dry runs, previews, checks; a sending run
    streams them instead: :class:`CatalogStream`). The arguments are :class:`CatalogStream`'s."""
    stream = CatalogStream(
        config, schemas, since=since, progress=progress, mirror=mirror, selection=selection, store=store
    )
    out = stream.out
    for batch in stream.batches():
        out.candidates.extend(batch.candidates)
    return out


class CatalogStream:
    """The catalogue's listings, built and validated a batch at a time (:meth:`batches`).

    With a ``store``, a record whose listings were built from the same record by the same mapping
    and schema, and whose last write settled (:func:`~listingsync.sync.fingerprint.is_current`),
    is skipped before mapping: it costs a fingerprint and a batched lookup (``CatalogRead.skipped``).
    A file source is read twice, the first pass only outlining it (which records have variants,
    which SKUs it holds), so the second streams; Sales Layer and restricted runs are read into
    memory once.

    With a ``mirror`` (the state's copy of the catalogue), records the read did not bring are
    rebuilt from it when what built their listings changed (a mapping template, a rule, a product
    type schema: :mod:`listingsync.sync.fingerprint`) or their last write did not settle, and the
    records a ``U`` image marker left without images get the ones they had.

    ``record``: a sending run: once a batch's listings are in the state (the engine calls
    :attr:`Batch.recorded`), what built them is recorded and its records merged into the mirror.
    What the whole read knows before the first batch (:attr:`present`, ``out.removed_skus``,
    ``out.complete``) is what the engine needs to plan removals and guard deletions up front.
    """

    def __init__(
        self,
        config: Config,
        schemas: Callable[..., Any],
        *,
        since: str | None = None,
        progress: Progress | None = None,
        mirror: CatalogMirror | None = None,
        selection: Selection | None = None,
        store: StateStore | None = None,
        record: bool = False,
    ) -> None:
        self.progress = progress = progress or NullProgress()
        self.selection = selection = selection or Selection()
        self.mirror = mirror
        self.store = store
        self.record = record
        source = open_source(config)
        self.out = out = CatalogRead()
        #: SKUs the read holds (products not deleted, and records that could not be read): the
        #: listings the engine must not take for removed.
        self.present = SkuSet()
        #: Products read that are not deleted (an empty catalogue has none) ...
        self.live_products = 0
        #: ... and records that could not be read whose SKU is unknown.
        self.unattributed = 0
        since = since if source.incremental and not selection.full else None
        self.streamed = streamed = not source.incremental and selection.limit is None
        self.fingerprints = fingerprints = MappingFingerprints(config, schemas)
        task = progress.phase("read", f"Reading {source.name or 'the catalogue'}")
        kept = self._noting(
            r
            for r in _advancing(source.records(since=since), task)
            if selection.keeps(r.sku) or (isinstance(r, CatalogProblem) and not r.sku)
        )
        records: Iterable[Product | CatalogProblem]
        outline: Outline | None = None
        #: A sending run over a whole CSV file: unchanged rows are skipped before parsing (rawskip).
        self.raw: RawPass | None = None
        if record and store is not None and isinstance(source, CsvSource) and not selection.restricted:
            self.raw = RawPass(config, source, store, fingerprints)
            outline = self._raw_pass(self.raw, task)
            records = source.records()
            count = outline.records
        elif streamed:
            outline = Outline.of(kept, source.columns)  # the header is known once the pass has read it
            records = (
                r
                for r in source.records(since=since)
                if selection.keeps(r.sku) or (isinstance(r, CatalogProblem) and not r.sku)
            )
            count = outline.records
        else:
            listed = list(kept)
            if selection.limit is not None:
                listed = _first_products(listed, selection.limit)
                # Only what is kept is present (the rest of the read is not this run's).
                self.present, self.live_products, self.unattributed = SkuSet(), 0, 0
                out.removed_skus = set()
                for _ in self._noting(listed):
                    pass
            records, count = listed, len(listed)
        task.done()
        out.complete = source.complete and not selection.restricted
        out.checkpoint = None if selection.restricted else source.next_checkpoint
        if not count and source.complete and not selection.restricted:
            # An empty export is a broken pipeline far more often than an empty catalogue.
            out.empty = True
            out.problems.append(empty_catalogue(source.name or "the catalogue"))
        parents: dict[str, Product] = {}
        if not streamed:
            products = [r for r in records if isinstance(r, Product)]
            parents = {p.sku: p for p in products}
            if mirror is not None:
                mirror.fill_unchanged_images(products)
                if not out.complete:
                    assert isinstance(records, list)
                    remap = _remap(config, mirror, fingerprints, products, selection)
                    out.remapped = {p.sku for p in remap}
                    records.extend(remap)
                    for _ in self._noting(remap):
                        pass
                    count += len(remap)
        self.pipeline = pipeline = MappingPipeline(
            config,
            schemas,
            parent_lookup=(lambda sku: parents.get(sku) or mirror.get(sku)) if mirror is not None else None,
        )
        pipeline.check()
        if outline is None:
            outline = Outline.of(records, source.columns())
        if outline.records and not source.incremental:
            # A whole file's field names: a misspelt one is one config error, not one per record.
            pipeline.builder.check_fields(outline.fields)
        self._records = records
        self._outline = outline
        self._count = count
        self.skipper = (
            _Skipper(store, config, fingerprints) if store is not None and self.raw is None else None
        )

    def _raw_pass(self, raw: RawPass, task: Any) -> Outline:
        """The first pass of a CSV sending run: rows read raw, looked up, nothing parsed (rawskip)."""
        out = self.out
        for problem in raw.records(self.present, out.removed_skus, task.advance):
            out.problems.append(problem)
            for _ in self._noting([problem]):
                pass
        out.products += raw.products
        self.live_products += raw.live
        return raw.outline(self.present, out.removed_skus)

    def _noting(self, records: Iterable[Product | CatalogProblem]) -> Iterator[Product | CatalogProblem]:
        """Pass records on, noting the SKUs present (and those the source marked deleted)."""
        for r in records:
            if isinstance(r, Product):
                if r.is_deleted:
                    self.out.removed_skus.add(r.sku)
                else:
                    self.present.add(r.sku)
                    self.live_products += 1
            elif r.severity == "error":
                if r.sku:
                    self.present.add(r.sku)
                else:
                    self.unattributed += 1
            yield r

    def present_key(self, key: tuple[str, str]) -> bool:
        """Whether the catalogue still has this listing's record (or could not read it)."""
        return key[0] in self.present

    @property
    def removal_complete(self) -> bool:
        """Whether listings absent from the read count as removed: a complete read with no record
        whose SKU is unknown (such a record might be any listing)."""
        return self.out.complete and not (self.unattributed and not self.out.empty)

    def batches(self) -> Iterator[Batch]:
        """The listings built, :data:`SKIP_BATCH` records at a time (a generator: one batch in memory)."""
        out = self.out
        skipper, mirror, pipeline, raw = self.skipper, self.mirror, self.pipeline, self.raw
        if raw is not None:
            yield from self._raw_batches(raw)
            return
        task = self.progress.phase("build", "Building and validating listings", self._count)
        for batch in _batches(pipeline.ordered(self._records, self._outline), SKIP_BATCH):
            current = skipper.current(batch) if skipper is not None else {}
            candidates: list[Candidate] = []
            built: list[tuple[str, str, str, str]] = []
            read: list[Product] = []
            for item in batch:
                task.advance()
                if isinstance(item, CatalogProblem):
                    out.problems.append(item)
                    continue
                product = item.product
                out.products += 1
                if product.is_deleted:
                    out.removed_skus.add(product.sku)
                    read.append(product)
                    continue
                if not self.record:
                    out.read_skus.add(product.sku)
                source_fp = current.get(product.sku)
                if source_fp == _CURRENT and skipper is not None:
                    out.skipped += len(skipper.marketplaces)
                    continue
                if mirror is not None and self.streamed and product.images_unchanged:
                    mirror.fill_unchanged_images([product])
                if product.sku not in out.remapped:
                    read.append(product)
                result = pipeline.result(product, parent=item.parent, is_parent=item.is_parent)
                source_fp = source_fp or record_fingerprint(product, item.parent)
                for lr in result.listings:
                    listing = lr.listing
                    candidates.append(Candidate(listing, list(lr.issues)))
                    requirements = listing.requirements.value if listing.requirements else None
                    mapping_fp = self.fingerprints(listing.product_type, listing.marketplace_id, requirements)
                    built.append((listing.sku, listing.marketplace_id, source_fp, mapping_fp))
            out.listings += len(candidates)
            if not self.record:
                out.read.extend(read)
            recorded = functools.partial(self._recorded, built, read) if self.record else None
            yield Batch(candidates, recorded)
        task.done()

    def _raw_batches(self, raw: RawPass) -> Iterator[Batch]:
        """The second pass of a CSV sending run: only when the first found dirty records, and
        only those built (problems were reported by the first pass); then the invalid listings
        of the records skipped, reported from the state."""
        out = self.out
        per_record = len(raw.marketplaces)
        if not raw.dirty_count:
            out.skipped += raw.current_count * per_record
        else:
            task = self.progress.phase("build", "Building and validating listings", raw.dirty_count)
            pipeline = self.pipeline
            for batch in _batches(pipeline.ordered(self._records, self._outline), SKIP_BATCH):
                candidates: list[Candidate] = []
                built: list[tuple[str, str, str, str]] = []
                read: list[Product] = []
                for item in batch:
                    if isinstance(item, CatalogProblem):
                        continue
                    product = item.product
                    if product.is_deleted:
                        read.append(product)
                        continue
                    if not raw.needs_build(product.sku, product.parent_sku):
                        out.skipped += per_record
                        continue
                    task.advance()
                    read.append(product)
                    result = pipeline.result(product, parent=item.parent, is_parent=item.is_parent)
                    source_fp = raw.fingerprint(list(product.raw.values()))
                    for lr in result.listings:
                        listing = lr.listing
                        candidates.append(Candidate(listing, list(lr.issues)))
                        requirements = listing.requirements.value if listing.requirements else None
                        mapping_fp = self.fingerprints(
                            listing.product_type, listing.marketplace_id, requirements
                        )
                        built.append((listing.sku, listing.marketplace_id, source_fp, mapping_fp))
                out.listings += len(candidates)
                yield Batch(candidates, functools.partial(self._recorded, built, read))
            task.done()
        for results in raw.invalid():
            out.skipped -= len(results)
            yield Batch([], None, invalid=results)

    def _recorded(self, built: list[tuple[str, str, str, str]], read: list[Product]) -> None:
        """A batch's listings are in the state: record what built them, merge its records."""
        if self.store is not None:
            self.store.set_built(built)
        if self.mirror is not None:
            # The mirror takes what was read even when some writes failed: those listings are
            # rebuilt from it next run (their status says so), with no PIM round trip.
            self.mirror.merge(read, complete=False)


#: Marks a record whose every listing is current (see :class:`_Skipper`).
_CURRENT = ""


class _Skipper:
    """Which records of a batch need no building: one state lookup per batch, no mapping."""

    def __init__(self, store: StateStore, config: Config, fingerprints: MappingFingerprints) -> None:
        self.store = store
        self.marketplaces = list(config.account.marketplaces)
        self.fingerprints = fingerprints

    def current(self, batch: Sequence[Job | CatalogProblem]) -> dict[str, str]:
        """SKU → ``_CURRENT`` for a record whose listings in every configured marketplace are
        current, else its source fingerprint (computed once, reused when the record is built)."""
        jobs = [j for j in batch if isinstance(j, Job) and not j.product.is_deleted]
        if not jobs:
            return {}
        built = self.store.built_index(self.marketplaces, [j.product.sku for j in jobs])
        out: dict[str, str] = {}
        for job in jobs:
            sku = job.product.sku
            source_fp = record_fingerprint(job.product, job.parent)
            entries = [built.get((sku, m)) for m in self.marketplaces]
            # An invalid listing is built again: the run reports it again (and exits 1) until fixed.
            fresh = all(
                e is not None and e.status != "invalid" and is_current(e, source_fp, self.fingerprints)
                for e in entries
            )
            out[sku] = _CURRENT if fresh else source_fp
        return out


def _advancing(records: Iterable[Product | CatalogProblem], task: Any) -> Iterator[Product | CatalogProblem]:
    for record in records:
        task.advance()
        yield record


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _first_products(records: list[Product | CatalogProblem], limit: int) -> list[Product | CatalogProblem]:
    """The first ``limit`` products in source order (and the problems met among them)."""
    out: list[Product | CatalogProblem] = []
    taken = 0
    for record in records:
        if isinstance(record, Product):
            if taken >= limit:
                break
            taken += 1
        out.append(record)
    return out


def _remap(
    config: Config,
    mirror: CatalogMirror,
    fingerprints: MappingFingerprints,
    read: list[Product],
    selection: Selection,
) -> list[Product]:
    """Mirrored records to build again although the source did not bring them this run.

    A record whose listing was built by another mapping or schema (or never built for a configured
    marketplace, or whose last write failed), the variants of a parent read this run (they inherit
    from it), and the ``--sku`` records an incremental read did not bring.
    """
    read_skus = {p.sku for p in read}
    marketplaces = list(config.account.marketplaces)
    built = mirror.store.built_index(marketplaces)
    by_sku: dict[str, list[Any]] = {}
    for (sku, _mp), entry in built.items():
        by_sku.setdefault(sku, []).append(entry)
    wanted: set[str] = set()
    for sku in mirror.skus():
        if sku in read_skus or not selection.keeps(sku):
            continue
        entries = by_sku.get(sku, [])
        if len(entries) < len(marketplaces) or not all(is_current(e, None, fingerprints) for e in entries):
            wanted.add(sku)
    wanted |= {s for s in mirror.children(read_skus) if selection.keeps(s)} - read_skus
    wanted |= set(selection.skus) - read_skus
    found = list(mirror.products(wanted))
    if selection.limit is not None:
        found = found[: max(0, selection.limit - len(read))]
    return found


async def run_sync(
    config: Config,
    options: SyncOptions,
    *,
    credentials: Credentials | None = None,
    client: SPAPIClient | None = None,
    progress: Progress | None = None,
    store: StateStore | None = None,
    transport: Any = None,
    selection: Selection | None = None,
) -> tuple[SyncReport, CatalogRead]:
    """One whole sync. ``client`` or ``credentials`` are needed unless ``options.mode`` is dry-run.

    ``selection``: ``--full``, ``--sku`` and ``--limit`` (a restricted run never takes a listing
    for removed and never advances the catalogue checkpoint).
    """
    progress = progress or NullProgress()
    own_store = store is None
    store = store or open_store(config, create=options.mode == "send")
    if options.mode == "send":
        store.check_writable()
    own_client = client is None and credentials is not None
    if client is None and credentials is not None:
        client = SPAPIClient.from_account(config.account, credentials, transport=transport)
    lock: RunLock | None = None
    frozen = False
    try:
        if options.mode == "send":
            # One sending run per state database at a time (see sync.lock); taken before recovery,
            # so a run never takes another live run's in-flight writes for interrupted ones.
            lock = await asyncio.to_thread(
                acquire_lock,
                store.engine,
                # A workspace database holds several accounts: one lock per scope (connection).
                f"{SYNC_LOCK}:{store.scope}" if store.scope else SYNC_LOCK,
                purpose="listingsync sync",
                wait=options.lock_wait,
                on_wait=lambda holder: progress.note(
                    f"waiting up to {options.lock_wait:.0f} s for the run holding this state "
                    f"database: {holder.describe()}"
                ),
            )
            store.close_interrupted_runs()
        check_account(store, config, claim=options.mode == "send")
        engine = SyncEngine(
            store, client, config.account.selling_partner_id, options=options, progress=progress
        )
        recovered = None
        if options.mode != "dry-run" and client is not None:
            # Credentials first: a refused client secret or refresh token is one clear error
            # (LWAError names the fix), not a failure per SKU or a quiet "nothing to send".
            await client.lwa.access_token()
        if options.mode == "send" and client is not None:
            # Finish a killed run's feeds and writes before reading what to send next.
            recovered = await engine.recover()
        schemas = await schema_provider(config, client)
        mirror = CatalogMirror(store)
        sending = options.mode == "send"
        # What is alive now (modules, config, schemas, client) lives for the whole run: kept out
        # of the collector's sight, it is not walked again by each full collection while a
        # million records stream (a tenth of a no-change run's time). Thawed when the run ends.
        gc.freeze()
        frozen = True
        stream = CatalogStream(
            config,
            schemas,
            since=store.checkpoint(),
            progress=progress,
            mirror=mirror,
            selection=selection,
            store=store,
            record=sending,
        )
        catalog = stream.out
        # A record read as broken with no SKU might be any listing: take none for removed.
        complete = stream.removal_complete
        if sending:
            # Streamed: one batch of records built, planned and sent (or added to a feed
            # document) at a time; what the read holds is known from its first pass.
            report = await engine.run_stream(
                stream.batches(),
                marketplace_ids=config.account.marketplaces,
                complete=complete,
                removed_skus=catalog.removed_skus,
                present=stream.present_key,
                recovered=recovered,
                skipped=lambda: catalog.skipped,
                empty_catalogue=complete and not stream.live_products,
                present_on_amazon=stream.raw.present_on_amazon if stream.raw is not None else None,
                removal_counts=stream.raw.index.removal_counts if stream.raw is not None else None,
            )
        else:
            for batch in stream.batches():
                catalog.candidates.extend(batch.candidates)
            report = await engine.run(
                catalog.candidates,
                marketplace_ids=config.account.marketplaces,
                complete=complete,
                removed_skus=catalog.removed_skus,
                protected_skus=catalog.protected_skus,
                recovered=recovered,
                skipped=catalog.skipped,
            )
        unattributed = catalog.unattributed_problems
        if unattributed and catalog.complete and options.on_removed == "delete":
            report.notes.append(
                f"{len(unattributed)} catalogue record(s) could not be read and their SKU is unknown "
                f"(first: {unattributed[0].origin}), so no listing was taken for removed this run "
                "(sync.on_removed: delete waits); fix those records and sync again"
            )
        # Advance the catalogue checkpoint only when nothing is left to retry: an incremental read
        # would not bring back a record whose write failed (invalid records stay recorded as such).
        unfinished = bool(report.statuses.get("error") or report.statuses.get("pending"))
        if sending and catalog.complete:
            # The batches merged what they read; a complete read also drops what it no longer has.
            mirror.drop_absent(
                stream.present,
                present_mirrored=stream.raw.present_mirrored if stream.raw is not None else None,
            )
        if sending and not unfinished and catalog.checkpoint is not None:
            store.set_checkpoint(catalog.checkpoint)
        return report, catalog
    finally:
        if frozen:
            gc.unfreeze()
        if lock is not None:
            lock.release()
        if own_client and client is not None:
            await client.aclose()
        if own_store:
            store.close()
