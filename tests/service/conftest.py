"""Service fixtures: a workspace (SQLite, and PostgreSQL where configured) and two connections on the
emulator's built-in accounts (vendor DEMOV in EU, seller A3DEMOSELLER01 in NA), each with its own
small catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from listingsync.service import Workspace


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("LISTINGSYNC_KEYRING", "off")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workspace.db'}"
        return
    yield request.getfixturevalue("postgres_schema")("ls_svc")


@pytest.fixture
def workspace(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(db_url, directory=tmp_path, rate_scale=1000.0)
    try:
        yield ws
    finally:
        ws.close()
