"""What every command shares: the ``--config``/``--json`` options, consoles, and error exits.

Only ``cli/`` prints. Exit codes follow the contract in the README: 0 fine, 1 the command found
problems (a check failed, validation errors, SKUs failed), 2 the command could not run (config
unusable, bad arguments).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from listingsync.config import Config, ConfigError, load_config
from listingsync.errors import ListingSyncError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_UNUSABLE = 2

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $LISTINGSYNC_CONFIG or ./listingsync.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def fail(error: ListingSyncError | str, code: int = EXIT_UNUSABLE) -> NoReturn:
    """Print an actionable error on stderr and exit.

    Messages quote user data (SKUs, cell values, file names): escaped, so ``[/b]`` in a value prints
    as typed instead of raising rich's MarkupError as a traceback.
    """
    if isinstance(error, ListingSyncError):  # a ConfigError names its file in the message
        where = f"{error.where}: " if error.where else ""
        err_console.print(f"[red]✗[/red] {escape(where + error.message)}", soft_wrap=True)
        if error.fix:
            err_console.print(f"  fix: {error.fix}", markup=False, soft_wrap=True)
    else:
        err_console.print(f"[red]✗[/red] {escape(error)}", soft_wrap=True)
    raise typer.Exit(code)


def config_or_exit(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(exc, EXIT_UNUSABLE)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
