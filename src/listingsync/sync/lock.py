"""Run locks on the state database: one sync (or other writer) at a time per state DB and name.

Two runs writing one state database at once would each plan from the same rows and send the same
writes twice, and each would take the other's in-flight intents for interrupted ones. So every
sending run holds a lock for its whole length, taken before recovery and released at the end::

    from listingsync.sync.lock import acquire_lock
    with acquire_lock(store.engine, "sync", purpose="listingsync sync", wait=600) as lock:
        ...  # recover, plan, send

``acquire_lock`` takes the lock or, after ``wait`` seconds (0: at once), raises
:class:`LockHeldError`, whose message names the holder (host, pid, start time). ``on_wait`` is
told once when it starts waiting (the CLI prints "waiting for …"). The name scopes the lock: the
service and its workers take one per connection/account (e.g. ``"sync:acme-eu"``) when several
share a database; the CLI takes ``"sync"``. It is blocking: async callers use ``asyncio.to_thread``.

How each database holds it:

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept
  open for the run, keyed by the schema and the lock name. The server drops it the moment the
  holder's session ends (kill -9 included), so a dead holder never blocks anyone. The ``ls_locks``
  row beside it only names the holder for the message.
- **SQLite** has no session locks that survive between transactions, and holding a write
  transaction for the whole run would block the run's own writes from its other connections. So
  the ``ls_locks`` row *is* the lock: taken by insert-if-absent or by a compare-and-swap on its
  ``owner_key``, kept alive by a heartbeat thread. A row whose holder is gone is taken over: on the
  same host when its pid no longer exists (at once, e.g. after kill -9), from another host when its
  heartbeat is older than ``stale_after`` (SQLite over a network share, which SQLite advises
  against anyway).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from listingsync.errors import ListingSyncError
from listingsync.sync import tables as t

__all__ = ["LockHeldError", "LockHolder", "RunLock", "acquire_lock"]

#: SQLite: how often the holder refreshes its row, and when a silent row from another host is stale.
HEARTBEAT = 15.0
STALE_AFTER = 120.0
#: How often a waiting run looks again.
POLL = 0.5


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a lock, as its row says (None fields: the holder wrote no row yet)."""

    host: str | None
    pid: int | None
    purpose: str | None
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None = None

    def describe(self) -> str:
        if self.pid is None:
            return "another process (it has not recorded who it is yet)"
        started = self.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.started_at else "?"
        what = self.purpose or "a run"
        return f"{what} started {started} by pid {self.pid} on host {self.host}"


class LockHeldError(ListingSyncError):
    """Another run holds the lock (and did not let go within the wait)."""

    def __init__(self, name: str, holder: LockHolder, waited: float) -> None:
        waited_text = f" (waited {waited:.0f} s)" if waited > 0 else ""
        super().__init__(
            f"another run holds this state database's {name!r} lock: {holder.describe()}{waited_text}",
            where="state",
            fix="let that run finish, or queue behind it with `listingsync sync --wait SECONDS`; a lock "
            "whose process is gone is taken over by itself (PostgreSQL: at once; SQLite: at once on "
            f"the same host, after {STALE_AFTER:.0f} s without heartbeat from another host)",
        )
        self.name = name
        self.holder = holder


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return True  # cannot tell: assume alive (the heartbeat still ages it out)
    return True


class RunLock:
    """A held lock: :meth:`release` it (or leave the ``with`` block); idempotent."""

    def __init__(
        self, engine: Engine, name: str, owner_key: str, *, pg_conn: Connection | None = None
    ) -> None:
        self.engine = engine
        self.name = name
        self.owner_key = owner_key
        self._pg_conn = pg_conn
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _start_heartbeat(self, interval: float) -> None:
        self._heartbeat = threading.Thread(
            target=self._beat, args=(interval,), name=f"listingsync-lock-{self.name}", daemon=True
        )
        self._heartbeat.start()

    def _beat(self, interval: float) -> None:
        c = t.locks.c
        while not self._stop.wait(interval):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        t.locks.update()
                        .where(c.name == self.name, c.owner_key == self.owner_key)
                        .values(heartbeat_at=_now())
                    )
            except sa.exc.DBAPIError:
                continue  # a busy database: the next beat tries again, long before it goes stale

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        c = t.locks.c
        mine = t.locks.delete().where(c.name == self.name, c.owner_key == self.owner_key)
        # A failed release must not hide why the run ended: a PostgreSQL lock goes with its closed
        # session anyway, and a SQLite row left behind is taken over once this process is gone.
        with contextlib.suppress(sa.exc.DBAPIError):
            if self._pg_conn is not None:
                try:
                    self._pg_conn.execute(mine)
                    self._pg_conn.execute(
                        sa.select(sa.func.pg_advisory_unlock(_pg_key(self._pg_conn, self.name)))
                    )
                    self._pg_conn.commit()
                finally:
                    self._pg_conn.close()
                return
            with self.engine.begin() as conn:
                conn.execute(mine)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def acquire_lock(
    engine: Engine,
    name: str = "sync",
    *,
    purpose: str | None = None,
    wait: float = 0.0,
    on_wait: Callable[[LockHolder], None] | None = None,
    stale_after: float = STALE_AFTER,
    heartbeat: float = HEARTBEAT,
    poll: float = POLL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunLock:
    """Take the lock ``name`` on this state database, waiting up to ``wait`` seconds for its holder.

    Raises :class:`LockHeldError` naming the holder when it is still held after ``wait``.
    """
    owner_key = uuid.uuid4().hex
    started = clock()
    told = False
    while True:
        if engine.dialect.name == "postgresql":
            lock, holder = _try_postgres(engine, name, owner_key, purpose)
        else:
            lock, holder = _try_row(engine, name, owner_key, purpose, stale_after=stale_after)
            if lock is not None:
                lock._start_heartbeat(heartbeat)
        if lock is not None:
            return lock
        assert holder is not None
        waited = clock() - started
        if waited >= wait:
            raise LockHeldError(name, _named(engine, name, holder, sleep), waited)
        if not told and on_wait is not None:
            on_wait(holder)
            told = True
        sleep(min(poll, max(wait - waited, 0.0)))


def _row_values(name: str, owner_key: str, purpose: str | None) -> dict[str, Any]:
    now = _now()
    return {
        "name": name,
        "owner_key": owner_key,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "purpose": purpose,
        "started_at": now,
        "heartbeat_at": now,
    }


def _holder(conn: Connection, name: str) -> tuple[LockHolder, str | None]:
    c = t.locks.c
    row = conn.execute(sa.select(t.locks).where(c.name == name)).mappings().first()
    if row is None:
        return LockHolder(None, None, None, None), None
    holder = LockHolder(
        row["host"], row["pid"], row["purpose"], _aware(row["started_at"]), _aware(row["heartbeat_at"])
    )
    return holder, str(row["owner_key"])


def _named(engine: Engine, name: str, holder: LockHolder, sleep: Callable[[float], None]) -> LockHolder:
    """The holder with its row: PostgreSQL's holder commits its row just after taking the lock,
    so a refusal in between reads the row again (briefly) to name who holds it."""
    for _ in range(40):
        if holder.pid is not None:
            break
        sleep(0.05)
        with engine.connect() as conn:
            holder, _ = _holder(conn, name)
    return holder


def _gone(holder: LockHolder, stale_after: float) -> bool:
    """Whether a row's holder is certainly gone: its pid is dead here, or its heartbeat stopped."""
    if holder.host == socket.gethostname() and holder.pid is not None and not _pid_alive(holder.pid):
        return True
    beat = holder.heartbeat_at
    return beat is not None and (_now() - beat).total_seconds() > stale_after


def _try_row(
    engine: Engine, name: str, owner_key: str, purpose: str | None, *, stale_after: float
) -> tuple[RunLock | None, LockHolder | None]:
    """SQLite: insert the row if absent, else take it over by compare-and-swap if its holder is gone."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    values = _row_values(name, owner_key, purpose)
    c = t.locks.c
    try:
        with engine.begin() as conn:
            inserted = conn.execute(sqlite_insert(t.locks).values(values).on_conflict_do_nothing())
            if inserted.rowcount == 1:
                return RunLock(engine, name, owner_key), None
        with engine.begin() as conn:
            holder, old = _holder(conn, name)
            if old is None:  # released between the two statements: try again at once
                return _try_row(engine, name, owner_key, purpose, stale_after=stale_after)
            if not _gone(holder, stale_after):
                return None, holder
            swapped = conn.execute(t.locks.update().where(c.name == name, c.owner_key == old).values(values))
            if swapped.rowcount == 1:
                return RunLock(engine, name, owner_key), None
            holder, _ = _holder(conn, name)  # someone else took it over first
            return None, holder
    except sa.exc.OperationalError as exc:
        if "locked" not in str(exc.orig):
            raise
        # The database stayed busy beyond busy_timeout (another run writing hard): still held.
        with engine.connect() as conn:
            return None, _holder(conn, name)[0]


def _pg_key(conn: Connection, name: str) -> int:
    """A signed 64-bit advisory lock key for this schema and lock name."""
    schema = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
    digest = hashlib.blake2b(f"listingsync:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_postgres(
    engine: Engine, name: str, owner_key: str, purpose: str | None
) -> tuple[RunLock | None, LockHolder | None]:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    conn = engine.connect()
    try:
        key = _pg_key(conn, name)
        got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one())
        if not got:
            holder, _ = _holder(conn, name)
            conn.rollback()
            conn.close()
            return None, holder
        values = _row_values(name, owner_key, purpose)
        stmt = pg_insert(t.locks).values(values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}
            )
        )
        conn.commit()  # the session-level lock outlives the transaction; the connection is kept
    except BaseException:
        conn.close()
        raise
    return RunLock(engine, name, owner_key, pg_conn=conn), None
