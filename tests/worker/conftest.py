"""Cluster fixtures: the real Redis, RabbitMQ and PostgreSQL, worker processes started per test.

Each test gets its own queue prefix (so concurrent test runs never take each other's tasks), its own
Redis key prefix for the rate limiter and its own PostgreSQL schemas. ``LISTINGSYNC_REQUIRE_REDIS`` /
``LISTINGSYNC_REQUIRE_RABBITMQ`` / ``LISTINGSYNC_REQUIRE_POSTGRES`` = 1 (CI) turn a missing service
into a failure instead of a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from listingsync.worker.app import WorkerSettings, delete_queues, make_app

redis = pytest.importorskip("redis")
kombu = pytest.importorskip("kombu")

REDIS_URL = os.environ.get("LISTINGSYNC_TEST_REDIS", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("LISTINGSYNC_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//")


def _unreachable(what: str, env: str, exc: Exception) -> None:
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is not reachable: {exc}")
    pytest.skip(f"{what} is not reachable: {exc}")


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    """Redis, RabbitMQ and PostgreSQL, checked once."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        _unreachable(f"Redis at {REDIS_URL}", "LISTINGSYNC_REQUIRE_REDIS", exc)
    try:
        with kombu.Connection(AMQP_URL, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        _unreachable(f"RabbitMQ at {AMQP_URL}", "LISTINGSYNC_REQUIRE_RABBITMQ", exc)
    pg = os.environ.get("LISTINGSYNC_TEST_POSTGRES")
    if not pg:
        _unreachable(
            "PostgreSQL", "LISTINGSYNC_REQUIRE_POSTGRES", RuntimeError("LISTINGSYNC_TEST_POSTGRES is unset")
        )
    return {"redis": REDIS_URL, "amqp": AMQP_URL, "postgres": pg or ""}


@pytest.fixture
def pg_schemas(services: dict[str, str]) -> Iterator[list[str]]:
    """Call ``new()``-style: append names to get state URLs; every schema is dropped afterwards."""
    made: list[str] = []
    yield made
    admin = sa.create_engine(services["postgres"])
    with admin.begin() as conn:
        for schema in made:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def pg_state_url(base: str, made: list[str]) -> str:
    """A fresh PostgreSQL schema as a ``state:`` URL (``search_path``)."""
    schema = f"ls_wtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    made.append(schema)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def worker_processes(
    count: int,
    *,
    broker: str,
    limiter: str,
    prefix: str,
    env: dict[str, str],
    concurrency: int = 1,
    db: str | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``listingsync worker`` × ``count``, each in its own process group (so kill -9 takes all of it)."""
    argv = [sys.executable, "-m", "listingsync", "worker", "--broker", broker, "--limiter", limiter]
    argv += ["--concurrency", str(concurrency), "--loglevel", "INFO"] + (["--db", db] if db else [])
    procs = []
    for i in range(count):
        log = open(Path(env["WORKER_LOG_DIR"]) / f"worker{i}.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                argv,
                env={**env, "LISTINGSYNC_QUEUE_PREFIX": prefix},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        yield procs
    finally:
        settings = WorkerSettings(broker=broker, limiter=limiter, prefix=prefix)
        delete_queues(make_app(settings), settings)
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
