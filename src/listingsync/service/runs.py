"""Runs of a connection: the history table, and THE run function both executors call.

::

    run = create_run(ws, "vendor-eu", trigger="api", mode="send")    # a queued row
    execute_run(ws, run.id)       # in this thread: lock, sync, record; what a Celery task calls too

:func:`execute_run` is idempotent: a run that is not ``queued`` any more (finished, cancelled, or
taken by another process) is left alone, so a task delivered twice runs once. It takes the
connection's run lock (:mod:`listingsync.sync.lock`, named ``run:<connection>``: a PostgreSQL
advisory lock, or SQLite's heartbeat row) so at most one run per connection goes at a time in any
process on any machine; a run that cannot get it is recorded as ``skipped``. While it runs, a
heartbeat thread writes the live progress and watches for a cancel request.

The sync itself is :func:`listingsync.sync.run_sync` on the connection's scope of the workspace
database: write-ahead intents, recovery of an interrupted run first, the checkpoint committed only
after success. A run cancelled or killed mid-way leaves intents the next run settles.

Statuses: queued → running → succeeded | partial (some SKUs failed) | failed (the run could not
go through; ``error`` and ``fix`` say why) | cancelled; or skipped (the connection was busy).

On a worker (``serve --broker``) a run through feeds does not wait for Amazon inside the run: it
submits them and stays ``running`` with owner :data:`FEEDS_OWNER` (no process holds it), and a
``poll_run_feeds`` task comes back for it (:func:`poll_run_feeds`) until its feeds are done, then
records the run's end as the embedded executor would have. Its heartbeat is then a lease that each
poll extends past the next one's due time (by :data:`FEEDS_GRACE`: a poll may wait in a busy queue),
so a poll task that never comes back lets it go stale like a dead process's run
(``recover_interrupted``); the next run of the connection follows the feeds itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from listingsync.errors import ListingSyncError
from listingsync.redaction import redact, redact_value
from listingsync.service import tables as t
from listingsync.service.connections import (
    Connection,
    ConnectionError,
    connection_credentials,
    connection_secret_env,
    get_connection,
    get_connection_by_id,
)
from listingsync.service.utc import as_utc, iso_utc, utc_now
from listingsync.service.workspace import Workspace

__all__ = [
    "ACTIVE",
    "FEEDS_OWNER",
    "FINISHED",
    "HEARTBEAT_SECONDS",
    "MODES",
    "RunBusyError",
    "RunNotFound",
    "RunRecord",
    "active_run",
    "cancel_run",
    "create_run",
    "execute_run",
    "feed_poll_delay",
    "get_run",
    "list_runs",
    "poll_run_feeds",
    "prune_runs",
    "recover_interrupted",
]

log = logging.getLogger(__name__)

MODES = ("send", "dry-run", "preview")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "partial", "failed", "cancelled", "skipped")
#: How often a running run writes its heartbeat and progress and looks for a cancel request.
HEARTBEAT_SECONDS = 1.0
#: Per-SKU results kept with a dry run or preview (the rest are counted).
RESULT_LIMIT = 1000
#: A running run whose heartbeat is older than this is taken for dead (its machine went away).
STALE_SECONDS = 120.0
#: The owner of a run whose writes went out as feeds Amazon is still processing (see the top).
FEEDS_OWNER = "feeds"
#: How long past its due time a feed poll may wait for a worker slot before its run is taken for
#: abandoned (every slot busy with long syncs delays it; a lost poll task never comes).
FEEDS_GRACE = 900.0


def owner_id() -> str:
    """This process, as run owners are named: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(owner: str | None) -> bool:
    """True when ``owner`` was a process of this host that no longer exists (a crash, ``kill -9``)."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunNotFound(ListingSyncError):
    """No run with that id."""


class RunBusyError(ListingSyncError):
    """The connection has a run queued or running already."""

    def __init__(self, connection: str, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(
            f"connection {connection} has run #{run_id} queued or running",
            fix=f"wait for it (listingsync runs show {run_id}) or cancel it",
        )


@dataclass(slots=True)
class RunRecord:
    id: int
    connection_id: int | None
    connection: str | None
    trigger: str
    mode: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: dict[str, Any] | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    fix: str | None
    cancel_requested: bool
    owner: str | None
    state_run_id: int | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_dict(self, *, result: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "connection": self.connection,
            "trigger": self.trigger,
            "mode": self.mode,
            "status": self.status,
            "created_at": iso_utc(self.created_at),
            "started_at": iso_utc(self.started_at),
            "finished_at": iso_utc(self.finished_at),
            "duration_s": (
                round((self.finished_at - self.started_at).total_seconds(), 3)
                if self.finished_at and self.started_at
                else None
            ),
            "counts": self.counts or {},
            "progress": self.progress,
            "error": self.error,
            "fix": self.fix,
            "cancel_requested": self.cancel_requested,
        }
        if result:
            out["result"] = self.result
        return out


def _select() -> sa.Select[Any]:
    return sa.select(t.runs, t.connections.c.name.label("connection_name")).outerjoin(
        t.connections, t.connections.c.id == t.runs.c.connection_id
    )


def _record(row: Any) -> RunRecord:
    m = row._mapping
    return RunRecord(
        id=m["id"],
        connection_id=m["connection_id"],
        connection=m["connection_name"],
        trigger=m["trigger"],
        mode=m["mode"],
        status=m["status"],
        created_at=as_utc(m["created_at"]) or utc_now(),
        started_at=as_utc(m["started_at"]),
        finished_at=as_utc(m["finished_at"]),
        counts=m["counts"],
        progress=m["progress"],
        result=m["result"],
        error=m["error"],
        fix=m["fix"],
        cancel_requested=bool(m["cancel_requested"]),
        owner=m["owner"],
        state_run_id=m["state_run_id"],
    )


# -- the history ------------------------------------------------------------------------------------


def get_run(ws: Workspace, run_id: int) -> RunRecord:
    with ws.connect() as conn:
        row = conn.execute(_select().where(t.runs.c.id == run_id)).first()
    if row is None:
        raise RunNotFound(f"no run #{run_id}", fix="list them: listingsync runs")
    return _record(row)


def list_runs(
    ws: Workspace,
    *,
    connection: str | None = None,
    statuses: Sequence[str] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[RunRecord]:
    """Newest first; ``before`` (a run id) pages back through the history."""
    query = _select().order_by(t.runs.c.id.desc()).limit(limit)
    if connection is not None:
        query = query.where(t.runs.c.connection_id == get_connection(ws, connection).id)
    if statuses:
        query = query.where(t.runs.c.status.in_(list(statuses)))
    if before is not None:
        query = query.where(t.runs.c.id < before)
    with ws.connect() as conn:
        return [_record(r) for r in conn.execute(query)]


def active_run(ws: Workspace, connection_id: int) -> int | None:
    """The id of the connection's queued or running run, if any."""
    with ws.connect() as conn:
        found = conn.execute(
            sa.select(t.runs.c.id)
            .where(t.runs.c.connection_id == connection_id, t.runs.c.status.in_(ACTIVE))
            .order_by(t.runs.c.id)
            .limit(1)
        ).scalar_one_or_none()
    return int(found) if found is not None else None


def create_run(
    ws: Workspace,
    connection: str | Connection,
    *,
    trigger: str,
    mode: str = "send",
    status: str = "queued",
    error: str | None = None,
    refuse_if_busy: bool = True,
) -> RunRecord:
    """A queued run (hand its id to an executor), or a record of one that was skipped."""
    if mode not in MODES:
        raise ListingSyncError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    conn_obj = connection if isinstance(connection, Connection) else get_connection(ws, connection)
    if status == "queued" and refuse_if_busy:
        busy = active_run(ws, conn_obj.id)
        if busy is not None:
            raise RunBusyError(conn_obj.name, busy)
    now = utc_now()
    with ws.begin() as conn:
        result = conn.execute(
            t.runs.insert().values(
                connection_id=conn_obj.id,
                trigger=trigger,
                mode=mode,
                status=status,
                created_at=now,
                finished_at=now if status in FINISHED else None,
                error=error,
                cancel_requested=False,
                counts={},
            )
        )
        run_id = int(result.inserted_primary_key[0])
    return get_run(ws, run_id)


def cancel_run(ws: Workspace, run_id: int) -> RunRecord:
    """A queued run is cancelled at once; a running one stops at its next heartbeat (its writes in
    flight stay as intents, settled by the next run)."""
    now = utc_now()
    with ws.begin() as conn:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == run_id, t.runs.c.status == "queued")
            .values(
                status="cancelled",
                finished_at=now,
                cancel_requested=True,
                error="cancelled before it started",
            )
        )
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == run_id, t.runs.c.status == "running")
            .values(cancel_requested=True)
        )
    return get_run(ws, run_id)


def prune_runs(ws: Workspace, *, older_than: dt.timedelta, keep: int = 20) -> int:
    """Delete finished runs older than ``older_than``, keeping each connection's ``keep`` newest."""
    cutoff = utc_now() - older_than
    deleted = 0
    with ws.begin() as conn:
        ids = [r[0] for r in conn.execute(sa.select(t.connections.c.id))]
        for cid in ids:
            keep_ids = [
                r[0]
                for r in conn.execute(
                    sa.select(t.runs.c.id)
                    .where(t.runs.c.connection_id == cid)
                    .order_by(t.runs.c.id.desc())
                    .limit(keep)
                )
            ]
            result = conn.execute(
                t.runs.delete().where(
                    t.runs.c.connection_id == cid,
                    t.runs.c.status.in_(FINISHED),
                    t.runs.c.created_at < cutoff,
                    t.runs.c.id.not_in(keep_ids) if keep_ids else sa.true(),
                )
            )
            deleted += result.rowcount
    return deleted


def recover_interrupted(ws: Workspace, *, owner: str | None = None) -> list[RunRecord]:
    """Runs left ``running`` by a process that is gone (crash, ``kill -9``, a heartbeat gone silent) are
    recorded as failed; returns them. The next run of each connection recovers its writes (intents
    settled on Amazon, feeds polled) before it sends anything, exactly as ``sync`` does."""
    owner = owner or owner_id()
    now = utc_now()
    stale = now - dt.timedelta(seconds=STALE_SECONDS)
    found: list[RunRecord] = []
    for run in list_runs(ws, statuses=["running"], limit=10_000):
        heartbeat = None
        with ws.connect() as conn:
            heartbeat = as_utc(
                conn.execute(
                    sa.select(t.runs.c.heartbeat_at).where(t.runs.c.id == run.id)
                ).scalar_one_or_none()
            )
        gone = _process_gone(run.owner) or (heartbeat is not None and heartbeat < stale)
        if not gone or run.owner == owner:
            continue
        with ws.begin() as conn:
            result = conn.execute(
                t.runs.update()
                .where(t.runs.c.id == run.id, t.runs.c.status == "running")
                .values(
                    status="failed",
                    finished_at=now,
                    error=f"interrupted: the process running it ({run.owner}) stopped",
                    fix="nothing to do: the next run of this connection settles its writes with Amazon "
                    "before sending anything",
                )
            )
        if result.rowcount == 1:
            found.append(get_run(ws, run.id))
    return found


# -- the run function -------------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


class _Progress:
    """The engine's progress protocol, kept in memory; the heartbeat writes it to the run row."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {}
        self.notes: list[str] = []

    def phase(self, name: str, description: str, total: int | None = None) -> _Task:
        with self.lock:
            self.state = {"phase": name, "description": description, "done": 0, "total": total}
        return _Task(self)

    def note(self, message: str) -> None:
        with self.lock:
            self.notes.append(message)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.state)


class _Task:
    def __init__(self, progress: _Progress) -> None:
        self._p = progress

    def advance(self, n: int = 1) -> None:
        with self._p.lock:
            self._p.state["done"] = int(self._p.state.get("done") or 0) + n

    def total(self, total: int | None) -> None:
        with self._p.lock:
            self._p.state["total"] = total

    def done(self) -> None:
        with self._p.lock:
            total = self._p.state.get("total")
            if total is not None:
                self._p.state["done"] = total


def execute_run(
    ws: Workspace, run_id: int, *, owner: str | None = None, follow_feeds: bool = True
) -> RunRecord:
    """Execute one queued run of a connection, here, to its end. Safe to call twice.

    ``follow_feeds=False`` (a worker): feeds are submitted and the run is left ``running`` with
    owner :data:`FEEDS_OWNER` while Amazon processes them; :func:`poll_run_feeds` ends it."""
    from listingsync.sync.lock import LockHeldError, acquire_lock

    owner = owner or owner_id()
    now = utc_now()
    with ws.begin() as conn:
        claimed = conn.execute(
            t.runs.update()
            .where(t.runs.c.id == run_id, t.runs.c.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, owner=owner)
        ).rowcount
    if claimed != 1:
        return get_run(ws, run_id)
    run = get_run(ws, run_id)
    try:
        if run.connection_id is None:
            raise ConnectionError("the connection was removed")
        connection = get_connection_by_id(ws, run.connection_id)
    except ConnectionError as exc:
        return _finish(ws, run_id, "failed", error=exc.message, fix=exc.fix)
    try:
        lock = acquire_lock(
            ws.engine, f"run:{connection.name}", purpose=f"run #{run_id} of {connection.name}"
        )
    except LockHeldError as exc:
        return _finish(
            ws,
            run_id,
            "skipped",
            error=f"another run of this connection was still running: {exc.message}",
            fix="nothing to do: the next scheduled run catches up",
        )
    try:
        return _execute(ws, run, connection, follow_feeds)
    finally:
        lock.release()


def _execute(ws: Workspace, run: RunRecord, connection: Connection, follow_feeds: bool = True) -> RunRecord:
    from listingsync.credentials import provided_secrets
    from listingsync.service import alerts, metrics

    progress = _Progress()
    stop = threading.Event()
    loop_holder: dict[str, Any] = {}
    heartbeat = threading.Thread(
        target=_heartbeat,
        args=(ws, run, progress, stop, loop_holder),
        name=f"run-{run.id}-heartbeat",
        daemon=True,
    )
    heartbeat.start()
    try:
        with provided_secrets(_source_secrets(ws, connection)):
            record = asyncio.run(_run_sync(ws, run, connection, progress, loop_holder, follow_feeds))
    except _Cancelled:
        record = _finish(ws, run.id, "cancelled", error="cancelled while running", fix=_INTENTS_FIX)
    except ListingSyncError as exc:
        record = _finish(ws, run.id, "failed", error=redact(exc.message), fix=exc.fix)
    except Exception as exc:  # a bug or an unexpected failure: recorded, never lost
        log.exception("run %s of %s failed", run.id, connection.name)
        record = _finish(
            ws,
            run.id,
            "failed",
            error=redact(f"{type(exc).__name__}: {exc}"),
            fix="this is a listingsync bug if it repeats; the next run recovers any writes in flight",
        )
    finally:
        stop.set()
        heartbeat.join()
    if record.owner == FEEDS_OWNER and not record.finished:
        return record  # the feeds' poll task records the run's end
    metrics.record_run(connection.name, record)
    alerts.notify(ws, connection, record)
    return record


_INTENTS_FIX = "nothing to do: writes in flight were left as intents, which the next run settles"


def _source_secrets(ws: Workspace, connection: Connection) -> dict[str, str]:
    try:
        return connection_secret_env(ws, connection)
    except ListingSyncError:
        return {}


async def _run_sync(
    ws: Workspace,
    run: RunRecord,
    connection: Connection,
    progress: _Progress,
    loop_holder: dict[str, Any],
    follow_feeds: bool = True,
) -> RunRecord:
    from listingsync.amazon import SPAPIClient
    from listingsync.sync.pipeline import run_sync, sync_options
    from listingsync.sync.results import ResultLog

    config = connection.config
    main = asyncio.current_task()
    loop_holder["loop"] = asyncio.get_running_loop()
    loop_holder["task"] = main
    client = None
    try:
        credentials = connection_credentials(ws, connection)
    except ListingSyncError:
        if run.mode != "dry-run":
            raise
        credentials = None  # a dry run plans without Amazon (bundled or cached schemas)
    if credentials is not None:
        client = SPAPIClient.from_account(config.account, credentials, rate_limiter=ws.rate_limiter)
    options = sync_options(config, mode=run.mode, scale=ws.rate_scale)
    options.follow_feeds = follow_feeds
    store = ws.store(connection.name)
    try:
        report, catalog = await run_sync(config, options, client=client, progress=progress, store=store)
    except asyncio.CancelledError:
        raise _Cancelled() from None
    finally:
        if client is not None:
            await client.aclose()
    counts: dict[str, Any] = {
        "plan": {k: v for k, v in report.plan.items() if v},
        "outcomes": report.statuses,
        "requests": report.stats.get("requests", 0),
        "throttled": report.stats.get("throttled", 0),
        "catalog_problems": len(catalog.problems),
        "products": catalog.products,
    }
    if report.recovery is not None and report.recovery.anything:
        counts["recovered"] = {
            "feeds_resumed": report.recovery.feeds_resumed,
            "writes_found_on_amazon": report.recovery.landed,
            "writes_to_resend": report.recovery.resend,
        }
    result = None
    if run.mode != "send":
        data = report.as_dict()
        data.pop("stats", None)
        data["results"] = data["results"][:RESULT_LIMIT]
        result = redact_value(data)
    catalog_errors = [p for p in catalog.problems if p.severity == "error"]
    pending: list[int] = []
    if not follow_feeds and run.mode == "send" and report.run_id is not None:
        pending = [
            f.id
            for f in store.open_feeds()
            if f.run_id == report.run_id and f.state == "submitted" and f.feed_id
        ]
    if pending:
        # The feeds' SKUs are "pending" until their reports are read: not failures (yet). The run
        # is judged on the rest now; the poll task adds what the feeds became.
        in_feeds = {
            (sku, f.marketplace_id)
            for f in store.open_feeds()
            if f.id in pending
            for sku, _ in store.feed_messages(f.id).values()
        }
        kept = ResultLog(
            r for r in report.results if not (r.status == "pending" and (r.sku, r.marketplace_id) in in_feeds)
        )
        outcomes = dict(counts["outcomes"])
        outcomes["pending"] = outcomes.get("pending", 0) - (len(report.results) - len(kept))
        counts["outcomes"] = {k: v for k, v in outcomes.items() if v}
        report = dataclasses.replace(report, results=kept)
    error = fix = None
    if report.exit_code != 0 or catalog_errors:
        error, fix = _partial_reason(connection.name, report, catalog_errors)
    status = "partial" if error else "succeeded"
    if pending:
        counts["feeds"] = {"pending": len(pending), "outcomes": {}, "sent_verdict": [status, error, fix]}
        assert report.run_id is not None
        return _await_feeds(ws, run.id, counts, result, report.run_id, options.feed_limits.poll_initial)
    return _finish(
        ws, run.id, status, counts=counts, result=result, error=error, fix=fix, state_run_id=report.run_id
    )


def _lease(next_poll: float) -> dt.datetime:
    """The heartbeat that keeps a run awaiting its feeds alive until its next poll is overdue by
    :data:`FEEDS_GRACE` (``recover_interrupted`` takes a heartbeat older than STALE_SECONDS for dead)."""
    return utc_now() + dt.timedelta(seconds=next_poll + FEEDS_GRACE - STALE_SECONDS)


def _await_feeds(
    ws: Workspace,
    run_id: int,
    counts: dict[str, Any],
    result: dict[str, Any] | None,
    state_run_id: int,
    first_poll: float,
) -> RunRecord:
    values: dict[str, Any] = {
        "owner": FEEDS_OWNER,
        "heartbeat_at": _lease(first_poll),
        "counts": counts,
        "state_run_id": state_run_id,
        "progress": {"phase": "feed", "description": "Amazon is processing the feeds"},
    }
    if result is not None:
        values["result"] = result
    with ws.begin() as conn:
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**values))
    return get_run(ws, run_id)


def feed_poll_delay(ws: Workspace, run: RunRecord, polls: int) -> float:
    """Seconds before the next look at a run's feeds: the in-process poller's schedule (15 s, then
    x1.5 up to 2 minutes; faster on an emulator's scaled clock)."""
    from listingsync.sync.pipeline import sync_options

    if run.connection_id is None:
        return 0.0
    config = get_connection_by_id(ws, run.connection_id).config
    limits = sync_options(config, scale=ws.rate_scale).feed_limits
    return float(min(limits.poll_initial * limits.poll_factor**polls, limits.poll_max))


def poll_run_feeds(ws: Workspace, run_id: int, *, next_poll: float) -> bool:
    """One getFeed per feed a run left with Amazon; records those Amazon finished. When all are,
    ends the run as the embedded executor would have and returns False; True while some are still
    processing: the run's lease is then extended past ``next_poll`` seconds (the caller comes back
    then). Raises :class:`~listingsync.sync.lock.LockHeldError` when a sync holds the connection's
    state (its recovery follows the feeds itself: look again later)."""
    from listingsync.service import alerts, metrics

    run = get_run(ws, run_id)
    if run.finished or run.owner != FEEDS_OWNER or run.state_run_id is None:
        return False  # ended, or taken for dead and recovered by another run
    if run.connection_id is None:
        _finish(ws, run_id, "failed", error="the connection was removed", fix=_INTENTS_FIX)
        return False
    connection = get_connection_by_id(ws, run.connection_id)
    counts = dict(run.counts or {})
    feeds = dict(counts.get("feeds") or {})
    if run.cancel_requested:
        record = _finish(
            ws, run_id, "cancelled", error="cancelled while Amazon processed its feeds", fix=_FEEDS_FIX
        )
    else:
        left, outcomes, first_failure = asyncio.run(_poll_feeds(ws, connection, run.state_run_id))
        merged: dict[str, int] = dict(feeds.get("outcomes") or {})
        for kind, n in outcomes.items():
            merged[kind] = merged.get(kind, 0) + n
        feeds["outcomes"] = merged
        feeds["pending"] = left
        if first_failure and not feeds.get("first_failure"):
            feeds["first_failure"] = first_failure
        counts["feeds"] = feeds
        if left:
            with ws.begin() as conn:
                conn.execute(
                    t.runs.update()
                    .where(t.runs.c.id == run_id, t.runs.c.owner == FEEDS_OWNER)
                    .values(heartbeat_at=_lease(next_poll), counts=counts)
                )
            return True
        record = _end_after_feeds(ws, run, connection, counts)
    metrics.record_run(connection.name, record)
    alerts.notify(ws, connection, record)
    return False


_FEEDS_FIX = "nothing to do: the next run of this connection records what Amazon made of its feeds"


def _end_after_feeds(
    ws: Workspace, run: RunRecord, connection: Connection, counts: dict[str, Any]
) -> RunRecord:
    feeds = counts["feeds"]
    status, error, fix = feeds.pop("sent_verdict", ["succeeded", None, None])
    outcomes = dict(counts.get("outcomes") or {})
    for kind, n in feeds["outcomes"].items():
        outcomes[kind] = outcomes.get(kind, 0) + n
    counts["outcomes"] = outcomes
    failed = sum(n for kind, n in feeds["outcomes"].items() if kind in ("invalid", "error"))
    if failed:
        first = feeds.get("first_failure") or ""
        note = f"{failed} listing(s) failed in Amazon's processing of the feeds" + (
            f"; first: {first}" if first else ""
        )
        error = f"{error}; {note}" if error else note
        fix = fix or (
            f"see each SKU's issues with their fix (listingsync issues --connection {connection.name}, or "
            f"GET /api/v1/connections/{connection.name}/issues); correct the catalogue or the mapping and "
            "the next run sends them"
        )
        status = "partial"
    return _finish(ws, run.id, status, counts=counts, error=redact(error) if error else None, fix=fix)


async def _poll_feeds(
    ws: Workspace, connection: Connection, state_run_id: int
) -> tuple[int, dict[str, int], str | None]:
    """Feeds still processing, the outcomes of those that ended now, the first failed SKU."""
    from listingsync.amazon import SPAPIClient
    from listingsync.sync.feeds import FeedExecutor
    from listingsync.sync.lock import acquire_lock
    from listingsync.sync.pipeline import SYNC_LOCK, sync_options

    config = connection.config
    store = ws.store(connection.name)
    client = SPAPIClient.from_account(
        config.account, connection_credentials(ws, connection), rate_limiter=ws.rate_limiter
    )
    limits = sync_options(config, scale=ws.rate_scale).feed_limits
    left, first = 0, None
    outcomes: dict[str, int] = {}
    try:
        lock = acquire_lock(store.engine, f"{SYNC_LOCK}:{store.scope}", purpose="feed polling", wait=0)
        try:
            executor = FeedExecutor(
                client, store, config.account.selling_partner_id, run_id=state_run_id, limits=limits
            )
            for record in store.open_feeds():
                if record.run_id != state_run_id or record.state != "submitted" or not record.feed_id:
                    continue
                done = await executor.poll(record)
                if done is None:
                    left += 1
                    continue
                if done.processing_status != "DONE":
                    outcomes["error"] = outcomes.get("error", 0) + done.messages
                    first = first or f"feed {done.feed_id} ended {done.processing_status}"
                for kind, count in done.kinds.items():
                    outcomes[kind] = outcomes.get(kind, 0) + count
                message = done.first_invalid
                if message is not None and first is None:
                    issue = message.issues[0] if message.issues else {}
                    first = (
                        f"{message.sku} ({done.marketplace_id}) {issue.get('code', '')} "
                        f"{issue.get('message', '')}"
                    ).rstrip()
        finally:
            lock.release()
    finally:
        await client.aclose()
    return left, outcomes, first


def _partial_reason(name: str, report: Any, catalog_errors: list[Any]) -> tuple[str, str]:
    parts = []
    # Counted, not listed: a big run's results stream from disk (sync.results).
    failed, first = 0, None
    for r in report.results:
        if r.status in ("invalid", "error"):
            failed += 1
            first = first or r
    if first is not None:
        issue = first.issues[0] if first.issues else {}
        parts.append(
            f"{failed} listing(s) failed; first: {first.sku} ({first.marketplace_id}) "
            f"{issue.get('code', '')} {issue.get('message', '')}".rstrip()
        )
    if catalog_errors:
        parts.append(
            f"{len(catalog_errors)} catalogue record(s) could not be read; first: {catalog_errors[0]}"
        )
    if report.refused:
        parts.append(report.refused)
    fix = (
        f"see each SKU's issues with their fix (listingsync issues --connection {name}, or "
        f"GET /api/v1/connections/{name}/issues); correct the catalogue or the mapping and the next run "
        "sends them"
    )
    return redact("; ".join(parts) or "some listings failed"), fix


def _finish(
    ws: Workspace,
    run_id: int,
    status: str,
    *,
    error: str | None = None,
    fix: str | None = None,
    counts: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    state_run_id: int | None = None,
) -> RunRecord:
    values: dict[str, Any] = {"status": status, "finished_at": utc_now(), "error": error, "fix": fix}
    if counts is not None:
        values["counts"] = counts
    if result is not None:
        values["result"] = result
    if state_run_id is not None:
        values["state_run_id"] = state_run_id
    with ws.begin() as conn:
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**values))
    return get_run(ws, run_id)


def _heartbeat(
    ws: Workspace, run: RunRecord, progress: _Progress, stop: threading.Event, loop_holder: dict[str, Any]
) -> None:
    """Write the heartbeat and the progress, and cancel the run's task when asked to."""
    cancelled = False
    while not stop.wait(HEARTBEAT_SECONDS):
        now = utc_now()
        try:
            with ws.begin() as conn:
                conn.execute(
                    t.runs.update()
                    # Not once the run is handed to its feeds: their lease is longer than a beat.
                    .where(t.runs.c.id == run.id, sa.func.coalesce(t.runs.c.owner, "") != FEEDS_OWNER)
                    .values(heartbeat_at=now, progress=progress.snapshot())
                )
                wanted = conn.execute(
                    sa.select(t.runs.c.cancel_requested).where(t.runs.c.id == run.id)
                ).scalar_one_or_none()
        except Exception:  # a busy database must not kill the run; the next beat retries
            log.warning("run %s: heartbeat failed", run.id, exc_info=True)
            continue
        if wanted and not cancelled:
            loop, task = loop_holder.get("loop"), loop_holder.get("task")
            if loop is not None and task is not None:
                cancelled = True
                loop.call_soon_threadsafe(task.cancel)
