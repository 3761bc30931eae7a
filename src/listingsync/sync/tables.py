"""The state database's tables (SQLAlchemy Core), the one source the Alembic migrations follow.

Everything here is safe to keep: no credential, token or secret is ever written (the state DB is
often shared or copied); only SKUs, Amazon ids and what was sent.

``scope`` partitions one database between several accounts: ``""`` for the state database of a
single listingsync.yaml, the connection's name in the service's workspace database. Every row a
:class:`~listingsync.sync.store.StateStore` reads or writes carries its scope.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text

metadata = MetaData()


def _scope(primary_key: bool = False) -> Column[str]:
    return Column(
        "scope",
        String(100),
        primary_key=primary_key,
        nullable=False,
        server_default="",
        index=not primary_key,
    )


#: One row per SKU and marketplace: what Amazon holds as far as we know, and the write in flight.
listings = Table(
    "ls_listings",
    metadata,
    _scope(primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("product_type", String(100)),
    Column("requirements", String(30)),
    Column("parent_sku", String(200)),
    Column("parentage", String(10)),
    Column("origin", Text),
    #: Hash and attributes of the last document Amazon accepted: the base a PATCH is computed from.
    Column("sent_hash", String(40)),
    Column("sent_attributes", JSON),
    #: Hash of the last document sent (accepted or not): an INVALID answer is not resent unchanged.
    Column("attempted_hash", String(40)),
    #: pending | accepted | live | invalid | error | deleted
    Column("status", String(10), nullable=False),
    Column("asin", String(20)),
    Column("issues", JSON),
    #: Write-ahead intent: set (and committed) before a request or feed leaves, cleared with its outcome.
    Column("pending_op", String(10)),
    Column("pending_hash", String(40)),
    Column("pending_attributes", JSON),
    Column("pending_feed", Integer),
    Column("last_submission_id", String(100)),
    Column("last_run_id", Integer),
    Column("updated_at", DateTime(timezone=True)),
    #: What built the listing last planned (``sync.fingerprint``): the source record's fingerprint
    #: and the mapping's (rules, templates, schema version, listingsync's mapping version).
    Column("source_fp", String(40)),
    Column("mapping_fp", String(40)),
    #: Drift reconciliation: when Amazon was last read for this listing, what it showed
    #: (``BUYABLE,DISCOVERABLE`` or ``SUPPRESSED``…), and what differed from what we sent (None: nothing).
    Column("checked_at", DateTime(timezone=True)),
    Column("amazon_status", String(60)),
    Column("drift", JSON),
    #: When an existing Amazon listing was adopted (found identical or patched) instead of created.
    Column("adopted_at", DateTime(timezone=True)),
    #: What people filter listings by (dashboard, API): a count of the invalid ones reads the index
    #: (in some marketplaces too: the closing count of every sync).
    Index("ix_ls_listings_scope_status", "scope", "status", "marketplace_id"),
    #: The rolling read-back's oldest-checked listings, in order, without reading every row.
    Index("ix_ls_listings_checked", "scope", "checked_at", "sku", "marketplace_id"),
    Index("ix_ls_listings_scope_product_type", "scope", "product_type"),
    #: The listings with a write in flight, which every sending run recovers first (migration 0008).
    Index(
        "ix_ls_listings_pending",
        "scope",
        "sku",
        "marketplace_id",
        sqlite_where=text("pending_op IS NOT NULL"),
        postgresql_where=text("pending_op IS NOT NULL"),
    ),
)

#: What a no-change sync reads of every listing (rawskip's lookups, the removal pass), covered by
#: one index so neither reads a row with its KB of sent JSON (migration 0006). PostgreSQL carries
#: the columns as INCLUDE (``drift`` is ``json``: no B-tree operator class); SQLite, which has no
#: INCLUDE, as key columns.
_SYNC_KEY = ("scope", "sku", "marketplace_id")
_SYNC_CARRIED = (
    "status",
    "pending_op",
    "source_fp",
    "mapping_fp",
    "product_type",
    "requirements",
    "sent_hash",
    "drift",
)
Index(
    "ix_ls_listings_sync", *(listings.c[n] for n in _SYNC_KEY), postgresql_include=list(_SYNC_CARRIED)
).ddl_if(dialect="postgresql")
Index("ix_ls_listings_sync", *(listings.c[n] for n in (*_SYNC_KEY, *_SYNC_CARRIED))).ddl_if(dialect="sqlite")

#: The catalogue mirror: the last full record per SKU, incremental reads merged in, so a mapping
#: or schema change rebuilds listings without reading the source again.
catalog = Table(
    "ls_catalog",
    metadata,
    _scope(primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("parent_sku", String(200), index=True),
    Column("fingerprint", String(40), nullable=False),
    Column("document", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

runs = Table(
    "ls_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _scope(),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("mode", String(20), nullable=False),
    Column("via", String(10)),
    Column("status", String(20), nullable=False),
    Column("summary", JSON),
)

#: Every Listings Items request sent, with Amazon's submissionId and answer.
submissions = Table(
    "ls_submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _scope(),
    Column("run_id", Integer, index=True),
    Column("sku", String(200), nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("operation", String(10), nullable=False),
    Column("submission_id", String(100)),
    Column("status", String(20)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Every JSON_LISTINGS_FEED: recorded before createFeedDocument, feed_id right after createFeed.
feeds = Table(
    "ls_feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _scope(),
    Column("run_id", Integer, index=True),
    Column("marketplace_id", String(20), nullable=False),
    Column("document_id", String(200)),
    Column("feed_id", String(100), index=True),
    #: building | submitted | done | failed
    Column("state", String(12), nullable=False),
    Column("processing_status", String(20)),
    Column("result_document_id", String(200)),
    Column("message_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("summary", JSON),
)

#: messageId → SKU of each feed, so a report read after a restart maps back to the right SKUs.
feed_messages = Table(
    "ls_feed_messages",
    metadata,
    Column("feed", Integer, primary_key=True),
    Column("message_id", Integer, primary_key=True),
    Column("sku", String(200), nullable=False),
    Column("operation", String(16), nullable=False),
)

#: The catalogue checkpoint (Sales Layer's last_update …), committed only after a successful run.
checkpoints = Table(
    "ls_checkpoints",
    metadata,
    _scope(primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Text),
    Column("updated_at", DateTime(timezone=True)),
)

#: Who holds each run lock (``sync.lock``): the row names the holder for the "another run" message;
#: on SQLite it is the lock itself (compare-and-swap on ``owner_key``, kept alive by ``heartbeat_at``).
locks = Table(
    "ls_locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner_key", String(40), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("purpose", String(200)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)
