"""The Celery app: broker, queues and the settings that make a killed worker lose nothing.

Queues (prefixed by ``LISTINGSYNC_QUEUE_PREFIX``, default ``listingsync``):

- ``<prefix>.runs``: one task per account sync (read, map, validate, send, reconcile). Sending is
  bound by Amazon's per-account rate, so throughput grows with the number of accounts in flight:
  every worker slot takes one account, and the shared Redis limiter keeps each account's requests
  within its own buckets whichever worker sends them.
- ``<prefix>.chunks``: CPU work in slices of a catalogue (map and validate records N..M); more
  worker processes, on more cores or machines, validate a big catalogue faster.

Crash semantics: tasks are acknowledged *after* they finish (``acks_late``) and given back to the
broker when their worker process dies (``task_reject_on_worker_lost``); a worker takes one message
at a time (prefetch 1), so a kill -9 strands at most what it was running. A redelivered sync is safe
to run again: the state database's write-ahead intents tell the new worker what was sent
(``recover()`` looks those up on Amazon instead of sending again), and a PostgreSQL advisory lock per
account (held by the running worker's connection, released by the server when that connection dies)
keeps two workers off one account.

RabbitMQ gives an unacknowledged message back as soon as the dead worker's connection closes. Redis
gives it back after ``visibility_timeout`` (here ``LISTINGSYNC_VISIBILITY_TIMEOUT``, default 600 s);
a run still going then is not doubled (the second copy waits for the account lock, then finds
nothing left to send).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any

from celery import Celery

from listingsync.errors import ListingSyncError

__all__ = [
    "BROKER_ENV",
    "LIMITER_ENV",
    "QUEUES",
    "WorkerSettings",
    "delete_queues",
    "make_app",
    "queue_depths",
    "queue_names",
]

BROKER_ENV = "LISTINGSYNC_BROKER_URL"
LIMITER_ENV = "LISTINGSYNC_LIMITER_URL"
PREFIX_ENV = "LISTINGSYNC_QUEUE_PREFIX"
VISIBILITY_ENV = "LISTINGSYNC_VISIBILITY_TIMEOUT"

#: Queue suffixes and what runs there.
QUEUES = {
    "runs": "account syncs: read, map, validate, send, reconcile (rate-bound, one account per slot)",
    "chunks": "slices of a catalogue to map and validate (CPU-bound)",
}

#: Every task by the queue it goes to.
ROUTES = {
    "listingsync.execute_run": "runs",
    "listingsync.sync_account": "runs",
    "listingsync.poll_feeds": "runs",
    "listingsync.poll_run_feeds": "runs",
    "listingsync.validate_chunk": "chunks",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Where the cluster's services are. ``limiter`` is the Redis of the shared rate limiter."""

    broker: str
    limiter: str | None = None
    #: The service's workspace database (``--db`` / ``LISTINGSYNC_DB``) for runs queued by ``serve``.
    db: str | None = None
    prefix: str = "listingsync"
    visibility_timeout: int = 600

    @classmethod
    def from_env(
        cls, broker: str | None = None, limiter: str | None = None, db: str | None = None
    ) -> WorkerSettings:
        """Arguments first, then ``LISTINGSYNC_BROKER_URL`` / ``LISTINGSYNC_LIMITER_URL``.

        Without a limiter URL, a Redis broker doubles as the limiter's Redis.
        """
        broker = broker or os.environ.get(BROKER_ENV) or ""
        if not broker:
            raise ListingSyncError(
                "no broker is configured",
                where=f"--broker / ${BROKER_ENV}",
                fix="pass --broker redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672// "
                f"(or set {BROKER_ENV})",
            )
        if not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")):
            raise ListingSyncError(
                f"unsupported broker URL scheme in {broker.split('://', 1)[0]!r}",
                where=f"--broker / ${BROKER_ENV}",
                fix="use a redis:// (Redis) or amqp:// (RabbitMQ) URL",
            )
        limiter = limiter or os.environ.get(LIMITER_ENV) or None
        if limiter is None and broker.startswith(("redis://", "rediss://")):
            limiter = broker
        raw_timeout = os.environ.get(VISIBILITY_ENV, "600")
        try:
            timeout = int(raw_timeout)
        except ValueError:
            raise ListingSyncError(
                f"{VISIBILITY_ENV}={raw_timeout!r} is not a whole number of seconds", fix="e.g. 600"
            ) from None
        prefix = os.environ.get(PREFIX_ENV) or "listingsync"
        db = db or os.environ.get("LISTINGSYNC_DB") or None
        return cls(broker=broker, limiter=limiter, db=db, prefix=prefix, visibility_timeout=timeout)


def queue_names(prefix: str) -> list[str]:
    return [f"{prefix}.{suffix}" for suffix in QUEUES]


def queue_depths(celery: Celery, settings: WorkerSettings) -> dict[str, int]:
    """Messages waiting in each of the cluster's queues, as the broker counts them (a queue nobody
    declared yet counts 0; an unreachable broker gives an empty answer and a warning)."""
    out: dict[str, int] = {}
    try:
        with celery.connection_for_read() as conn:
            for name in queue_names(settings.prefix):
                # A channel per queue: RabbitMQ closes the channel of a passive declare that fails.
                channel: Any = conn.channel()  # kombu's stubs know only the abstract channel
                try:
                    out[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except conn.channel_errors:
                    out[name] = 0
                finally:
                    with contextlib.suppress(*conn.channel_errors, *conn.connection_errors):
                        channel.close()
    except Exception as exc:  # a metrics scrape must not fail with the broker
        log.warning("cannot read the queue depths from the broker: %s", type(exc).__name__)
        return {}
    return out


def delete_queues(celery: Celery, settings: WorkerSettings) -> None:
    """Remove the cluster's queues from the broker (tests and benchmarks clean up after themselves)."""
    with celery.connection_for_write() as conn:
        for name in queue_names(settings.prefix):
            channel: Any = conn.channel()
            try:
                channel.queue_delete(queue=name)
            except conn.channel_errors:
                pass
            finally:
                with contextlib.suppress(*conn.channel_errors, *conn.connection_errors):
                    channel.close()


def make_app(settings: WorkerSettings) -> Celery:
    """A Celery app for these services, made the current one: the tasks (``shared_task``) are sent
    through it and a worker started from it runs them. A new app each time, because a Celery app
    keeps its first broker connection whatever its configuration says later."""
    app = Celery("listingsync", include=["listingsync.worker.tasks"])
    app.conf.update(_config(settings))
    app.set_default()
    return app


def _config(settings: WorkerSettings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker,
        # Results tell the enqueuer (serve, a script) how each account's sync ended. Redis when there
        # is one; otherwise RabbitMQ's reply queues.
        "result_backend": settings.limiter or "rpc://",
        "result_expires": 7 * 24 * 3600,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "task_default_queue": f"{settings.prefix}.runs",
        "task_routes": {name: {"queue": f"{settings.prefix}.{q}"} for name, q in ROUTES.items()},
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "listingsync_limiter_url": settings.limiter,
        "listingsync_db_url": settings.db,
        "listingsync_queue_prefix": settings.prefix,
    }
