"""What the API asks of one connection besides runs: its check, one SKU's preview, its listings.

``check_connection`` runs the same steps as ``listingsync check`` (``listingsync.checks``) with the
connection's sealed credentials; ``preview_sku`` shows one SKU as ``listingsync preview`` does
(record → listing JSON per marketplace → every issue); ``listings_page`` pages through the state
with a keyset cursor, so the 1,000th page of 100,000 SKUs costs what the first does.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
from typing import Any

import orjson

from listingsync.amazon import marketplaces as mp
from listingsync.errors import ListingSyncError
from listingsync.service.connections import (
    Connection,
    connection_credentials,
    connection_secret_env,
)
from listingsync.service.workspace import Workspace
from listingsync.sync.store import ListingState

__all__ = ["CursorError", "check_connection", "decode_cursor", "listings_page", "preview_sku"]


class CursorError(ListingSyncError):
    """A paging cursor that this service did not hand out."""


def check_connection(ws: Workspace, connection: Connection) -> list[dict[str, Any]]:
    """Every step of ``listingsync check`` for the connection: credentials, region, ids, source."""
    from listingsync.checks import CheckStep, check_account, check_source
    from listingsync.credentials import SALESLAYER_SECRET

    config = connection.config
    steps: list[CheckStep] = []
    try:
        credentials = connection_credentials(ws, connection)
    except ListingSyncError as exc:
        steps.append(CheckStep("credentials", False, exc.message, exc.fix))
    else:
        steps.append(
            CheckStep(
                "credentials", True, f"client id {credentials.client_id}, client secret and refresh token set"
            )
        )
        steps.extend(asyncio.run(check_account(config.account, credentials)))
    source = check_source(
        config, saleslayer_secret=connection_secret_env(ws, connection).get(SALESLAYER_SECRET)
    )
    if source is not None:
        steps.append(source)
    return [{"name": s.name, "ok": s.ok, "message": s.message, "fix": s.fix} for s in steps]


#: Records a preview reads at most from the source while it looks for the SKU.
PREVIEW_SCAN = 2_000_000


def _scan(config: Any, want: str, parent_of: str | None = None) -> dict[str, Any]:
    """One streamed pass over the source: the record ``want``, its catalogue problems, whether some
    record names it as parent, the columns, and a sample of SKUs for "did you mean"."""
    from listingsync.catalog import CatalogProblem, open_source

    out: dict[str, Any] = {"record": None, "problems": [], "is_parent": False, "columns": [], "seen": []}
    source = open_source(config)
    try:
        for n, record in enumerate(source.records()):
            if n >= PREVIEW_SCAN:
                break
            if isinstance(record, CatalogProblem):
                if record.sku == want:
                    out["problems"].append(record)
            elif record.sku == want:
                out["record"] = record
                if parent_of is not None:
                    break
            else:
                out["is_parent"] = out["is_parent"] or record.parent_sku == want
                if len(out["seen"]) < 100_000:
                    out["seen"].append(record.sku)
        out["columns"] = list(source.columns())
    finally:
        source.close()
    return out


def preview_sku(
    ws: Workspace, connection: Connection, sku: str, *, listings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One SKU: the record → the listing JSON per marketplace → every issue (nothing is sent).

    ``listings`` previews an edited mapping (the ``listings:`` section) instead of the saved one. The
    record comes from the catalogue mirror when a run recorded it (no source read, no PIM round
    trip), else from the source, read until the SKU is found."""
    from listingsync.credentials import provided_secrets
    from listingsync.mapping.pipeline import MappingPipeline, field_names
    from listingsync.service.connections import config_of
    from listingsync.sync.mirror import CatalogMirror

    document = dict(connection.document)
    if listings is not None:
        document["listings"] = listings
    config = config_of(connection.name, document, connection.base_dir)
    if config.source is None:
        raise ListingSyncError(
            f"connection {connection.name} has no catalogue source",
            fix="attach one (dashboard: the connection's Source page; API: PUT the connection with source:)",
        )
    mirror = CatalogMirror(ws.store(connection.name))
    product = mirror.get(sku)
    problems: list[Any] = []
    columns: list[str] = []
    if product is not None:
        parent = mirror.get(product.parent_sku) if product.parent_sku else None
        is_parent = bool(mirror.children([sku]))
    else:
        # Constant memory on any catalogue: one pass for the record, one more for its parent.
        with provided_secrets(connection_secret_env(ws, connection)):
            found = _scan(config, sku)
            product, problems, columns, is_parent = (
                found["record"],
                found["problems"],
                found["columns"],
                found["is_parent"],
            )
            if product is None:
                detail = f" ({problems[0].message})" if problems else ""
                close = difflib.get_close_matches(sku, found["seen"], n=3, cutoff=0.6)
                raise ListingSyncError(
                    f"SKU {sku!r} is not in the catalogue of {connection.name}{detail}",
                    fix=f"did you mean {', '.join(close)}?"
                    if close
                    else "check the SKU against the catalogue",
                )
            parent = _scan(config, product.parent_sku, sku)["record"] if product.parent_sku else None
    pipeline = MappingPipeline(config, _schemas(ws, connection, config))
    pipeline.check()
    pipeline.builder.known_fields = field_names([product], columns)
    result = pipeline.result(product, parent=parent, is_parent=is_parent or None)
    return {
        "sku": sku,
        "origin": result.origin,
        "source": product.raw or _mirror_fields(product),
        "problems": [str(p) for p in problems],
        "listings": [
            {
                "marketplace_id": r.listing.marketplace_id,
                "country": mp.by_id(r.listing.marketplace_id).country,
                "product_type": r.listing.product_type,
                "requirements": r.listing.requirements.value,
                "attributes": r.listing.attributes,
                "issues": [
                    {
                        "severity": i.severity.value,
                        "code": i.code,
                        "attribute": i.attribute,
                        "path": i.path,
                        "message": i.message,
                    }
                    for i in r.issues
                ],
            }
            for r in result.listings
        ],
    }


def _mirror_fields(product: Any) -> dict[str, Any]:
    """A mirrored record's fields as a flat dict (the mirror keeps no raw row)."""
    out: dict[str, Any] = dict(product.fields)
    for name, values in (product.localized or {}).items():
        for lang, value in values.items():
            out[f"{name}[{lang}]"] = value
    return out


def _schemas(ws: Workspace, connection: Connection, config: Any) -> Any:
    """Schemas as a run gets them: from Amazon (cached beside the connection), else cached/bundled."""
    from listingsync.amazon import SPAPIClient
    from listingsync.sync.pipeline import schema_provider

    try:
        credentials = connection_credentials(ws, connection)
    except ListingSyncError:
        return asyncio.run(schema_provider(config, None))

    async def fetch() -> Any:
        async with SPAPIClient.from_account(
            config.account, credentials, rate_limiter=ws.rate_limiter
        ) as client:
            return await schema_provider(config, client)

    return asyncio.run(fetch())


def encode_cursor(state: ListingState) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([state.sku, state.marketplace_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sku, marketplace_id = orjson.loads(raw)
        if isinstance(sku, str) and isinstance(marketplace_id, str):
            return sku, marketplace_id
    except (ValueError, TypeError, orjson.JSONDecodeError):
        pass
    raise CursorError("the cursor is not one this service handed out", fix="start again without 'after'")


def listing_dict(state: ListingState) -> dict[str, Any]:
    found = mp.find(state.marketplace_id)
    return {
        "sku": state.sku,
        "marketplace_id": state.marketplace_id,
        "country": found.country if found else None,
        "status": state.status,
        "asin": state.asin,
        "product_type": state.product_type,
        "parent_sku": state.parent_sku,
        "origin": state.origin,
        "errors": sum(1 for i in state.issues if i.get("severity") == "ERROR"),
        "warnings": sum(1 for i in state.issues if i.get("severity") == "WARNING"),
        "pending": state.pending_op,
        "submission_id": state.last_submission_id,
        "updated_at": state.updated_at.isoformat() if state.updated_at else None,
    }


def _marketplace_ids(values: list[str] | None) -> list[str]:
    ids = []
    for value in values or []:
        found = mp.find(value)
        if found is None:
            raise ListingSyncError(
                f"unknown marketplace {value!r}", fix="use a country code (DE) or a marketplace id"
            )
        ids.append(found.marketplace_id)
    return ids


def listings_page(
    ws: Workspace,
    connection: Connection,
    *,
    after: str | None = None,
    limit: int = 100,
    statuses: list[str] | None = None,
    marketplaces: list[str] | None = None,
    product_types: list[str] | None = None,
    severity: str | None = None,
    code: str | None = None,
    search: str | None = None,
    with_issues: bool = False,
    total: bool = False,
    total_cap: int | None = None,
) -> tuple[list[ListingState], str | None, int | None]:
    """A page of the connection's listings, the cursor of the next page (None at the end) and, when
    ``total`` is asked for, how many listings the filters match in all (at most ``total_cap``)."""
    filters: dict[str, Any] = {
        "statuses": statuses,
        "marketplace_ids": _marketplace_ids(marketplaces),
        "product_types": product_types,
        "severity": severity,
        "code": code,
        "search": search,
        "with_issues": with_issues,
    }
    store = ws.store(connection.name)
    rows = store.page(after=decode_cursor(after) if after else None, limit=limit + 1, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    count = store.count(**filters, cap=total_cap) if total else None
    return rows, (encode_cursor(rows[-1]) if more and rows else None), count
