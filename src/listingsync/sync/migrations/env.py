"""Alembic environment: always run with a connection handed over by ``StateStore.open``."""

from __future__ import annotations

from alembic import context

from listingsync.sync.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable from the alembic command line
    raise RuntimeError("listingsync migrations run from StateStore.open(), which passes a connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
