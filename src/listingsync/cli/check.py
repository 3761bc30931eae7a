"""``listingsync check``, ``listingsync connect`` and ``listingsync connect saleslayer``.

Only the commands' options live here, so that ``check --help`` imports nothing heavy; what the
commands do is in ``cli/account.py``, imported when a command runs.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from listingsync.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    ConfigOption,
    JsonOption,
    fail,
    print_json,
)

__all__ = ["check", "connect_app"]


def check(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Verify config, credentials, region, seller/vendor id and marketplaces, naming the fix for each failure."""
    import asyncio

    from listingsync.checks import run_check
    from listingsync.cli.account import print_steps, steps_json
    from listingsync.cli.common import console
    from listingsync.config import ConfigError
    from listingsync.redaction import install_log_redaction

    install_log_redaction()
    try:
        steps = asyncio.run(run_check(config))
    except ConfigError as exc:
        if json_output:
            print_json(
                {
                    "ok": False,
                    "steps": [{"name": "config", "ok": False, "message": exc.message, "fix": exc.fix}],
                }
            )
            raise typer.Exit(EXIT_UNUSABLE) from None
        fail(exc, EXIT_UNUSABLE)
    ok = all(s.ok for s in steps)
    if json_output:
        print_json(steps_json(steps, ok))
    else:
        print_steps(steps)
        console.print("[green]all checks passed[/green]" if ok else "[red]a check failed[/red]", markup=True)
    raise typer.Exit(EXIT_OK if ok else EXIT_PROBLEMS)


connect_app = typer.Typer(
    invoke_without_command=True,
    subcommand_metavar="[saleslayer]",
    no_args_is_help=False,
)


@connect_app.callback()
def connect(
    ctx: typer.Context,
    config: ConfigOption = None,
    account_type: Annotated[str | None, typer.Option("--type", help="vendor or seller")] = None,
    region_opt: Annotated[str | None, typer.Option("--region", help="na, eu or fe")] = None,
    endpoint: Annotated[str | None, typer.Option(help="SP-API base URL (emulator or sandbox)")] = None,
    lwa_endpoint: Annotated[str | None, typer.Option(help="LWA token URL (emulator)")] = None,
    save_unverified: Annotated[
        bool, typer.Option("--save-unverified", help="Save even if verification fails.")
    ] = False,
    saleslayer_connector: Annotated[
        str | None,
        typer.Option(
            "--saleslayer-connector",
            help="Also store the private key of this Sales Layer connector (asked for, hidden).",
        ),
    ] = None,
) -> None:
    """Walk Amazon's setup guide, verify the credentials, then save listingsync.yaml and the secrets.

    `listingsync connect saleslayer` stores a Sales Layer connector's private key alone.
    """
    if ctx.invoked_subcommand is not None:
        return
    from listingsync.cli.account import wizard
    from listingsync.redaction import install_log_redaction

    install_log_redaction()
    # The wizard says itself where the secrets went; the store's log warning would repeat it.
    quiet = logging.getLogger("listingsync.credentials")
    previous = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        wizard(
            config, account_type, region_opt, endpoint, lwa_endpoint, save_unverified, saleslayer_connector
        )
    finally:
        quiet.setLevel(previous)


@connect_app.command("saleslayer")
def connect_saleslayer(
    config: ConfigOption = None,
    connector: Annotated[
        str | None,
        typer.Option("--connector", help="Connector ID (default: source.connector_id of the config)."),
    ] = None,
) -> None:
    """Store a Sales Layer connector's private key (asked for, hidden), then check it when the config uses it."""
    from listingsync.cli.account import store_saleslayer_key
    from listingsync.cli.common import err_console
    from listingsync.redaction import install_log_redaction

    install_log_redaction()
    quiet = logging.getLogger("listingsync.credentials")
    previous = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        ok = store_saleslayer_key(config, connector)
    finally:
        quiet.setLevel(previous)
    if not ok:
        err_console.print("the key was stored, but Sales Layer did not accept it (see above)")
    raise typer.Exit(EXIT_OK if ok else EXIT_PROBLEMS)
