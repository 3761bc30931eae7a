"""Service fixtures: a workspace (SQLite, and PostgreSQL where configured) and two connections on the
emulator's built-in accounts (vendor DEMOV in EU, seller A3DEMOSELLER01 in NA), each with its own
small catalogue."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
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
    url = os.environ.get("LISTINGSYNC_TEST_POSTGRES")
    if not url:
        if os.environ.get("LISTINGSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail("LISTINGSYNC_REQUIRE_POSTGRES=1 but LISTINGSYNC_TEST_POSTGRES is not set")
        pytest.skip("set LISTINGSYNC_TEST_POSTGRES to run the PostgreSQL variant")
    schema = f"ls_svc_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def workspace(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(db_url, directory=tmp_path, rate_scale=1000.0)
    try:
        yield ws
    finally:
        ws.close()
