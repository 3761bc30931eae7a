"""The workspace: one database holding every connection, its secrets, runs and sync state.

SQLite beside the working directory by default (``.listingsync/workspace.db``), PostgreSQL by URL;
``--db URL`` or ``$LISTINGSYNC_DB`` choose another. Opening it brings both schemas to their heads:
the sync state tables (``ls_*``, one ``scope`` per connection) and the service's (``svc_*``).

The workspace also owns what the runs of one process share: the rate limiter (two connections of
the same selling partner draw from the same buckets, since buckets are keyed by partner) and the
secret box.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from listingsync.amazon.ratelimit import RateLimiter, TokenBucketLimiter
from listingsync.service.secrets import SecretBox, load_secret_key
from listingsync.sync.store import StateStore

__all__ = ["DB_ENV", "DEFAULT_DB_URL", "RATE_SCALE_ENV", "Workspace", "resolve_db_url"]

DB_ENV = "LISTINGSYNC_DB"
DEFAULT_DB_URL = "sqlite:///.listingsync/workspace.db"
#: Emulator runs only: multiplies the rate limits (as ``listingsync emulator --rate-scale``).
RATE_SCALE_ENV = "LISTINGSYNC_RATE_SCALE"


def resolve_db_url(url: str | None = None) -> str:
    """``--db`` if given, else ``$LISTINGSYNC_DB``, else SQLite in ``./.listingsync/``."""
    return url or os.environ.get(DB_ENV) or DEFAULT_DB_URL


class Workspace:
    """An open workspace database. Thread-safe: every method opens its own connection from the pool."""

    def __init__(
        self,
        state: StateStore,
        *,
        directory: Path,
        rate_limiter: RateLimiter | None = None,
        rate_scale: float = 1.0,
        secret_key: str | None = None,
    ) -> None:
        self._state = state
        self.engine = state.engine
        #: Where relative paths of connections added through the API resolve.
        self.directory = directory
        self.rate_scale = rate_scale
        self.rate_limiter: RateLimiter = rate_limiter or TokenBucketLimiter(scale=rate_scale)
        self._secret_key = secret_key
        self._box: SecretBox | None = None

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        directory: Path | None = None,
        rate_limiter: RateLimiter | None = None,
        rate_scale: float | None = None,
        secret_key: str | None = None,
    ) -> Workspace:
        directory = (directory or Path.cwd()).resolve()
        state = StateStore.open(resolve_db_url(url), directory)
        try:
            _migrate(state.engine)
        except Exception:
            state.close()
            raise
        if rate_scale is None:
            rate_scale = float(os.environ.get(RATE_SCALE_ENV) or 1.0)
        return cls(
            state,
            directory=directory,
            rate_limiter=rate_limiter,
            rate_scale=rate_scale,
            secret_key=secret_key,
        )

    def __repr__(self) -> str:
        return f"Workspace({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._state.close()

    @property
    def box(self) -> SecretBox:
        """The secret box (the key is looked up, or made, on first use)."""
        if self._box is None:
            self._box = SecretBox(self._secret_key or load_secret_key())
        return self._box

    def store(self, scope: str) -> StateStore:
        """The sync state of one connection (sharing the workspace's engine; do not close it)."""
        return self._state.scoped(scope)

    def connect(self) -> Any:
        return self.engine.connect()

    def begin(self) -> Any:
        return self.engine.begin()

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)


def _migrate(engine: sa.Engine) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.begin() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "ls_service_version"})
        if context.get_current_revision() == head:
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
