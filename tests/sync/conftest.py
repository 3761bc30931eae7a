"""State store fixtures: every store test runs on SQLite and, where configured, PostgreSQL.

``LISTINGSYNC_TEST_POSTGRES`` names the server (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test);
``LISTINGSYNC_REQUIRE_POSTGRES=1`` turns a missing server into a failure instead of a skip. Each
test gets its own PostgreSQL schema (through ``search_path``), dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from listingsync.sync.store import StateStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    yield request.getfixturevalue("postgres_schema")("ls_test")


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    s = StateStore.open(state_url)
    try:
        yield s
    finally:
        s.close()
