"""``listingsync serve``, ``connections``, ``runs`` and ``tokens``: the workspace from the command line.

Every command takes ``--db URL`` (default: ``$LISTINGSYNC_DB``, else the workspace ``serve`` uses:
``sqlite:///.listingsync/workspace.db`` in the current directory). Secrets are read, never printed:
``connections add`` takes the account's credentials where ``sync`` finds them (environment, then
the keyring ``connect`` filled); ``connections secret NAME KEY`` reads a value from standard input.
Exit codes: 0 fine, 1 a run ended partial, 2 the command could not run (or a run failed).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from listingsync.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    DbOption,
    JsonOption,
    fail,
    print_json,
)

if TYPE_CHECKING:
    from listingsync.service import RunRecord, Workspace


@contextlib.contextmanager
def workspace_or_exit(db: str | None) -> Iterator[Workspace]:
    """The workspace for a command: any listingsync error inside is printed with its fix (exit 2)."""
    from listingsync.errors import ListingSyncError

    ws = open_workspace(db)
    try:
        yield ws
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)
    finally:
        ws.close()


def open_workspace(db: str | None) -> Workspace:
    from listingsync.errors import ListingSyncError
    from listingsync.service import Workspace

    try:
        return Workspace.open(db)
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)


def _console() -> Any:
    from listingsync.cli.common import console

    return console


# -- serve -----------------------------------------------------------------------------------------


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port of the API.")] = 8080,
    db: DbOption = None,
    workers: Annotated[int, typer.Option("--workers", help="Runs executed at once in this process.")] = 4,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker", help="Celery broker URL: runs go to `listingsync worker`s (default: in-process)."
        ),
    ] = None,
) -> None:
    """Run the service: the scheduler, the executor and the JSON API under /api/v1 (until SIGTERM)."""
    from listingsync.web.server import run_service

    with workspace_or_exit(db) as ws:
        run_service(ws, host=host, port=port, workers=workers, broker=broker)
    raise typer.Exit(EXIT_OK)


# -- connections -----------------------------------------------------------------------------------

connections_app = typer.Typer(help="Manage the workspace's connections (an account + a source + a mapping).")


@connections_app.command("add")
def connections_add(
    name: Annotated[str, typer.Argument(help="The connection's name (letters, digits, . _ -).")],
    config: Annotated[Path, typer.Option("--config", "-c", help="The listingsync.yaml that defines it.")],
    db: DbOption = None,
    disabled: Annotated[
        bool, typer.Option("--disabled", help="Add it without running its schedule.")
    ] = False,
) -> None:
    """Add a connection from a listingsync.yaml; its credentials are taken from where `sync` finds
    them (environment, keyring) and sealed in the workspace."""
    import yaml

    from listingsync.cli.common import config_or_exit
    from listingsync.service import add_connection

    cfg = config_or_exit(config)  # every problem named with file:line before anything is stored
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    secrets = _ambient_secrets(cfg)
    with workspace_or_exit(db) as ws:
        connection = add_connection(
            ws, name, document, base_dir=config.resolve().parent, secrets=secrets, enabled=not disabled
        )
    console = _console()
    if "state" in document:
        console.print(f"note: state: ({document['state']}) is not used: the workspace holds {name}'s state")
    missing = [n for n in ("lwa_client_id", "lwa_client_secret", "lwa_refresh_token") if n not in secrets]
    console.print(f"Added connection {name} ({', '.join(connection.secrets) or 'no secrets'} sealed).")
    if missing:
        console.print(
            f"It has no {', '.join(missing)} yet: set them with "
            f"`listingsync connections secret {name} NAME < file` (or export LISTINGSYNC_LWA_* and add it again)."
        )
    raise typer.Exit(EXIT_OK)


def _ambient_secrets(cfg: Any) -> dict[str, str]:
    """The credentials `sync` would use for this config (environment → keyring → secrets file)."""
    from listingsync.credentials import SALESLAYER_SECRET, load_credentials, load_secret
    from listingsync.errors import ListingSyncError

    out: dict[str, str] = {}
    try:
        creds = load_credentials(cfg.account.selling_partner_id, cfg.account.resolved_region)
        out.update(
            lwa_client_id=creds.client_id,
            lwa_client_secret=creds.client_secret,
            lwa_refresh_token=creds.refresh_token,
        )
    except ListingSyncError:
        pass
    if cfg.source is not None and cfg.source.type == "saleslayer" and cfg.source.connector_id:
        value = load_secret(SALESLAYER_SECRET, cfg.source.connector_id)
        if value:
            out["saleslayer_secret"] = value
    return out


@connections_app.command("secret")
def connections_secret(
    name: Annotated[str, typer.Argument(help="The connection.")],
    key: Annotated[
        str,
        typer.Argument(
            help="lwa_client_id, lwa_client_secret, lwa_refresh_token, saleslayer_secret or alert_webhook."
        ),
    ],
    db: DbOption = None,
) -> None:
    """Set one secret of a connection from standard input (or a hidden prompt); it is never shown again."""
    from listingsync.errors import ListingSyncError
    from listingsync.service import set_secrets

    if sys.stdin.isatty():
        value = typer.prompt(f"{key} for {name}", hide_input=True)
    else:
        value = sys.stdin.read().strip()
    if not value:
        fail(
            ListingSyncError(
                f"no value for {key} on standard input",
                fix=f"echo VALUE | listingsync connections secret {name} {key}",
            )
        )
    with workspace_or_exit(db) as ws:
        set_secrets(ws, name, {key: value})
    _console().print(f"Sealed {key} for {name}.")
    raise typer.Exit(EXIT_OK)


@connections_app.command("list")
def connections_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The workspace's connections: account, schedule, next run, last run."""
    from rich.table import Table
    from rich.text import Text

    from listingsync.service import list_connections, list_runs

    with workspace_or_exit(db) as ws:
        found = list_connections(ws)
        last = {c.name: next(iter(list_runs(ws, connection=c.name, limit=1)), None) for c in found}
    if as_json:
        print_json(
            [{**c.as_dict(), "last_run": last[c.name].as_dict() if last[c.name] else None} for c in found]  # type: ignore[union-attr]
        )
        raise typer.Exit(EXIT_OK)
    table = Table(title=f"{len(found)} connection(s)")
    for col in ("name", "account", "schedule", "next run", "last run"):
        table.add_column(col)
    for c in found:
        account = c.document.get("account", {})
        run = last[c.name]
        table.add_row(
            Text(c.name),
            Text(f"{account.get('type')} {account.get('selling_partner_id')}"),
            Text(str(c.document.get("schedule") or "-") + ("" if c.enabled else " (disabled)")),
            Text(c.as_dict()["next_run_at"] or "-"),
            Text(f"#{run.id} {run.status}" if run else "-"),
        )
    _console().print(table)
    raise typer.Exit(EXIT_OK)


@connections_app.command("show")
def connections_show(name: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One connection: its document and which secrets are set (never their values)."""
    import yaml

    from listingsync.service import get_connection

    with workspace_or_exit(db) as ws:
        connection = get_connection(ws, name)
    if as_json:
        print_json(connection.as_dict())
        raise typer.Exit(EXIT_OK)
    data = connection.as_dict()
    console = _console()
    console.print(
        f"connection {name} ({'enabled' if connection.enabled else 'disabled'}), paths relative to {connection.base_dir}",
        markup=False,
    )
    console.print(f"secrets set: {', '.join(data['secrets_set']) or 'none'}", markup=False)
    console.print(yaml.safe_dump(connection.document, sort_keys=False, allow_unicode=True), markup=False)
    raise typer.Exit(EXIT_OK)


@connections_app.command("export")
def connections_export(name: str, db: DbOption = None) -> None:
    """Print the connection as a listingsync.yaml (no secret: they stay sealed in the workspace)."""
    import yaml

    from listingsync.service import get_connection

    with workspace_or_exit(db) as ws:
        connection = get_connection(ws, name)
    sys.stdout.write(f"# connection {name}; relative paths were resolved against {connection.base_dir}\n")
    sys.stdout.write(yaml.safe_dump(connection.document, sort_keys=False, allow_unicode=True))
    raise typer.Exit(EXIT_OK)


@connections_app.command("remove")
def connections_remove(name: str, db: DbOption = None) -> None:
    """Remove a connection with its secrets, runs and state (nothing on Amazon changes)."""
    from listingsync.service import remove_connection

    with workspace_or_exit(db) as ws:
        remove_connection(ws, name)
    _console().print(f"Removed connection {name}.", markup=False)
    raise typer.Exit(EXIT_OK)


# -- runs ------------------------------------------------------------------------------------------

runs_app = typer.Typer(help="The history of runs: list them, or show one.", invoke_without_command=True)


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    connection: Annotated[
        str | None, typer.Option("--connection", help="Only this connection's runs.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many (newest first).")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs, newest first: trigger, status, counts, the error with its fix."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table
    from rich.text import Text

    from listingsync.service import list_runs

    with workspace_or_exit(db) as ws:
        found = list_runs(ws, connection=connection, limit=limit)
    if as_json:
        print_json([r.as_dict() for r in found])
        raise typer.Exit(EXIT_OK)
    table = Table(title=f"{len(found)} run(s)")
    for col in ("id", "connection", "trigger", "mode", "status", "started", "s", "plan", "error"):
        table.add_column(col, overflow="fold")
    for r in found:
        d = r.as_dict()
        plan = ", ".join(f"{k} {v}" for k, v in (r.counts or {}).get("plan", {}).items())
        table.add_row(
            str(r.id),
            Text(r.connection or "-"),
            r.trigger,
            r.mode,
            r.status,
            (d["started_at"] or "")[:19],
            str(d["duration_s"] or ""),
            Text(plan),
            Text((r.error or "")[:80]),
        )
    _console().print(table)
    raise typer.Exit(EXIT_OK)


@runs_app.command("show")
def runs_show(run_id: int, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One run: status, counts per op and outcome, progress, the error with its fix."""
    from listingsync.service import get_run

    with workspace_or_exit(db) as ws:
        run = get_run(ws, run_id)
    if as_json:
        print_json(run.as_dict(result=True))
        raise typer.Exit(EXIT_OK)
    print_run(run)
    raise typer.Exit(EXIT_OK)


def print_run(run: RunRecord) -> None:
    console = _console()
    d = run.as_dict()
    console.print(
        f"run #{run.id} of {run.connection}: {run.status} ({run.mode}, trigger {run.trigger}) "
        f"started {d['started_at'] or '-'}, finished {d['finished_at'] or '-'}",
        markup=False,
    )
    counts = run.counts or {}
    for key in ("plan", "outcomes"):
        if counts.get(key):
            console.print(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in counts[key].items()), markup=False)
    if counts.get("requests") is not None:
        console.print(
            f"  requests: {counts.get('requests')}, throttled: {counts.get('throttled')}", markup=False
        )
    if run.progress and not run.finished:
        p = run.progress
        console.print(f"  now: {p.get('description')} {p.get('done')}/{p.get('total') or '?'}", markup=False)
    if run.error:
        console.print(f"  error: {run.error}", markup=False)
    if run.fix:
        console.print(f"  fix: {run.fix}", markup=False)


def run_connection(connection: str, db: str | None, *, mode: str, as_json: bool) -> int:
    """``sync --connection NAME``: one run of a workspace connection, here, under its lock."""
    from listingsync.service import create_run, execute_run

    with workspace_or_exit(db) as ws:
        run = execute_run(ws, create_run(ws, connection, trigger="cli", mode=mode).id)
    if as_json:
        print_json(run.as_dict(result=True))
    else:
        print_run(run)
    return {"succeeded": EXIT_OK, "partial": EXIT_PROBLEMS}.get(run.status, EXIT_UNUSABLE)


def connection_store_rows(
    connection: str, db: str | None, *, skus: list[str] | None, statuses: list[str] | None
) -> tuple[list[Any], list[dict[str, Any]]]:
    """``status`` / ``issues --connection NAME``: the connection's listings and its last sync."""
    from listingsync.service import get_connection

    with workspace_or_exit(db) as ws:
        get_connection(ws, connection)
        store = ws.store(connection)
        return store.listings(skus=skus or None, statuses=statuses or None), store.runs(limit=1)


# -- tokens ----------------------------------------------------------------------------------------

tokens_app = typer.Typer(help="API tokens (the API needs `Authorization: Bearer <token>`).")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who or what uses it (e.g. grafana, ci).")], db: DbOption = None
) -> None:
    """Create a token and print it once (only its SHA-256 is stored)."""
    from listingsync.service.tokens import create_token

    with workspace_or_exit(db) as ws:
        _, token = create_token(ws, name)
    # The token alone on stdout (scripts capture it); the advice on stderr.
    sys.stdout.write(token + "\n")
    from listingsync.cli.common import err_console

    err_console.print(
        "Keep it now: it is not shown again. Use it as `Authorization: Bearer <token>`.", markup=False
    )
    raise typer.Exit(EXIT_OK)


@tokens_app.command("list")
def tokens_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Tokens by name and first characters (never the token), with last use and revocation."""
    from listingsync.service.tokens import list_tokens

    with workspace_or_exit(db) as ws:
        found = list_tokens(ws)
    if as_json:
        print_json([t.as_dict() for t in found])
        raise typer.Exit(EXIT_OK)
    console = _console()
    for t in found:
        d = t.as_dict()
        state = (
            f"revoked {d['revoked_at'][:19]}"
            if t.revoked_at
            else f"last used {(d['last_used_at'] or 'never')[:19]}"
        )
        console.print(f"#{t.id} {t.name} {t.prefix}… created {d['created_at'][:19]}, {state}", markup=False)
    raise typer.Exit(EXIT_OK)


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="The token's name or id.")], db: DbOption = None
) -> None:
    """Revoke a token (by name: every active token of that name)."""
    from listingsync.service.tokens import revoke_token

    with workspace_or_exit(db) as ws:
        count = revoke_token(ws, name)
    _console().print(f"Revoked {count} token(s).", markup=False)
    raise typer.Exit(EXIT_OK)
