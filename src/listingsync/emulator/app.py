"""The emulator's ASGI app: one Starlette app serving every region by path prefix.

Layout::

    POST /auth/o2/token                     LWA (lwa.py)
    /na/…, /eu/…, /fe/…                     SP-API, one prefix per region (same routes under each)
    /_emulator/…                            introspection (introspection.py)
    /saleslayer/…                           fake Sales Layer API, only with settings.saleslayer_file

Route modules under the region prefixes: ``sellers``, ``listings`` (this package) and, when present,
``definitions``, ``feeds``, ``catalog_items``. Each exposes ``routes(ctx) -> list[BaseRoute]`` and may
add ``root_routes(ctx)`` (mounted at ``/``, e.g. presigned document URLs) and
``introspection_routes(ctx)`` (mounted under ``/_emulator``).

Every answer carries ``x-amzn-RequestId``; SP-API answers that passed the rate limiter carry
``x-amzn-RateLimit-Limit`` on 2xx/400/404 only, as Amazon does. Faults (faults.py) are applied
here, to the region-prefixed paths only.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from listingsync.amazon.marketplaces import Region
from listingsync.emulator.context import RATE_SCOPE_KEY, REGION_SCOPE_KEY, EmulatorContext
from listingsync.emulator.errors import ApiError, LwaError, envelope, json_response
from listingsync.emulator.faults import Fault, write_operation
from listingsync.emulator.limits import BodyLimits
from listingsync.emulator.settings import EmulatorSettings

__all__ = ["REGION_MODULES", "create_app"]

#: Modules whose ``routes(ctx)`` are mounted under each region prefix (missing ones are skipped).
REGION_MODULES = ("sellers", "listings", "definitions", "feeds", "catalog_items")

_PREFIXES = {f"/{r.value}/": r for r in Region}


def _optional(name: str) -> ModuleType | None:
    full = f"listingsync.emulator.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


class _RegionApp:
    """Tags the scope with the region of its prefix, then routes."""

    def __init__(self, router: Router, region: Region) -> None:
        self.router = router
        self.region = region

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[REGION_SCOPE_KEY] = self.region
        await self.router(scope, receive, send)


class _AmazonHeaders:
    """Request id on every answer, rate-limit header where Amazon sends it, and fault injection."""

    def __init__(self, app: ASGIApp, ctx: EmulatorContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-amzn-RequestId"] = request_id
                status = message["status"]
                rate = scope.get(RATE_SCOPE_KEY)
                if rate and (200 <= status < 300 or status in (400, 404)):
                    headers["x-amzn-RateLimit-Limit"] = rate
            await send(message)

        path: str = scope["path"]
        faults = self.ctx.faults
        if faults.active and path[:4] in _PREFIXES and await self._fault(scope, receive, send_with_headers):
            return
        await self.app(scope, receive, send_with_headers)

    async def _fault(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Apply the next fault; True when it answered (or dropped) the request itself."""
        token = None
        for key, value in scope["headers"]:
            if key == b"x-amz-access-token":
                token = value.decode("latin-1")
        write = write_operation(scope["method"], scope["path"])
        decision = self.ctx.faults.decide(authenticated=token is not None, write=write)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        fault = decision.fault
        if fault is Fault.NONE:
            return False
        self.ctx.state.count(f"fault:{fault.value}", throttled=fault is Fault.THROTTLE)
        if fault is Fault.EXPIRE:
            if token is not None:
                self.ctx.auth.expire(token)
            return False  # the normal path now answers 403 "expired"
        if fault is Fault.LOSE:
            # Apply the request for real, throw its answer away, then hang up as DROP does.
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            fault = Fault.DROP
        if fault is Fault.DROP:
            # Start an answer, send part of it and return: the server closes the connection, and
            # the client sees a peer that hung up mid-response.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"', "more_body": True})
            return True
        if fault is Fault.THROTTLE:
            error = ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        elif fault is Fault.ERROR_500:
            error = ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")
        else:
            # Code as in spapi.md §6.2; this message text is ours (Amazon's varies).
            error = ApiError(503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.")
        response = error.response()
        await response({"type": "http", "method": "GET", "path": "/", "headers": []}, _no_receive, send)
        return True


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _lwa_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LwaError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        # The shape every SP-API model declares for 404 (an ErrorList, code NOT_FOUND).
        return json_response(envelope("NOT_FOUND", "Resource not found.", request.url.path), 404)
    if exc.status_code == 405:
        return json_response(envelope("MethodNotAllowed", "Method not allowed.", request.method), 405)
    return json_response(envelope("InvalidInput", str(exc.detail)), exc.status_code)


def create_app(settings: EmulatorSettings | None = None, ctx: EmulatorContext | None = None) -> Starlette:
    """The emulator app. ``app.state.ctx`` is the :class:`EmulatorContext` (state, limiter …)."""
    if ctx is None:
        ctx = EmulatorContext(settings or EmulatorSettings())
    settings = ctx.settings
    from listingsync.emulator import introspection, lwa

    region_routes: list[BaseRoute] = []
    root_routes: list[BaseRoute] = list(lwa.routes(ctx))
    intro_routes: list[BaseRoute] = list(introspection.routes(ctx))
    for name in REGION_MODULES:
        module = _optional(name)
        if module is None or not hasattr(module, "routes"):
            continue  # not written yet
        region_routes.extend(module.routes(ctx))
        if hasattr(module, "root_routes"):
            root_routes.extend(module.root_routes(ctx))
        if hasattr(module, "introspection_routes"):
            intro_routes.extend(module.introspection_routes(ctx))

    mounts: list[BaseRoute] = [*root_routes, Mount("/_emulator", routes=intro_routes)]
    for region in Region:
        mounts.append(Mount(f"/{region.value}", app=_RegionApp(Router(routes=region_routes), region)))
    if settings.saleslayer_file is not None:
        saleslayer: Any = importlib.import_module("listingsync.emulator.saleslayer")
        mounts.append(Mount("/saleslayer", app=saleslayer.create_app(settings.saleslayer_file)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        saver = asyncio.create_task(_autosave(ctx)) if ctx.state.path is not None else None
        try:
            yield
        finally:
            if saver is not None:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
            ctx.state.save()

    app = Starlette(
        routes=mounts,
        exception_handlers={ApiError: _api_error, LwaError: _lwa_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_middleware(
        BodyLimits,
        feed_document_bytes=settings.max_feed_document_bytes,
        body_idle_timeout=settings.body_idle_timeout,
    )
    app.add_middleware(_AmazonHeaders, ctx=ctx)  # outermost: its request id is on every answer
    return app


async def _autosave(ctx: EmulatorContext, interval: float = 0.5) -> None:
    """Persist the state shortly after writes (atomically; see State.save)."""
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(ctx.state.save_if_due, interval)
