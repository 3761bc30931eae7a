"""Skip unchanged CSV records before they are parsed: a no-change sync costs a hash and a set lookup.

A sending sync over a CSV file first reads it raw (:meth:`CsvSource.digests`, a big file on two
cores): per row only its SKU, its parent, whether it is a deletion, and a fingerprint of its cells
(:func:`row_fingerprint`, BLAKE2b keyed by the source config and the header: a changed column
role, delimiter or header changes every fingerprint). A record is *current* when each configured
marketplace has its listing, built from this very row (``source_fp``) by the mapping that applies today
(``mapping_fp``, see :mod:`listingsync.sync.fingerprint`: mapping section, schema version,
``MAPPING_VERSION``), and nothing about that listing is unsettled (no write in flight, no error,
no drift recorded by a read-back: those are planned again, so drift adoption and retries are
never bypassed).

Before the scan, one grouped pass over the state finds the SKUs current by the state alone and
keeps their ``source_fp`` (:class:`CurrentIndex`): a row whose fingerprint is there is current
with no query. The other rows (new, changed, or their listings unsettled) are looked up a batch
at a time (:meth:`RawPass.check`). A random lookup per row would cost a B-tree descent per SKU:
as much as reading the whole file.

Every other record is *dirty*. A variant inherits from its parent, so a dirty parent makes its
variants dirty; a dirty variant makes its parent rebuilt too (whether a record has variants
decides its parentage). Only when something is dirty is the file read a second time, with
products built only for the dirty records: a run where nothing changed parses no record at all.

Listings that are current but were refused by validation (``invalid``) are not built again to
be reported again: their state row holds the issues the same record and mapping gave
(:meth:`RawPass.invalid`).

Memory: the SKUs read, the dirty SKUs and the current ones are :class:`~listingsync.skuset.SkuSet`
(8 bytes a SKU), the parents referenced a ``Counter`` (a few per cent of the SKUs), the index a
``set`` of 20-byte fingerprints (about 90 bytes a SKU the state holds).
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import sqlalchemy as sa

from listingsync.catalog.csv_source import CsvSource
from listingsync.catalog.model import CatalogProblem
from listingsync.config import Config
from listingsync.mapping.pipeline import Outline, csv_fields
from listingsync.skuset import SkuSet
from listingsync.sync import tables as t
from listingsync.sync.fingerprint import UNSETTLED, MappingFingerprints
from listingsync.sync.hashing import canonical
from listingsync.sync.plan import Op
from listingsync.sync.results import ResultLines
from listingsync.sync.store import StateStore

__all__ = [
    "RAW_VERSION",
    "CurrentIndex",
    "RawPass",
    "current_listings",
    "row_fingerprint",
    "source_key",
    "state_lookup",
]

#: Bump when what a raw fingerprint covers changes: every record is then built once again.
RAW_VERSION = "raw-1"

#: Rows looked up in the state per query.
BATCH = 1000

Key = tuple[str, str]


def source_key(config: Config, header: Sequence[str]) -> bytes:
    """The BLAKE2b key of every row fingerprint: what turns cells into a record besides the cells."""
    source = config.source.model_dump(mode="json") if config.source is not None else None
    return hashlib.blake2b(canonical([RAW_VERSION, source, list(header)]), digest_size=32).digest()


def row_fingerprint(cells: Sequence[str], key: bytes) -> str:
    """40 hex characters (the ``source_fp`` column) of one CSV row's cells, in header order."""
    return hashlib.blake2b(orjson.dumps(list(cells)), digest_size=20, key=key).hexdigest()


def _in_mirror(store: StateStore) -> Any:
    """Whether the catalogue mirror holds the SKU of the listing row at hand (one probe of its key)."""
    return sa.exists().where(store.mine(t.catalog), t.catalog.c.sku == t.listings.c.sku)


def state_lookup(store: StateStore, marketplaces: Sequence[str]) -> Any:
    """What the raw pass reads of each listing (SKUs bound as ``skus``): only columns the sync
    index carries (migration 0006), so no row with its KB of sent JSON is read. The last columns
    say whether the listing is on Amazon as the removal pass counts it (``store.on_amazon``) and,
    on the first marketplace's row only, whether the catalogue mirror holds its SKU."""
    c = t.listings.c
    mirrored = _in_mirror(store)
    return sa.select(
        c.sku,
        c.marketplace_id,
        c.product_type,
        c.requirements,
        c.source_fp,
        c.mapping_fp,
        c.status,
        c.pending_op,
        c.drift["kind"].as_string(),
        sa.case((store.on_amazon(), 1), else_=0),
        # One probe of the mirror a SKU, not one a listing.
        sa.case((sa.and_(c.marketplace_id == marketplaces[0], mirrored), 1), else_=0),
    ).where(
        store.mine(t.listings),
        c.marketplace_id.in_(marketplaces),
        c.sku.in_(sa.bindparam("skus", expanding=True)),
    )


def current_listings(
    store: StateStore, marketplaces: Sequence[str], mappings: Sequence[tuple[str, ...]]
) -> Any:
    """The SKUs with a listing in ``marketplaces``, current by the state alone (a listing in each
    marketplace, all built from one row by a mapping among ``mappings``: ``(product_type,
    marketplace, requirements, mapping_fp)`` as today's mapping gives it, NULLs as ``""``; none
    unsettled), in one pass over the sync index (migration 0006) grouped by SKU.

    What comes back is not a row a SKU but a row a *bucket* (the first hex digit of the current
    SKUs' ``source_fp``; NULL for the others): the bucket's fingerprints concatenated, its SKUs,
    their listings on Amazon and those with drift recorded (as the removal pass counts them:
    ``StateStore.removal_counts``), and the SKUs the catalogue mirror holds. A million SKUs are
    then some 17 rows the database builds by itself (on SQLite in C, the GIL released), not a
    million rows fetched in Python."""
    c = t.listings.c
    mapping = sa.tuple_(
        sa.func.coalesce(c.product_type, ""),
        c.marketplace_id,
        sa.func.coalesce(c.requirements, ""),
        c.mapping_fp,
    )
    settled = sa.and_(
        c.status.not_in(sorted(UNSETTLED)),
        c.pending_op.is_(None),
        c.drift["kind"].as_string().is_(None),
        mapping.in_(list(mappings)),
    )
    source_fp = sa.func.min(c.source_fp)
    current = sa.and_(
        sa.func.count() == len(marketplaces),
        source_fp == sa.func.max(c.source_fp),
        sa.func.length(source_fp) == 40,  # a row fingerprint (the concatenation relies on it)
        sa.func.sum(sa.case((settled, 1), else_=0)) == len(marketplaces),
    )
    per_sku = (
        sa.select(
            sa.case((current, source_fp), else_=sa.null()).label("fp"),
            sa.func.sum(sa.case((store.on_amazon(), 1), else_=0)).label("on_amazon"),
            sa.func.sum(sa.case((c.drift["kind"].as_string().is_not(None), 1), else_=0)).label("drift"),
            sa.case((_in_mirror(store), 1), else_=0).label("mirrored"),
        )
        .where(store.mine(t.listings), c.marketplace_id.in_(marketplaces))
        .group_by(c.sku)
        .subquery()
    )
    fp = per_sku.c.fp
    concat = (
        sa.func.string_agg(fp, "")
        if store.engine.dialect.name == "postgresql"
        else sa.func.group_concat(fp, "")
    )
    bucket = sa.func.substr(fp, 1, 1)
    return sa.select(
        concat,
        sa.func.count(),
        sa.func.sum(per_sku.c.on_amazon),
        sa.func.sum(per_sku.c.drift),
        sa.func.sum(per_sku.c.mirrored),
    ).group_by(bucket)


class CurrentIndex:
    """The SKUs :func:`current_listings` finds, by their ``source_fp``: what lets a row unchanged
    since its listings were built cost a hash and a set lookup, not a query.

    Read in one pass before the scan. A SKU is kept as its fingerprint's 20 bytes (about 90 bytes
    a SKU in a ``set``). A row whose fingerprint is here is that SKU's (the fingerprint covers the
    SKU's cell), unchanged, so current. ``on_amazon`` and ``mirrored`` sum the SKUs' listings on
    Amazon and those the mirror holds: the file's share of the state's totals when every SKU here
    is found in it (:attr:`RawPass.present_on_amazon`). ``skus``: the SKUs with a listing in the
    configured marketplaces, current or not; ``removal_counts``: what
    ``StateStore.removal_counts`` would answer, counted in the same pass.
    """

    def __init__(self) -> None:
        self.keys: set[bytes] = set()
        self.on_amazon = 0
        self.mirrored = 0
        self.skus = 0
        self.removal_counts = (0, 0)

    @classmethod
    def read(
        cls,
        store: StateStore,
        marketplaces: Sequence[str],
        fingerprints: Callable[[str | None, str, str | None], str],
    ) -> CurrentIndex:
        """The index, from :func:`current_listings`: the grouped pass is the database's, so on
        another thread (SQLite works in C with the GIL released) it overlaps the scan of the file.
        Each bucket becomes digests as it is fetched: a million SKUs' hex text is never held at once."""
        c = t.listings.c
        stored = sa.select(c.product_type, c.marketplace_id, c.requirements, c.mapping_fp).distinct()
        index = cls()
        keys = index.keys
        known = drifted = 0
        with store.engine.connect() as conn:
            combos = conn.execute(stored.where(store.mine(t.listings), c.marketplace_id.in_(marketplaces)))
            mappings = [
                (pt or "", mp, req or "", fp) for pt, mp, req, fp in combos if fp == fingerprints(pt, mp, req)
            ]
            for concat, skus, on_amazon, drift, mirrored in conn.execute(
                current_listings(store, marketplaces, mappings)
            ):
                index.skus += skus
                known += on_amazon or 0
                drifted += drift or 0
                if concat is None:
                    continue  # the SKUs not current
                try:
                    blob = bytes.fromhex(concat)
                except ValueError:  # a fingerprint that is not hex (never stored so): none here is current
                    continue
                keys.update(blob[i : i + 20] for i in range(0, len(blob), 20))
                index.on_amazon += on_amazon or 0
                index.mirrored += mirrored or 0
        index.removal_counts = (known, drifted)
        return index

    def __len__(self) -> int:
        return len(self.keys)

    def holds(self, digest: bytes) -> bool:
        """Whether a row fingerprint (:func:`row_fingerprint`'s digest, not its hex) is here."""
        return digest in self.keys


def _key(source_fp: str | None) -> bytes | None:
    """A stored ``source_fp`` as :class:`CurrentIndex` keeps it; None for one that is not a row
    fingerprint (none is stored so; such a listing is then not current)."""
    try:
        return bytes.fromhex(source_fp) if source_fp is not None and len(source_fp) == 40 else None
    except ValueError:
        return None


class RawPass:
    """The first pass of a streamed sending sync over a CSV source (see the module docstring).

    :meth:`records` is the first pass; :meth:`needs_build` and :meth:`invalid` what the second
    takes of it.
    """

    def __init__(
        self,
        config: Config,
        source: CsvSource,
        store: StateStore,
        fingerprints: MappingFingerprints,
    ) -> None:
        self.config = config
        self.source = source
        self.store = store
        self.fingerprints = fingerprints
        self.marketplaces = list(config.account.marketplaces)
        self.key = b""
        #: SKUs whose record (or whose listings' state) differs: built in the second pass ...
        self.dirty = SkuSet()
        #: ... and parents of dirty variants, rebuilt themselves (not their other variants).
        self.family = SkuSet()
        #: SKUs found current: skipped, and their invalid listings reported from the state.
        self.current = SkuSet()
        self.looked_up_current = 0
        self.dirty_count = 0
        #: The SKUs current by the state, read before the scan: a row found there is current
        #: without a lookup; the others are looked up a batch at a time (:meth:`check`).
        self.index = CurrentIndex()
        #: Rows found in the index, and SKUs looked up that are in it (their row changed).
        self.matched = 0
        self.covered = 0
        #: Listings on Amazon (``store.on_amazon``) and SKUs the catalogue mirror holds, of the
        #: SKUs looked up that are not in the index (see :attr:`present_on_amazon`).
        self.on_amazon = 0
        self.mirrored = 0
        #: What the scan read: items (rows and problems), records (deletions included), records
        #: not deleted, and how many variants name each parent.
        self.count = 0
        self.products = 0
        self.live = 0
        self.referenced: Counter[str] = Counter()
        self._pending: list[tuple[str, str | None, str]] = []
        self._lookup: _Lookup | None = None
        #: The known-invalid listings, read beside the index during the scan (:meth:`invalid`).
        self._invalid: InvalidSpill | None = None

    # -- the pass -------------------------------------------------------------------------------

    def records(
        self, present: SkuSet, removed: set[str], advance: Callable[[int], object]
    ) -> Iterator[CatalogProblem]:
        """The scan: each good row noted (its SKU in ``present``, or in ``removed`` for a
        deletion; the parent it names in :attr:`referenced`) and judged as it passes (current in
        the index, or looked up in batches); the problems yielded. ``advance(n)`` is told of every
        thousand items. The index is read on another thread meanwhile, and the known-invalid
        listings after it (:class:`InvalidSpill`); the rows scanned before the index is ready
        wait to be judged.

        One loop does all of it: at a million rows, a layer of generators or a call a row costs
        what reading the file costs."""
        waiting: list[tuple[str, str | None, bytes]] = []
        keys: set[bytes] | None = None
        referenced = self.referenced
        pending = self._pending
        # SKUs noted a thousand at a time (``SkuSet.update`` hashes them in C): a call a row
        # to ``add`` was a tenth of the loop.
        seen: list[str] = []
        found: list[str] = []
        count = products = deletions = matched = 0
        with ThreadPoolExecutor(1, thread_name_prefix="listingsync-index") as pool:
            running = pool.submit(CurrentIndex.read, self.store, self.marketplaces, self.fingerprints)
            # The database's next job, on the same thread once the index is read.
            invalid = pool.submit(InvalidSpill, self.store, self.marketplaces)
            try:
                for item in self.source.digests(self._key_of):
                    count += 1
                    if not count % 1000:
                        advance(1000)
                        present.update(seen)
                        self.current.update(found)
                        seen.clear()
                        found.clear()
                    if isinstance(item, CatalogProblem):
                        yield item
                        continue
                    sku, parent, deleted, _line, digest = item
                    products += 1
                    if parent and parent != sku:
                        referenced[parent] += 1
                    if deleted:
                        removed.add(sku)
                        deletions += 1
                        continue
                    seen.append(sku)
                    if keys is None:
                        waiting.append((sku, parent, digest))
                        if not len(waiting) % BATCH and running.done():
                            keys = self._ready(running.result(), waiting).keys
                    elif digest in keys:
                        found.append(sku)
                        matched += 1
                    else:
                        pending.append((sku, parent, digest.hex()))
                        if len(pending) >= BATCH:
                            self.check(pending)
                            pending.clear()
                if keys is None:
                    self._ready(running.result(), waiting)
                self._invalid = invalid.result()
            finally:
                present.update(seen)
                self.current.update(found)
                running.cancel()
                invalid.cancel()
                self.matched += matched
                self.products += products
                self.live += products - deletions
                self.count += count
        advance(count % 1000)
        if pending:
            self.check(pending)
            pending.clear()

    def _key_of(self, header: list[str]) -> bytes:
        """The fingerprints' key for the file's header (:func:`source_key`), kept for the second pass."""
        self.key = source_key(self.config, header)
        return self.key

    def _ready(self, index: CurrentIndex, waiting: list[tuple[str, str | None, bytes]]) -> CurrentIndex:
        """The index taken, and the rows that waited for it judged."""
        self.index = index
        for sku, parent, digest in waiting:
            if digest in index.keys:
                self.current.add(sku)
                self.matched += 1
            else:
                self._pending.append((sku, parent, digest.hex()))
                if len(self._pending) >= BATCH:
                    self.check(self._pending)
                    self._pending.clear()
        waiting.clear()
        return index

    def outline(self, present: SkuSet, removed: set[str]) -> Outline:
        """What the second pass needs to stream (as :meth:`Outline.of` would find it): the parents
        among the records (``present`` or ``removed``), their variant counts, and the field names
        (the header's, with the base names of its per-language columns)."""
        fields = csv_fields(self.source)
        records = present.among(self.referenced) | {sku for sku in self.referenced if sku in removed}
        variants = {sku: self.referenced[sku] for sku in records}
        return Outline(set(variants), fields, self.count, variants)

    def fingerprint(self, cells: Sequence[str]) -> str:
        """A built record's ``source_fp`` (the second pass: its product's raw cells)."""
        return row_fingerprint(cells, self.key)

    def needs_build(self, sku: str, parent: str | None) -> bool:
        return sku in self.dirty or sku in self.family or (parent is not None and parent in self.dirty)

    @property
    def current_count(self) -> int:
        return self.matched + self.looked_up_current

    @property
    def all_current(self) -> bool:
        """Whether every SKU the state has a listing for is a record found current (each SKU
        counted is a distinct one of the state's)."""
        return self.current_count == self.index.skus

    @property
    def _index_found(self) -> bool:
        """Whether every SKU in the index was found: a current row, or looked up because its
        row changed."""
        return self.matched + self.covered == len(self.index)

    @property
    def present_on_amazon(self) -> int | None:
        """How many listings on Amazon the records read have, when known: every SKU in the index
        found (a current row, or looked up because its row changed), so the index's count plus
        that of the SKUs looked up outside it. When it is the state's own count, no listing on
        Amazon lacks its record and the removal pass walks nothing. None when a SKU in the index
        was not found: its record is gone, which only the walk can name."""
        return self.index.on_amazon + self.on_amazon if self._index_found else None

    @property
    def present_mirrored(self) -> int | None:
        """How many of the records read the catalogue mirror holds, when known (as above; see
        ``CatalogMirror.drop_absent``)."""
        return self.index.mirrored + self.mirrored if self._index_found else None

    # -- the state --------------------------------------------------------------------------------

    def check(self, rows: Sequence[tuple[str, str | None, str]]) -> None:
        """Look a batch of ``(sku, parent, fingerprint)`` up: one query, no per-record one."""
        wanted = len(self.marketplaces)
        found: dict[str, int] = {}
        stale: set[str] = set()
        fps = {sku: fp for sku, _parent, fp in rows}
        mapping = self.fingerprints
        if self._lookup is None:
            self._lookup = _Lookup(self.store, self.marketplaces)
        skus = list(fps)
        on_amazon = 0
        mirrored: set[str] = set()
        covered: set[str] = set()
        indexed = self.index.keys
        for (
            sku,
            mp,
            product_type,
            requirements,
            source_fp,
            mapping_fp,
            status,
            pending,
            drift,
            live,
            kept,
        ) in self._lookup(skus):
            if _key(source_fp) in indexed:  # its row changed: counted in the index's totals
                covered.add(sku)
            else:
                on_amazon += live
                if kept:
                    mirrored.add(sku)
            if (
                source_fp != fps[sku]
                or status in UNSETTLED
                or pending is not None
                or drift is not None
                or mapping_fp != mapping(product_type, mp, requirements)
            ):
                stale.add(sku)
            found[sku] = found.get(sku, 0) + 1
        self.on_amazon += on_amazon
        self.mirrored += len(mirrored)
        self.covered += len(covered)
        for sku, parent, _fp in rows:
            if sku in stale or found.get(sku, 0) < wanted:
                self.dirty.add(sku)
                self.dirty_count += 1
                if parent is not None:
                    self.family.add(parent)
            else:
                self.current.add(sku)
                self.looked_up_current += 1

    def invalid(self) -> Iterator[ResultLines]:
        """The invalid listings of current records (skipped, so reported from the state: status,
        issues and ASIN as the run's results give them), in key order, each result written as
        JSON by the database (:func:`_result_line`), as read during the scan (:class:`InvalidSpill`)."""
        everything = self.all_current and not self.dirty_count  # then no SKU needs looking at
        assert self._invalid is not None  # read by the scan (records), which comes first
        for rows in self._invalid.pages():
            lines = [
                line
                for sku, _mp, parent, line in rows
                if everything or (sku in self.current and not self.needs_build(sku, parent))
            ]
            if lines:
                yield ResultLines(lines, Op.INVALID.value, was_invalid=True)


def invalid_pages(
    store: StateStore, marketplaces: Sequence[str], page: int = 5000
) -> Iterator[list[tuple[str, str, str | None, str]]]:
    """Every invalid listing in ``marketplaces`` as ``(sku, marketplace, parent, result line)``,
    a page at a time in key order (the key's covering index walked once over all the pages)."""
    c = t.listings.c
    after: Key = ("", "")
    query = (
        sa.select(c.sku, c.marketplace_id, c.parent_sku, _result_line(store))
        .where(
            store.mine(t.listings),
            c.status == "invalid",
            c.marketplace_id.in_(marketplaces),
            sa.tuple_(c.sku, c.marketplace_id) > sa.tuple_(sa.bindparam("a_sku"), sa.bindparam("a_mp")),
        )
        .order_by(c.sku, c.marketplace_id)
        .limit(page)
    )
    while True:
        with store.engine.connect() as conn:
            rows = [tuple(row) for row in conn.execute(query, {"a_sku": after[0], "a_mp": after[1]})]
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = (rows[-1][0], rows[-1][1])


class InvalidSpill:
    """:func:`invalid_pages` read ahead into a temporary file (pickled pages), so that the
    database's work (each line's JSON built from its stored issues: seconds at a million SKUs)
    runs on the index's thread while the scan reads the file, and memory holds one page.

    Only the listings of current records are reported from here (:meth:`RawPass.invalid`), and a
    run writes none of those (it builds and writes the others), so what is read during the scan
    is what the state holds for them when they are reported."""

    def __init__(self, store: StateStore, marketplaces: Sequence[str]) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed once read (pages)
        self._count = 0
        for rows in invalid_pages(store, marketplaces):
            pickle.dump(rows, self._file, pickle.HIGHEST_PROTOCOL)
            self._count += 1

    def pages(self) -> Iterator[list[tuple[str, str, str | None, str]]]:
        with self._file:
            self._file.seek(0)
            for _ in range(self._count):
                yield pickle.load(self._file)  # noqa: S301 - our own file, written just before


def _result_line(store: StateStore) -> Any:
    """A known-invalid listing's result (``SkuResult``: op and status ``invalid``, its stored
    issues and ASIN, ``was_invalid``) as one JSON object, in SQL: the issues go from the column to
    the result log as the database holds them, never decoded in Python."""
    c = t.listings.c

    def text(value: str) -> Any:  # a constant in the SQL (PostgreSQL types no bound value of ``any``)
        return sa.literal_column(f"'{value}'", sa.Text)

    invalid = text(Op.INVALID.value)
    fields = [text("sku"), c.sku, text("marketplace_id"), c.marketplace_id, text("op"), invalid]
    fields += [text("status"), invalid, text("asin"), c.asin, text("was_invalid")]
    if store.engine.dialect.name == "postgresql":
        issues = sa.func.coalesce(c.issues, sa.cast(text("[]"), c.issues.type))
        return sa.cast(sa.func.json_build_object(*fields, sa.true(), text("issues"), issues), sa.Text)
    stored = sa.func.json(sa.func.coalesce(sa.type_coerce(c.issues, sa.Text), text("[]")))
    return sa.func.json_object(*fields, sa.func.json(text("true")), text("issues"), stored)


class _Lookup:
    """:func:`state_lookup` compiled once for :data:`BATCH` SKUs and run as the driver's SQL.

    A no-change run over a million records makes a thousand of these queries: SQLAlchemy's
    expansion of a 1,000-value ``IN`` at every execution and its row-by-row fetch cost as much
    as the database's own work. A short last batch repeats its first SKU (``IN`` matches it once).
    """

    def __init__(self, store: StateStore, marketplaces: Sequence[str]) -> None:
        self.engine = store.engine
        placeholders = [f"\x00listingsync-sku-{i}" for i in range(BATCH)]
        compiled = state_lookup(store, marketplaces).compile(self.engine)
        expanded = compiled.construct_expanded_state({"skus": placeholders})
        self.sql = expanded.statement
        self.params = dict(expanded.parameters)
        dialect = self.engine.dialect
        for name, bind in compiled.binds.items():
            # Values as the driver takes them (the JSON path into ``drift`` has a bind processor).
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and name in self.params:
                self.params[name] = process(self.params[name])
        # The names the expanded SKUs were given, in order: those whose value is a placeholder.
        slot = {value: name for name, value in self.params.items() if isinstance(value, str)}
        self.slots = [slot[p] for p in placeholders]
        self.positions = list(expanded.positiontup) if compiled.positional and expanded.positiontup else None

    def __call__(self, skus: list[str]) -> list[Any]:
        params = dict(self.params)
        padded = skus + [skus[0]] * (BATCH - len(skus))
        params.update(zip(self.slots, padded, strict=True))
        bound: Any = tuple(params[name] for name in self.positions) if self.positions is not None else params
        with self.engine.connect() as conn:
            return list(conn.exec_driver_sql(self.sql, bound).all())
