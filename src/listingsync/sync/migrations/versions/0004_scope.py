"""Scope: one database shared by several accounts (the service's connections).

Every state table gets ``scope`` (``""`` for the rows a single listingsync.yaml already holds), and
the keys of listings and checkpoints include it, so two connections may hold the same SKU.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _scope() -> sa.Column[str]:
    return sa.Column("scope", sa.String(100), nullable=False, server_default="")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    keys = (("ls_listings", ["sku", "marketplace_id"]), ("ls_checkpoints", ["name"]), ("ls_catalog", ["sku"]))
    for table, key in keys:
        # SQLite cannot change a primary key in place: batch mode copies the table (and warns that the
        # copy's key differs from the reflected one, which is the point).
        with (
            warnings.catch_warnings(action="ignore", category=sa.exc.SAWarning),
            op.batch_alter_table(table, recreate="always" if sqlite else "auto") as batch,
        ):
            batch.add_column(_scope())
            if not sqlite:
                batch.drop_constraint(f"{table}_pkey", type_="primary")
            batch.create_primary_key(f"{table}_pkey", ["scope", *key])
    for table in ("ls_runs", "ls_submissions", "ls_feeds"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_scope())
            batch.create_index(f"ix_{table}_scope", ["scope"])


def downgrade() -> None:  # pragma: no cover - the state store only ever upgrades
    raise NotImplementedError("the scope column cannot be dropped once several accounts share a database")
