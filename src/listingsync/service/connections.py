"""Connections: one Amazon account + one catalogue source + the mapping + a schedule.

A connection is a listingsync.yaml document (the API takes the same document as JSON) plus the
directory its relative paths resolve against, and its secrets, sealed in ``svc_secrets`` and never
read back out through this module's public face except to run it. ``state:`` is not used: every
connection keeps its state in the workspace database, scoped by its name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from listingsync.amazon.lwa import Credentials
from listingsync.config import Config, ConfigError, ConfigProblem
from listingsync.errors import ListingSyncError
from listingsync.service import tables as t
from listingsync.service.utc import iso_utc, utc_now
from listingsync.service.workspace import Workspace

__all__ = [
    "SECRET_NAMES",
    "Connection",
    "ConnectionError",
    "ConnectionExists",
    "ConnectionNotFound",
    "add_connection",
    "config_of",
    "connection_credentials",
    "connection_secret_env",
    "get_connection",
    "list_connections",
    "remove_connection",
    "set_secrets",
    "update_connection",
]

#: The secrets a connection may hold, and where each comes from.
SECRET_NAMES: dict[str, str] = {
    "lwa_client_id": "Develop Apps → your app → LWA credentials → View → Client identifier",
    "lwa_client_secret": "Develop Apps → your app → LWA credentials → View → Client secret",
    "lwa_refresh_token": "Develop Apps → your app → Edit App → Authorize → Refresh Token",
    "saleslayer_secret": "Sales Layer → Channels → your connector → Parameters → private key",
    "alert_webhook": "the URL that receives a JSON POST when a run fails or new ERROR issues appear",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ConnectionError(ListingSyncError):
    """A connection cannot be found, added or changed; names the connection and what to do."""


class ConnectionNotFound(ConnectionError):
    """No connection of that name."""


class ConnectionExists(ConnectionError):
    """A connection of that name exists already."""


@dataclass(slots=True)
class Connection:
    id: int
    name: str
    document: dict[str, Any]
    base_dir: str
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    next_run_at: dt.datetime | None = None
    #: Names of the secrets set (never their values).
    secrets: list[str] = field(default_factory=list)

    @property
    def config(self) -> Config:
        return config_of(self.name, self.document, self.base_dir)

    def as_dict(self) -> dict[str, Any]:
        """What the API and ``connections show`` report: the document, never a secret value."""
        account = self.document.get("account", {})
        return {
            "name": self.name,
            "enabled": self.enabled,
            "account_type": account.get("type"),
            "selling_partner_id": account.get("selling_partner_id"),
            "config": self.document,
            "base_dir": self.base_dir,
            "secrets_set": sorted(self.secrets),
            "next_run_at": iso_utc(self.next_run_at),
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }


def config_of(name: str, document: Mapping[str, Any], base_dir: str | Path) -> Config:
    """The document as a :class:`Config`; a :class:`ConfigError` names every bad key."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"connection {name}", [ConfigProblem("", "expected a listingsync.yaml document")])
    data = {k: v for k, v in document.items() if k != "state"}
    try:
        return Config.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}"
            elif err["type"] == "missing":
                message = "required key is missing"
            problems.append(ConfigProblem(".".join(loc), message))
        raise ConfigError(f"connection {name}", problems) from None


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConnectionError(
            f"{name!r} is not a usable connection name",
            fix="use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit)",
        )


def _check_secret_names(secrets: Mapping[str, str]) -> None:
    unknown = sorted(set(secrets) - set(SECRET_NAMES))
    if unknown:
        raise ConnectionError(
            f"unknown secret name(s) {', '.join(unknown)}", fix=f"use {', '.join(SECRET_NAMES)}"
        )


def _row_to_connection(row: Any, secret_names: list[str]) -> Connection:
    m = row._mapping
    return Connection(
        id=m["id"],
        name=m["name"],
        document=dict(m["document"]),
        base_dir=m["base_dir"],
        enabled=bool(m["enabled"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        next_run_at=m["next_run_at"],
        secrets=secret_names,
    )


def _secret_names(conn: Any, connection_id: int) -> list[str]:
    rows = conn.execute(sa.select(t.secrets.c.name).where(t.secrets.c.connection_id == connection_id))
    return sorted(r[0] for r in rows)


def list_connections(ws: Workspace) -> list[Connection]:
    with ws.connect() as conn:
        rows = conn.execute(sa.select(t.connections).order_by(t.connections.c.name)).all()
        names: dict[int, list[str]] = {}
        for cid, name in conn.execute(sa.select(t.secrets.c.connection_id, t.secrets.c.name)):
            names.setdefault(cid, []).append(name)
        return [_row_to_connection(r, sorted(names.get(r.id, []))) for r in rows]


def get_connection(ws: Workspace, name: str) -> Connection:
    with ws.connect() as conn:
        row = conn.execute(sa.select(t.connections).where(t.connections.c.name == name)).first()
        if row is None:
            known = [
                r[0] for r in conn.execute(sa.select(t.connections.c.name).order_by(t.connections.c.name))
            ]
            raise ConnectionNotFound(
                f"no connection named {name!r}",
                fix=f"one of: {', '.join(known)}"
                if known
                else "add one: listingsync connections add NAME --config FILE",
            )
        return _row_to_connection(row, _secret_names(conn, row.id))


def get_connection_by_id(ws: Workspace, connection_id: int) -> Connection:
    with ws.connect() as conn:
        row = conn.execute(sa.select(t.connections).where(t.connections.c.id == connection_id)).first()
        if row is None:
            raise ConnectionNotFound(f"connection #{connection_id} was removed")
        return _row_to_connection(row, _secret_names(conn, row.id))


def add_connection(
    ws: Workspace,
    name: str,
    document: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    secrets: Mapping[str, str] | None = None,
    enabled: bool = True,
) -> Connection:
    """Add a connection (the document is validated first; nothing is stored if it is not usable)."""
    _check_name(name)
    base = str(Path(base_dir or ws.directory).resolve())
    config_of(name, document, base)
    secrets = {k: v for k, v in (secrets or {}).items() if v}
    _check_secret_names(secrets)
    now = utc_now()
    document = {k: v for k, v in document.items() if k != "state"}
    with ws.begin() as conn:
        exists = conn.execute(sa.select(t.connections.c.id).where(t.connections.c.name == name)).first()
        if exists is not None:
            raise ConnectionExists(
                f"a connection named {name!r} exists already",
                fix="choose another name, or change it (API: PUT; CLI: connections remove, then add)",
            )
        result = conn.execute(
            t.connections.insert().values(
                name=name, document=document, base_dir=base, enabled=enabled, created_at=now, updated_at=now
            )
        )
        connection_id = int(result.inserted_primary_key[0])
        _write_secrets(ws, conn, connection_id, secrets, now)
    return get_connection(ws, name)


def update_connection(
    ws: Workspace,
    name: str,
    *,
    document: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
    secrets: Mapping[str, str] | None = None,
    enabled: bool | None = None,
) -> Connection:
    current = get_connection(ws, name)
    values: dict[str, Any] = {"updated_at": utc_now()}
    if base_dir is not None:
        values["base_dir"] = str(Path(base_dir).resolve())
    if document is not None:
        config_of(name, document, values.get("base_dir", current.base_dir))
        values["document"] = {k: v for k, v in document.items() if k != "state"}
        values["next_run_at"] = None  # a new schedule starts afresh
        values["next_watch_at"] = None
    if enabled is not None:
        values["enabled"] = enabled
    secrets = {k: v for k, v in (secrets or {}).items() if v}
    _check_secret_names(secrets)
    with ws.begin() as conn:
        conn.execute(t.connections.update().where(t.connections.c.id == current.id).values(**values))
        _write_secrets(ws, conn, current.id, secrets, values["updated_at"])
    return get_connection(ws, name)


def set_secrets(ws: Workspace, name: str, secrets: Mapping[str, str]) -> Connection:
    return update_connection(ws, name, secrets=secrets)


def remove_connection(ws: Workspace, name: str) -> None:
    """Remove the connection, its secrets, its runs and its sync state (nothing on Amazon changes)."""
    from listingsync.sync import tables as state

    current = get_connection(ws, name)
    with ws.begin() as conn:
        conn.execute(t.secrets.delete().where(t.secrets.c.connection_id == current.id))
        conn.execute(t.runs.delete().where(t.runs.c.connection_id == current.id))
        conn.execute(t.connections.delete().where(t.connections.c.id == current.id))
        for table in (state.listings, state.catalog, state.runs, state.submissions, state.checkpoints):
            conn.execute(table.delete().where(table.c.scope == name))
        feeds = sa.select(state.feeds.c.id).where(state.feeds.c.scope == name)
        conn.execute(state.feed_messages.delete().where(state.feed_messages.c.feed.in_(feeds)))
        conn.execute(state.feeds.delete().where(state.feeds.c.scope == name))


def _write_secrets(
    ws: Workspace, conn: Any, connection_id: int, secrets: Mapping[str, str], now: dt.datetime
) -> None:
    for key, value in secrets.items():
        conn.execute(
            t.secrets.delete().where(t.secrets.c.connection_id == connection_id, t.secrets.c.name == key)
        )
        conn.execute(
            t.secrets.insert().values(
                connection_id=connection_id, name=key, ciphertext=ws.box.seal(value), updated_at=now
            )
        )


def _open_secrets(ws: Workspace, connection: Connection) -> dict[str, str]:
    with ws.connect() as conn:
        rows = conn.execute(
            sa.select(t.secrets.c.name, t.secrets.c.ciphertext).where(
                t.secrets.c.connection_id == connection.id
            )
        ).all()
    return {
        name: ws.box.open(text, what=f"secret {name} of connection {connection.name}") for name, text in rows
    }


def connection_credentials(ws: Workspace, connection: Connection) -> Credentials:
    """The LWA credentials of a connection; a :class:`ConnectionError` names what is missing."""
    values = _open_secrets(ws, connection)
    missing = [n for n in ("lwa_client_id", "lwa_client_secret", "lwa_refresh_token") if not values.get(n)]
    if missing:
        steps = "; ".join(f"{n}: {SECRET_NAMES[n]}" for n in missing)
        raise ConnectionError(
            f"connection {connection.name} has no {', '.join(missing)}",
            fix=f"set them (API: PUT /api/v1/connections/{connection.name} with secrets; CLI: "
            f"listingsync connections secret {connection.name} NAME < file). Where to find them: {steps}",
        )
    return Credentials(values["lwa_client_id"], values["lwa_client_secret"], values["lwa_refresh_token"])


def connection_secret_env(ws: Workspace, connection: Connection) -> dict[str, str]:
    """The connection's secrets under the names the catalogue sources look up (Sales Layer's key)."""
    from listingsync.credentials import SALESLAYER_SECRET

    values = _open_secrets(ws, connection)
    return {SALESLAYER_SECRET: values["saleslayer_secret"]} if values.get("saleslayer_secret") else {}


def alert_webhook(ws: Workspace, connection: Connection) -> str | None:
    if "alert_webhook" not in connection.secrets:
        return None
    return _open_secrets(ws, connection).get("alert_webhook")
