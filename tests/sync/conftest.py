"""State store fixtures: every store test runs on SQLite and, where configured, PostgreSQL.

``LISTINGSYNC_TEST_POSTGRES`` names the server (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test);
``LISTINGSYNC_REQUIRE_POSTGRES=1`` turns a missing server into a failure instead of a skip. Each
test gets its own PostgreSQL schema (through ``search_path``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from listingsync.sync.store import StateStore


def _postgres_url() -> str | None:
    return os.environ.get("LISTINGSYNC_TEST_POSTGRES") or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = _postgres_url()
    if url is None:
        if os.environ.get("LISTINGSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail("LISTINGSYNC_REQUIRE_POSTGRES=1 but LISTINGSYNC_TEST_POSTGRES is not set")
        pytest.skip("set LISTINGSYNC_TEST_POSTGRES to run the PostgreSQL variant")
    schema = f"ls_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        # Required in CI: an unreachable server is a failure, never a silent skip.
        if os.environ.get("LISTINGSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {url} is not reachable: {exc.orig}")
        pytest.skip(f"PostgreSQL at {url} is not reachable")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    s = StateStore.open(state_url)
    try:
        yield s
    finally:
        s.close()
