"""Listings Items API 2021-08-01: get, put, patch, delete, searchListingsItems.

Follows Amazon's model (``data/models/listingsItems_2021-08-01.json``) and spapi.md §3:

- ``sellerId`` must be the token's selling partner and every ``marketplaceIds`` entry one of its
  marketplaces, else 400 InvalidInput "Invalid 'sellerId' and 'marketplaceId' combination provided."
- PUT/PATCH bodies are validated against the product type schema of the marketplace, narrowed to
  the requirements (``schema/requirements.py``); PATCH applies its patches to the stored
  attributes and validates the resulting item. ERROR issues → ``INVALID`` (nothing stored), else
  ``ACCEPTED`` (stored, logged in the write log) or ``VALID`` with ``mode=VALIDATION_PREVIEW``
  (nothing stored; ``includedData=identifiers`` gives the ASIN it would match).
- ``LISTING_OFFER_ONLY`` from a vendor is a 400, as Amazon answers.
- An identical PUT is accepted without a write: ``lastUpdatedDate`` only moves on a real change.
- A ``late_issue_share`` of accepted items show an issue later, on GET (``items.late_issue_for``).

Messages of 400 answers that Amazon does not document are ours; they say what to fix.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.emulator.context import Caller, EmulatorContext
from listingsync.emulator.errors import ApiError, bad_request, not_found
from listingsync.emulator.items import (
    INCLUDED_DATA,
    amazon_issue,
    build_item,
    deterministic_asin,
    item_status,
    late_issue_for,
)
from listingsync.emulator.state import ListingRecord
from listingsync.schema.issues import Issue, Severity
from listingsync.schema.requirements import REQUIREMENTS

__all__ = ["apply_patches", "routes"]

BASE = "/listings/2021-08-01/items"
COMBINATION = "Invalid 'sellerId' and 'marketplaceId' combination provided."
PATCH_OPS = ("add", "replace", "merge", "delete")
IDENTIFIER_TYPES = ("ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")


def _csv(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _marketplaces(
    request: Request, caller: Caller, seller_id: str, *, max_items: int | None = None
) -> list[str]:
    ids = _csv(request, "marketplaceIds")
    if not ids:
        raise bad_request("Missing required parameter 'marketplaceIds'.")
    if max_items is not None and len(ids) > max_items:
        raise bad_request(f"'marketplaceIds' accepts at most {max_items} value(s) for this operation.")
    account = caller.account
    if seller_id != account.selling_partner_id or any(m not in account.marketplace_ids for m in ids):
        raise bad_request(COMBINATION)
    return ids


def _included(request: Request, allowed: tuple[str, ...], default: str) -> list[str]:
    values = _csv(request, "includedData") or [default]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise bad_request(
            f"Invalid value(s) for 'includedData': {', '.join(unknown)}. Allowed: {', '.join(allowed)}."
        )
    return values


async def _json_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type and "json" not in content_type.lower():
        # The model declares 415 for a body in a format the operation does not take.
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"Content-Type {content_type!r} is not supported; send application/json.",
        )
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("The request body is not valid JSON.", str(exc)) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _product_type(body: dict[str, Any]) -> str:
    product_type = body.get("productType")
    if not isinstance(product_type, str) or not product_type:
        raise bad_request("Missing required field 'productType' in the request body.")
    return product_type


def _selectors(ctx: EmulatorContext, product_type: str, marketplace_id: str, name: str) -> list[str] | None:
    schema = ctx.product_types.get(product_type, marketplace_id)
    prop = (schema or {}).get("properties", {}).get(name, {})
    selectors = prop.get("selectors") if isinstance(prop, dict) else None
    return list(selectors) if isinstance(selectors, list) else None


def _matches(item: Any, wanted: dict[str, Any], keys: list[str]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == wanted.get(k) for k in keys)


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_patches(
    attributes: dict[str, Any],
    patches: Any,
    selectors_of: Any,
) -> dict[str, Any]:
    """``attributes`` with JSON-patch-like ``patches`` applied (Amazon's add/replace/merge/delete).

    ``selectors_of(name)`` gives the attribute's schema selectors (None when unknown). Raises
    ``ApiError`` 400 naming the bad patch.
    """
    if not isinstance(patches, list) or not patches:
        raise bad_request("'patches' must be a non-empty array.")
    result = dict(attributes)
    for index, patch in enumerate(patches):
        where = f"patches[{index}]"
        if not isinstance(patch, dict):
            raise bad_request(f"{where} must be an object with 'op', 'path' and 'value'.")
        op, path, value = patch.get("op"), patch.get("path"), patch.get("value")
        if op not in PATCH_OPS:
            raise bad_request(f"{where}.op must be one of {', '.join(PATCH_OPS)}, not {op!r}.")
        if not isinstance(path, str) or not path.startswith("/attributes/") or path.count("/") != 2:
            raise bad_request(
                f"{where}.path {path!r} is not a top-level attribute path; write /attributes/<name>."
            )
        name = path.split("/")[2]
        if not name:
            raise bad_request(f"{where}.path names no attribute.")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise bad_request(f"{where}.value must be an array of objects.")
        if op in ("add", "replace"):
            result[name] = value
            continue
        selectors = selectors_of(name)
        current = list(result.get(name, []) or [])
        if op == "delete":
            for wanted in value:
                keys = [k for k in (selectors or list(wanted)) if k in wanted]
                current = [item for item in current if not _matches(item, wanted, keys)]
            if current:
                result[name] = current
            else:
                result.pop(name, None)
            continue
        # merge: update the entry with the same selector values, or add it
        for wanted in value:
            keys = selectors or []
            missing = [k for k in keys if wanted.get(k) in (None, "")]
            if missing:
                raise bad_request(
                    f"{where}.value needs the selector(s) {', '.join(missing)} of '{name}' to merge."
                )
            for i, item in enumerate(current):
                if _matches(item, wanted, keys):
                    current[i] = _deep_merge(item, wanted)
                    break
            else:
                current.append(wanted)
        result[name] = current
    return result


def _asin_for(seller_id: str, sku: str, attributes: dict[str, Any], existing: ListingRecord | None) -> str:
    if existing is not None:
        return existing.asin
    suggested = attributes.get("merchant_suggested_asin")
    if isinstance(suggested, list) and suggested and isinstance(suggested[0], dict):
        value = suggested[0].get("value")
        if isinstance(value, str) and len(value) == 10:
            return value
    return deterministic_asin(seller_id, sku)


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    state = ctx.state
    settings = ctx.settings

    def submission(
        sku: str,
        status: str,
        issues: list[Issue],
        marketplace_id: str,
        identifiers: list[dict[str, str]] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sku": sku,
            "status": status,
            "submissionId": uuid.uuid4().hex,
            "issues": [amazon_issue(i, marketplace_id) for i in issues],
        }
        if identifiers is not None:
            body["identifiers"] = identifiers
        return body

    def write(
        caller: Caller,
        request: Request,
        sku: str,
        marketplace_id: str,
        product_type: str,
        requirements: str,
        attributes: dict[str, Any],
        existing: ListingRecord | None,
        op: str,
    ) -> tuple[str, list[Issue], str]:
        """Validate and (unless previewing) store; returns (status, issues, asin)."""
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        issues = ctx.validation.issues(product_type, marketplace_id, requirements, attributes)
        asin = _asin_for(caller.seller_id, sku, attributes, existing)
        if any(i.severity is Severity.ERROR for i in issues):
            return "INVALID", issues, asin
        if preview:
            return "VALID", issues, asin
        now = time.time()
        changed = (
            existing is None
            or existing.attributes != attributes
            or existing.product_type != product_type
            or existing.requirements != requirements
        )
        if changed:
            record = ListingRecord(
                seller_id=caller.seller_id,
                sku=sku,
                marketplace_id=marketplace_id,
                product_type=product_type,
                requirements=requirements,
                attributes=attributes,
                asin=asin,
                created=existing.created if existing else now,
                updated=now,
            )
            record.late_issues = late_issue_for(record, settings.late_issue_share, settings.seed)
            state.put_listing(record)
        state.log_write(
            seller_id=caller.seller_id,
            marketplace_id=marketplace_id,
            sku=sku,
            op=op,
            created=existing is None,
            changed=changed,
            time=now,
        )
        return "ACCEPTED", issues, asin

    def wants_identifiers(request: Request, preview: bool) -> bool:
        """Checked before any write: a bad includedData must not leave a stored item behind."""
        included = _included(request, ("identifiers", "issues"), "issues")
        if "identifiers" in included and not preview:
            raise bad_request("'includedData=identifiers' is only supported with 'mode=VALIDATION_PREVIEW'.")
        return "identifiers" in included

    def preview_guard(request: Request, operation: str) -> Caller:
        mode = request.query_params.get("mode")
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise bad_request(f"Invalid value for 'mode': {mode}. Allowed: VALIDATION_PREVIEW.")
        return ctx.guard(request, operation, limit_as="validationPreview" if mode else None)

    async def get_item(request: Request) -> Response:
        caller = ctx.guard(request, "getListingsItem")
        seller_id, sku = request.path_params["sellerId"], request.path_params["sku"]
        ids = _marketplaces(request, caller, seller_id)
        included = _included(request, INCLUDED_DATA, "summaries")
        records = [r for m in ids if (r := state.get_listing(seller_id, m, sku)) is not None]
        if not records:
            raise not_found(f"Requested item, {sku}, not found in marketplace(s) {', '.join(ids)}.")
        siblings = (
            [r for r in state.listings.values() if r.seller_id == seller_id and r.marketplace_id in ids]
            if "relationships" in included
            else []
        )
        item = build_item(sku, records, included, is_vendor=caller.account.is_vendor, siblings=siblings)
        return ctx.respond(request, item)

    async def put_item(request: Request) -> Response:
        caller = preview_guard(request, "putListingsItem")
        seller_id, sku = request.path_params["sellerId"], request.path_params["sku"]
        (marketplace_id,) = _marketplaces(request, caller, seller_id, max_items=1)
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        with_identifiers = wants_identifiers(request, preview)
        body = await _json_body(request)
        product_type = _product_type(body)
        requirements = body.get("requirements", "LISTING")
        if requirements not in REQUIREMENTS:
            raise bad_request(f"Invalid 'requirements' {requirements!r}. Allowed: {', '.join(REQUIREMENTS)}.")
        if requirements == "LISTING_OFFER_ONLY" and caller.account.is_vendor:
            raise bad_request(
                "LISTING_OFFER_ONLY is not supported for vendors; submit LISTING or LISTING_PRODUCT_ONLY."
            )
        attributes = body.get("attributes")
        if not isinstance(attributes, dict):
            raise bad_request("Missing required field 'attributes' (an object) in the request body.")
        with state.lock:
            existing = state.get_listing(seller_id, marketplace_id, sku)
            status, issues, asin = write(
                caller, request, sku, marketplace_id, product_type, requirements, attributes, existing, "PUT"
            )
        identifiers = [{"marketplaceId": marketplace_id, "asin": asin}] if with_identifiers else None
        return ctx.respond(request, submission(sku, status, issues, marketplace_id, identifiers))

    async def patch_item(request: Request) -> Response:
        caller = preview_guard(request, "patchListingsItem")
        seller_id, sku = request.path_params["sellerId"], request.path_params["sku"]
        (marketplace_id,) = _marketplaces(request, caller, seller_id, max_items=1)
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        with_identifiers = wants_identifiers(request, preview)
        body = await _json_body(request)
        product_type = _product_type(body)
        with state.lock:
            existing = state.get_listing(seller_id, marketplace_id, sku)
            attributes = apply_patches(
                existing.attributes if existing else {},
                body.get("patches"),
                lambda name: _selectors(ctx, product_type, marketplace_id, name),
            )
            requirements = (
                existing.requirements
                if existing
                else ("LISTING_PRODUCT_ONLY" if caller.account.is_vendor else "LISTING")
            )
            status, issues, asin = write(
                caller,
                request,
                sku,
                marketplace_id,
                product_type,
                requirements,
                attributes,
                existing,
                "PATCH",
            )
        identifiers = [{"marketplaceId": marketplace_id, "asin": asin}] if with_identifiers else None
        return ctx.respond(request, submission(sku, status, issues, marketplace_id, identifiers))

    async def delete_item(request: Request) -> Response:
        caller = ctx.guard(request, "deleteListingsItem")
        seller_id, sku = request.path_params["sellerId"], request.path_params["sku"]
        (marketplace_id,) = _marketplaces(request, caller, seller_id, max_items=1)
        with state.lock:
            removed = state.delete_listing(seller_id, marketplace_id, sku)
            state.log_write(
                seller_id=seller_id,
                marketplace_id=marketplace_id,
                sku=sku,
                op="DELETE",
                created=False,
                changed=removed is not None,
            )
        return ctx.respond(request, submission(sku, "ACCEPTED", [], marketplace_id, None))

    async def search_items(request: Request) -> Response:
        caller = ctx.guard(request, "searchListingsItems")
        seller_id = request.path_params["sellerId"]
        ids = _marketplaces(request, caller, seller_id)
        included = _included(request, INCLUDED_DATA, "summaries")
        params = request.query_params
        identifiers = _csv(request, "identifiers")
        id_type = params.get("identifiersType")
        if identifiers and not id_type:
            raise bad_request("'identifiersType' is required with 'identifiers'.")
        if id_type and not identifiers:
            raise bad_request("'identifiers' is required with 'identifiersType'.")
        if id_type and id_type not in IDENTIFIER_TYPES:
            raise bad_request(
                f"Invalid 'identifiersType' {id_type!r}. Allowed: {', '.join(IDENTIFIER_TYPES)}."
            )
        if len(identifiers) > 20:
            raise bad_request("'identifiers' accepts at most 20 values.")
        exclusive = [p for p in ("identifiers", "variationParentSku", "packageHierarchySku") if params.get(p)]
        if len(exclusive) > 1:
            raise bad_request(f"{' and '.join(exclusive)} cannot be combined.")
        try:
            page_size = int(params.get("pageSize", "10"))
        except ValueError:
            raise bad_request("'pageSize' must be an integer from 1 to 20.") from None
        if not 1 <= page_size <= 20:
            raise bad_request("'pageSize' must be an integer from 1 to 20.")
        sort_by = params.get("sortBy", "lastUpdatedDate")
        sort_order = params.get("sortOrder", "DESC")
        if sort_by not in ("sku", "createdDate", "lastUpdatedDate") or sort_order not in ("ASC", "DESC"):
            raise bad_request("Invalid 'sortBy' or 'sortOrder'.")
        severity = params.get("withIssueSeverity")
        if severity not in (None, "WARNING", "ERROR"):
            raise bad_request("Invalid 'withIssueSeverity'. Allowed: WARNING, ERROR.")
        with_status, without_status = _csv(request, "withStatus"), _csv(request, "withoutStatus")
        if any(v not in ("BUYABLE", "DISCOVERABLE") for v in with_status + without_status):
            raise bad_request("Invalid 'withStatus' or 'withoutStatus'. Allowed: BUYABLE, DISCOVERABLE.")
        with state.lock:
            by_sku: dict[str, list[ListingRecord]] = {}
            for m in ids:
                for r in state.listings.values():
                    if r.seller_id == seller_id and r.marketplace_id == m:
                        by_sku.setdefault(r.sku, []).append(r)
            everything = [r for rs in by_sku.values() for r in rs]
        wanted = set(identifiers)

        def keep(sku: str, records: list[ListingRecord]) -> bool:
            if identifiers and not any(_identified(r, id_type or "", wanted) for r in records):
                return False
            parent = params.get("variationParentSku")
            if parent and not any(
                any(
                    isinstance(x, dict) and x.get("parent_sku") == parent
                    for x in r.attributes.get("child_parent_sku_relationship", []) or []
                )
                for r in records
            ):
                return False
            for name, cmp in (("createdAfter", 1), ("createdBefore", -1)):
                if params.get(name) and not _time_ok(min(r.created for r in records), params[name], cmp):
                    return False
            for name, cmp in (("lastUpdatedAfter", 1), ("lastUpdatedBefore", -1)):
                if params.get(name) and not _time_ok(max(r.updated for r in records), params[name], cmp):
                    return False
            if severity and not any(i.get("severity") == severity for r in records for i in r.late_issues):
                return False
            statuses = {s for r in records for s in item_status(r, caller.account.is_vendor)}
            if with_status and not set(with_status) <= statuses:
                return False
            if without_status and set(without_status) & statuses:
                return False
            package = params.get("packageHierarchySku")
            return not package or any(
                isinstance(x, dict) and x.get("sku") == package
                for r in records
                for x in r.attributes.get("package_contains_sku", []) or []
            )

        matched = [(sku, rs) for sku, rs in by_sku.items() if keep(sku, rs)]
        if sort_by == "sku":
            matched.sort(key=lambda e: e[0], reverse=sort_order == "DESC")
        else:
            attr = "created" if sort_by == "createdDate" else "updated"
            matched.sort(
                key=lambda e: (max(getattr(r, attr) for r in e[1]), e[0]), reverse=sort_order == "DESC"
            )
        matched = matched[:1000]  # Amazon pages through at most 1000 results
        offset = _decode_token(params.get("pageToken"))
        page = matched[offset : offset + page_size]
        pagination: dict[str, str] = {}
        if offset + page_size < len(matched):
            pagination["nextToken"] = _encode_token(offset + page_size)
        if offset > 0:
            pagination["previousToken"] = _encode_token(max(0, offset - page_size))
        items = [
            build_item(sku, rs, included, is_vendor=caller.account.is_vendor, siblings=everything)
            for sku, rs in page
        ]
        body: dict[str, Any] = {"numberOfResults": len(matched), "items": items}
        if pagination:
            body["pagination"] = pagination
        return ctx.respond(request, body)

    return [
        Route(f"{BASE}/{{sellerId}}", search_items, methods=["GET"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:path}}", get_item, methods=["GET"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:path}}", put_item, methods=["PUT"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:path}}", patch_item, methods=["PATCH"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:path}}", delete_item, methods=["DELETE"]),
    ]


_GTIN_TYPES = {"EAN": "ean", "UPC": "upc", "GTIN": "gtin", "ISBN": "isbn", "JAN": "jan", "MINSAN": "minsan"}


def _identified(record: ListingRecord, id_type: str, wanted: set[str]) -> bool:
    if id_type == "SKU":
        return record.sku in wanted
    if id_type == "ASIN":
        return record.asin in wanted
    if id_type == "FNSKU":
        return False  # no FBA in the emulator
    kind = _GTIN_TYPES.get(id_type)
    return any(
        isinstance(x, dict) and str(x.get("type", "")).lower() == kind and str(x.get("value")) in wanted
        for x in record.attributes.get("externally_assigned_product_identifier", []) or []
    )


def _time_ok(value: float, bound: str, cmp: int) -> bool:
    from datetime import datetime

    try:
        limit = datetime.fromisoformat(bound.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise bad_request(
            f"Invalid date-time {bound!r}; use ISO 8601 such as 2024-01-31T00:00:00Z."
        ) from None
    return value > limit if cmp > 0 else value < limit


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind != "o":
            raise ValueError(kind)
        return max(0, int(number))
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Invalid 'pageToken'.") from None
