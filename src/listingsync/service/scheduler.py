"""The scheduler: decides *what* runs *when* (schedules, change triggers); an executor decides where.

``tick(now)`` is the whole of it, driven by ``serve`` once a second with the real clock and by tests
with any clock they like. Per enabled connection with a ``schedule:``:

- **due**: ``next_run_at`` passed → the next due time is set by compare-and-set (so of two
  schedulers sharing a database only one fires) and a run is queued, or, when the connection's
  previous run is still queued or running, a ``skipped`` run is recorded instead;
- **watch**: every ``watch`` seconds the source is looked at; a file whose content changed, or a
  Sales Layer connector whose incremental export since the last checkpoint brings a record, queues a
  run with trigger ``change``;
- **jitter**: each connection runs at a fixed offset in ``[0, jitter)`` from its due times, derived
  from its name, so connections on the same schedule do not all start at once.

A tick also records runs whose process died as failed (``recover_interrupted``) and, hourly,
prunes old runs (``retention``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from listingsync.config import Config, ScheduleConfig
from listingsync.errors import ListingSyncError
from listingsync.service import tables as t
from listingsync.service.connections import connection_secret_env, get_connection_by_id
from listingsync.service.executor import Executor
from listingsync.service.runs import active_run, create_run, prune_runs, recover_interrupted
from listingsync.service.utc import as_utc, utc_now
from listingsync.service.workspace import Workspace

__all__ = ["Scheduler", "TickReport", "jitter_offset", "next_due", "source_fingerprint"]

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(slots=True)
class TickReport:
    queued: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    #: Connections whose source was looked at for changes.
    watched: list[str] = field(default_factory=list)


def jitter_offset(name: str, jitter: float) -> float:
    """A fixed offset in ``[0, jitter)`` seconds for this connection (the same in every process)."""
    if jitter <= 0:
        return 0.0
    fraction = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2**64
    return fraction * jitter


def next_due(
    schedule: ScheduleConfig, name: str, now: dt.datetime, previous: dt.datetime | None
) -> dt.datetime:
    """When the connection is due next after ``now`` (``previous``: the due time just reached)."""
    offset = dt.timedelta(seconds=jitter_offset(name, schedule.jitter_seconds))
    if schedule.every is not None:
        every = dt.timedelta(seconds=schedule.every)
        if previous is None:
            return now + offset  # a new connection runs soon, then every interval
        following = previous + every
        # Behind (the service was down): run once now, then keep the interval from here.
        return following if following > now else now + every
    assert schedule.cron is not None
    from croniter import croniter

    base = now - offset
    at: dt.datetime = croniter(schedule.cron, base).get_next(dt.datetime)
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) + offset


def source_fingerprint(config: Config, secrets: dict[str, str], checkpoint: str | None) -> str | None:
    """What the source looks like now: a file's size, mtime and SHA-256; for Sales Layer, whether an
    incremental export since ``checkpoint`` brings anything (``None``: could not be looked at)."""
    settings = config.source
    if settings is None:
        return None
    if settings.type == "saleslayer":
        if checkpoint is None:
            return "saleslayer:never-synced"
        from listingsync.catalog import open_source
        from listingsync.credentials import provided_secrets

        with provided_secrets(secrets):
            source = open_source(config)
            try:
                changed = next(iter(source.records(since=checkpoint)), None) is not None
            finally:
                source.close()
        return f"saleslayer:{checkpoint}:{'changed' if changed else 'same'}"
    assert settings.path is not None
    path: Path = config.resolve_path(settings.path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return f"file:{digest}"


class Scheduler:
    def __init__(
        self,
        ws: Workspace,
        executor: Executor,
        *,
        clock: Clock = utc_now,
        retention: dt.timedelta = dt.timedelta(days=30),
    ) -> None:
        self.ws = ws
        self.executor = executor
        self.clock = clock
        self.retention = retention
        self._configs: dict[tuple[int, Any], Config | None] = {}
        self._pruned_at: dt.datetime | None = None

    def _schedule(self, row: Any) -> ScheduleConfig | None:
        """The connection's schedule, parsed once per version of its document (a tick reads no document)."""
        key = (row.id, row.updated_at)
        if key not in self._configs:
            try:
                self._configs[key] = get_connection_by_id(self.ws, row.id).config
            except ListingSyncError as exc:
                log.warning(
                    "connection %s: its config is not usable (%s); not scheduled", row.name, exc.message
                )
                self._configs[key] = None
        config = self._configs[key]
        return config.schedule if config is not None else None

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        now = now or self.clock()
        report = TickReport()
        recover_interrupted(self.ws)
        c = t.connections.c
        with self.ws.connect() as conn:
            rows = conn.execute(
                sa.select(
                    c.id,
                    c.name,
                    c.updated_at,
                    c.next_run_at,
                    c.next_watch_at,
                    c.source_fingerprint,
                )
                .where(c.enabled.is_(True))
                .order_by(c.id)
            ).all()
        for row in rows:
            schedule = self._schedule(row)
            if schedule is None:
                continue
            try:
                self._due(row, schedule, now, report)
                if schedule.watch is not None:
                    self._watch(row, schedule, now, report)
            except Exception:  # one connection's trouble never stops the others
                log.exception("scheduling connection %s failed", row.name)
        if self._pruned_at is None or now - self._pruned_at > dt.timedelta(hours=1):
            self._pruned_at = now
            prune_runs(self.ws, older_than=self.retention)
        return report

    def _cas(self, column: str, row_id: int, old: dt.datetime | None, new: dt.datetime) -> bool:
        c = t.connections.c
        col = c[column]
        match = col.is_(None) if old is None else col == old
        with self.ws.begin() as conn:
            result = conn.execute(t.connections.update().where(c.id == row_id, match).values({column: new}))
        return bool(result.rowcount == 1)

    def _due(self, row: Any, schedule: ScheduleConfig, now: dt.datetime, report: TickReport) -> None:
        if schedule.every is None and schedule.cron is None:
            return
        due = as_utc(row.next_run_at)
        if due is None:
            self._cas("next_run_at", row.id, row.next_run_at, next_due(schedule, row.name, now, None))
            return
        if now < due:
            return
        if self._cas("next_run_at", row.id, row.next_run_at, next_due(schedule, row.name, now, due)):
            self._fire(row, "schedule", report)

    def _watch(self, row: Any, schedule: ScheduleConfig, now: dt.datetime, report: TickReport) -> None:
        assert schedule.watch is not None
        due = as_utc(row.next_watch_at)
        if due is not None and now < due:
            return
        if not self._cas(
            "next_watch_at", row.id, row.next_watch_at, now + dt.timedelta(seconds=schedule.watch)
        ):
            return
        report.watched.append(row.name)
        connection = get_connection_by_id(self.ws, row.id)
        checkpoint = self.ws.store(row.name).checkpoint()
        seen = source_fingerprint(connection.config, connection_secret_env(self.ws, connection), checkpoint)
        if seen is None or seen == row.source_fingerprint:
            return
        with self.ws.begin() as conn:
            conn.execute(
                t.connections.update().where(t.connections.c.id == row.id).values(source_fingerprint=seen)
            )
        first_look = row.source_fingerprint is None
        timed = schedule.every is not None or schedule.cron is not None
        if (first_look and timed) or seen.endswith(":same"):
            return  # the timed schedule makes the first run; an unchanged Sales Layer export is no change
        self._fire(row, "change", report)

    def _fire(self, row: Any, trigger: str, report: TickReport) -> None:
        connection = get_connection_by_id(self.ws, row.id)
        busy = active_run(self.ws, row.id)
        if busy is not None:
            skipped = create_run(
                self.ws,
                connection,
                trigger=trigger,
                status="skipped",
                error=f"run #{busy} of this connection was still queued or running at this tick",
            )
            report.skipped.append(skipped.id)
            return
        run = create_run(self.ws, connection, trigger=trigger, refuse_if_busy=False)
        report.queued.append(run.id)
        self.executor.submit(run.id)
