"""The ``listingsync`` command line. Nothing imports this package; it imports everything, lazily.

``COMMANDS`` names every top-level command, the function or Typer group behind it and the line
``listingsync --help`` shows; a command's module is imported only when that command is used
(``cli/lazy.py``). To add a command: write it in a module of ``cli/`` (heavy imports inside the
function), then add one ``Lazy(...)`` line here.
"""

from __future__ import annotations

import typer

import listingsync
from listingsync.cli.lazy import Lazy, LazyGroup

COMMANDS = (
    Lazy(
        "check",
        "listingsync.cli.check:check",
        "Verify config, credentials, region, seller/vendor id and marketplaces, naming the fix for each failure.",
    ),
    Lazy(
        "connect",
        "listingsync.cli.check:connect_app",
        "Walk Amazon's setup guide, verify the credentials, then save listingsync.yaml and the secrets.",
    ),
    Lazy(
        "preview",
        "listingsync.cli.mapping:preview",
        "Show one SKU: the source record → the listing JSON per marketplace → every issue.",
    ),
    Lazy(
        "validate",
        "listingsync.cli.mapping:validate",
        "Build and validate every SKU for every marketplace; exit 1 when any has an ERROR.",
    ),
    Lazy(
        "adopt",
        "listingsync.cli.upkeep:adopt_command",
        "Record what Amazon already holds of the catalogue; list Amazon listings it does not have.",
    ),
    Lazy(
        "reconcile",
        "listingsync.cli.upkeep:reconcile_command",
        "Read listings back from Amazon and record drift: gone, changed outside listingsync, new issues.",
    ),
    Lazy(
        "sync",
        "listingsync.cli.sync:sync_command",
        "Send the catalogue's changes to Amazon: create, update (PATCH), delete; then report per SKU.",
    ),
    Lazy(
        "status",
        "listingsync.cli.sync:status_command",
        "Per SKU and marketplace: status (pending, accepted, live, invalid, error, deleted), ASIN, issues.",
    ),
    Lazy(
        "issues",
        "listingsync.cli.sync:issues_command",
        "Every issue per SKU and marketplace: ours (local validation) and Amazon's.",
    ),
    Lazy(
        "demo",
        "listingsync.cli.sync:demo_command",
        "Emulator in-process + the bundled sample catalogue → check, validate, sync, status (under a minute).",
    ),
    Lazy(
        "emulator",
        "listingsync.cli.emulator:emulator",
        "Serve a local Amazon SP-API emulator (LWA, Sellers, Listings, Definitions, Feeds, Catalog).",
    ),
    Lazy("catalog", "listingsync.cli.catalog:catalog_app", "Look at the catalogue source."),
    Lazy(
        "product-types",
        "listingsync.cli.product_types:product_types_app",
        "Find Amazon product types and list what their listings must contain.",
    ),
    Lazy("mapping", "listingsync.cli.mapping:mapping_app", "Work on the listings mapping."),
    Lazy(
        "worker",
        "listingsync.cli.worker:worker",
        "Run a Celery worker: account syncs and catalogue slices, taken off a broker (Redis or RabbitMQ).",
    ),
    Lazy(
        "serve",
        "listingsync.cli.service:serve",
        "Run the service: the scheduler, the executor and the JSON API under /api/v1 (until SIGTERM).",
    ),
    Lazy(
        "connections",
        "listingsync.cli.service:connections_app",
        "Manage the workspace's connections (an account + a source + a mapping).",
    ),
    Lazy("runs", "listingsync.cli.service:runs_app", "The history of runs: list them, or show one."),
    Lazy(
        "users",
        "listingsync.cli.users:users_app",
        "Manage who signs in to the dashboard (roles: viewer, editor, admin).",
    ),
    Lazy(
        "tokens",
        "listingsync.cli.service:tokens_app",
        "API tokens (the API needs `Authorization: Bearer <token>`).",
    ),
)


class _Root(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    cls=_Root,
    name="listingsync",
    help="Keep Amazon listings in sync with a product catalogue (SP-API, for vendors and sellers).",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no Rich import on --help, no box drawing in pipes
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"listingsync {listingsync.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More log detail: -v info, -vv debug.", show_default=False
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log errors only."),
    log_level: str | None = typer.Option(
        None,
        "--log-level",
        help="debug, info, warning, error (default: $LISTINGSYNC_LOG_LEVEL or warning).",
        show_default=False,
    ),
    log_format: str | None = typer.Option(
        None,
        "--log-format",
        help="text or json (one object per line; default: $LISTINGSYNC_LOG_FORMAT or text).",
        show_default=False,
    ),
) -> None:
    """Keep Amazon listings in sync with a product catalogue."""
    from listingsync.cli.logs import LEVELS, resolve_level, setup_logging

    if log_level and log_level.lower() not in LEVELS:
        raise typer.BadParameter(f"use one of {', '.join(LEVELS)}", param_hint="--log-level")
    if log_format and log_format.lower() not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--log-format")
    setup_logging(resolve_level(log_level, verbose, quiet), log_format)


def main() -> None:
    app()
