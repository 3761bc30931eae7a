"""``listingsync worker``: a Celery worker that takes account syncs and catalogue slices off a broker."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from listingsync.cli.common import fail
from listingsync.errors import ListingSyncError

__all__ = ["worker"]


def worker(
    broker: Annotated[
        str | None, typer.Option("--broker", help="Broker URL (default: $LISTINGSYNC_BROKER_URL).")
    ] = None,
    limiter: Annotated[
        str | None,
        typer.Option(
            "--limiter",
            help="Redis URL of the shared rate limiter (default: $LISTINGSYNC_LIMITER_URL or the Redis broker).",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="The workspace database whose runs `serve --broker` queues (default: $LISTINGSYNC_DB, "
            "else serve's default).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Worker processes (default: CPUs).")
    ] = None,
    queues: Annotated[
        str | None, typer.Option("--queues", help="Comma-separated queue suffixes to consume: runs, chunks.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Node name, unique per worker (default: listingsync-<pid>@<host>)."),
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker: account syncs and catalogue slices, taken off a broker (Redis or RabbitMQ).

    BROKER: --broker or $LISTINGSYNC_BROKER_URL, e.g. redis://127.0.0.1:6379/0 or
    amqp://guest:guest@127.0.0.1:5672// (RabbitMQ). Every worker and whatever enqueues (serve
    --broker, a script) must name the same broker.

    RATE LIMITS: one limiter for the whole cluster, in Redis: --limiter or $LISTINGSYNC_LIMITER_URL,
    else the broker when it is Redis. With a RabbitMQ broker and no --limiter each worker paces on
    its own, and two workers syncing one account may together exceed Amazon's limits.

    RUNS: `serve --broker URL` queues each run of a connection; the worker executes it on the
    workspace database named by --db (the same as serve's; LISTINGSYNC_SECRET_KEY must be the same
    too, to unseal the connections' credentials).

    QUEUES (prefix $LISTINGSYNC_QUEUE_PREFIX, default 'listingsync'): listingsync.runs takes one
    task per run or account sync (read, map, validate, send, reconcile), rate-bound, so throughput
    grows with the accounts in flight, and the feed polling tasks; listingsync.chunks takes slices of a catalogue to map and validate
    (CPU-bound). A worker consumes both unless --queues names some (a CPU-only machine: --queues
    chunks).

    CONCURRENCY: --concurrency N worker processes (default: the number of CPUs), each running one
    task at a time. A sync holds its slot while its account's rate paces it, so for many accounts
    give more slots than cores; for catalogue slices, one per core.

    CRASH SAFETY: a task is acknowledged after it finishes and given back when its worker dies; the
    worker that takes it over finishes what the dead one left through the state database's
    write-ahead intents (nothing is sent twice), under the state database's run lock (PostgreSQL:
    an advisory lock the server frees when the holder dies). Give every account PostgreSQL state
    (state: postgresql+psycopg://...) when workers run on several machines.
    """
    try:
        from listingsync.worker.app import QUEUES, WorkerSettings, make_app
    except ImportError as exc:
        fail(
            ListingSyncError(
                f"the worker needs Celery and redis-py ({exc.name} is missing)",
                fix="pip install 'listingsync[worker]'",
            )
        )
    try:
        settings = WorkerSettings.from_env(broker, limiter, db)
    except ListingSyncError as exc:
        fail(exc)
    wanted = [q.strip() for q in (queues or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown or not wanted:
        fail(
            ListingSyncError(
                f"unknown queue(s) {', '.join(unknown) or '(none)'}",
                where="--queues",
                fix=f"use {', '.join(QUEUES)}",
            )
        )
    # Node names must differ between workers on one host (Celery's default, celery@host, does not).
    node = name or f"listingsync-{os.getpid()}@%h"
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--hostname={node}",
        "--queues=" + ",".join(f"{settings.prefix}.{q}" for q in wanted),
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    # One line per HTTP request drowns the task log; warnings and errors still show.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    make_app(settings).worker_main(argv)
