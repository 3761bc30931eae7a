"""``listingsync sync``, ``status``, ``issues`` and ``demo``.

Progress bars and tables go to stderr/stdout through Rich; ``--json`` prints one JSON document on
stdout and nothing else there. Exit codes: 0 fine, 1 some SKUs failed (invalid or error),
2 the command could not run (config, credentials, state database).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from listingsync.amazon import marketplaces as mp
from listingsync.cli.common import (
    EMULATOR_MODULES,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    ConfigOption,
    ConnectionOption,
    DbOption,
    JsonOption,
    config_or_exit,
    console,
    err_console,
    fail,
    print_json,
    require_extra,
)
from listingsync.cli.stopping import Stopped, run_stoppable
from listingsync.csvsafe import SafeCsvWriter
from listingsync.errors import ListingSyncError
from listingsync.sync.guard import ALLOW_FLAG
from listingsync.sync.progress import NullProgress, ProgressTask

# The engine pulls in SQLAlchemy, Alembic and the mapping (~2 s), the config pydantic: imported where
# a command runs, so that `sync --help`, `status --help` … stay fast (cli/lazy.py).
if TYPE_CHECKING:
    from rich.progress import Progress

    from listingsync.config import Config
    from listingsync.sync.engine import SyncOptions, SyncReport
    from listingsync.sync.pipeline import CatalogRead, Selection

#: Emulator runs only: multiplies the client's rate limits to match ``listingsync emulator --rate-scale``.
RATE_SCALE_ENV = "LISTINGSYNC_RATE_SCALE"


# -- progress ---------------------------------------------------------------------------------------


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)

    def total(self, total: int | None) -> None:
        self._progress.update(self._id, total=total)

    def done(self) -> None:
        task = self._progress.tasks[self._id]
        self._progress.update(
            self._id, total=task.completed or task.total or 1, completed=task.completed or 1
        )


class RichProgress:
    """One bar per phase: read, build, plan, submit, wait for feed, reconcile (on stderr)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}", markup=False),  # descriptions name user files
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )

    def phase(self, name: str, description: str, total: int | None = None) -> ProgressTask:
        return _RichTask(self.bar, self.bar.add_task(description, total=total))

    def note(self, message: str) -> None:
        self.bar.console.print(message, markup=False, highlight=False)


class NotesOnly(NullProgress):
    """``--json``: no bars (stdout is the JSON document), but notes still reach stderr."""

    def note(self, message: str) -> None:
        err_console.print(message, markup=False, highlight=False)


# -- sync -------------------------------------------------------------------------------------------


def _rate_scale() -> float:
    raw = os.environ.get(RATE_SCALE_ENV)
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        fail(ListingSyncError(f"{RATE_SCALE_ENV}={raw!r} is not a number", fix="unset it, or set e.g. 20"))
    if value <= 0:
        fail(ListingSyncError(f"{RATE_SCALE_ENV} must be positive", fix="unset it, or set e.g. 20"))
    return value


def _client(config: Config) -> Any:
    from listingsync.amazon import SPAPIClient, TokenBucketLimiter
    from listingsync.credentials import load_credentials

    credentials = load_credentials(config.account.selling_partner_id, config.account.resolved_region)
    return SPAPIClient.from_account(
        config.account, credentials, rate_limiter=TokenBucketLimiter(scale=_rate_scale())
    )


def _client_if_possible(cfg: Config) -> Any:
    """A dry run reads product type schemas from Amazon when it can, but needs no credentials."""
    try:
        return _client(cfg)
    except ListingSyncError:
        return None


def sync_command(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan with a per-SKU diff; send and write nothing.")
    ] = False,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Send with Amazon's VALIDATION_PREVIEW (1 request/s); store nothing."),
    ] = False,
    via: Annotated[
        str | None, typer.Option("--via", help="auto | items | feed (default: sync.via in the config).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Send listings even when local validation found ERRORs.")
    ] = False,
    no_reconcile: Annotated[
        bool, typer.Option("--no-reconcile", help="Skip reading accepted listings back from Amazon.")
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Requests in flight (default: sync.concurrency).")
    ] = None,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            ALLOW_FLAG,
            help="Delete even when the catalogue is empty or more than sync.max_delete_share of the "
            "listings would go (sync.on_removed: delete).",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read the whole catalogue, not only what changed since the last run (Sales Layer: a refresh).",
        ),
    ] = False,
    sku: Annotated[
        list[str] | None,
        typer.Option(
            "--sku", help="Only this SKU (repeatable); nothing else is planned or taken for removed."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Only the first N products (source order), for a trial run."),
    ] = None,
    fail_on_invalid: Annotated[
        bool,
        typer.Option(
            "--fail-on-invalid",
            help="Exit 1 while any listing is invalid, also ones known from earlier runs (default: "
            "only what broke in this run fails it).",
        ),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for another sync holding the same state database (default 0: "
            "refuse at once, naming it).",
        ),
    ] = 0.0,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help=f"With --dry-run: the per-attribute diff of every SKU, also for plans over {PLAN_DETAIL_LIMIT} "
            "listings (which get a summary).",
        ),
    ] = False,
    connection: ConnectionOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send the catalogue's changes to Amazon: create, update (PATCH), delete; then report per SKU."""
    if dry_run and preview:
        fail(ListingSyncError("--dry-run and --preview exclude each other", fix="pick one"))
    if connection is not None:
        # A connection of the workspace: one run through the service's run function (its lock,
        # its history), exactly what `serve` would execute.
        from listingsync.cli.service import run_connection

        mode = "dry-run" if dry_run else "preview" if preview else "send"
        raise typer.Exit(run_connection(connection, db, mode=mode, as_json=as_json))
    from listingsync.sync.pipeline import Selection, sync_options

    cfg = config_or_exit(config)
    chosen = via or cfg.sync.via
    if chosen not in ("auto", "items", "feed"):
        fail(ListingSyncError(f"--via {chosen!r} is not one of auto, items, feed"))
    scale = _rate_scale()
    options = sync_options(
        cfg,
        mode="dry-run" if dry_run else "preview" if preview else "send",
        via=chosen,
        force=force,
        concurrency=concurrency,
        reconcile=cfg.sync.reconcile and not no_reconcile,
        scale=scale,
        allow_mass_delete=allow_mass_delete,
    )
    options.lock_wait = wait
    options.fail_on_invalid = fail_on_invalid
    progress = NotesOnly() if as_json else RichProgress()
    try:
        client = _client_if_possible(cfg) if dry_run else _client(cfg)
        selection = Selection(full=full, skus=frozenset(sku or ()), limit=limit)
        report, catalog = _run(cfg, options, client, progress, selection)
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)
    except Stopped as stopped:
        err_console.print(
            f"Stopped by {stopped.name}: answered writes are recorded, writes in flight are kept as "
            "intents and settled by the next sync; nothing is lost. Run `listingsync sync` again.",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(stopped.exit_code) from None
    if as_json:
        data = report.as_dict(lazy=True)  # results written one at a time (a big run spills them to disk)
        data["catalog"] = _catalog_dict(catalog)
        print_json(data)
    else:
        _print_report(cfg, report, catalog, diff=diff)
    code = report.exit_code
    if any(p.severity == "error" for p in catalog.problems):
        code = max(code, EXIT_PROBLEMS)
    raise typer.Exit(code)


def _run(
    cfg: Config,
    options: SyncOptions,
    client: Any,
    progress: RichProgress | NotesOnly | None,
    selection: Selection | None = None,
) -> tuple[SyncReport, CatalogRead]:
    from listingsync.sync.pipeline import run_sync

    async def go() -> tuple[SyncReport, CatalogRead]:
        try:
            return await run_sync(cfg, options, client=client, progress=progress, selection=selection)
        finally:
            if client is not None:
                await client.aclose()

    if not isinstance(progress, RichProgress):
        return run_stoppable(go)
    with progress.bar:
        return run_stoppable(go)


def _catalog_dict(catalog: CatalogRead) -> dict[str, Any]:
    return {
        "products": catalog.products,
        "listings": catalog.listings,
        # Unchanged since they were built (same record, mapping and schema): not built again.
        "skipped_unchanged": catalog.skipped,
        "complete": catalog.complete,
        "remapped": len(catalog.remapped),
        "removed_in_source": sorted(catalog.removed_skus),
        "problems": [
            {"where": str(p.origin), "sku": p.sku, "severity": p.severity, "message": p.message}
            for p in catalog.problems
        ],
    }


def _country(marketplace_id: str) -> str:
    found = mp.find(marketplace_id)
    return found.country if found else marketplace_id


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: Any) -> Text:
    """A table cell holding user or Amazon data: printed as typed, never read as Rich markup."""
    return Text("" if value is None else str(value))


def _print_report(cfg: Config, report: SyncReport, catalog: CatalogRead, *, diff: bool = False) -> None:
    for problem in catalog.problems:
        err_console.print(f"[yellow]![/yellow] {escape(str(problem))}", soft_wrap=True)
    if report.recovery is not None and report.recovery.anything:
        rec = report.recovery
        console.print(
            f"Recovered an interrupted run: {rec.feeds_resumed} feed(s) followed to the end, "
            f"{rec.landed} write(s) found on Amazon, {rec.resend} to send again."
        )
    if _nothing_to_do(report):
        unchanged = report.plan.get("unchanged", 0)
        console.print(
            f"Nothing to send: {unchanged} listing(s) unchanged since the last run."
            if unchanged
            else "Nothing to send: the catalogue has no changes since the last run."
        )
        for note in report.notes:
            console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
        return
    if report.mode == "dry-run":
        if diff or len(report.results) <= PLAN_DETAIL_LIMIT:
            _print_plan(report)
        else:
            _print_plan_summary(report)
    elif report.mode == "preview":
        table = Table(title="Amazon VALIDATION_PREVIEW")
        for col in ("SKU", "mp", "status", "ASIN", "issues"):
            table.add_column(col)
        for p in report.preview:
            first = p.issues[0]["message"] if p.issues else ""
            table.add_row(
                _cell(p.sku),
                _country(p.marketplace_id),
                _cell(p.status),
                _cell(p.asin),
                _cell(_short(first, 80) if first else ""),
            )
        console.print(table)
    title = f"sync ({report.mode}{', via ' + report.via if report.via else ''})"
    summary = Table(title=title, min_width=len(title) + 4)
    summary.add_column("")
    summary.add_column("count", justify="right")
    for name, count in report.plan.items():
        if count:
            summary.add_row(name, str(count))
    for name, count in sorted(report.statuses.items()):
        summary.add_row(f"→ {name}", str(count))
    console.print(summary)
    # The first 25 and a count: a big run's results stream from disk (sync.results), never listed,
    # and are read only as far as the 25th failure.
    failing = ("invalid", "error")
    failed = sum(n for (status, _known), n in report.results.tally().items() if status in failing)
    shown = list(itertools.islice((r for r in report.results if r.status in failing), 25))
    if failed:
        verdict = "failed (see status)" if report.mode == "send" else "not sent: local validation ERRORs"
        table = Table(title=f"{failed} listing(s) {verdict}")
        for col in ("SKU", "mp", "status", "where", "first issue"):
            table.add_column(col)
        for r in shown:
            first = r.issues[0] if r.issues else {}
            text = issue_line(first)
            table.add_row(
                _cell(r.sku),
                _country(r.marketplace_id),
                r.status,
                _cell(r.origin),
                _cell(_short(text.strip(), 90)),
            )
        console.print(table)
        if failed > 25:
            console.print(f"… and {failed - 25} more: `listingsync issues` lists them all.")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    if report.refused:
        err_console.print(f"[red]✗[/red] {escape(report.refused)}", soft_wrap=True)
    if report.mode == "send":
        console.print(
            f"Done in {report.elapsed:.1f} s ({report.stats.get('requests', 0)} requests, "
            f"{report.stats.get('throttled', 0)} throttled). Next: `listingsync status`, `listingsync issues`."
        )


def issue_line(issue: dict[str, Any]) -> str:
    """``CODE attr1, attr2: message``, without a stray space when the issue names no attribute."""
    head = " ".join(p for p in (issue.get("code") or "", ", ".join(issue.get("attributeNames") or [])) if p)
    message = issue.get("message") or ""
    return f"{head}: {message}" if head and message else head or message


#: Dry runs list every SKU's diff up to this many listings; above it a summary (``--diff`` for all).
PLAN_DETAIL_LIMIT = 50


def _nothing_to_do(report: SyncReport) -> bool:
    """An incremental run with nothing to send, nothing failed, nothing recovered, nothing refused."""
    busy = {k: v for k, v in report.plan.items() if k != "unchanged" and v}
    recovered = report.recovery is not None and report.recovery.anything
    return not busy and not report.results and not report.refused and not recovered and not report.preview


def _print_plan_summary(report: SyncReport) -> None:
    """A large plan in a screenful: the SKUs per operation (first few) and how often each attribute changes."""
    by_op: dict[str, list[str]] = {}
    attributes: Counter[str] = Counter()
    for r in report.results:
        by_op.setdefault(r.op, []).append(f"{r.sku} ({_country(r.marketplace_id)})")
        if r.op == "update":
            attributes.update(r.changed)
            attributes.update(f"{name} (deleted)" for name in r.removed)
    console.print(f"Plan: {len(report.results)} listings to act on.", markup=False)
    for op, skus in by_op.items():
        more = f" … and {len(skus) - 5} more" if len(skus) > 5 else ""
        console.print(f"  {op:<8} {len(skus):>7}: {', '.join(skus[:5])}{more}", markup=False)
    if attributes:
        console.print("  attributes changed by the updates:", markup=False)
        for name, count in attributes.most_common(12):
            console.print(f"    {name}: {count}", markup=False)
        if len(attributes) > 12:
            console.print(f"    … {len(attributes) - 12} other attribute(s)", markup=False)
    console.print(
        "Per-attribute diff of every SKU: listingsync sync --dry-run --diff (or --json).", markup=False
    )


def _print_plan(report: SyncReport) -> None:
    marks = {"create": "+", "replace": "±", "update": "~", "delete": "-", "invalid": "✗", "removed": "·"}
    for r in report.results:
        mark = marks.get(r.op, " ")
        head = f"{mark} {r.op:<8} {r.sku} ({_country(r.marketplace_id)})"
        if r.op == "invalid":
            console.print(
                f"[red]{escape(head)}[/red]: {len(r.issues)} issue(s), not sent (use --force to send anyway)"
            )
            for issue in r.issues[:3]:
                console.print(f"      {issue.get('path') or ''} {issue['message']}", markup=False)
            continue
        if r.op == "removed":
            console.print(
                f"{head}: gone from the catalogue, kept on Amazon (sync.on_removed: ignore)", markup=False
            )
            continue
        console.print(head, markup=False)
        if r.op == "update":
            previous = r.previous or {}
            for name in r.changed:
                for line in _diff_lines(name, previous.get(name), _new_value(r, name)):
                    console.print(f"      {line}", markup=False)
            for name in r.removed:
                console.print(f"      {name}: {_shown(previous.get(name))} → (deleted)", markup=False)
        elif r.op in ("create", "replace"):
            console.print(
                f"      {len(r.changed)} attribute(s): {', '.join(r.changed[:12])}{' …' if len(r.changed) > 12 else ''}",
                markup=False,
            )


def _shown(attribute: Any) -> str:
    """An attribute's values for a diff line: ``'Lin Ocre'`` rather than its whole instance list
    (``marketplace_id`` and ``language_tag`` are the same on both sides of a diff)."""
    if attribute is None:
        return "(none)"
    if (
        isinstance(attribute, list)
        and attribute
        and all(
            isinstance(i, dict) and set(i) <= {"value", "marketplace_id", "language_tag"} and "value" in i
            for i in attribute
        )
    ):
        return _short(" | ".join(json.dumps(i["value"], ensure_ascii=False) for i in attribute))
    return _short(attribute)


def _leaves(value: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _leaves(item, f"{path}[{index}]", out)
    else:
        out[path] = value
    return out


def _diff_lines(name: str, old: Any, new: Any, limit: int = 4) -> list[str]:
    """What changed inside an attribute, leaf by leaf: ``purchasable_offer[0]…value_with_tax: 84.82
    → 79.99`` says more than two cut-off JSON documents."""
    if old is None:
        return [f"{name}: (none) → {_shown(new)}"]
    before, after = _leaves(old, name, {}), _leaves(new, name, {})
    lines = [
        f"{path}: {_short(before.get(path, '(none)'), 50)} → {_short(after.get(path, '(none)'), 50)}"
        for path in dict.fromkeys([*before, *after])
        if before.get(path, _MISSING) != after.get(path, _MISSING)
    ]
    if len(lines) > limit:
        lines[limit - 1 :] = [f"{name}: … and {len(lines) - limit + 1} more change(s)"]
    return lines or [f"{name}: {_shown(old)} → {_shown(new)}"]


_MISSING = object()


def _new_value(result: Any, name: str) -> Any:
    for patch in result.patches or []:
        if patch["path"] == f"/attributes/{name}":
            return patch.get("value")
    return None


# -- status and issues ------------------------------------------------------------------------------


CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")]


def _read_state(
    config: Path | None,
    *,
    skus: list[str] | None = None,
    statuses: list[str] | None = None,
    connection: str | None = None,
    db: str | None = None,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """``status`` and ``issues``: the listings (filtered) and the last run; exit 2 when unusable."""
    if connection is not None:
        from listingsync.cli.service import connection_store_rows

        return connection_store_rows(connection, db, skus=skus, statuses=statuses)
    from listingsync.sync.pipeline import open_store

    cfg = config_or_exit(config)
    try:
        store = open_store(cfg, create=False)  # reading never creates a state database
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)
    try:
        return store.listings(skus=skus or None, statuses=statuses or None), store.runs(limit=1)
    finally:
        store.close()


def status_command(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only these statuses (repeatable).")
    ] = None,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="Only these SKUs (repeatable).")] = None,
    drifted: Annotated[
        bool, typer.Option("--drifted", help="Only listings gone or changed on Amazon outside listingsync.")
    ] = False,
    connection: ConnectionOption = None,
    db: DbOption = None,
) -> None:
    """Per SKU and marketplace: status (pending, accepted, live, invalid, error, deleted), ASIN, issues.

    Also when Amazon was last checked and whether the listing drifted there."""
    rows, runs = _read_state(config, skus=sku, statuses=status, connection=connection, db=db)
    if drifted:
        rows = [s for s in rows if s.drift]
    data = [
        {
            "sku": s.sku,
            "marketplace_id": s.marketplace_id,
            "country": _country(s.marketplace_id),
            "status": s.status,
            "asin": s.asin,
            "product_type": s.product_type,
            "errors": sum(1 for i in s.issues if i.get("severity") == "ERROR"),
            "warnings": sum(1 for i in s.issues if i.get("severity") == "WARNING"),
            "pending": s.pending_op,
            "submission_id": s.last_submission_id,
            "updated_at": _utc(s.updated_at).isoformat() if s.updated_at else None,
            "checked_at": _utc(s.checked_at).isoformat() if s.checked_at else None,
            "amazon_status": s.amazon_status,
            "drift": (s.drift or {}).get("kind"),
            "drifted_attributes": sorted((s.drift or {}).get("attributes") or {}),
            "adopted_at": _utc(s.adopted_at).isoformat() if s.adopted_at else None,
        }
        for s in rows
    ]
    if as_json:
        print_json({"listings": data, "last_run": _run_dict(runs[0]) if runs else None})
    elif as_csv:
        _write_csv(data)
    else:
        table = Table(title=f"{len(data)} listing(s)")
        for col in (
            "SKU",
            "mp",
            "status",
            "ASIN",
            "type",
            "errors",
            "warnings",
            "updated",
            "checked",
            "drift",
        ):
            # SKUs and ASINs are looked up and copied: never cut them short.
            table.add_column(col, no_wrap=col in ("SKU", "ASIN"), overflow="fold")
        for d in data:
            table.add_row(
                _cell(d["sku"]),
                d["country"],
                _styled(d["status"]),
                _cell(d["asin"]),
                _cell(d["product_type"]),
                str(d["errors"]),
                str(d["warnings"]),
                _when(d["updated_at"]),
                _when(d["checked_at"]) or "never",
                _cell(_drift_text(d)),
            )
        console.print(table)
        counts: dict[str, int] = {}
        for d in data:
            counts[d["status"]] = counts.get(d["status"], 0) + 1
        console.print(
            ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            or "nothing synced yet: run `listingsync sync`"
        )
    raise typer.Exit(EXIT_OK)


def _utc(value: dt.datetime) -> dt.datetime:
    """The store's times are UTC; SQLite hands them back naive."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _when(iso: str | None) -> str:
    """``2026-12-01 01:45:09 UTC`` from an ISO 8601 UTC time."""
    return f"{iso[:10]} {iso[11:19]} UTC" if iso else ""


def _drift_text(row: dict[str, Any]) -> str:
    if row["drift"] == "changed":
        return "changed: " + ", ".join(row["drifted_attributes"])
    return row["drift"] or ""


def _run_dict(run: dict[str, Any]) -> dict[str, Any]:
    """A run row with ISO 8601 UTC times, like ``updated_at``."""
    out = dict(run)
    for key in ("started_at", "finished_at"):
        value = out.get(key)
        if isinstance(value, dt.datetime):
            out[key] = _utc(value).isoformat()
    return out


def _styled(status: str) -> Text:
    color = {"live": "green", "accepted": "green", "invalid": "red", "error": "red", "pending": "yellow"}.get(
        status
    )
    return Text(status, style=color or "")


def issues_command(
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="Only these SKUs (repeatable).")] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", help="Only ERROR, WARNING or INFO issues.")
    ] = None,
    connection: ConnectionOption = None,
    db: DbOption = None,
) -> None:
    """Every issue per SKU and marketplace: ours (local validation) and Amazon's."""
    if severity is not None and severity.upper() not in ("ERROR", "WARNING", "INFO"):
        fail(ListingSyncError(f"--severity {severity!r} is not one of ERROR, WARNING, INFO"))
    rows, _ = _read_state(config, skus=sku, connection=connection, db=db)
    data = [
        {
            "sku": s.sku,
            "marketplace_id": s.marketplace_id,
            "country": _country(s.marketplace_id),
            "status": s.status,
            "origin": s.origin,
            "severity": i.get("severity"),
            "code": i.get("code"),
            "attributes": list(i.get("attributeNames") or []),
            "message": i.get("message"),
            "source": i.get("source", "amazon"),
        }
        for s in rows
        for i in s.issues
        if not severity or str(i.get("severity", "")).upper() == severity.upper()
    ]
    if as_json:
        print_json({"issues": data})
    elif as_csv:
        _write_csv(data)
    else:
        table = Table(title=f"{len(data)} issue(s)")
        for col in ("SKU", "mp", "severity", "code", "attributes", "message", "from"):
            table.add_column(col, overflow="fold")
        for d in data:
            table.add_row(
                *(_cell(d[k]) for k in ("sku", "country", "severity", "code")),
                _cell(", ".join(d["attributes"])),
                _cell(d["message"]),
                _cell(d["source"]),
            )
        console.print(table)
    raise typer.Exit(EXIT_OK)


def _write_csv(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = SafeCsvWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:  # a list (an issue's attribute names) is one cell, comma-separated
        writer.writerow({k: ",".join(v) if isinstance(v, list) else v for k, v in row.items()})


# -- demo -------------------------------------------------------------------------------------------


def demo_command(
    keep: Annotated[
        Path | None, typer.Option("--dir", help="Work in this directory (kept) instead of a temporary one.")
    ] = None,
) -> None:
    """Emulator in-process + the bundled sample catalogue → check, validate, sync, status (under a minute)."""
    require_extra("emulator", *EMULATOR_MODULES)
    raise typer.Exit(run_demo(keep))


DEMO_RATE_SCALE = 10.0
#: Amazon applies an accepted write 30 s to 5 min later; the demo's emulator does it in 3 to 30 s
#: before DEMO_RATE_SCALE (0.3 to 3 s), which the sync's reconcile budget (120 s / scale) waits out,
#: so the demo ends with Amazon's verdict (live or invalid) for every listing, not "pending".
DEMO_PROCESSING_DELAY = (3.0, 30.0)


def run_demo(directory: Path | None = None) -> int:
    import tempfile
    import time
    from importlib import resources

    from listingsync.emulator.settings import default_accounts

    started = time.perf_counter()
    work = directory or Path(tempfile.mkdtemp(prefix="listingsync-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    sample = resources.files("listingsync") / "data" / "sample"
    for name in ("listingsync.yaml", "products.csv"):
        (work / name).write_bytes((sample / name).read_bytes())
    vendor = next(a for a in default_accounts() if a.account_type == "vendor")
    console.print(f"[bold]listingsync demo[/bold] in {work}")
    console.print(
        f"Starting the local SP-API emulator (Amazon's limits × {DEMO_RATE_SCALE:g}) with demo vendor "
        f"{vendor.selling_partner_id} …"
    )
    saved = dict(os.environ)
    try:
        return _demo_steps(work, vendor.refresh_token, started)
    finally:
        # The demo's settings were for this process only (callers such as tests keep running).
        os.environ.clear()
        os.environ.update(saved)


def _demo_steps(work: Path, refresh_token: str, started: float) -> int:
    import time

    from listingsync.emulator import EmulatorSettings, run_in_thread
    from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from listingsync.sync.pipeline import open_store, sync_options

    settings = EmulatorSettings(rate_scale=DEMO_RATE_SCALE, processing_delay=DEMO_PROCESSING_DELAY)
    low, high = (s / DEMO_RATE_SCALE for s in DEMO_PROCESSING_DELAY)
    console.print(
        f"Amazon (emulated) processes what it accepts {low:g} to {high:g} s later, as Amazon does within "
        "minutes: the sync waits for its verdicts.",
        markup=False,
    )
    with run_in_thread(settings) as server:
        # Public demo credentials: they open only this emulator, so the environment may carry them.
        os.environ.update(
            {
                "LISTINGSYNC_ENDPOINT": server.endpoint("eu"),
                "LISTINGSYNC_LWA_ENDPOINT": server.lwa_url,
                "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
                "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "LISTINGSYNC_LWA_REFRESH_TOKEN": refresh_token,
                "LISTINGSYNC_KEYRING": "off",
                RATE_SCALE_ENV: str(DEMO_RATE_SCALE),
            }
        )
        cfg = config_or_exit(work / "listingsync.yaml")
        console.rule("1. check")
        if not _demo_check(cfg, work / "listingsync.yaml"):
            return EXIT_UNUSABLE
        console.rule("2. validate")
        catalog = _demo_validate(cfg)
        console.rule("3. sync")
        options = sync_options(cfg, scale=DEMO_RATE_SCALE)
        progress = RichProgress()
        try:
            report, catalog = _run(cfg, options, _client(cfg), progress)
        except ListingSyncError as exc:
            fail(exc, EXIT_UNUSABLE)
        _print_report(cfg, report, catalog)
        console.rule("4. status")
        store = open_store(cfg)
        try:
            counts = store.counts()
        finally:
            store.close()
        console.print("Listings by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        console.print(f"Amazon (emulated) now holds {len(server.state.listings)} listing(s).")
    console.rule("next")
    console.print(
        f"Everything is in {work}: listingsync.yaml (the mapping), products.csv (the catalogue) and "
        ".listingsync/state.db (what was sent). Next steps, to paste in this order:",
        markup=False,
    )
    for line in demo_next_steps(work, refresh_token):
        console.print(line, markup=False, soft_wrap=True)
    console.print(
        f"Demo finished in {time.perf_counter() - started:.1f} s. The broken records are deliberate: they show "
        "how problems are named (file:line, SKU, attribute) and never stop the others.",
        markup=False,
    )
    return EXIT_OK


def _own_command() -> str:
    """How to run this listingsync from a shell: by name when it is the one on PATH, else its full path."""
    import shlex
    import shutil

    beside = Path(sys.executable).parent / "listingsync"
    on_path = shutil.which("listingsync")
    if on_path and beside.exists() and Path(on_path).resolve() == beside.resolve():
        return "listingsync"
    if beside.exists():
        return shlex.quote(str(beside))
    return f"{shlex.quote(sys.executable)} -m listingsync"


def demo_next_steps(work: Path, refresh_token: str) -> list[str]:
    """Shell lines that work pasted in order: the demo's credentials were only in its own process,
    and a second run needs a state of its own (the demo's says everything was sent already)."""
    import shlex

    from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    ls = _own_command()
    credentials = {
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": refresh_token,
        "LISTINGSYNC_KEYRING": "off",
    }
    scale = f"{DEMO_RATE_SCALE:g}"
    delay = "..".join(f"{s:g}s" for s in DEMO_PROCESSING_DELAY)
    return [
        f"  cd {shlex.quote(str(work))}",
        "  # the public demo credentials (they open only the emulator):",
        "  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in credentials.items()),
        f"  {ls} issues                 # why some SKUs were refused",
        f"  {ls} status --csv           # one line per SKU and marketplace",
        f"  # in a second terminal, a fresh emulated Amazon: {ls} emulator --port 8765 --rate-scale {scale} "
        f"--processing-delay {delay}",
        "  cp listingsync.yaml second.yaml && echo 'state: sqlite:///.listingsync/second.db' >> second.yaml",
        f"  export LISTINGSYNC_CONFIG=second.yaml LISTINGSYNC_RATE_SCALE={scale}  # a second state: nothing sent yet",
        f"  {ls} check",
        f"  {ls} sync --dry-run         # the plan against the new state: every listing to create",
        f"  {ls} sync",
    ]


def _demo_check(cfg: Config, config_path: Path) -> bool:
    """``listingsync check``'s own steps: config, credentials, LWA, region, vendor code, marketplaces."""
    from listingsync.checks import run_check

    try:
        steps = asyncio.run(run_check(config_path))
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)
    for step in steps:
        mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
        console.print(f"{mark} {escape(step.name)}: {escape(step.message)}", soft_wrap=True)
        if not step.ok and step.fix:
            console.print(f"  fix: {step.fix}", markup=False)
    return all(step.ok for step in steps)


def _demo_validate(cfg: Config) -> CatalogRead:
    from listingsync.sync.pipeline import read_candidates, schema_provider

    async def schemas() -> Any:
        client = _client(cfg)
        try:
            return await schema_provider(cfg, client)
        finally:
            await client.aclose()

    catalog = read_candidates(cfg, asyncio.run(schemas()))
    bad = [c for c in catalog.candidates if c.errors]
    console.print(
        f"{catalog.products} products → {len(catalog.candidates)} listings; "
        f"{len(bad)} with ERRORs (not sent), {len(catalog.problems)} catalogue problem(s)."
    )
    by_sku: dict[str, list[Any]] = {}
    for cand in bad:
        by_sku.setdefault(cand.listing.sku, []).append(cand)
    for sku, cands in list(by_sku.items())[:6]:
        first = cands[0]
        countries = ", ".join(_country(c.listing.marketplace_id) for c in cands)
        text = _short(str(first.errors[0]), 150)
        console.print(f"  ✗ {first.listing.origin or ''} {sku} ({countries}): {text}", markup=False)
    return catalog
