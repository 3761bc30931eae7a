"""Commands that import their module only when they run, so ``listingsync --help`` starts fast.

The root app lists every command by name, target and one-line help (``cli/__init__.py``'s
``COMMANDS``); the module behind a command is imported only when that command (or its ``--help``,
or its shell completion) is resolved. ``listingsync --help`` therefore imports no command module
at all, and ``listingsync check --help`` imports ``cli/check.py`` alone.

A target is ``"package.module:attribute"``, where the attribute is a command function or a
``typer.Typer`` (a command group). Adding a command is one line in ``COMMANDS``; the command's
module keeps heavy imports (SQLAlchemy, the sync engine, the emulator) inside the functions that
need them, so that its ``--help`` stays fast as well.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["Lazy", "LazyGroup", "load_command"]


@dataclass(frozen=True)
class Lazy:
    """One top-level command: its name, where it lives, and the help line the root lists."""

    name: str
    target: str  # "listingsync.cli.check:check"
    help: str


def load_command(entry: Lazy) -> Any:
    """Import the entry's module and turn its function or Typer app into a click command."""
    module_name, _, attribute = entry.target.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    command: Any
    if isinstance(obj, typer.Typer):
        command = typer.main.get_group(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(entry.name)(obj)
        command = typer.main.get_command(single)
    command.name = entry.name
    _plain_help(command)
    return command


def _plain_help(command: Any) -> None:
    """Plain click help for the command and its subcommands, as for the root.

    Typer's Rich help imports Rich and markdown-it (~0.2 s) and draws boxes that wrap in pipes.
    """
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class _Placeholder(TyperCommand):
    """Stands in for a command in listings (help, completion of names) until it is resolved."""

    def __init__(self, entry: Lazy) -> None:
        super().__init__(name=entry.name, help=entry.help, short_help=entry.help)
        self.entry = entry
        self._loaded: Any = None

    def load(self) -> Any:
        if self._loaded is None:
            self._loaded = load_command(self.entry)
        return self._loaded

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # Group.invoke and shell completion both resolve a subcommand through make_context and then
        # use ``ctx.command``: handing over the real command's context is all the delegation needed.
        return self.load().make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """A Typer group whose ``lazy_commands`` are imported on first use (subclass and set them)."""

    lazy_commands: ClassVar[Sequence[Lazy]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for entry in self.lazy_commands:
            self.commands.setdefault(entry.name, _Placeholder(entry))
