"""The service's tables in the workspace database (SQLAlchemy Core; the Alembic migrations follow).

They sit beside the sync state tables (``ls_*``, one ``scope`` per connection) in one database.
No secret is stored in clear: ``svc_secrets`` holds Fernet ciphertexts only, ``svc_tokens`` the
SHA-256 of each API token.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

metadata = MetaData()

TS = DateTime(timezone=True)

#: One Amazon account + one catalogue source + the mapping + a schedule: a listingsync.yaml document.
connections = Table(
    "svc_connections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    #: The listingsync.yaml document as JSON (never a secret: those are in svc_secrets).
    Column("document", JSON, nullable=False),
    #: Where relative paths of the document (source.path, the schema cache) resolve.
    Column("base_dir", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    #: The scheduler's next due time, moved by compare-and-set so two schedulers never both fire.
    Column("next_run_at", TS),
    Column("next_watch_at", TS),
    #: What the source looked like when last looked at (change triggers).
    Column("source_fingerprint", Text),
)

secrets = Table(
    "svc_secrets",
    metadata,
    Column("connection_id", Integer, ForeignKey("svc_connections.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(50), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", TS, nullable=False),
)

runs = Table(
    "svc_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", Integer, ForeignKey("svc_connections.id", ondelete="CASCADE"), index=True),
    #: schedule | change | manual | api | cli | recovery
    Column("trigger", String(20), nullable=False),
    #: send | dry-run | preview
    Column("mode", String(10), nullable=False),
    #: queued | running | succeeded | partial | failed | cancelled | skipped
    Column("status", String(12), nullable=False, index=True),
    Column("created_at", TS, nullable=False),
    Column("started_at", TS),
    Column("finished_at", TS),
    Column("heartbeat_at", TS),
    #: Who runs it (host:pid), for recovery after a crash.
    Column("owner", String(200)),
    #: Per op (create, update, delete, …) and per outcome (accepted, invalid, error, …).
    Column("counts", JSON),
    #: The live phase: {"phase": "submit", "description": …, "done": 10, "total": 40}.
    Column("progress", JSON),
    #: Per-SKU results of a dry run or preview (what would be sent, Amazon's verdicts).
    Column("result", JSON),
    Column("error", Text),
    Column("fix", Text),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    #: The sync engine's own run row (ls_runs.id) in the connection's scope.
    Column("state_run_id", Integer),
)

tokens = Table(
    "svc_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    #: The first characters, to tell tokens apart in lists (never enough to use one).
    Column("prefix", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
    Column("revoked_at", TS),
)

#: People who sign in to the dashboard (``service/users.py``): an argon2id hash, never a password.
users = Table(
    "svc_users",
    metadata,
    Column("name", String(100), primary_key=True),
    #: viewer | editor | admin
    Column("role", String(10), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", TS, nullable=False),
)

#: Dashboard sessions: the SHA-256 of the cookie's token (a copy of the database opens none).
web_sessions = Table(
    "svc_web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_name", String(100), ForeignKey("svc_users.name", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_seen", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)
