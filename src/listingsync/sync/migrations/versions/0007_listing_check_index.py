"""Indexes for the two questions every sync asks of the whole state besides rawskip's (issue 16).

- The rolling read-back's "which listings were checked longest ago?" ordered every listing by
  ``checked_at`` and so read every row (3.7 s at 100,000 SKUs, a 1 GB state, on a loaded 2-core
  machine; ten times that at a million): ``(scope, checked_at, sku, marketplace_id)`` walks them
  in that order and stops at the slice it needs.
- The closing count of invalid listings in the run's marketplaces read every row for its
  marketplace (2.1 s): the status index now carries ``marketplace_id``, so the count reads the
  index alone. The dashboard's status filter uses it as before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ls_listings_checked", "ls_listings", ["scope", "checked_at", "sku", "marketplace_id"])
    op.drop_index("ix_ls_listings_scope_status", "ls_listings")
    op.create_index("ix_ls_listings_scope_status", "ls_listings", ["scope", "status", "marketplace_id"])


def downgrade() -> None:  # pragma: no cover - the state store only ever upgrades
    op.drop_index("ix_ls_listings_scope_status", "ls_listings")
    op.create_index("ix_ls_listings_scope_status", "ls_listings", ["scope", "status"])
    op.drop_index("ix_ls_listings_checked", "ls_listings")
