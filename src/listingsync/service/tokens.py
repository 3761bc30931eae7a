"""API tokens: ``listingsync tokens create NAME`` prints one once; only its SHA-256 is stored.

Tokens are 256 random bits (``lst_`` + url-safe base64), so a plain SHA-256 is the right digest
(no salt or slow hash needed: nothing to guess). A revoked token stays listed, refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from listingsync.errors import ListingSyncError
from listingsync.redaction import register_secret
from listingsync.service import tables as t
from listingsync.service.utc import iso_utc
from listingsync.service.workspace import Workspace

__all__ = ["PREFIX", "TokenInfo", "create_token", "list_tokens", "revoke_token", "verify_token"]

PREFIX = "lst_"


@dataclass(slots=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": iso_utc(self.created_at),
            "last_used_at": iso_utc(self.last_used_at),
            "revoked_at": iso_utc(self.revoked_at),
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ws: Workspace, name: str) -> tuple[TokenInfo, str]:
    """A new token: its record and the token itself (shown once, never stored)."""
    if not name.strip():
        raise ListingSyncError("a token needs a name", fix="say who or what uses it, e.g. 'grafana'")
    token = PREFIX + secrets.token_urlsafe(32)
    register_secret(token)
    now = dt.datetime.now(dt.UTC)
    with ws.begin() as conn:
        result = conn.execute(
            t.tokens.insert().values(
                name=name.strip(), token_hash=_digest(token), prefix=token[:10], created_at=now
            )
        )
        token_id = int(result.inserted_primary_key[0])
    return TokenInfo(token_id, name.strip(), token[:10], now, None, None), token


def list_tokens(ws: Workspace) -> list[TokenInfo]:
    with ws.connect() as conn:
        rows = conn.execute(sa.select(t.tokens).order_by(t.tokens.c.id)).all()
    return [TokenInfo(r.id, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_token(ws: Workspace, name_or_id: str) -> int:
    """Revoke the tokens named so (or with that id); returns how many were revoked."""
    c = t.tokens.c
    match = c.name == name_or_id
    if name_or_id.isdigit():
        match = sa.or_(match, c.id == int(name_or_id))
    with ws.begin() as conn:
        result = conn.execute(
            t.tokens.update().where(match, c.revoked_at.is_(None)).values(revoked_at=dt.datetime.now(dt.UTC))
        )
    if result.rowcount == 0:
        raise ListingSyncError(
            f"no active token named {name_or_id!r}", fix="list them: listingsync tokens list"
        )
    return int(result.rowcount)


def verify_token(ws: Workspace, token: str) -> TokenInfo | None:
    """The token's record when it is valid and not revoked (its last use is recorded)."""
    if not token.startswith(PREFIX):
        return None
    digest = _digest(token)
    with ws.connect() as conn:
        row = conn.execute(sa.select(t.tokens).where(t.tokens.c.token_hash == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = dt.datetime.now(dt.UTC)
    last = row.last_used_at
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=dt.UTC))).total_seconds() > 60:
        with ws.begin() as conn:  # at most a write a minute per token, not one per request
            conn.execute(t.tokens.update().where(t.tokens.c.id == row.id).values(last_used_at=now))
    return TokenInfo(row.id, row.name, row.prefix, row.created_at, now, None)
