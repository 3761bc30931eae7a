"""The ``listingsync`` command line. Nothing imports this package; it imports everything."""

from __future__ import annotations

import typer

from listingsync import __version__
from listingsync.cli import catalog, check, emulator, mapping, product_types, sync

app = typer.Typer(
    name="listingsync",
    help="Keep Amazon listings in sync with a product catalogue (SP-API, for vendors and sellers).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"listingsync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Keep Amazon listings in sync with a product catalogue."""


for module in (check, catalog, product_types, mapping, sync, emulator):
    module.register(app)


def main() -> None:
    app()
