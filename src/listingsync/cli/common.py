"""What every command shares: the ``--config``/``--json`` options, consoles, and error exits.

Only ``cli/`` prints. Exit codes follow the contract in the README: 0 fine, 1 the command found
problems (a check failed, validation errors, SKUs failed), 2 the command could not run (config
unusable, bad arguments).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from listingsync.errors import ListingSyncError

if TYPE_CHECKING:
    from rich.console import Console

    from listingsync.config import Config

    console: Console
    err_console: Console

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_UNUSABLE = 2

#: What ``emulator`` and ``demo`` import from the [emulator] extra.
EMULATOR_MODULES = ("starlette", "uvicorn", "jsonschema")


def __getattr__(name: str) -> Any:
    """``console`` and ``err_console``, made on first use: Rich costs ~50 ms that ``--help`` skips.

    Piped or redirected output is never wrapped (soft wrap): a command printed for pasting stays one
    line, whatever the width Rich assumes for a file.
    """
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    stderr = name == "err_console"
    stream = sys.stderr if stderr else sys.stdout
    made = Console(stderr=stderr, highlight=False, soft_wrap=not stream.isatty())
    globals()[name] = made
    return made


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
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Workspace database URL (default: $LISTINGSYNC_DB, else sqlite:///.listingsync/workspace.db).",
        show_default=False,
    ),
]
ConnectionOption = Annotated[
    str | None,
    typer.Option(
        "--connection",
        help="A connection of the workspace (listingsync connections list) instead of --config.",
        show_default=False,
    ),
]


def fail(error: ListingSyncError | str, code: int = EXIT_UNUSABLE) -> NoReturn:
    """Print an actionable error on stderr and exit.

    Messages quote user data (SKUs, cell values, file names): escaped, so ``[/b]`` in a value prints
    as typed instead of raising rich's MarkupError as a traceback.
    """
    from rich.markup import escape

    err_console = __getattr__("err_console")
    if isinstance(error, ListingSyncError):  # a ConfigError names its file in the message
        where = f"{error.where}: " if error.where else ""
        err_console.print(f"[red]✗[/red] {escape(where + error.message)}", soft_wrap=True)
        if error.fix:
            err_console.print(f"  fix: {error.fix}", markup=False, soft_wrap=True)
    else:
        err_console.print(f"[red]✗[/red] {escape(error)}", soft_wrap=True)
    raise typer.Exit(code)


def require_extra(extra: str, *modules: str) -> None:
    """Exit 2 naming the extra to install when a module of an optional dependency is missing."""
    import importlib

    missing = []
    for module in modules:
        try:
            importlib.import_module(module)  # the command imports it next anyway
        except ImportError:
            missing.append(module)
    if missing:
        fail(
            ListingSyncError(
                f"this command needs {', '.join(missing)}, from listingsync's [{extra}] extra",
                fix=f"pip install 'listingsync[{extra}]'",
            )
        )


def config_or_exit(path: Path | None) -> Config:
    from listingsync.config import ConfigError, load_config  # pydantic models: not needed for --help

    try:
        return load_config(path)
    except ConfigError as exc:
        fail(exc, EXIT_UNUSABLE)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, written as it is encoded (a lazy list, such as a big
    sync's results, is never held whole as text either)."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    for chunk in encoder.iterencode(data):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")
