"""``listingsync users add|list|remove|passwd|role``: the people who sign in to the dashboard.

Passwords are read from the terminal (asked twice, hidden) or, when standard input is not a
terminal, from its first line (``echo "$PW" | listingsync users add ana --role editor``), never
from an option, where they would land in the shell history and in ``ps``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from listingsync.service import Workspace
    from listingsync.service.users import UserStore

users_app = typer.Typer(
    name="users",
    help="Manage who signs in to the dashboard (roles: viewer, editor, admin).",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Workspace database URL (default: $LISTINGSYNC_DB or the one serve uses)."),
]


def _store(db: str | None) -> tuple[Workspace, UserStore]:
    from listingsync.service import Workspace
    from listingsync.service.users import UserStore

    ws = Workspace.open(db)
    return ws, UserStore(ws.engine)


def _password(confirm: bool) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    password = str(typer.prompt("Password", hide_input=True))
    if confirm and password != str(typer.prompt("Password again", hide_input=True)):
        _fail("the two passwords differ", "type the same password twice")
    return password


def _fail(message: str, fix: str | None = None) -> NoReturn:
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    fail(ListingSyncError(message, fix=fix))


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user name people sign in with.")],
    role: Annotated[str, typer.Option("--role", help="viewer, editor or admin.")] = "viewer",
    db: DbOption = None,
) -> None:
    """Add a user; the password is asked for (or read from standard input when piped)."""
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    try:
        ws, store = _store(db)
        with ws:
            user = store.add(name, role, _password(confirm=True))
    except ListingSyncError as exc:
        fail(exc)
    typer.echo(f"✓ added {user.name} ({user.role})")


@users_app.command("list")
def list_users(db: DbOption = None) -> None:
    """List users and their roles."""
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    try:
        ws, store = _store(db)
        with ws:
            users = store.list()
    except ListingSyncError as exc:
        fail(exc)
    if not users:
        typer.echo("no users yet: listingsync users add NAME --role admin")
    for user in users:
        typer.echo(f"{user.name}\t{user.role}")


@users_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The user to remove.")], db: DbOption = None) -> None:
    """Remove a user (their sessions end at once)."""
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    try:
        ws, store = _store(db)
        with ws:
            store.remove(name)
    except ListingSyncError as exc:
        fail(exc)
    typer.echo(f"✓ removed {name}")


@users_app.command("passwd")
def passwd(name: Annotated[str, typer.Argument(help="Whose password to set.")], db: DbOption = None) -> None:
    """Set a user's password (their sessions end at once)."""
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    try:
        ws, store = _store(db)
        with ws:
            store.set_password(name, _password(confirm=True))
    except ListingSyncError as exc:
        fail(exc)
    typer.echo(f"✓ new password set for {name}")


@users_app.command("role")
def role(
    name: Annotated[str, typer.Argument(help="Whose role to change.")],
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="viewer, editor or admin.")],
    db: DbOption = None,
) -> None:
    """Change a user's role."""
    from listingsync.cli.common import fail
    from listingsync.errors import ListingSyncError

    try:
        ws, store = _store(db)
        with ws:
            store.set_role(name, new_role)
    except ListingSyncError as exc:
        fail(exc)
    typer.echo(f"✓ {name} is now {new_role}")
