"""Applying one JSON_LISTINGS_FEED message exactly as the Listings Items API would.

The feed processor does not reimplement listings: each message becomes the Listings Items API call
it stands for and is served by the emulator's own listings handlers (``listings.routes``), through
an in-process ASGI call on a router whose context skips authentication and rate limiting (a feed's
messages are not API calls of the partner and spend none of its Listings Items budget):

- ``UPDATE``         → ``PUT``   with ``{productType, requirements, attributes}``
- ``PARTIAL_UPDATE`` → ``PATCH`` with one ``replace`` per given attribute (the feed schema says so)
- ``PATCH``          → ``PATCH`` with the message's ``patches``
- ``DELETE``         → ``DELETE``

once per marketplace of createFeed's ``marketplaceIds`` (messages have no marketplace of their own),
with the feed header's ``issueLocale``. The message is accepted when every marketplace accepted it;
its issues are the union of theirs. A 4xx answer (e.g. LISTING_OFFER_ONLY from a vendor, a patch
path that is not ``/attributes/<name>``) makes the message invalid with the answer's message.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.routing import Router
from starlette.types import Message

from listingsync.emulator.context import Caller, EmulatorContext, region_of
from listingsync.emulator.feed_document import FeedMessage
from listingsync.emulator.items import build_item
from listingsync.emulator.settings import Account

__all__ = ["LISTINGS_ERROR_CODE", "MessageOutcome", "apply_messages", "report_item"]

_BASE: Final = "/listings/2021-08-01/items"
#: Invented: the Listings Items API refused the call the message stands for with a 4xx.
LISTINGS_ERROR_CODE: Final = "LS-FEED-LISTINGS-REJECTED"


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    accepted: bool
    #: Listings API ``Issue`` objects (code, message, severity, attributeNames, categories …).
    issues: list[dict[str, Any]] = field(default_factory=list)


class _FeedContext(EmulatorContext):
    """The emulator context as the feed processor's internal listings calls see it.

    Shares everything with the real context (state, registry, validation …) but authenticates the
    feed's account without a token and spends no rate-limit budget.
    """

    account: Account

    def guard(
        self, request: Request, operation: str, *, limit_key: str | None = None, limit_as: str | None = None
    ) -> Caller:
        self.processing.settle()
        return Caller(self.account, region_of(request), operation)


_ROUTERS: weakref.WeakKeyDictionary[EmulatorContext, dict[str, Router]] = weakref.WeakKeyDictionary()
_ROUTERS_LOCK = threading.Lock()


def _router(ctx: EmulatorContext, account: Account) -> Router:
    from listingsync.emulator import listings  # the listings module imports nothing of ours

    with _ROUTERS_LOCK:
        per_account = _ROUTERS.setdefault(ctx, {})
        router = per_account.get(account.selling_partner_id)
        if router is None:
            # Resolve the shared lazy members first so the shallow copy shares them.
            _ = ctx.product_types, ctx.validation, ctx.processing
            internal = copy.copy(ctx)
            internal.__class__ = _FeedContext
            assert isinstance(internal, _FeedContext)
            internal.account = account
            router = per_account[account.selling_partner_id] = Router(routes=listings.routes(internal))
        return router


async def _call(
    router: Router,
    account: Account,
    method: str,
    path: str,
    query: dict[str, str],
    body: dict[str, Any] | None,
    marketplace_ids: Sequence[str],
) -> tuple[int, Any]:
    from listingsync.emulator.context import FEED_MARKETPLACES_SCOPE_KEY, REGION_SCOPE_KEY

    payload = orjson.dumps(body) if body is not None else b""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        "server": ("127.0.0.1", 0),
        "client": ("127.0.0.1", 0),
        REGION_SCOPE_KEY: account.region,
        FEED_MARKETPLACES_SCOPE_KEY: tuple(marketplace_ids),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    from listingsync.emulator.errors import ApiError

    try:
        await router(scope, receive, send)
    except ApiError as error:  # raised by the handlers; the app would render it
        return error.status, {"errors": [{"code": error.code, "message": error.message}]}
    data = b"".join(chunks)
    return status, orjson.loads(data) if data else None


def _request(message: FeedMessage) -> tuple[str, dict[str, Any] | None]:
    if message.operation_type == "UPDATE":
        body: dict[str, Any] = {"productType": message.product_type, "attributes": message.attributes}
        if message.requirements:
            body["requirements"] = message.requirements
        return "PUT", body
    if message.operation_type == "PARTIAL_UPDATE":
        patches = [
            {"op": "replace", "path": f"/attributes/{name}", "value": value}
            for name, value in (message.attributes or {}).items()
        ]
        return "PATCH", {"productType": message.product_type, "patches": patches}
    if message.operation_type == "PATCH":
        return "PATCH", {"productType": message.product_type, "patches": message.patches}
    return "DELETE", None


async def _apply(
    ctx: EmulatorContext,
    account: Account,
    message: FeedMessage,
    marketplace_ids: Sequence[str],
    issue_locale: str | None,
) -> MessageOutcome:
    router = _router(ctx, account)
    method, body = _request(message)
    path = f"{_BASE}/{quote(account.selling_partner_id, safe='')}/{quote(message.sku, safe='')}"
    accepted = True
    issues: list[dict[str, Any]] = []
    for marketplace_id in marketplace_ids:
        query = {"marketplaceIds": marketplace_id}
        if issue_locale:
            query["issueLocale"] = issue_locale
        status, answer = await _call(router, account, method, path, query, body, marketplace_ids)
        if status >= 400 or not isinstance(answer, dict):
            accepted = False
            errors = answer.get("errors", []) if isinstance(answer, dict) else []
            text = "; ".join(str(e.get("message", "")) for e in errors) or f"HTTP {status}"
            issues.append(
                {
                    "code": LISTINGS_ERROR_CODE,
                    "message": f"{text} (marketplace {marketplace_id})",
                    "severity": "ERROR",
                    "categories": [],
                    "marketplaceIds": [marketplace_id],
                }
            )
            continue
        if answer.get("status") != "ACCEPTED":
            accepted = False
        issues.extend(answer.get("issues", []))
    return MessageOutcome(accepted, issues)


def apply_messages(
    ctx: EmulatorContext,
    account: Account | None,
    messages: Sequence[FeedMessage],
    marketplace_ids: Sequence[str],
    *,
    issue_locale: str | None = None,
) -> list[MessageOutcome]:
    """Apply ``messages`` in order for ``account`` in every marketplace (call from a worker thread)."""
    if account is None:
        unknown = MessageOutcome(
            False,
            [{"code": LISTINGS_ERROR_CODE, "message": "Unknown selling partner.", "severity": "ERROR"}],
        )
        return [unknown for _ in messages]

    async def run() -> list[MessageOutcome]:
        return [await _apply(ctx, account, m, marketplace_ids, issue_locale) for m in messages]

    return asyncio.run(run())


def report_item(
    ctx: EmulatorContext,
    seller_id: str,
    sku: str,
    marketplace_ids: Sequence[str],
    included_data: Sequence[str],
    *,
    is_vendor: bool = False,
) -> dict[str, Any] | None:
    """The listing as getListingsItem shows it now (``includedData`` of the feed header), or None."""
    state = ctx.state
    ctx.processing.settle()
    with state.lock:
        records = [r for m in marketplace_ids if (r := state.get_listing(seller_id, m, sku)) is not None]
        siblings = (
            [
                r
                for r in state.listings.values()
                if r.seller_id == seller_id and r.marketplace_id in marketplace_ids
            ]
            if "relationships" in included_data
            else []
        )
    if not records:
        return None
    return build_item(
        sku, records, included_data, is_vendor=is_vendor, now=ctx.clock.now(), siblings=siblings
    )
