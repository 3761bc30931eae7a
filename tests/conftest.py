"""Shared fixtures. ``emulator``: a running local SP-API, fresh state for every test;
``postgres_schema``: a fresh schema on the PostgreSQL server named by ``LISTINGSYNC_TEST_POSTGRES``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread

#: A soak's bound: the default 300 s detects a hang in a normal test, but a soak takes 150 s and more
#: on a loaded 2-core machine (test_stop's SIGINT case ran past 300 s in the loaded make test loop).
SOAK_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("soak") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SOAK_TIMEOUT))


@pytest.fixture(scope="session")
def _emulator_session() -> Iterator[EmulatorServer]:
    # Real rate-limit code, refilled 1000x faster so tests are not paced by Amazon's 5 rps; tests
    # about limits or faults start their own server with run_in_thread(EmulatorSettings(...)).
    with run_in_thread(EmulatorSettings(rate_scale=1000.0)) as server:
        yield server


@pytest.fixture
def emulator(_emulator_session: EmulatorServer) -> EmulatorServer:
    """The shared emulator, reset for this test (listings, counters, write log, feeds, buckets);
    access tokens issued earlier stay valid, so session-wide clients keep working.

    ``emulator.url``, ``emulator.endpoint("eu")``, ``emulator.lwa_url``, ``emulator.state``; demo
    accounts: vendor DEMOV (EU) and seller A3DEMOSELLER01 (NA), see ``listingsync.emulator``.
    """
    _emulator_session.reset(keep_tokens=True)
    return _emulator_session


@pytest.fixture
def postgres_schema() -> Iterator[Callable[[str], str]]:
    """``postgres_schema(prefix)``: a new schema, as a database URL whose ``search_path`` is that
    schema; every schema made is dropped after the test.

    ``LISTINGSYNC_TEST_POSTGRES`` names the server (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test).
    Without it the test is skipped; with ``LISTINGSYNC_REQUIRE_POSTGRES=1`` (CI) a missing or
    unreachable server is a failure, never a silent skip.
    """
    url = os.environ.get("LISTINGSYNC_TEST_POSTGRES")
    required = os.environ.get("LISTINGSYNC_REQUIRE_POSTGRES") == "1"
    if not url:
        if required:
            pytest.fail("LISTINGSYNC_REQUIRE_POSTGRES=1 but LISTINGSYNC_TEST_POSTGRES is not set")
        pytest.skip("set LISTINGSYNC_TEST_POSTGRES to run the PostgreSQL variant")
    admin = sa.create_engine(url)
    made: list[str] = []

    def new(prefix: str) -> str:
        schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        except sa.exc.OperationalError as exc:
            if required:
                pytest.fail(f"PostgreSQL at {url} is not reachable: {exc.orig}")
            pytest.skip(f"PostgreSQL at {url} is not reachable")
        made.append(schema)
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

    try:
        yield new
    finally:
        if made:
            with admin.begin() as conn:
                for schema in made:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
