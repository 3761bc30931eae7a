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
from collections.abc import Callable
from typing import Any

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.emulator.amazon_checks import CODE_PRODUCT_CREATION, language, submission_issues
from listingsync.emulator.context import FEED_MARKETPLACES_SCOPE_KEY, Caller, EmulatorContext
from listingsync.emulator.errors import ApiError, bad_request, not_found
from listingsync.emulator.items import (
    INCLUDED_DATA,
    amazon_issue,
    build_item,
    item_status,
)
from listingsync.emulator.state import ListingRecord
from listingsync.schema.issues import CODE_MISSING, Issue, Severity
from listingsync.schema.requirements import REQUIREMENTS
from listingsync.schema.vendor import VENDOR_REFUSED, vendor_view

__all__ = ["apply_patches", "routes"]

BASE = "/listings/2021-08-01/items"
COMBINATION = "Invalid 'sellerId' and 'marketplaceId' combination provided."
PATCH_OPS = ("add", "replace", "merge", "delete")
#: Amazon's code for an offer attribute a vendor sent (VENDOR_REFUSED, see _vendor_issues). Vendors
#: are judged with the vendor's view of the schema (``schema/vendor.py``), which declares their
#: ``cost_price``; a seller's ``cost_price`` is an attribute its schema does not take.
CODE_VENDOR_OFFER = "90000900"
IDENTIFIER_TYPES = ("ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")


class _SkuConvertor(Convertor[str]):
    """A SKU path segment: any characters, newlines included (``%0A`` reaches the handler, which
    answers the operation's declared 404 instead of the router's)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("sku", _SkuConvertor())


def _sku(request: Request) -> str:
    """The SKU of the path. It must arrive percent-encoded: Amazon routes on path segments, so an
    unencoded ``/`` inside a SKU names a resource that does not exist (404 NOT_FOUND)."""
    raw = bytes(request.scope.get("raw_path") or b"")
    _, _, rest = raw.partition(BASE.encode() + b"/")
    _, _, raw_sku = rest.partition(b"/")
    if b"/" in raw_sku:
        raise not_found(
            "Resource not found.",
            "A SKU in the path must be URL-encoded: write '/' as %2F (and ' ' as %20 …).",
        )
    return str(request.path_params["sku"])


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
    if schema is not None and name not in schema.get("properties", {}):
        schema = vendor_view(schema)  # cost_price: declared in vendors' view only
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


def patcher(ctx: EmulatorContext) -> Callable[[dict[str, Any], Any, str, str], dict[str, Any]]:
    """``apply_patches`` with the selectors of ``ctx``'s schemas (the processing queue applies PATCHes)."""

    def patch(
        attributes: dict[str, Any], patches: Any, product_type: str, marketplace_id: str
    ) -> dict[str, Any]:
        return apply_patches(
            attributes, patches, lambda name: _selectors(ctx, product_type, marketplace_id, name)
        )

    return patch


def _vendor_issues(attributes: dict[str, Any], marketplace_id: str, lang: str) -> list[Issue]:
    """Vendors send product facts and cost, never an offer (sales terms are the vendor's contract).

    Amazon answers an offer attribute it does not take with 90000900 "The provided value for
    '<attribute>' is invalid." (selling-partner-api-docs issue #2167; issue #4175 of the models repo
    quotes the same code for purchasable_offer).
    """
    return [
        Issue(
            f"/{name}",
            Severity.ERROR,
            CODE_VENDOR_OFFER,
            f"The provided value for '{name}' is invalid."
            if lang == "en"
            else f"La valeur fournie pour '{name}' n'est pas valide.",
        )
        for name in VENDOR_REFUSED
        if name in attributes
    ]


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    state = ctx.state

    def submission(
        sku: str,
        status: str,
        issues: list[tuple[Issue, str]],
        identifiers: list[dict[str, str]] | None,
        lang: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sku": sku,
            "status": status,
            "submissionId": uuid.uuid4().hex,
            "issues": [amazon_issue(i, marketplace_id, lang) for i, marketplace_id in issues],
        }
        if identifiers is not None:
            body["identifiers"] = identifiers
        return body

    def judge(
        caller: Caller,
        request: Request,
        marketplace_id: str,
        product_type: str,
        requirements: str,
        attributes: dict[str, Any],
        *,
        creating: bool,
        patched: set[str] | None = None,
    ) -> list[Issue]:
        """What Amazon checks when the request arrives (the schema and its own rules).

        ``patched``: a PATCH of a SKU that does not exist yet is judged on the patched values only;
        the whole item is judged when it is processed (Amazon: ACCEPTED, then 90220 issues).
        """
        lang = language(request.query_params.get("issueLocale"))
        vendor = caller.account.is_vendor
        amazon = submission_issues(
            product_type,
            requirements,
            attributes,
            marketplace_id,
            # Amazon's rule in both modes (--instant only changes *when* writes are applied).
            creating=creating,
            lang=lang,
            also=request.scope.get(FEED_MARKETPLACES_SCOPE_KEY, ()),
        )
        if any(i.code == CODE_PRODUCT_CREATION for i in amazon):
            return amazon  # Amazon answers this one alone (selling-partner-api-models issue #2427)
        # A vendor's offer attributes get Amazon's 90000900 alone (_vendor_issues), not the vendor
        # schema's generic refusal as well.
        checked = {k: v for k, v in attributes.items() if not (vendor and k in VENDOR_REFUSED)}
        issues = ctx.validation.issues(product_type, marketplace_id, requirements, checked, vendor=vendor)
        if patched is not None:
            issues = [i for i in issues if i.attribute in patched and i.code != CODE_MISSING]
        issues += amazon
        if vendor:
            issues += _vendor_issues(attributes, marketplace_id, lang)
        return issues

    def accept(
        caller: Caller,
        request: Request,
        sku: str,
        marketplace_id: str,
        write: dict[str, Any],
        existing: ListingRecord | None,
        changed: bool,
    ) -> None:
        """Queue an accepted write for processing and log it (the write log proves what was sent)."""
        ctx.processing.submit(
            {
                **write,
                "seller_id": caller.seller_id,
                "marketplace_id": marketplace_id,
                "sku": sku,
                "lang": language(request.query_params.get("issueLocale")),
            }
        )
        state.log_write(
            seller_id=caller.seller_id,
            marketplace_id=marketplace_id,
            sku=sku,
            op=write["op"],
            created=existing is None,
            changed=changed,
            time=time.time(),
        )

    def preview_asin(
        caller: Caller,
        sku: str,
        marketplace_id: str,
        product_type: str,
        requirements: str,
        attributes: dict[str, Any],
    ) -> str:
        """The ASIN a previewed listing would get (its own if it exists, else as processing matches it)."""
        existing = state.get_listing(caller.seller_id, marketplace_id, sku)
        if existing is not None and existing.asin:
            return existing.asin
        asin, _ = ctx.processing.match(
            caller.seller_id, sku, marketplace_id, product_type, requirements, attributes, "en"
        )
        return asin

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

    def status_of(issues: list[tuple[Issue, str]], preview: bool) -> str:
        if any(i.severity is Severity.ERROR for i, _ in issues):
            return "INVALID"
        return "VALID" if preview else "ACCEPTED"

    async def get_item(request: Request) -> Response:
        caller = ctx.guard(request, "getListingsItem")
        seller_id, sku = request.path_params["sellerId"], _sku(request)
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
        item = build_item(
            sku, records, included, is_vendor=caller.account.is_vendor, now=ctx.clock.now(), siblings=siblings
        )
        return ctx.respond(request, item)

    async def put_item(request: Request) -> Response:
        caller = preview_guard(request, "putListingsItem")
        seller_id, sku = request.path_params["sellerId"], _sku(request)
        (marketplace_id,) = _marketplaces(request, caller, seller_id, max_items=1)
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        with_identifiers = wants_identifiers(request, preview)
        lang = language(request.query_params.get("issueLocale"))
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
            issues = [
                (i, marketplace_id)
                for i in judge(
                    caller,
                    request,
                    marketplace_id,
                    product_type,
                    requirements,
                    attributes,
                    creating=existing is None,
                )
            ]
            status = status_of(issues, preview)
            if status == "ACCEPTED":
                changed = existing is None or (
                    existing.attributes,
                    existing.product_type,
                    existing.requirements,
                ) != (
                    attributes,
                    product_type,
                    requirements,
                )
                write = {
                    "op": "PUT",
                    "product_type": product_type,
                    "requirements": requirements,
                    "attributes": attributes,
                }
                accept(caller, request, sku, marketplace_id, write, existing, changed)
        identifiers = (
            [
                {
                    "marketplaceId": marketplace_id,
                    "asin": preview_asin(caller, sku, marketplace_id, product_type, requirements, attributes),
                }
            ]
            if with_identifiers
            else None
        )
        return ctx.respond(request, submission(sku, status, issues, identifiers, lang))

    async def patch_item(request: Request) -> Response:
        caller = preview_guard(request, "patchListingsItem")
        seller_id, sku = request.path_params["sellerId"], _sku(request)
        # The model allows several marketplaceIds on PATCH (no maxItems): the patch goes to each.
        ids = _marketplaces(request, caller, seller_id)
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        with_identifiers = wants_identifiers(request, preview)
        lang = language(request.query_params.get("issueLocale"))
        body = await _json_body(request)
        product_type = _product_type(body)
        patches = body.get("patches")
        default_requirements = "LISTING_PRODUCT_ONLY" if caller.account.is_vendor else "LISTING"
        with state.lock:
            issues: list[tuple[Issue, str]] = []
            planned = []
            for marketplace_id in ids:
                existing = state.get_listing(seller_id, marketplace_id, sku)
                attributes = apply_patches(
                    existing.attributes if existing else {},
                    patches,
                    lambda name, m=marketplace_id: _selectors(ctx, product_type, m, name),
                )
                requirements = existing.requirements if existing else default_requirements
                # apply_patches checked the shape: a list of {op, path: /attributes/<name>, value}.
                patched = None if existing else {str(p["path"]).split("/")[2] for p in patches or ()}
                found = judge(
                    caller,
                    request,
                    marketplace_id,
                    product_type,
                    requirements,
                    attributes,
                    creating=False,
                    patched=patched,
                )
                issues += [(i, marketplace_id) for i in found]
                planned.append((marketplace_id, existing, attributes, requirements))
            status = status_of(issues, preview)
            if status == "ACCEPTED":
                for marketplace_id, existing, attributes, requirements in planned:
                    write = {
                        "op": "PATCH",
                        "product_type": product_type,
                        "requirements": requirements,
                        "patches": patches,
                    }
                    changed = existing is None or existing.attributes != attributes
                    accept(caller, request, sku, marketplace_id, write, existing, changed)
        identifiers = (
            [
                {
                    "marketplaceId": m,
                    "asin": preview_asin(caller, sku, m, product_type, requirements, attributes),
                }
                for m, _, attributes, requirements in planned
            ]
            if with_identifiers
            else None
        )
        return ctx.respond(request, submission(sku, status, issues, identifiers, lang))

    async def delete_item(request: Request) -> Response:
        caller = ctx.guard(request, "deleteListingsItem")
        seller_id, sku = request.path_params["sellerId"], _sku(request)
        (marketplace_id,) = _marketplaces(request, caller, seller_id, max_items=1)
        lang = language(request.query_params.get("issueLocale"))
        with state.lock:
            existing = state.get_listing(seller_id, marketplace_id, sku)
            accept(caller, request, sku, marketplace_id, {"op": "DELETE"}, existing, existing is not None)
        return ctx.respond(request, submission(sku, "ACCEPTED", [], None, lang))

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
            if id_type == "SKU":
                # At most 20 SKUs: read them by key. Scanning every listing per call made a big
                # sync's lookups (20 SKUs a call while earlier feeds fill the state) quadratic.
                for sku in dict.fromkeys(identifiers):
                    for m in ids:
                        if (found := state.get_listing(seller_id, m, sku)) is not None:
                            by_sku.setdefault(sku, []).append(found)
                # Only relationships read the other listings (a parent's children).
                everything = (
                    [
                        r
                        for r in state.listings.values()
                        if r.seller_id == seller_id and r.marketplace_id in ids
                    ]
                    if "relationships" in included
                    else []
                )
            else:
                for m in ids:
                    for r in state.listings.values():
                        if r.seller_id == seller_id and r.marketplace_id == m:
                            by_sku.setdefault(r.sku, []).append(r)
                everything = [r for rs in by_sku.values() for r in rs]
        wanted = set(identifiers)
        now = ctx.clock.now()

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
            statuses = {s for r in records for s in item_status(r, caller.account.is_vendor, now)}
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
            build_item(sku, rs, included, is_vendor=caller.account.is_vendor, now=now, siblings=everything)
            for sku, rs in page
        ]
        body: dict[str, Any] = {"numberOfResults": len(matched), "items": items}
        if pagination:
            body["pagination"] = pagination
        return ctx.respond(request, body)

    return [
        Route(f"{BASE}/{{sellerId}}", search_items, methods=["GET"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:sku}}", get_item, methods=["GET"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:sku}}", put_item, methods=["PUT"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:sku}}", patch_item, methods=["PATCH"]),
        Route(f"{BASE}/{{sellerId}}/{{sku:sku}}", delete_item, methods=["DELETE"]),
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
