"""``listingsync catalog inspect``: what the catalogue source holds, and what is wrong with it.

Fields found (with types and fill rates), record counts (products, variants, deleted), a few
samples, and every problem with its file:line (or Sales Layer table ID) and reason.
Exit codes: 0 no problems, 1 problems found (the good records are still counted), 2 the source
cannot be read at all (config, missing file, no SKU column, Sales Layer refused the credentials).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from listingsync.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    ConfigOption,
    JsonOption,
    config_or_exit,
    console,
    fail,
    print_json,
)
from listingsync.errors import ListingSyncError

if TYPE_CHECKING:  # the sources import the config models (pydantic): not for `catalog --help`
    from listingsync.catalog.inspect import CatalogReport

catalog_app = typer.Typer(help="Look at the catalogue source.", no_args_is_help=True)


@catalog_app.command("inspect")
def inspect_command(
    config: ConfigOption = None,
    json_output: JsonOption = False,
    samples: Annotated[int, typer.Option("--samples", min=0, help="Sample records to show.")] = 3,
    max_problems: Annotated[
        int, typer.Option("--max-problems", min=0, help="Problems listed in text output (0: all).")
    ] = 0,
) -> None:
    """Fields with types and fill rates, record counts, samples and every problem of the source."""
    from listingsync.catalog import open_source
    from listingsync.catalog.inspect import inspect_source

    cfg = config_or_exit(config)
    source = None
    try:
        source = open_source(cfg)
        report = inspect_source(source, samples=samples)
    except ListingSyncError as exc:
        fail(exc)
    finally:
        if source is not None:
            source.close()
    if json_output:
        print_json(report.to_dict())
    else:
        _print(report, max_problems)
    raise typer.Exit(EXIT_PROBLEMS if report.errors else EXIT_OK)


def _types(types: dict[str, int]) -> str:
    total = sum(types.values()) or 1
    return ", ".join(
        name if count == total else f"{name} {count * 100 // total}%" for name, count in types.items()
    )


def _short(value: Any, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print(report: CatalogReport, max_problems: int) -> None:
    console.print(f"[bold]{escape(report.source)}[/bold]")
    console.print(
        f"  {report.records} records: {report.products} products, {report.variants} variants, "
        f"{report.deleted} deleted; {report.errors} problems"
        + (
            f", {len(report.problems) - report.errors} warnings"
            if len(report.problems) > report.errors
            else ""
        )
    )
    if report.roles:
        roles = ", ".join(
            f"{k}: {', '.join(v) if isinstance(v, list) else v}"
            for k, v in report.roles.items()
            if v not in (None, [], "")
        )
        console.print(f"  columns used: {escape(roles)}")
    if report.fields:
        table = Table(title="Fields", title_justify="left", show_edge=False)
        for column in ("field", "kind", "types", "filled", "example"):
            table.add_column(column, justify="right" if column == "filled" else "left")
        for stats in report.fields.values():
            table.add_row(
                escape(stats.name),
                stats.kind,
                _types(dict(stats.types.most_common())),
                f"{report.fill_rate(stats):.0%}",
                escape(_short(stats.example)),
            )
        console.print(table)
    for sample in report.samples:
        parent = f" (variant of {sample.parent_sku})" if sample.parent_sku else ""
        console.print(
            f"[bold]sample[/bold] {escape(sample.sku)}{escape(parent)} — {escape(str(sample.origin))}"
        )
        shown = {
            **sample.fields,
            **{f"{b}[{lang}]": v for b, t in sample.localized.items() for lang, v in t.items()},
        }
        for name, value in list(shown.items())[:12]:
            console.print(f"    {escape(name)}: {escape(_short(value, 70))}")
        if sample.images:
            console.print(f"    images: {len(sample.images)} ({escape(_short(sample.images[0], 60))} …)")
    if report.problems:
        console.print(f"[bold]Problems[/bold] ({len(report.problems)})")
        listed = report.problems if not max_problems else report.problems[:max_problems]
        for problem in listed:
            mark = "[red]✗[/red]" if problem.severity == "error" else "[yellow]![/yellow]"
            console.print(f"  {mark} {escape(str(problem))}", soft_wrap=True)
        if len(listed) < len(report.problems):
            console.print(f"  … and {len(report.problems) - len(listed)} more (--json lists them all)")
    else:
        console.print("[green]✓[/green] no problems")
