"""The state store: what listingsync last sent, what Amazon answered, and the writes in flight.

SQLite by default (WAL mode, one file beside the config), PostgreSQL through a
``postgresql+psycopg://`` URL. The schema is managed by Alembic; :meth:`StateStore.open` upgrades it
to the packaged head before anything else runs.

Crash safety is write-ahead: :meth:`record_intents` commits ``pending_*`` on each listing *before*
its request or feed leaves; :meth:`record_outcomes` commits the answer and clears the intent in one
transaction. A process killed in between leaves rows with ``pending_op`` set, which the next run
reconciles against Amazon before it plans anything (see ``sync.recovery``).
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from listingsync.errors import ListingSyncError
from listingsync.sync import tables as t
from listingsync.sync.hashing import json_bytes, json_loads

__all__ = [
    "BuiltEntry",
    "Check",
    "FeedRecord",
    "Intent",
    "ListingState",
    "Outcome",
    "PlanIndexEntry",
    "StateStore",
    "StateStoreError",
    "resolve_state_url",
]

Key = tuple[str, str]  # (sku, marketplace_id)

STATUSES = ("pending", "accepted", "live", "invalid", "error", "deleted")
_CHUNK = 500  # rows per IN (...) query: far below SQLite's and PostgreSQL's parameter limits


_MIGRATIONS = Path(__file__).parent / "migrations"
#: The packaged head revision: migration files are named after their revision ids ("0006_…") and
#: form one line, so the head is the highest (a test checks it is Alembic's own answer).
_HEAD = max(p.name[:4] for p in (_MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


class StateStoreError(ListingSyncError):
    """The state database cannot be opened or migrated."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: What every state database error suggests for the URL itself.
URL_FIX = "use sqlite:///path/state.db or postgresql+psycopg://user@host/db"


def parse_state_url(url: str) -> sa.URL:
    """The ``state:`` URL parsed, or a :class:`StateStoreError` that names the key."""
    try:
        return sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StateStoreError(f"{url!r} is not a database URL", where="state", fix=URL_FIX) from None


def sqlite_path(url: sa.URL, base_dir: Path | None = None) -> Path | None:
    """The file of a SQLite URL (relative paths against ``base_dir``); None for other databases."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def resolve_state_url(url: str, base_dir: Path | None = None) -> str:
    """A relative SQLite path resolves against the config file's directory (and is created)."""
    parsed = parse_state_url(url)
    path = sqlite_path(parsed, base_dir)
    if path is None:
        return url
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (path.parent, *path.parent.parents) if p.is_file()), None)
        reason = f"{blocker} is a file, not a directory" if blocker else exc.strerror or str(exc)
        raise StateStoreError(
            f"cannot create {path.parent} for the state database: {reason}",
            where="state",
            fix=f"create that directory (writable by you), or point state: at a writable place; {URL_FIX}",
        ) from None
    return str(parsed.set(database=str(path)))


@dataclass(slots=True)
class PlanIndexEntry:
    """The columns the planner needs for every SKU (attributes are fetched only for changed ones)."""

    status: str
    product_type: str | None
    requirements: str | None
    sent_hash: str | None
    attempted_hash: str | None
    pending_op: str | None
    parentage: str | None
    #: ``gone`` / ``changed`` when Amazon's copy drifted from what we sent (``sync.drift``).
    drift_kind: str | None = None


@dataclass(slots=True)
class ListingState:
    sku: str
    marketplace_id: str
    status: str
    product_type: str | None = None
    requirements: str | None = None
    parent_sku: str | None = None
    parentage: str | None = None
    origin: str | None = None
    sent_hash: str | None = None
    sent_attributes: dict[str, Any] | None = None
    attempted_hash: str | None = None
    asin: str | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)
    pending_op: str | None = None
    pending_hash: str | None = None
    pending_attributes: dict[str, Any] | None = None
    pending_feed: int | None = None
    last_submission_id: str | None = None
    last_run_id: int | None = None
    updated_at: dt.datetime | None = None
    source_fp: str | None = None
    mapping_fp: str | None = None
    checked_at: dt.datetime | None = None
    amazon_status: str | None = None
    drift: dict[str, Any] | None = None
    adopted_at: dt.datetime | None = None

    @property
    def key(self) -> Key:
        return (self.sku, self.marketplace_id)


@dataclass(slots=True)
class BuiltEntry:
    """What built a listing row (see :mod:`listingsync.sync.fingerprint`), and its status."""

    marketplace_id: str
    product_type: str | None
    requirements: str | None
    source_fp: str | None
    mapping_fp: str | None
    status: str
    pending_op: str | None
    #: ``gone`` / ``changed`` when Amazon's copy drifted (``sync.drift``): always planned again.
    drift_kind: str | None = None


@dataclass(slots=True)
class Check:
    """What a read-back found (``sync.drift``): Amazon's status, the drift, issues, when."""

    sku: str
    marketplace_id: str
    checked_at: dt.datetime
    amazon_status: str | None
    drift: dict[str, Any] | None
    status: str
    issues: list[dict[str, Any]]
    asin: str | None = None


@dataclass(slots=True)
class Intent:
    """A write about to leave: committed before the request so a crash cannot lose it."""

    sku: str
    marketplace_id: str
    operation: str  # PUT | PATCH | DELETE
    hash: str | None
    attributes: dict[str, Any] | None
    product_type: str | None = None
    requirements: str | None = None
    parent_sku: str | None = None
    parentage: str | None = None
    origin: str | None = None
    feed: int | None = None


@dataclass(slots=True)
class Outcome:
    """What became of a write (or of a listing we did not send).

    ``kind``: ``accepted`` / ``live`` (the intent landed: it becomes the new base), ``invalid``
    (Amazon or local validation refused it), ``error`` (it failed; the next run resends),
    ``deleted``, ``abandoned`` (an interrupted intent that never reached Amazon: resend next run).
    """

    sku: str
    marketplace_id: str
    kind: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    submission_id: str | None = None
    asin: str | None = None
    #: For ``invalid`` from local validation: the listing's metadata, since no intent was written.
    product_type: str | None = None
    requirements: str | None = None
    parent_sku: str | None = None
    parentage: str | None = None
    origin: str | None = None
    local: bool = False


@dataclass(slots=True)
class FeedRecord:
    id: int
    run_id: int | None
    marketplace_id: str
    state: str
    message_count: int
    document_id: str | None
    feed_id: str | None
    processing_status: str | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None


class StateStore:
    """One state database; thread-confined (the async engine calls it from the event loop).

    ``scope`` selects one account's rows in a database several share (the service's workspace:
    the connection's name); ``""`` is the whole state database of a single listingsync.yaml.
    """

    def __init__(self, engine: Engine, scope: str = "") -> None:
        self.engine = engine
        self.scope = scope

    def scoped(self, scope: str) -> StateStore:
        """The same database seen as another scope (sharing this store's engine and pool)."""
        return StateStore(self.engine, scope)

    def mine(self, table: sa.Table) -> Any:
        """The condition every query of this store (and of ``sync.mirror``) carries: its scope's rows."""
        return table.c.scope == self.scope

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, base_dir: Path | None = None, *, scope: str = "") -> StateStore:
        resolved = resolve_state_url(url, base_dir)
        try:
            # orjson for the JSON columns: attribute documents are most of what the store writes.
            extra: dict[str, Any] = {}
            parsed = sa.engine.make_url(resolved)
            if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
                # One shared connection: the executors write from worker threads, and each
                # connection to ':memory:' would otherwise be a database of its own.
                extra = {"poolclass": sa.pool.StaticPool, "connect_args": {"check_same_thread": False}}
            engine = sa.create_engine(
                resolved, json_serializer=_json_dumps, json_deserializer=json_loads, **extra
            )
        except ModuleNotFoundError as exc:  # the driver is an extra: pip install 'listingsync[postgres]'
            raise StateStoreError(
                f"the state database needs the Python package {exc.name!r}, which is not installed",
                where="state",
                fix="pip install 'listingsync[postgres]'" if "psycopg" in str(exc.name) else URL_FIX,
            ) from None
        except Exception as exc:  # bad URL
            raise StateStoreError(
                f"cannot use the state database URL: {exc}", where="state", fix=URL_FIX
            ) from None
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, scope)
        try:
            store.migrate()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            sqlite = engine.dialect.name == "sqlite"
            raise StateStoreError(
                f"cannot open the state database ({_redact(resolved)}): {exc.orig}",
                where="state",
                fix=(
                    "check that the file and its directory are writable by you"
                    if sqlite
                    else "check that the server is running and the URL, user and database are right"
                ),
            ) from None
        return store

    def check_writable(self) -> None:
        """Refuse, with the fix, a database this process cannot write (a read-only file or
        directory, a read-only replica), before a sending run writes its lock or run row. Reading
        commands never call this: ``status`` works on a read-only database."""
        try:
            with self.engine.begin() as conn:  # a write that changes nothing, rolled back
                conn.execute(t.checkpoints.delete().where(sa.false()))
        except sa.exc.DBAPIError as exc:
            text = str(exc.orig).lower()
            if "readonly" not in text and "read-only" not in text and "read only" not in text:
                raise
            sqlite = self.engine.dialect.name == "sqlite"
            raise StateStoreError(
                f"the state database is read-only ({_redact(str(self.engine.url))}): {exc.orig}",
                where="state",
                fix=(
                    "make the file, and the directory it is in, writable by this user (status and "
                    "issues, which only read, work as it is)"
                    if sqlite
                    else "point state: at the primary server with a user allowed to write"
                ),
            ) from None

    def migrate(self) -> None:
        """Upgrade the schema to the packaged head (a no-op when already there).

        Alembic is imported only when there is something to upgrade: the usual open finds the
        database at head with one query, and Alembic's import is a tenth of a second of every
        command's start-up (half a second on a busy machine)."""
        revision = self._revision()
        if revision == _HEAD:
            return  # the usual case: no lock needed
        if revision is not None and revision > _HEAD:
            # Alembic would fail with "Can't locate revision": name what happened instead.
            raise StateStoreError(
                f"the state database is at schema {revision}, written by a newer listingsync "
                f"(this one knows up to {_HEAD}); nothing was changed",
                where="state",
                fix="upgrade listingsync to the version that last wrote it (or newer), or point "
                "state: at another database",
            )
        from alembic import command
        from alembic.config import Config as AlembicConfig
        from alembic.runtime.migration import MigrationContext

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            # Two processes opening a fresh (or older) database at once: the second waits for the
            # first's migration here and then finds the schema at head, instead of failing on
            # "table … already exists". Both databases run DDL inside the transaction.
            _lock_for_migration(conn)
            if MigrationContext.configure(conn).get_current_revision() == _HEAD:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _revision(self) -> str | None:
        """The schema's revision as Alembic records it (None: a database never migrated)."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def plan_index(
        self, marketplace_ids: Sequence[str] | None = None, skus: Sequence[str] | None = None
    ) -> dict[Key, PlanIndexEntry]:
        """What the planner needs per listing: all of them, or only these SKUs' (a streamed batch)."""
        if skus is not None:
            out: dict[Key, PlanIndexEntry] = {}
            wanted = list(dict.fromkeys(skus))
            for start in range(0, len(wanted), _CHUNK):
                out.update(self._plan_rows(marketplace_ids, wanted[start : start + _CHUNK]))
            return out
        return self._plan_rows(marketplace_ids, None)

    def removal_keys(
        self, marketplace_ids: Sequence[str] | None = None, page: int = 10_000
    ) -> Iterator[list[Key]]:
        """The keys of every listing on Amazon as far as the state knows (a base of ours or a
        write in flight) and not deleted, in key order a page at a time: what a streamed run's
        removal pass asks "is it still in the catalogue?" of. Keys only, from
        ``ix_ls_listings_sync``: no listing row (and its KB of sent JSON) is read."""
        c = t.listings.c
        query = sa.select(c.sku, c.marketplace_id).where(*self._on_amazon(marketplace_ids))
        after: Key | None = None
        while True:
            with self.engine.connect() as conn:
                keys: list[Key] = [(r[0], r[1]) for r in conn.execute(_keyset(query, after, page))]
            if keys:
                yield keys
            if len(keys) < page:
                return
            after = keys[-1]

    def removal_counts(self, marketplace_ids: Sequence[str] | None = None) -> tuple[int, int]:
        """How many listings are on Amazon and not deleted (the removal guard's base), and how
        many have drift recorded (deleted ones included): two counts over the index."""
        c = t.listings.c
        drifted = [self.mine(t.listings), c.drift["kind"].as_string().is_not(None)]
        if marketplace_ids:
            drifted.append(c.marketplace_id.in_(list(marketplace_ids)))
        with self.engine.connect() as conn:
            on_amazon = (
                sa.select(sa.func.count()).select_from(t.listings).where(*self._on_amazon(marketplace_ids))
            )
            known = conn.execute(on_amazon).scalar_one()
            drift = conn.execute(
                sa.select(sa.func.count()).select_from(t.listings).where(*drifted)
            ).scalar_one()
        return int(known), int(drift)

    @staticmethod
    def on_amazon() -> Any:
        """Whether a listing is on Amazon as far as the state knows: a base of ours or a write in
        flight, and not deleted (what the removal pass walks and its guard counts)."""
        c = t.listings.c
        return sa.and_(c.status != "deleted", sa.or_(c.sent_hash.is_not(None), c.pending_op.is_not(None)))

    def _on_amazon(self, marketplace_ids: Sequence[str] | None) -> list[Any]:
        where = [self.mine(t.listings), self.on_amazon()]
        if marketplace_ids:
            where.append(t.listings.c.marketplace_id.in_(list(marketplace_ids)))
        return where

    def _plan_rows(
        self, marketplace_ids: Sequence[str] | None, skus: list[str] | None
    ) -> dict[Key, PlanIndexEntry]:
        c = t.listings.c
        query = sa.select(
            c.sku,
            c.marketplace_id,
            c.status,
            c.product_type,
            c.requirements,
            c.sent_hash,
            c.attempted_hash,
            c.pending_op,
            c.parentage,
            c.drift,
        ).where(self.mine(t.listings))
        if marketplace_ids:
            query = query.where(c.marketplace_id.in_(list(marketplace_ids)))
        if skus is not None:
            query = query.where(c.sku.in_(skus))
        with self.engine.connect() as conn:
            return {
                (r[0], r[1]): PlanIndexEntry(*r[2:9], drift_kind=(r[9] or {}).get("kind"))
                for r in conn.execute(query)
            }

    def drifts(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
        """The recorded drift of these listings (those without one are left out)."""
        out: dict[Key, dict[str, Any]] = {}
        c = t.listings.c
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                query = sa.select(c.sku, c.marketplace_id, c.drift).where(
                    self.mine(t.listings), sa.tuple_(c.sku, c.marketplace_id).in_(chunk)
                )
                for sku, mp, drift in conn.execute(query):
                    if drift:
                        out[(sku, mp)] = drift
        return out

    def oldest_checked(self, limit: int, marketplace_ids: Sequence[str] | None = None) -> list[ListingState]:
        """Up to ``limit`` listings on Amazon (a base of ours, nothing in flight), never checked
        first, then checked longest ago: the rolling slice each sync reads back.

        Two queries, each walking ``ix_ls_listings_checked`` in its order and stopping at the
        slice: one ``ORDER BY checked_at IS NOT NULL, …`` cannot use an index and read every row
        (whose sent JSON is KBs) to keep 500."""
        if limit <= 0:
            return []
        c = t.listings.c
        where = [
            self.mine(t.listings),
            c.sent_hash.is_not(None),
            c.pending_op.is_(None),
            c.status != "deleted",
        ]
        if marketplace_ids:
            where.append(c.marketplace_id.in_(list(marketplace_ids)))
        never = (
            sa.select(t.listings)
            .where(*where, c.checked_at.is_(None))
            .order_by(c.checked_at, c.sku, c.marketplace_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            found = [_state(row._mapping) for row in conn.execute(never)]
            if len(found) < limit:
                checked = (
                    sa.select(t.listings)
                    .where(*where, c.checked_at.is_not(None))
                    .order_by(c.checked_at, c.sku, c.marketplace_id)
                    .limit(limit - len(found))
                )
                found.extend(_state(row._mapping) for row in conn.execute(checked))
        return found

    def _keyed_update(self) -> Any:
        """An UPDATE of one listing of this scope, keyed by the ``k_sku`` / ``k_mp`` parameters."""
        c = t.listings.c
        return t.listings.update().where(
            self.mine(t.listings), c.sku == sa.bindparam("k_sku"), c.marketplace_id == sa.bindparam("k_mp")
        )

    def record_checks(self, checks: Sequence[Check]) -> None:
        """Record what read-backs found: checked_at, Amazon's status, drift, status, issues, ASIN."""
        if not checks:
            return
        c = t.listings.c
        stmt = self._keyed_update().values(
            checked_at=sa.bindparam("v_at"),
            amazon_status=sa.bindparam("v_shown"),
            drift=sa.bindparam("v_drift"),
            status=sa.bindparam("v_status"),
            issues=sa.bindparam("v_issues"),
            asin=sa.func.coalesce(sa.bindparam("v_asin"), c.asin),
        )
        params = [
            {
                "k_sku": k.sku,
                "k_mp": k.marketplace_id,
                "v_at": k.checked_at,
                "v_shown": k.amazon_status,
                "v_drift": k.drift,
                "v_status": k.status,
                "v_issues": k.issues,
                "v_asin": k.asin,
            }
            for k in checks
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(params, 2000):
                conn.execute(stmt, chunk)

    def built_index(
        self, marketplace_ids: Sequence[str] | None = None, skus: Sequence[str] | None = None
    ) -> dict[Key, BuiltEntry]:
        """Per listing: the fingerprints of what built it (the mirror's remap and skip decisions).

        ``skus``: only these SKUs' listings (a batch of a streamed read), queried in chunks."""
        if skus is not None:
            out: dict[Key, BuiltEntry] = {}
            wanted = list(dict.fromkeys(skus))
            for start in range(0, len(wanted), 500):
                out.update(self._built_rows(marketplace_ids, wanted[start : start + 500]))
            return out
        return self._built_rows(marketplace_ids, None)

    def _built_rows(
        self, marketplace_ids: Sequence[str] | None, skus: list[str] | None
    ) -> dict[Key, BuiltEntry]:
        c = t.listings.c
        query = sa.select(
            c.sku,
            c.marketplace_id,
            c.product_type,
            c.requirements,
            c.source_fp,
            c.mapping_fp,
            c.status,
            c.pending_op,
            c.drift,
        ).where(self.mine(t.listings))
        if marketplace_ids:
            query = query.where(c.marketplace_id.in_(list(marketplace_ids)))
        if skus is not None:
            query = query.where(c.sku.in_(skus))
        with self.engine.connect() as conn:
            return {
                (r[0], r[1]): BuiltEntry(*r[1:8], drift_kind=(r[8] or {}).get("kind"))
                for r in conn.execute(query)
            }

    def set_built(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Record ``(sku, marketplace_id, source_fp, mapping_fp)``: what built each planned listing."""
        if not rows:
            return
        stmt = self._keyed_update().values(source_fp=sa.bindparam("v_src"), mapping_fp=sa.bindparam("v_map"))
        params = [{"k_sku": s, "k_mp": m, "v_src": src, "v_map": fp} for s, m, src, fp in rows]
        with self.engine.begin() as conn:
            for chunk in _chunks(params, 5000):
                conn.execute(stmt, chunk)

    def sent_attributes(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
        out: dict[Key, dict[str, Any]] = {}
        c = t.listings.c
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), _CHUNK):
                rows = conn.execute(
                    sa.select(c.sku, c.marketplace_id, c.sent_attributes).where(
                        self.mine(t.listings), sa.tuple_(c.sku, c.marketplace_id).in_(chunk)
                    )
                )
                for sku, mp, attrs in rows:
                    if attrs is not None:
                        out[(sku, mp)] = attrs
        return out

    def listings(
        self,
        *,
        skus: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        pending_only: bool = False,
    ) -> list[ListingState]:
        c = t.listings.c
        if skus is not None and len(skus) > _CHUNK:
            found: list[ListingState] = []
            for chunk in _chunks(list(skus), _CHUNK):
                found.extend(
                    self.listings(
                        skus=chunk,
                        marketplace_ids=marketplace_ids,
                        statuses=statuses,
                        pending_only=pending_only,
                    )
                )
            return sorted(found, key=lambda s: s.key)
        query = sa.select(t.listings).where(self.mine(t.listings)).order_by(c.sku, c.marketplace_id)
        if skus:
            query = query.where(c.sku.in_(list(skus)))
        if marketplace_ids:
            query = query.where(c.marketplace_id.in_(list(marketplace_ids)))
        if statuses:
            query = query.where(c.status.in_(list(statuses)))
        if pending_only:
            query = query.where(c.pending_op.is_not(None))
        with self.engine.connect() as conn:
            return [_state(row._mapping) for row in conn.execute(query)]

    def reported(self, keys: Iterable[Key]) -> dict[Key, tuple[str, list[dict[str, Any]], str | None]]:
        """``(status, issues, asin)`` of these listings, what a run's results report: only those
        columns, so the sent and pending documents (KBs of JSON a row) are neither read nor
        parsed. A no-change run reports every invalid listing of the catalogue from here."""
        c = t.listings.c
        wanted = set(keys)
        skus = sorted({sku for sku, _mp in wanted})
        out: dict[Key, tuple[str, list[dict[str, Any]], str | None]] = {}
        query = sa.select(c.sku, c.marketplace_id, c.status, c.issues, c.asin).where(
            self.mine(t.listings), c.sku.in_(sa.bindparam("skus", expanding=True))
        )
        with self.engine.connect() as conn:
            for chunk in _chunks(skus, _CHUNK):
                for sku, mp, status, issues, asin in conn.execute(query, {"skus": chunk}):
                    if (sku, mp) in wanted:
                        out[(sku, mp)] = (status, list(issues or []), asin)
        return out

    def get(self, sku: str, marketplace_id: str) -> ListingState | None:
        found = self.listings(skus=[sku], marketplace_ids=[marketplace_id])
        return found[0] if found else None

    def counts(self, marketplace_ids: Sequence[str] | None = None) -> dict[str, int]:
        c = t.listings.c
        query = sa.select(c.status, sa.func.count()).where(self.mine(t.listings)).group_by(c.status)
        if marketplace_ids:
            query = query.where(c.marketplace_id.in_(list(marketplace_ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query)
            return {status: int(n) for status, n in rows}

    def page(
        self,
        *,
        after: Key | None = None,
        limit: int = 100,
        statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        product_types: Sequence[str] | None = None,
        severity: str | None = None,
        code: str | None = None,
        search: str | None = None,
        with_issues: bool = False,
    ) -> list[ListingState]:
        """One page of listings in (SKU, marketplace) order after the key ``after`` (keyset paging:
        every page costs the same at 100,000 SKUs). ``severity`` / ``code`` keep listings holding
        such an issue; ``search`` matches a SKU or ASIN (substring, case-insensitive) or words of
        the title last sent."""
        query = sa.select(t.listings).where(
            *self._page_filters(statuses, marketplace_ids, product_types, severity, code, search, with_issues)
        )
        with self.engine.connect() as conn:
            return [_state(row._mapping) for row in conn.execute(_keyset(query, after, limit))]

    def count(
        self,
        *,
        statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        product_types: Sequence[str] | None = None,
        severity: str | None = None,
        code: str | None = None,
        search: str | None = None,
        with_issues: bool = False,
        cap: int | None = None,
    ) -> int:
        """How many listings :meth:`page` would page through with the same filters; with ``cap``,
        counting stops there (the answer is then ``cap``: "at least"), so a filter that must read
        each row's JSON (issue code, severity, title) does not read all of them to count."""
        where = self._page_filters(
            statuses, marketplace_ids, product_types, severity, code, search, with_issues
        )
        matching = sa.select(sa.literal(1)).select_from(t.listings).where(*where)
        if cap is not None:
            matching = matching.limit(cap)
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(matching.subquery())).scalar_one())

    def _page_filters(
        self,
        statuses: Sequence[str] | None,
        marketplace_ids: Sequence[str] | None,
        product_types: Sequence[str] | None,
        severity: str | None,
        code: str | None,
        search: str | None,
        with_issues: bool,
    ) -> list[Any]:
        c = t.listings.c
        where: list[Any] = [self.mine(t.listings)]
        if statuses:
            where.append(c.status.in_(list(statuses)))
        if marketplace_ids:
            where.append(c.marketplace_id.in_(list(marketplace_ids)))
        if product_types:
            where.append(c.product_type.in_([p.upper() for p in product_types]))
        # Issues are a JSON list written by orjson (no spaces): its text is searched as written.
        issues_text = sa.cast(c.issues, sa.Text)
        if severity:
            where.append(issues_text.contains(f'"severity":"{severity.upper()}"', autoescape=True))
        if code:
            where.append(issues_text.contains(f'"code":{_json_dumps(code)}', autoescape=True))
        if with_issues:
            where.append(sa.and_(c.issues.is_not(None), issues_text != "[]", issues_text != "null"))
        if search:
            pattern = search.lower()
            where.append(
                sa.or_(
                    sa.func.lower(c.sku).contains(pattern, autoescape=True),
                    sa.func.lower(c.asin).contains(pattern, autoescape=True),
                    # The title people know the product by: the item_name last sent (JSON text).
                    sa.func.lower(sa.cast(c.sent_attributes, sa.Text)).contains(pattern, autoescape=True),
                )
            )
        return where

    # -- runs --------------------------------------------------------------------------------

    def begin_run(self, mode: str, via: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                t.runs.insert().values(
                    scope=self.scope, started_at=_now(), mode=mode, via=via, status="running"
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(
        self, run_id: int, status: str, summary: dict[str, Any], *, only_if_running: bool = False
    ) -> None:
        """Close a run row with its status; ``only_if_running`` leaves one already closed as it is."""
        query = t.runs.update().where(t.runs.c.id == run_id)
        if only_if_running:
            query = query.where(t.runs.c.status == "running")
        with self.engine.begin() as conn:
            conn.execute(query.values(finished_at=_now(), status=status, summary=summary))

    def close_interrupted_runs(self) -> int:
        """Mark runs still ``running`` as ``interrupted`` (their process was killed).

        Call only while holding the scope's ``sync`` lock (:mod:`listingsync.sync.lock`): then no
        other run of this scope is alive, so every ``running`` row of it belongs to a dead process.
        """
        c = t.runs.c
        with self.engine.begin() as conn:
            result = conn.execute(
                t.runs.update()
                .where(self.mine(t.runs), c.status == "running")
                .values(
                    finished_at=_now(),
                    status="interrupted",
                    summary={"error": "the process ended before the run finished (killed?)"},
                )
            )
            return int(result.rowcount or 0)

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.runs).where(self.mine(t.runs)).order_by(t.runs.c.id.desc()).limit(limit)
            )
            return [dict(r._mapping) for r in rows]

    # -- writes: intents and outcomes --------------------------------------------------------

    def record_intents(self, run_id: int | None, intents: Sequence[Intent]) -> None:
        """Commit the intents (upserting each listing's row) before anything is sent."""
        if not intents:
            return
        now = _now()
        rows = [
            {
                "scope": self.scope,
                "sku": i.sku,
                "marketplace_id": i.marketplace_id,
                "product_type": i.product_type,
                "requirements": i.requirements,
                "parent_sku": i.parent_sku,
                "parentage": i.parentage,
                "origin": i.origin,
                "status": "pending",
                "pending_op": i.operation,
                "pending_hash": i.hash,
                "pending_attributes": i.attributes,
                "pending_feed": i.feed,
                "last_run_id": run_id,
                "updated_at": now,
            }
            for i in intents
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows, 2000):
                self._upsert(
                    conn,
                    chunk,
                    update=[
                        "product_type",
                        "requirements",
                        "parent_sku",
                        "parentage",
                        "origin",
                        "status",
                        "pending_op",
                        "pending_hash",
                        "pending_attributes",
                        "pending_feed",
                        "last_run_id",
                        "updated_at",
                    ],
                    keep_product_type_on_delete=True,
                )

    def record_outcomes(self, run_id: int | None, outcomes: Sequence[Outcome]) -> None:
        """Apply answers and clear the intents they answer, all in one transaction."""
        if not outcomes:
            return
        now = _now()
        by_kind: dict[str, list[dict[str, Any]]] = {}
        local_invalid: list[dict[str, Any]] = []
        for o in outcomes:
            row = {
                "k_scope": self.scope,
                "k_sku": o.sku,
                "k_mp": o.marketplace_id,
                "v_issues": o.issues,
                "v_sub": o.submission_id,
                "v_asin": o.asin,
                "v_run": run_id,
                "v_now": now,
            }
            if o.local:
                local_invalid.append(
                    {
                        "scope": self.scope,
                        "sku": o.sku,
                        "marketplace_id": o.marketplace_id,
                        "product_type": o.product_type,
                        "requirements": o.requirements,
                        "parent_sku": o.parent_sku,
                        "parentage": o.parentage,
                        "origin": o.origin,
                        "status": "invalid",
                        "issues": o.issues,
                        "last_run_id": run_id,
                        "updated_at": now,
                    }
                )
            else:
                by_kind.setdefault(o.kind, []).append(row)
        statements = _outcome_statements()
        with self.engine.begin() as conn:
            for kind, rows in by_kind.items():
                if kind.startswith("refresh:"):
                    for r in rows:
                        r["v_status"] = kind.split(":", 1)[1]
                    conn.execute(statements["refresh"], rows)
                    continue
                if kind not in statements:
                    raise ValueError(f"unknown outcome kind {kind!r}")
                conn.execute(statements[kind], rows)
            if local_invalid:
                self._upsert(
                    conn,
                    local_invalid,
                    update=[
                        "product_type",
                        "requirements",
                        "parent_sku",
                        "parentage",
                        "origin",
                        "status",
                        "issues",
                        "last_run_id",
                        "updated_at",
                    ],
                )
            subs = [
                {
                    "scope": self.scope,
                    "run_id": run_id,
                    "sku": o.sku,
                    "marketplace_id": o.marketplace_id,
                    "operation": o.kind,
                    "submission_id": o.submission_id,
                    "status": o.kind,
                    "created_at": now,
                }
                for o in outcomes
                if o.submission_id
            ]
            if subs:
                conn.execute(t.submissions.insert(), subs)

    def record_adopted(self, run_id: int | None, adopted: Sequence[tuple[Any, Any]]) -> None:
        """Record listings found on Amazon before listingsync knew them: ``(Action, Held)`` pairs.

        What Amazon holds of the catalogue's attributes becomes the base (the next PATCH is computed
        from it); the status, ASIN and issues are Amazon's; ``adopted_at`` and ``checked_at`` say when.
        """
        if not adopted:
            return
        now = _now()
        rows = [
            {
                "scope": self.scope,
                "sku": a.sku,
                "marketplace_id": a.marketplace_id,
                "product_type": h.product_type,
                "requirements": h.requirements,
                "parent_sku": a.parent_sku,
                "parentage": a.parentage,
                "origin": a.origin,
                "status": h.status,
                "sent_hash": h.hash,
                "sent_attributes": h.attributes,
                "attempted_hash": h.hash,
                "asin": h.asin,
                "issues": h.issues,
                "amazon_status": h.amazon_status,
                "adopted_at": now,
                "checked_at": now,
                "drift": None,
                "last_run_id": run_id,
                "updated_at": now,
            }
            for a, h in adopted
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows, 2000):
                self._upsert(
                    conn, chunk, update=[k for k in rows[0] if k not in ("scope", "sku", "marketplace_id")]
                )

    def _upsert(
        self,
        conn: Connection,
        rows: list[dict[str, Any]],
        *,
        update: list[str],
        keep_product_type_on_delete: bool = False,
    ) -> None:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(t.listings)
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(t.listings)
        else:  # pragma: no cover - the two supported back ends above
            raise StateStoreError(f"unsupported state database {dialect!r}", where="state")
        values = {name: getattr(stmt.excluded, name) for name in update}
        if keep_product_type_on_delete:
            # A DELETE intent carries no product type: keep the one we know.
            c = t.listings.c
            for name in ("product_type", "requirements", "parent_sku", "parentage", "origin"):
                values[name] = sa.func.coalesce(getattr(stmt.excluded, name), getattr(c, name))
        stmt = stmt.on_conflict_do_update(index_elements=["scope", "sku", "marketplace_id"], set_=values)
        conn.execute(stmt, rows)

    # -- feeds -------------------------------------------------------------------------------

    def create_feed(
        self, run_id: int | None, marketplace_id: str, messages: Sequence[tuple[int, str, str]]
    ) -> int:
        """Record a feed about to be built: its messageId → SKU map, before anything is uploaded."""
        with self.engine.begin() as conn:
            result = conn.execute(
                t.feeds.insert().values(
                    scope=self.scope,
                    run_id=run_id,
                    marketplace_id=marketplace_id,
                    state="building",
                    message_count=len(messages),
                    created_at=_now(),
                )
            )
            feed = int(result.inserted_primary_key[0])  # type: ignore[index]
            rows = [{"feed": feed, "message_id": m, "sku": s, "operation": op} for m, s, op in messages]
            for chunk in _chunks(rows, 5000):
                conn.execute(t.feed_messages.insert(), chunk)
        return feed

    def add_feed_messages(self, feed: int, messages: Sequence[tuple[int, str, str]]) -> None:
        """Append messages to a ``building`` feed (a streamed document records them as it fills,
        before it is uploaded), counting them in ``message_count``."""
        if not messages:
            return
        rows = [{"feed": feed, "message_id": m, "sku": s, "operation": op} for m, s, op in messages]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows, 5000):
                conn.execute(t.feed_messages.insert(), chunk)
            conn.execute(
                t.feeds.update()
                .where(t.feeds.c.id == feed)
                .values(message_count=t.feeds.c.message_count + len(rows))
            )

    def feed_submitted(self, feed: int, document_id: str, feed_id: str) -> None:
        """Commit the feedId right after createFeed answered: a restart polls it instead of resending."""
        with self.engine.begin() as conn:
            conn.execute(
                t.feeds.update()
                .where(t.feeds.c.id == feed)
                .values(document_id=document_id, feed_id=feed_id, state="submitted", submitted_at=_now())
            )

    def feed_finished(
        self,
        feed: int,
        *,
        state: str,
        processing_status: str | None,
        result_document_id: str | None,
        summary: dict[str, Any] | None,
        outcomes: Sequence[Outcome] = (),
        run_id: int | None = None,
    ) -> None:
        self.record_outcomes(run_id, outcomes)
        with self.engine.begin() as conn:
            conn.execute(
                t.feeds.update()
                .where(t.feeds.c.id == feed)
                .values(
                    state=state,
                    processing_status=processing_status,
                    result_document_id=result_document_id,
                    summary=summary,
                    finished_at=_now(),
                )
            )

    def open_feeds(self) -> list[FeedRecord]:
        """Feeds not finished: ``submitted`` ones are polled, ``building`` ones reconciled."""
        c = t.feeds.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.feeds)
                .where(self.mine(t.feeds), c.state.in_(["building", "submitted"]))
                .order_by(c.id)
            )
            return [_feed(r._mapping) for r in rows]

    def feeds(self, limit: int = 50) -> list[FeedRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.feeds).where(self.mine(t.feeds)).order_by(t.feeds.c.id.desc()).limit(limit)
            )
            return [_feed(r._mapping) for r in rows]

    def feed_submission_times(self, since: dt.datetime) -> list[dt.datetime]:
        """createFeed times since ``since``: the 5-per-5-minutes window survives a restart."""
        c = t.feeds.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.submitted_at).where(self.mine(t.feeds), c.submitted_at >= since))
            return sorted(_aware(r[0]) for r in rows)

    def known_feed_ids(self, since: dt.datetime) -> set[str]:
        """Amazon feed ids this database recorded for feeds made since ``since``."""
        c = t.feeds.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.feed_id).where(c.feed_id.is_not(None), c.created_at >= since))
            return {str(r[0]) for r in rows}

    def feed_messages(self, feed: int) -> dict[int, tuple[str, str]]:
        c = t.feed_messages.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.message_id, c.sku, c.operation).where(c.feed == feed))
            return {int(m): (s, op) for m, s, op in rows}

    def mark_feed(self, feed: int, state: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.feeds.update().where(t.feeds.c.id == feed).values(state=state, finished_at=_now()))

    # -- checkpoint --------------------------------------------------------------------------

    def checkpoint(self, name: str = "catalog") -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(t.checkpoints.c.value).where(self.mine(t.checkpoints), t.checkpoints.c.name == name)
            ).scalar_one_or_none()
            return str(value) if value is not None else None

    def set_checkpoint(self, value: str | None, name: str = "catalog") -> None:
        with self.engine.begin() as conn:
            conn.execute(t.checkpoints.delete().where(self.mine(t.checkpoints), t.checkpoints.c.name == name))
            if value is not None:
                conn.execute(
                    t.checkpoints.insert().values(scope=self.scope, name=name, value=value, updated_at=_now())
                )


@functools.cache
def _outcome_statements() -> dict[str, Any]:
    """The UPDATE statements of :meth:`StateStore.record_outcomes`, built once (executemany each)."""
    c = t.listings.c
    where = sa.and_(
        c.scope == sa.bindparam("k_scope"),
        c.sku == sa.bindparam("k_sku"),
        c.marketplace_id == sa.bindparam("k_mp"),
    )
    common: dict[str, Any] = {
        "pending_op": None,
        "pending_hash": None,
        "pending_attributes": None,
        "pending_feed": None,
        "last_run_id": sa.bindparam("v_run"),
        "updated_at": sa.bindparam("v_now"),
    }
    keep_sub: Any = sa.func.coalesce(sa.bindparam("v_sub"), c.last_submission_id)
    keep_asin: Any = sa.func.coalesce(sa.bindparam("v_asin"), c.asin)
    statements: dict[str, Any] = {
        # The intent landed: it becomes the base of the next PATCH.
        "accepted": t.listings.update()
        .where(where)
        .values(
            status="accepted",
            sent_hash=c.pending_hash,
            sent_attributes=c.pending_attributes,
            attempted_hash=c.pending_hash,
            drift=sa.null(),
            issues=sa.bindparam("v_issues"),
            last_submission_id=keep_sub,
            asin=keep_asin,
            **common,
        ),
        "invalid": t.listings.update()
        .where(where)
        .values(
            status="invalid",
            attempted_hash=c.pending_hash,
            issues=sa.bindparam("v_issues"),
            last_submission_id=keep_sub,
            **common,
        ),
        "error": t.listings.update()
        .where(where)
        .values(
            status="error",
            issues=sa.bindparam("v_issues"),
            last_submission_id=keep_sub,
            **common,
        ),
        "deleted": t.listings.update()
        .where(where)
        .values(
            status="deleted",
            sent_hash=None,
            sent_attributes=None,
            attempted_hash=None,
            drift=sa.null(),
            asin=None,
            issues=sa.bindparam("v_issues"),
            last_submission_id=keep_sub,
            **common,
        ),
        # An interrupted intent that never reached Amazon: planned (and sent) again next run.
        "abandoned": t.listings.update()
        .where(where)
        .values(
            status="error",
            issues=sa.bindparam("v_issues"),
            **common,
        ),
    }
    statements["live"] = statements["accepted"].values(status="live")
    # Reconciliation of a listing already in its base state: only status, ASIN and issues move.
    statements["refresh"] = (
        t.listings.update()
        .where(where)
        .values(
            status=sa.bindparam("v_status"),
            issues=sa.bindparam("v_issues"),
            asin=keep_asin,
            updated_at=sa.bindparam("v_now"),
        )
    )
    return statements


def _json_dumps(value: Any) -> str:
    return json_bytes(value).decode()


def _lock_for_migration(conn: Connection) -> None:
    """Serialise schema migrations between processes, within the migration's own transaction."""
    if conn.dialect.name == "postgresql":
        # Keyed by schema: tests (and tenants) keep several state schemas in one database.
        key = sa.func.hashtext(sa.literal("listingsync-migrate:") + sa.func.current_schema())
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    elif conn.dialect.name == "sqlite":
        # Take the write lock now (waiting up to busy_timeout) rather than at the first DDL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: How long a connection waits for another's lock (SQLite's busy_timeout, and the WAL conversion).
_BUSY_SECONDS = 10.0


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # First: a database opened by two processes at once must wait for the other's lock, not
    # fail at once with "database is locked".
    cur.execute(f"PRAGMA busy_timeout={int(_BUSY_SECONDS * 1000)}")
    # WAL: readers never block the writer; synchronous=NORMAL keeps every commit across a killed
    # process (only an OS crash can lose the last transactions, which the next run reconciles).
    _to_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _to_wal(cur: Any) -> None:
    """Put the file in WAL mode (once per file: the mode is stored in it; an in-memory database
    keeps its own).

    The conversion needs the file alone, and SQLite answers "database is locked" at once, without
    the busy_timeout wait, while another connection writes (waiting could deadlock): two syncs
    opening a fresh file together failed so. It is tried again until it is done, by this
    connection or by the other, within the busy budget.
    """
    deadline = time.monotonic() + _BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _redact(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _keyset(query: Any, after: Key | None, limit: int) -> Any:
    """``query`` (over ls_listings) as one page in (SKU, marketplace) order after the key ``after``:
    keyset paging, so every page costs the same however deep (the dashboard's pages, the removal
    pass)."""
    c = t.listings.c
    if after is not None:
        # A row value: both SQLite and PostgreSQL walk the (scope, sku, marketplace_id) key from it.
        query = query.where(sa.tuple_(c.sku, c.marketplace_id) > sa.tuple_(*after))
    return query.order_by(c.sku, c.marketplace_id).limit(limit)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _state(m: Any) -> ListingState:
    return ListingState(
        sku=m["sku"],
        marketplace_id=m["marketplace_id"],
        status=m["status"],
        product_type=m["product_type"],
        requirements=m["requirements"],
        parent_sku=m["parent_sku"],
        parentage=m["parentage"],
        origin=m["origin"],
        sent_hash=m["sent_hash"],
        sent_attributes=m["sent_attributes"],
        attempted_hash=m["attempted_hash"],
        asin=m["asin"],
        issues=list(m["issues"] or []),
        pending_op=m["pending_op"],
        pending_hash=m["pending_hash"],
        pending_attributes=m["pending_attributes"],
        pending_feed=m["pending_feed"],
        last_submission_id=m["last_submission_id"],
        last_run_id=m["last_run_id"],
        updated_at=_aware(m["updated_at"]) if m["updated_at"] else None,
        source_fp=m["source_fp"],
        mapping_fp=m["mapping_fp"],
        checked_at=_aware(m["checked_at"]) if m["checked_at"] else None,
        amazon_status=m["amazon_status"],
        drift=m["drift"],
        adopted_at=_aware(m["adopted_at"]) if m["adopted_at"] else None,
    )


def _feed(m: Any) -> FeedRecord:
    return FeedRecord(
        id=m["id"],
        run_id=m["run_id"],
        marketplace_id=m["marketplace_id"],
        state=m["state"],
        message_count=m["message_count"],
        document_id=m["document_id"],
        feed_id=m["feed_id"],
        processing_status=m["processing_status"],
        created_at=_aware(m["created_at"]),
        submitted_at=_aware(m["submitted_at"]) if m["submitted_at"] else None,
    )
