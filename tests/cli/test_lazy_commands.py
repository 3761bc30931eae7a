"""The command line imports a command's module only when that command is used (``cli/lazy.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from listingsync.cli import COMMANDS, app
from listingsync.cli.lazy import load_command

runner = CliRunner()

_PROBE = """
import json, sys
from listingsync.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``listingsync ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


HEAVY = ("sqlalchemy", "alembic", "httpx", "pydantic", "jinja2", "listingsync.sync", "listingsync.config")


def test_root_help_imports_no_command_module_and_nothing_heavy() -> None:
    loaded = modules_after("--help")
    assert not [m for m in loaded if m.startswith(HEAVY)]
    assert not [m for m in loaded if m.startswith("listingsync.cli.") and m != "listingsync.cli.lazy"]
    assert "rich" not in loaded  # plain help: no Rich, no boxes to wrap in a pipe


def test_check_help_imports_its_own_module_only() -> None:
    loaded = modules_after("check", "--help")
    assert "listingsync.cli.check" in loaded
    assert not [m for m in loaded if m.startswith(HEAVY)]
    assert "listingsync.cli.account" not in loaded and "listingsync.cli.sync" not in loaded


@pytest.mark.parametrize("entry", COMMANDS, ids=[e.name for e in COMMANDS])
def test_every_listed_command_loads_and_its_help_line_is_its_own(entry: object) -> None:
    command = load_command(entry)  # type: ignore[arg-type]
    own = (command.help or "").strip().splitlines()[0]
    assert own == entry.help  # type: ignore[attr-defined]


def test_root_help_lists_every_command_in_order() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    positions = [result.output.index(f"  {entry.name} ") for entry in COMMANDS]
    assert positions == sorted(positions)


def test_a_mistyped_command_is_named_with_a_suggestion() -> None:
    result = runner.invoke(app, ["chek"])
    assert result.exit_code == 2
    assert "No such command 'chek'" in result.output and "'check'" in result.output


def test_help_shows_plain_metavars() -> None:
    result = runner.invoke(app, ["status", "--help"], env={"COLUMNS": "200"})
    assert "--sku TEXT" in result.output and "--json " in result.output
    assert "<" not in result.output  # no <bool>, <str>, <list[str]>


def test_group_subcommands_resolve_through_the_placeholder() -> None:
    result = runner.invoke(app, ["mapping", "suggest", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Usage: listingsync mapping suggest [OPTIONS] PRODUCT_TYPE" in result.output


def test_a_new_command_needs_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from listingsync.cli import lazy

    def hello(name: str = typer.Option("world", "--name")) -> None:
        """Say hello."""
        typer.echo(f"hello {name}")

    monkeypatch.setattr(sys.modules[__name__], "hello", hello, raising=False)

    class Root(lazy.LazyGroup):
        lazy_commands = (lazy.Lazy("hello", f"{__name__}:hello", "Say hello."),)

    extended = typer.Typer(cls=Root, rich_markup_mode=None)

    @extended.callback()
    def _root() -> None:
        """Root."""

    result = runner.invoke(extended, ["hello", "--name", "you"])
    assert result.exit_code == 0 and result.output == "hello you\n"


def _complete(words: str, cword: int) -> str:
    env = {
        **os.environ,
        "_LISTINGSYNC_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from listingsync.cli import app; app(prog_name='listingsync')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def test_shell_completion_is_offered_and_completes_lazy_commands_and_their_options() -> None:
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
    assert _complete("listingsync ch", 1).split() == ["check"]
    assert _complete("listingsync mapping su", 2).split() == ["suggest"]
    assert "--dry-run" in _complete("listingsync sync --dr", 2).split()


@pytest.mark.parametrize("command", ["sync", "status", "issues", "demo"])
def test_sync_commands_help_imports_no_engine(command: str) -> None:
    loaded = modules_after(command, "--help")
    assert "listingsync.cli.sync" in loaded
    light = {
        "listingsync.sync",
        "listingsync.sync.guard",
        "listingsync.sync.progress",
    }  # option names, a base class
    assert not [m for m in loaded if m.startswith(HEAVY) and m not in light]


@pytest.mark.parametrize("command", ["catalog", "product-types", "preview", "validate", "mapping"])
def test_catalog_mapping_and_product_types_help_import_no_config_models(command: str) -> None:
    assert not [m for m in modules_after(command, "--help") if m.startswith(HEAVY)]
