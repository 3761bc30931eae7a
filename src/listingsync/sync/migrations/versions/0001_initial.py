"""Initial state schema: listings, runs, submissions, feeds, feed messages, checkpoints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ls_listings",
        sa.Column("sku", sa.String(200), primary_key=True),
        sa.Column("marketplace_id", sa.String(20), primary_key=True),
        sa.Column("product_type", sa.String(100)),
        sa.Column("requirements", sa.String(30)),
        sa.Column("parent_sku", sa.String(200)),
        sa.Column("parentage", sa.String(10)),
        sa.Column("origin", sa.Text),
        sa.Column("sent_hash", sa.String(40)),
        sa.Column("sent_attributes", sa.JSON),
        sa.Column("attempted_hash", sa.String(40)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("asin", sa.String(20)),
        sa.Column("issues", sa.JSON),
        sa.Column("pending_op", sa.String(10)),
        sa.Column("pending_hash", sa.String(40)),
        sa.Column("pending_attributes", sa.JSON),
        sa.Column("pending_feed", sa.Integer),
        sa.Column("last_submission_id", sa.String(100)),
        sa.Column("last_run_id", sa.Integer),
        sa.Column("updated_at", TS),
    )
    op.create_table(
        "ls_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("via", sa.String(10)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", sa.JSON),
    )
    op.create_table(
        "ls_submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, index=True),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("marketplace_id", sa.String(20), nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("submission_id", sa.String(100)),
        sa.Column("status", sa.String(20)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "ls_feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, index=True),
        sa.Column("marketplace_id", sa.String(20), nullable=False),
        sa.Column("document_id", sa.String(200)),
        sa.Column("feed_id", sa.String(100), index=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("processing_status", sa.String(20)),
        sa.Column("result_document_id", sa.String(200)),
        sa.Column("message_count", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("submitted_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("summary", sa.JSON),
    )
    op.create_table(
        "ls_feed_messages",
        sa.Column("feed", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
    )
    op.create_table(
        "ls_checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text),
        sa.Column("updated_at", TS),
    )


def downgrade() -> None:
    for name in (
        "ls_checkpoints",
        "ls_feed_messages",
        "ls_feeds",
        "ls_submissions",
        "ls_runs",
        "ls_listings",
    ):
        op.drop_table(name)
