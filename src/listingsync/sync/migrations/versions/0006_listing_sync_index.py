"""A covering index for the passes a no-change sync makes over every listing (issue 16).

A no-change sync looks every catalogue row up (``rawskip``: status, what built the listing, the
write in flight, drift) and walks every listing for removals (status, on Amazon or not, drift).
Through the primary key each lookup reads the whole row, whose last sent document (a few KB of
JSON) spills onto overflow pages: at 20,000 SKUs those reads were half of a 12-14 s run. This
index holds the key and exactly those columns, so both passes read the index alone.

PostgreSQL keys it on the primary key's columns and carries the rest as ``INCLUDE`` (``drift`` is
``json``, which has no B-tree operator class: it can only be included); SQLite has no ``INCLUDE``,
so there every column is part of the key (the index is then covering all the same).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Spelt out, not imported from tables.py: a migration is what it was when it shipped.
NAME = "ix_ls_listings_sync"
KEY = ["scope", "sku", "marketplace_id"]
CARRIED = [
    "status",
    "pending_op",
    "source_fp",
    "mapping_fp",
    "product_type",
    "requirements",
    "sent_hash",
    "drift",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(NAME, "ls_listings", KEY, postgresql_include=CARRIED)
    else:
        op.create_index(NAME, "ls_listings", [*KEY, *CARRIED])


def downgrade() -> None:  # pragma: no cover - the state store only ever upgrades
    op.drop_index(NAME, "ls_listings")
