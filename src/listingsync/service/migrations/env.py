"""Alembic environment of the service's tables: run with a connection handed over by the workspace."""

from __future__ import annotations

from alembic import context

from listingsync.service.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable from the alembic command line
    raise RuntimeError("service migrations run from Workspace.open(), which passes a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    version_table="ls_service_version",
)
with context.begin_transaction():
    context.run_migrations()
