"""Catalogue mirror (ls_catalog); per-listing fingerprints, reconciliation and adoption columns.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_LISTING_COLUMNS = (
    ("source_fp", sa.String(40)),
    ("mapping_fp", sa.String(40)),
    ("checked_at", TS),
    ("amazon_status", sa.String(60)),
    ("drift", sa.JSON),
    ("adopted_at", TS),
)


def upgrade() -> None:
    with op.batch_alter_table("ls_listings") as batch:
        for name, kind in _LISTING_COLUMNS:
            batch.add_column(sa.Column(name, kind))
    op.create_table(
        "ls_catalog",
        sa.Column("sku", sa.String(200), primary_key=True),
        sa.Column("parent_sku", sa.String(200), index=True),
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("updated_at", TS),
    )


def downgrade() -> None:
    op.drop_table("ls_catalog")
    with op.batch_alter_table("ls_listings") as batch:
        for name, _ in reversed(_LISTING_COLUMNS):
            batch.drop_column(name)
