"""``listingsync adopt`` and ``listingsync reconcile``: read Amazon back, record, send nothing.

Exit codes: 0 Amazon and the state agree; 1 drift found (adopt: listings whose values differ or
that the catalogue does not have; reconcile: listings gone or changed outside listingsync, or with
new issues); 2 the command could not run (config, credentials, state database); 130/143 stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from listingsync.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    ConfigOption,
    JsonOption,
    config_or_exit,
    console,
    err_console,
    fail,
    print_json,
)
from listingsync.cli.stopping import Stopped, run_stoppable
from listingsync.errors import ListingSyncError

if TYPE_CHECKING:
    from listingsync.amazon import SPAPIClient
    from listingsync.config import Config
    from listingsync.sync.drift import DriftReport

T = TypeVar("T")

__all__ = ["adopt_command", "reconcile_command"]


def _country(marketplace_id: str) -> str:
    from listingsync.amazon import marketplaces as mp

    found = mp.find(marketplace_id)
    return found.country if found else marketplace_id


def _with_client(cfg: Config, work: Callable[[SPAPIClient], Awaitable[T]]) -> T:
    """Run ``work(client)``; a config or credential error is exit 2, SIGTERM/Ctrl-C stop cleanly."""
    from listingsync.cli.sync import _client

    async def go() -> T:
        client = _client(cfg)
        try:
            return await work(client)
        finally:
            await client.aclose()

    try:
        return run_stoppable(go)
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)
    except Stopped as stopped:
        err_console.print(
            f"Stopped by {stopped.name}: what was read so far is recorded; run the command again.",
            markup=False,
        )
        raise typer.Exit(stopped.exit_code) from None


def adopt_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Record what Amazon already holds of the catalogue; list Amazon listings it does not have.

    Identical listings are recorded as adopted; for different ones the next sync PATCHes only what
    differs."""
    from listingsync.sync.upkeep import run_adopt

    cfg = config_or_exit(config)
    report = _with_client(cfg, lambda client: run_adopt(cfg, client))
    if as_json:
        print_json(report.as_dict())
        raise typer.Exit(report.exit_code)
    console.print(
        f"Looked up {report.looked_up} catalogue listing(s) the state did not know "
        f"({report.known} already known): {len(report.identical)} adopted as they are, "
        f"{len(report.different)} differ (the next sync PATCHes only the differing attributes), "
        f"{len(report.absent)} not on Amazon (the next sync creates them)."
    )
    if report.different:
        table = Table(title="On Amazon with other values")
        for col in ("SKU", "mp", "attributes that differ"):
            table.add_column(col, overflow="fold")
        for sku, mp, names in report.different[:50]:
            table.add_row(Text(sku), _country(mp), Text(", ".join(names)))
        console.print(table)
    if report.not_in_catalogue:
        table = Table(
            title=f"{len(report.not_in_catalogue)} listing(s) on Amazon that the catalogue does not have"
        )
        for col in ("SKU", "mp", "Amazon status"):
            table.add_column(col, overflow="fold")
        for sku, mp, status in report.not_in_catalogue:
            table.add_row(Text(sku), _country(mp), Text(status or ""))
        console.print(table)
        console.print("listingsync leaves them alone (it did not create them).")
    raise typer.Exit(report.exit_code)


def drift_rows(report: DriftReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for s in report.gone:
        rows.append(
            {"sku": s.sku, "marketplace_id": s.marketplace_id, "drift": "gone", "detail": "not on Amazon"}
        )
    for s, diff in report.changed:
        detail = "; ".join(
            f"{name}: {_value(d['ours'])} → {_value(d['amazon'])}" for name, d in sorted(diff.items())
        )
        rows.append(
            {
                "sku": s.sku,
                "marketplace_id": s.marketplace_id,
                "drift": "changed",
                "detail": detail,
                "attributes": diff,
            }
        )
    for s, issues in report.new_issues:
        detail = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues)
        rows.append(
            {
                "sku": s.sku,
                "marketplace_id": s.marketplace_id,
                "drift": "new issues",
                "detail": detail,
                "issues": issues,
            }
        )
    for s, shown in report.not_shown:
        rows.append(
            {
                "sku": s.sku,
                "marketplace_id": s.marketplace_id,
                "drift": "not shown",
                "detail": f"Amazon status {shown or 'none'} (suppressed or not listed)",
            }
        )
    return rows


def _value(value: Any, limit: int = 60) -> str:
    import json

    if isinstance(value, list) and value and all(isinstance(i, dict) and "value" in i for i in value):
        text = " | ".join(json.dumps(i["value"], ensure_ascii=False) for i in value)
    else:
        text = "(none)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reconcile_command(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every listing on Amazon (the default).")] = False,
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Only listings not checked within this age: 7d, 12h, 30m."),
    ] = None,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="Only these SKUs (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Read listings back from Amazon and record drift: gone, changed outside listingsync, new issues.

    Changes come with their diff; listings not shown to buyers are named too. `sync.on_drift:
    overwrite` makes the next sync restore them."""
    from listingsync.sync.drift import parse_age
    from listingsync.sync.engine import drift_dict
    from listingsync.sync.upkeep import run_reconcile

    cfg = config_or_exit(config)
    if all_ and older_than:
        fail(ListingSyncError("--all and --older-than exclude each other", fix="pick one"))
    try:
        age = parse_age(older_than) if older_than else None
    except ValueError as exc:
        fail(ListingSyncError(str(exc), where="--older-than", fix="e.g. --older-than 7d"))

    report = _with_client(cfg, lambda client: run_reconcile(cfg, client, older_than=age, skus=sku))
    code = EXIT_PROBLEMS if report.anything else EXIT_OK
    if as_json:
        print_json({**drift_dict(report), "not_visible_yet": len(report.not_visible_yet)})
        raise typer.Exit(code)
    rows = drift_rows(report)
    if rows:
        table = Table(title="Drift found on Amazon")
        for col in ("SKU", "mp", "drift", "detail"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(Text(r["sku"]), _country(r["marketplace_id"]), r["drift"], Text(r["detail"]))
        console.print(table)
    console.print(
        f"Checked {report.checked} listing(s): {len(report.gone)} gone, {len(report.changed)} changed outside "
        f"listingsync, {len(report.new_issues)} with new issues, {len(report.not_shown)} not shown to buyers"
        + (
            f", {len(report.not_visible_yet)} accepted moments ago and not visible yet"
            if report.not_visible_yet
            else ""
        )
        + "."
    )
    if report.drifted:
        on_drift = cfg.sync.on_drift
        console.print(
            "The next sync restores the catalogue's values (sync.on_drift: overwrite)."
            if on_drift == "overwrite"
            else "The next sync leaves them as Amazon has them (sync.on_drift: report); set "
            "sync.on_drift: overwrite to restore the catalogue's values."
        )
    raise typer.Exit(code)
