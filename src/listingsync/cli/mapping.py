"""``mapping suggest TYPE``, ``preview SKU`` and ``validate``: the mapping seen from the command line.

Schemas come from the schema store: fetched through Amazon (or the emulator, as ``account.endpoint``
says) and cached on disk; ``--offline`` answers from that cache only, ``--bundled`` from the schemas
shipped with listingsync (HOME US/FR, PRODUCT US; other marketplaces borrow them, as the emulator does).
Exit codes: ``preview`` 0 no issues / 1 issues / 2 unusable; ``validate`` 0 / 1 some ERROR / 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from listingsync.amazon import marketplaces as mp
from listingsync.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    ConfigOption,
    JsonOption,
    config_or_exit,
    console,
    err_console,
    fail,
    print_json,
)
from listingsync.cli.product_types import fetch_schema
from listingsync.csvsafe import SafeCsvWriter
from listingsync.errors import ListingSyncError

# The catalogue sources, the config models, the mapping and the schemas (pydantic, the validator,
# templates) are imported where a command runs, so that `validate --help` … stay fast (cli/lazy.py).
if TYPE_CHECKING:
    from listingsync.catalog import CatalogProblem, Product
    from listingsync.config import Config
    from listingsync.mapping import Listing, MappingPipeline, ProductResult, Requirements
    from listingsync.mapping.parallel import ChunkSpec, SourceWorkers
    from listingsync.mapping.pipeline import ListingResult, Outline
    from listingsync.schema.issues import Issue

    Provider = Callable[[str, str, Requirements], Any]

__all__ = ["schema_provider"]

T = TypeVar("T")

OfflineOption = Annotated[bool, typer.Option("--offline", help="Use cached schemas only (no network).")]
BundledOption = Annotated[
    bool,
    typer.Option("--bundled", help="Use the schemas bundled with listingsync (no account needed)."),
]


def schema_provider(
    config: Config, *, offline: bool = False, bundled: bool = False
) -> tuple[Provider, list[str]]:
    """A no-network schema provider for ``config``, after fetching what is missing (unless offline).

    Returns the provider and notes worth showing the user (schemas that could not be fetched …).
    """
    from listingsync.amazon import SPAPIClient
    from listingsync.credentials import load_credentials
    from listingsync.mapping import BundledSchemas, preload
    from listingsync.schema.store import SchemaStore

    if bundled:
        return BundledSchemas(), []
    notes: list[str] = []
    seller_id = config.account.selling_partner_id
    # Beside the config, where `sync` caches them too, so `validate --offline` sees what sync fetched.
    cache_dir = config.resolve_path(".listingsync/schemas")
    if offline:
        return SchemaStore(None, cache_dir, seller_id).get_cached, notes
    try:
        credentials = load_credentials(seller_id, config.account.resolved_region)
    except ListingSyncError as exc:
        notes.append(f"cannot reach Amazon ({exc.message}): using cached schemas")
        return SchemaStore(None, cache_dir, seller_id).get_cached, notes

    async def fetch() -> Any:
        async with SPAPIClient.from_account(config.account, credentials) as client:
            store = SchemaStore(client, cache_dir, seller_id)
            failures = await preload(config, store)
            notes.extend(str(f) for f in failures)
            return store

    store = asyncio.run(fetch())
    return store.get_cached, notes


def _open(config: Config) -> tuple[list[Product | CatalogProblem], list[str]]:
    from listingsync.catalog import open_source
    from listingsync.catalog.inspect import empty_catalogue

    try:
        source = open_source(config)
        records: list[Product | CatalogProblem] = list(source.records())
        if not records:
            records.append(empty_catalogue(source.name))  # validate must not pass on an empty export
        return records, list(source.columns())
    except ListingSyncError as exc:
        fail(exc)


def _pipeline(config: Config, offline: bool, bundled: bool) -> MappingPipeline:
    from listingsync.mapping import MappingPipeline

    try:
        schemas, notes = schema_provider(config, offline=offline, bundled=bundled)
    except ListingSyncError as exc:
        fail(exc)
    for note in notes:
        err_console.print(f"[yellow]![/yellow] {escape(note)}", soft_wrap=True)
    pipeline = MappingPipeline(config, schemas)
    try:
        pipeline.check()
    except ListingSyncError as exc:
        fail(exc)
    return pipeline


def _issue_json(issue: Issue) -> dict[str, Any]:
    return {
        "severity": issue.severity.value,
        "code": issue.code,
        "attribute": issue.attribute,
        "path": issue.path,
        "message": issue.message,
    }


def _listing_json(listing: Listing) -> dict[str, Any]:
    return {
        "sku": listing.sku,
        "marketplaceId": listing.marketplace_id,
        "productType": listing.product_type,
        "requirements": listing.requirements.value,
        "attributes": listing.attributes,
    }


def _print_json_document(document: Any) -> None:
    """Listing JSON, whole: coloured and wrapped on a terminal, verbatim when piped or redirected.

    A rich ``Syntax`` crops long lines at the console width (80 columns in a pipe), which cut image
    URLs short in ``preview > file``; wrapping on a terminal and plain text elsewhere lose nothing.
    """
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text, "json", word_wrap=True))
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)


def _severity_style(severity: str) -> str:
    return {"ERROR": "red", "WARNING": "yellow", "INFO": "cyan"}.get(severity, "green")


# -- preview ---------------------------------------------------------------------------------------


def preview(
    sku: Annotated[str, typer.Argument(help="The SKU to show.")],
    config_path: ConfigOption = None,
    json_output: JsonOption = False,
    offline: OfflineOption = False,
    bundled: BundledOption = False,
) -> None:
    """Show one SKU: the source record → the listing JSON per marketplace → every issue."""
    from listingsync.catalog import CatalogProblem, Product
    from listingsync.mapping.pipeline import field_names

    config = config_or_exit(config_path)
    records, columns = _open(config)
    products = {r.sku: r for r in records if isinstance(r, Product)}
    problems = [r for r in records if isinstance(r, CatalogProblem) and r.sku == sku]
    product = products.get(sku)
    if product is None:
        close = difflib.get_close_matches(sku, list(products), n=3, cutoff=0.6)
        hint = (
            f"did you mean {', '.join(close)}?" if close else "run 'listingsync catalog inspect' to list SKUs"
        )
        detail = f" ({problems[0].message})" if problems else ""
        fail(ListingSyncError(f"SKU {sku!r} is not in the catalogue{detail}", fix=hint))
    pipeline = _pipeline(config, offline, bundled)
    pipeline.builder.known_fields = field_names(products.values(), columns)
    parent = products.get(product.parent_sku) if product.parent_sku else None
    is_parent = any(p.parent_sku == sku for p in products.values()) or None
    result = pipeline.result(product, parent=parent, is_parent=is_parent)
    has_issues = bool(problems) or any(i.severity.value in {"ERROR", "WARNING"} for i in result.issues)
    if json_output:
        print_json(
            {
                "sku": sku,
                "origin": result.origin,
                "source": product.raw,
                "problems": [str(p) for p in problems],
                "listings": [
                    {**_listing_json(r.listing), "issues": [_issue_json(i) for i in r.issues]}
                    for r in result.listings
                ],
            }
        )
        raise typer.Exit(EXIT_PROBLEMS if has_issues else EXIT_OK)
    console.rule(f"[bold]{escape(sku)}[/bold]  ({escape(result.origin)})")
    table = Table(show_header=True, header_style="bold", box=None)
    table.add_column("source field")
    table.add_column("value", overflow="fold")
    for key, value in product.raw.items():
        if value not in (None, ""):
            # Catalogue text is data, not markup: a title with "[/b]" must print as typed.
            table.add_row(Text(str(key)), Text(str(value)))
    console.print(table)
    for problem in problems:
        console.print(f"[yellow]catalogue:[/yellow] {escape(str(problem))}", soft_wrap=True)
    for item in result.listings:
        listing = item.listing
        market = mp.by_id(listing.marketplace_id)
        console.rule(
            f"{market.country} {listing.marketplace_id} · {listing.product_type or '?'} · "
            f"{listing.requirements.value}" + (f" · {listing.parentage}" if listing.parentage else "")
        )
        _print_json_document(listing.attributes)
        if not item.issues:
            console.print("[green]✓ no issues[/green]")
        for issue in item.issues:
            style = _severity_style(issue.severity.value)
            console.print(
                f"[{style}]{issue.severity.value}[/{style}] {escape(issue.path or '/')}: "
                f"{escape(issue.message)} {escape(f'[{issue.code}]')}",
                soft_wrap=True,
                markup=True,
                highlight=False,
            )
    raise typer.Exit(EXIT_PROBLEMS if has_issues else EXIT_OK)


# -- validate --------------------------------------------------------------------------------------


class _Catalogue:
    """The configured source, read as a stream: a first pass outlines it (:class:`Outline`: which
    records have variants, every field name, how many records), the second builds and validates.
    Sales Layer is read once, into memory (an export read twice could differ, and costs twice)."""

    def __init__(self, config: Config) -> None:
        from listingsync.catalog import open_source
        from listingsync.catalog.csv_source import CheckVerdicts, CsvSource
        from listingsync.mapping.pipeline import Outline, outline_csv

        try:
            self.source = open_source(config)
            self.columns = list(self.source.columns())
            self.whole: list[Product | CatalogProblem] | None = None
            self.outline: Outline | None = None
            #: The cross-record checks' verdicts of a CSV's first pass: the workers replay them.
            self.verdicts = CheckVerdicts()
            if self.source.incremental:
                self.whole = list(self.source.records())
                self.count = len(self.whole)
            elif isinstance(self.source, CsvSource):  # rows scanned, not built: a third of the time
                self.count = 0
                self.outline = outline_csv(self._counted(self.source.scan(self.verdicts)), self.source)
            else:
                self.count = 0
                self.outline = Outline.of(self._counted(self.source.records()), self.columns)
        except ListingSyncError as exc:
            fail(exc)

    def _counted(self, records: Iterator[T]) -> Iterator[T]:
        for record in records:
            self.count += 1
            yield record

    def results(
        self, pipeline: MappingPipeline, workers: int, spec: ChunkSpec, ready: SourceWorkers | None = None
    ) -> Iterator[ProductResult]:
        """``ready``: workers started before the first pass (:func:`_early_workers`), used if
        there are as many as ``workers`` and the catalogue is one they read themselves."""
        from listingsync.catalog.inspect import empty_catalogue
        from listingsync.mapping.parallel import SourceWorkers, build_in_parallel
        from listingsync.mapping.pipeline import Outline, field_names

        records: Iterator[Product | CatalogProblem]
        if self.count == 0:  # validate must not pass on an empty export
            records = iter([empty_catalogue(self.source.name)])
        elif self.whole is not None:
            records = iter(self.whole)
        else:
            records = self.source.records()
        try:
            outline = self.outline or Outline.of(self.whole or [], self.columns)
            fields = frozenset(outline.fields | field_names((), self.columns))
            if self.count:  # the whole catalogue: a misspelt field is one config error, not one per record
                pipeline.builder.check_fields(fields)
            if workers <= 1:
                yield from pipeline.run(records, columns=self.columns, outline=self.outline)
                return
            spec = replace(spec, fields=fields)
            if self.outline is not None and self.count:
                # A file reads the same twice: each worker reads it rather than be sent its records.
                outline = replace(self.outline, fields=set(fields))
                if ready is not None and ready.workers == workers:
                    yield from ready.results(outline, self.verdicts)
                    return
                with SourceWorkers(spec, workers) as pool:
                    yield from pool.results(outline, self.verdicts)
                return
            yield from build_in_parallel(spec, pipeline.ordered(records, outline), workers)
        except ListingSyncError as exc:
            fail(exc)


@contextlib.contextmanager
def _early_workers(config: Config, workers: int, spec: ChunkSpec) -> Iterator[SourceWorkers | None]:
    """Workers started before the first pass over a catalogue file (they get ready meanwhile,
    see :class:`SourceWorkers`): when ``--workers`` asks for several, or, left to the catalogue's
    size, when the file is large enough that it will surely have them (a small one is built in
    one process: workers started for nothing would slow it down)."""
    from listingsync.mapping.parallel import MIN_RECORDS, SourceWorkers, auto_workers

    settings = config.source
    if not workers and settings is not None and settings.type != "saleslayer" and settings.path:
        try:
            size = config.resolve_path(settings.path).stat().st_size
        except OSError:
            size = 0  # the first pass says what is wrong with the file
        workers = auto_workers(MIN_RECORDS) if size >= EARLY_WORKERS_BYTES else 1
    if workers <= 1 or settings is None or settings.type == "saleslayer":
        yield None
        return
    with SourceWorkers(spec, workers) as ready:
        yield ready


#: A catalogue file this large has more than ``MIN_RECORDS`` records unless its rows are wider than
#: 1 KB (the sample's are about 830 bytes): workers started for a smaller one would be in vain.
EARLY_WORKERS_BYTES = 2 << 20


#: Records between two updates of the progress bar.
_PROGRESS_STEP = 100


def _progress_results(
    pipeline: MappingPipeline,
    catalogue: _Catalogue,
    show: bool,
    workers: int,
    spec: ChunkSpec,
    ready: SourceWorkers | None,
) -> Iterator[ProductResult]:
    if not show:
        yield from catalogue.results(pipeline, workers, spec, ready)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("validate", total=catalogue.count)
        # Advanced in steps: one call per record cost the main process, which merges what the
        # workers build, a tenth of its time (the bar is redrawn a few times a second anyway).
        done = 0
        for result in catalogue.results(pipeline, workers, spec, ready):
            done += 1
            if done == _PROGRESS_STEP:
                progress.advance(task, done)
                done = 0
            yield result
        progress.advance(task, done)


class _Summary:
    """What ``validate`` tells at the end, gathered while the results stream past (bounded)."""

    SHOWN = 20

    def __init__(self) -> None:
        self.per_group: dict[tuple[str, str], Counter[str]] = {}
        self.codes: Counter[str] = Counter()
        self.problems: list[CatalogProblem] = []
        self.invalid: list[tuple[ProductResult, ListingResult]] = []
        self.invalid_count = 0

    def add(self, result: ProductResult) -> None:
        if result.problem is not None:
            self.problems.append(result.problem)
        for item in result.listings:
            listing = item.listing
            group = self.per_group.setdefault(
                (listing.product_type or "?", mp.by_id(listing.marketplace_id).country), Counter()
            )
            group["listings"] += 1
            severities = {i.severity.value for i in item.issues}
            group[
                "errors" if "ERROR" in severities else "warnings" if "WARNING" in severities else "valid"
            ] += 1
            for issue in item.issues:
                self.codes[f"{issue.severity.value} {issue.code} {issue.attribute or '/'}"] += 1
            if not item.ok:
                self.invalid_count += 1
                if len(self.invalid) < self.SHOWN:
                    self.invalid.append((result, item))

    @property
    def any_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems) or any(
            c["errors"] for c in self.per_group.values()
        )


class _SchemaGate:
    """No schema at all for any listing means validation did not happen (exit 2, not 1). Results
    wait here until one listing was validated against a schema, then flow on; only a run where no
    listing ever was holds them all (and they carry no attributes then)."""

    def __init__(self) -> None:
        self.held: list[ProductResult] = []
        self.open = False
        self.first_missing: Issue | None = None

    def pass_(self, result: ProductResult) -> list[ProductResult]:
        if self.open:
            return [result]
        self.held.append(result)
        for item in result.listings:
            missing = next((i for i in item.issues if i.code == "LS-MAP-SCHEMA"), None)
            if missing is None:
                self.open = True
            elif self.first_missing is None:
                self.first_missing = missing
        if not self.open:
            return []
        released, self.held = self.held, []
        return released

    def finish(self) -> list[ProductResult]:
        if not self.open and self.first_missing is not None:
            fail(
                ListingSyncError(
                    "no product type schema is available, so nothing could be validated: "
                    + self.first_missing.message.split(" — fix:")[0],
                    fix="run once online (credentials set, account.endpoint reachable) so the schemas "
                    "are downloaded and cached, or pass --bundled to use the schemas shipped with "
                    "listingsync",
                )
            )
        released, self.held = self.held, []
        return released


def _result_json(r: ProductResult) -> list[dict[str, Any]]:
    return [
        {
            "sku": r.sku,
            "origin": r.origin,
            "marketplaceId": item.listing.marketplace_id,
            "productType": item.listing.product_type,
            "requirements": item.listing.requirements.value,
            "status": "invalid" if not item.ok else "valid",
            "issues": [_issue_json(i) for i in item.issues],
        }
        for item in r.listings
    ]


class _JsonResults:
    """``validate --json`` written as the results come: the ``results`` array first, the summary
    after it (a million SKUs' results are never in memory at once)."""

    def __init__(self) -> None:
        self.first = True
        sys.stdout.write('{\n  "results": [')

    def write(self, result: ProductResult) -> None:
        for entry in _result_json(result):
            sys.stdout.write(("\n    " if self.first else ",\n    ") + json.dumps(entry, ensure_ascii=False))
            self.first = False

    def close(self, summary: _Summary) -> None:
        tail = {
            "ok": not summary.any_error,
            "summary": [
                {"productType": t, "marketplace": m, **dict(c)}
                for (t, m), c in sorted(summary.per_group.items())
            ],
            "problems": [
                {"origin": str(p.origin), "sku": p.sku, "severity": p.severity, "message": p.message}
                for p in summary.problems
            ],
        }
        sys.stdout.write("\n  ],\n" + json.dumps(tail, indent=2, ensure_ascii=False)[2:] + "\n")


def validate(
    config_path: ConfigOption = None,
    json_output: JsonOption = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write every issue to this CSV file.", show_default=False)
    ] = None,
    offline: OfflineOption = False,
    bundled: BundledOption = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="Processes that build and validate (0: one per core for catalogues of 2,000 records or more).",
        ),
    ] = 0,
) -> None:
    """Build and validate every SKU for every marketplace; exit 1 when any has an ERROR."""
    from listingsync.config import resolve_config_path
    from listingsync.mapping.parallel import ChunkSpec, auto_workers

    config = config_or_exit(config_path)
    spec = ChunkSpec(str(resolve_config_path(config_path).resolve()), bundled=bundled, lean=True)
    # Started first, the workers get ready while the first pass reads the catalogue.
    with _early_workers(config, workers, spec) as ready:
        catalogue = _Catalogue(config)
        pipeline = _pipeline(config, offline, bundled)
        workers = workers or auto_workers(catalogue.count)
        summary = _Summary()
        gate = _SchemaGate()
        json_out: _JsonResults | None = None
        with _ReportWriter(report) as writer:

            def emit(results: list[ProductResult]) -> None:
                nonlocal json_out
                for result in results:
                    if json_output and json_out is None:
                        json_out = _JsonResults()
                    summary.add(result)
                    writer.write(result)
                    if json_out is not None:
                        json_out.write(result)

            for result in _progress_results(pipeline, catalogue, not json_output, workers, spec, ready):
                emit(gate.pass_(result))
            emit(gate.finish())
    if json_output:
        (json_out or _JsonResults()).close(summary)
        raise typer.Exit(EXIT_PROBLEMS if summary.any_error else EXIT_OK)
    table = Table(title="validation", header_style="bold")
    for name in ("product type", "marketplace", "listings", "valid", "warnings only", "errors"):
        table.add_column(name, justify="right" if name not in ("product type", "marketplace") else "left")
    for (product_type, country), counts in sorted(summary.per_group.items()):
        errors = counts["errors"]
        table.add_row(
            product_type,
            country,
            str(counts["listings"]),
            f"[green]{counts['valid']}[/green]",
            f"[yellow]{counts['warnings']}[/yellow]" if counts["warnings"] else "0",
            f"[red]{errors}[/red]" if errors else "0",
        )
    console.print(table)
    for problem in summary.problems:
        console.print(f"[yellow]catalogue:[/yellow] {escape(str(problem))}", soft_wrap=True, highlight=False)
    for result, item in summary.invalid:
        first = item.errors[0]
        console.print(
            f"[red]✗[/red] {escape(result.sku)} {mp.by_id(item.listing.marketplace_id).country} "
            f"({escape(result.origin)}): {escape(first.path or '/')}: {escape(first.message)}"
            + (f" (+{len(item.errors) - 1} more)" if len(item.errors) > 1 else ""),
            soft_wrap=True,
            highlight=False,
            markup=True,
        )
    if summary.invalid_count > summary.SHOWN:
        console.print(
            f"… and {summary.invalid_count - summary.SHOWN} more invalid listings (use --report FILE.csv or --json)"
        )
    if summary.codes:
        top = ", ".join(f"{k} ×{n}" for k, n in summary.codes.most_common(5))
        console.print(f"most frequent issues: {top}", soft_wrap=True, highlight=False, markup=False)
    if report is not None:
        console.print(f"report written to {report}", markup=False)
    raise typer.Exit(EXIT_PROBLEMS if summary.any_error else EXIT_OK)


_REPORT_COLUMNS = (
    "sku",
    "marketplace",
    "marketplace_id",
    "product_type",
    "requirements",
    "severity",
    "code",
    "attribute",
    "path",
    "message",
    "origin",
)


class _ReportWriter:
    """``--report FILE.csv``, written as results come: one row per issue, and one ``OK`` row per
    listing without any (so every SKU is in the file). Without a path it writes nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: Any = None
        self._writer: Any = None

    def __enter__(self) -> _ReportWriter:
        if self.path is not None:
            try:
                self._handle = self.path.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                fail(ListingSyncError(f"cannot write the report: {exc.strerror}", where=str(self.path)))
            self._writer = SafeCsvWriter(self._handle)
            self._writer.writerow(_REPORT_COLUMNS)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def write(self, result: ProductResult) -> None:
        if self._writer is None:
            return
        try:
            self._rows(result)
        except OSError as exc:
            fail(ListingSyncError(f"cannot write the report: {exc.strerror}", where=str(self.path)))

    def _rows(self, result: ProductResult) -> None:
        writer = self._writer
        if result.problem is not None:
            p = result.problem
            writer.writerow(
                [p.sku or "", "", "", "", "", p.severity.upper(), "CATALOG", "", "", p.message, str(p.origin)]
            )
        for item in result.listings:
            listing = item.listing
            head = [
                result.sku,
                mp.by_id(listing.marketplace_id).country,
                listing.marketplace_id,
                listing.product_type,
                listing.requirements.value,
            ]
            if not item.issues:
                writer.writerow([*head, "OK", "", "", "", "", result.origin])
            for issue in item.issues:
                writer.writerow(
                    [
                        *head,
                        issue.severity.value,
                        issue.code,
                        issue.attribute,
                        issue.path,
                        issue.message,
                        result.origin,
                    ]
                )


# -- mapping suggest -------------------------------------------------------------------------------

mapping_app = typer.Typer(help="Work on the listings mapping.", no_args_is_help=True)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


@mapping_app.command("suggest")
def suggest(
    product_type: Annotated[str, typer.Argument(help="Amazon product type, e.g. HOME.")],
    config_path: ConfigOption = None,
    marketplace: Annotated[
        str | None,
        typer.Option("--marketplace", "-m", help="Country code or marketplace id (default: the first)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the mapping here instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file if it exists.")] = False,
    offline: OfflineOption = False,
    bundled: BundledOption = False,
) -> None:
    """Write a starter mapping for TYPE: required and recommended attributes matched to catalogue fields."""
    from listingsync.catalog import Product
    from listingsync.mapping import Requirements, raw_schema, render_suggestion, suggest_attributes
    from listingsync.mapping.pipeline import field_names
    from listingsync.mapping.suggest import AUTOMATIC, suggest_identifier

    config = config_or_exit(config_path)
    if output is not None and output.exists() and not force:
        # A hand-edited mapping (or listingsync.yaml itself) must not vanish under a starter one.
        fail(
            ListingSyncError(
                "the file exists; the starter mapping was not written",
                where=str(output),
                fix="choose another --output file, or add --force to overwrite it",
            )
        )
    product_type = product_type.strip().upper()
    market = mp.find(marketplace) if marketplace else mp.by_id(config.account.marketplaces[0])
    if market is None:
        fail(
            ListingSyncError(
                f"unknown marketplace {marketplace!r}", fix="use a country code such as DE or FR"
            )
        )
    records, columns = _open(config)
    products = [r for r in records if isinstance(r, Product)]
    # The records' own field names, per-language columns folded into one as templates name them
    # (title, not title_de); the header's names only for a catalogue without products.
    fields = sorted(
        {f for p in products for f in (*p.fields, *p.localized)} or (field_names(products, columns) - {"sku"})
    )
    requirements = Requirements.LISTING_PRODUCT_ONLY if config.account.is_vendor else Requirements.LISTING
    notes: list[str] = []
    try:
        if offline or bundled:
            schemas, notes = schema_provider(config, offline=offline, bundled=bundled)
            found = schemas(product_type, market.marketplace_id, requirements)
        else:
            # Online: fetch the type asked for (Amazon's own refusal names a wrong one), not only
            # the types the config already uses, which is all a preload would bring.
            found = fetch_schema(config, product_type, market.marketplace_id, requirements.value)
        schema = raw_schema(found)
    except ListingSyncError as exc:
        fail(exc)
    except Exception as exc:  # the store's own errors: say which schema
        fail(ListingSyncError(f"no {product_type} schema for {market.country}: {exc}"))
    for note in notes:
        err_console.print(f"[yellow]![/yellow] {escape(note)}", soft_wrap=True)
    suggestions = suggest_attributes(schema, fields)
    automatic = sorted(a for a in AUTOMATIC if a in (schema.get("properties") or {}))
    text = render_suggestion(
        product_type,
        f"{market.country} ({market.marketplace_id})",
        suggestions,
        source=str(config.source.path if config.source and config.source.path else "the catalogue"),
        automatic=automatic,
        identifier=suggest_identifier(fields),
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(ListingSyncError(f"cannot write: {exc.strerror}", where=str(output)))
        matched = sum(1 for s in suggestions if s.fields)
        err_console.print(
            f"✓ wrote {output}: {matched} of {len(suggestions)} attributes matched to catalogue fields\n"
            f"  to use it, put 'listings_file: {_relative(output, config.base_dir)}' in place of 'listings:' "
            "in your config, then run 'listingsync validate'",
            markup=False,
        )
    raise typer.Exit(EXIT_OK)
