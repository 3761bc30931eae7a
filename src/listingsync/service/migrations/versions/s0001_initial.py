"""Service tables: connections, their encrypted secrets, runs, API tokens.

Revision ID: s0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "svc_connections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("base_dir", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("next_run_at", TS),
        sa.Column("next_watch_at", TS),
        sa.Column("source_fingerprint", sa.Text),
    )
    op.create_table(
        "svc_secrets",
        sa.Column(
            "connection_id",
            sa.Integer,
            sa.ForeignKey("svc_connections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "svc_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "connection_id", sa.Integer, sa.ForeignKey("svc_connections.id", ondelete="CASCADE"), index=True
        ),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("heartbeat_at", TS),
        sa.Column("owner", sa.String(200)),
        sa.Column("counts", sa.JSON),
        sa.Column("progress", sa.JSON),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("fix", sa.Text),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("state_run_id", sa.Integer),
    )
    op.create_table(
        "svc_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )


def downgrade() -> None:  # pragma: no cover - the workspace only ever upgrades
    for table in ("svc_tokens", "svc_runs", "svc_secrets", "svc_connections"):
        op.drop_table(table)
