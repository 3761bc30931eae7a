"""``/_emulator/…``: what the emulator holds and saw, for tests, the demo and crash proofs.

    GET  /_emulator/listings[?seller_id=&marketplace_id=]   stored listings
    GET  /_emulator/counters                                requests and 429s per operation
    GET  /_emulator/write-log[?since=SEQ&sku=]              every accepted write, in order
    GET  /_emulator/accounts                                accounts (no secrets)
    POST /_emulator/reset                                   forget listings, tokens, counters, log
    GET  /_emulator/clock                                   emulated time, offset, writes not processed
    POST /_emulator/clock/advance?seconds=N                 move the clock on; apply what became due
    GET  /_emulator/processing                              accepted writes not processed yet
    POST /_emulator/processing/flush                        finish everything queued: writes and feeds

The clock endpoints make asynchronous processing testable without sleeping: a test sees the 404 of
a just-accepted SKU, advances the clock past the processing delay, and sees the item.

No authentication: the emulator listens on loopback and this is test plumbing, not SP-API.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.errors import json_response

__all__ = ["routes"]


async def _run_due_feeds(ctx: EmulatorContext) -> int:
    """Process every feed the clock says is finished, and wait for them (none when feeds are absent)."""
    try:
        from listingsync.emulator.feeds import service
    except ModuleNotFoundError:  # pragma: no cover - feeds always ship with the emulator
        return 0
    svc = service(ctx)
    due = svc.due_ids()
    for feed_id in due:
        await asyncio.wrap_future(svc.start(feed_id))
    return len(due)


async def flush(ctx: EmulatorContext) -> dict[str, int]:
    """Move the clock to when everything queued is done: writes processed, feeds finished (a feed's
    messages queue writes of their own, so this repeats until nothing is left)."""
    writes = feeds = 0
    while True:
        ends = [t for t in (ctx.processing.last_due(), _last_feed_end(ctx)) if t is not None]
        if not ends:
            # Last, the offers Amazon shows BUYABLE a little after their item (processing.BUYABLE_LAG).
            with ctx.state.lock:
                buyable = max((r.buyable_at for r in ctx.state.listings.values()), default=0.0)
            ctx.clock.advance_to(buyable)
            return {"writes": writes, "feeds": feeds}
        ctx.clock.advance_to(max(ends))
        writes += ctx.processing.settle()
        feeds += await _run_due_feeds(ctx)
        writes += ctx.processing.settle()


def _last_feed_end(ctx: EmulatorContext) -> float | None:
    try:
        from listingsync.emulator.feeds import service
    except ModuleNotFoundError:  # pragma: no cover
        return None
    svc = service(ctx)
    ends = [float(f["end"]) for f in svc.store.feeds() if f["status"] == "IN_QUEUE"]
    return max(ends) if ends else None


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    state = ctx.state

    def clock_body() -> dict[str, object]:
        return {
            "now": ctx.clock.now(),
            "offset": ctx.clock.offset,
            "instant": ctx.settings.instant,
            "pending_writes": len(ctx.processing.pending()),
        }

    async def clock(request: Request) -> Response:
        return json_response(clock_body())

    async def advance(request: Request) -> Response:
        try:
            seconds = float(request.query_params.get("seconds", ""))
            if seconds < 0 or seconds != seconds:
                raise ValueError(seconds)
        except ValueError:
            return json_response({"error": "seconds must be a number >= 0, e.g. ?seconds=300"}, 400)
        ctx.clock.advance(seconds)
        applied = ctx.processing.settle()
        feeds = await _run_due_feeds(ctx)
        applied += ctx.processing.settle()
        return json_response({**clock_body(), "applied": applied, "feeds": feeds})

    async def pending(request: Request) -> Response:
        return json_response({"pending": ctx.processing.pending()})

    async def flush_all(request: Request) -> Response:
        done = await flush(ctx)
        return json_response({**clock_body(), "applied": done["writes"], "feeds": done["feeds"]})

    async def listings(request: Request) -> Response:
        seller = request.query_params.get("seller_id")
        marketplace = request.query_params.get("marketplace_id")
        ctx.processing.settle()
        with state.lock:
            records = [
                r.to_json()
                for r in state.listings.values()
                if (seller is None or r.seller_id == seller)
                and (marketplace is None or r.marketplace_id == marketplace)
            ]
        records.sort(key=lambda r: (r["seller_id"], r["marketplace_id"], r["sku"]))
        return json_response({"listings": records, "count": len(records)})

    async def counters(request: Request) -> Response:
        with state.lock:
            return json_response({"requests": dict(state.requests), "throttled": dict(state.throttled)})

    async def write_log(request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return json_response({"error": "since must be an integer sequence number"}, 400)
        sku = request.query_params.get("sku")
        if request.query_params.get("count") == "true":
            # How many writes Amazon accepted, without listing a million of them.
            return json_response({"count": len(state.write_log)})
        entries = [e for e in state.write_log.since(since) if sku is None or e["sku"] == sku]
        return json_response({"writes": entries})

    async def accounts(request: Request) -> Response:
        return json_response(
            {
                "accounts": [
                    {
                        "name": a.name,
                        "type": a.account_type,
                        "selling_partner_id": a.selling_partner_id,
                        "region": a.region.value,
                        "marketplace_ids": list(a.marketplace_ids),
                        "revoked": a.revoked,
                    }
                    for a in ctx.settings.accounts
                ]
            }
        )

    async def reset(request: Request) -> Response:
        ctx.reset()
        return json_response({"reset": True})

    return [
        Route("/listings", listings, methods=["GET"]),
        Route("/counters", counters, methods=["GET"]),
        Route("/write-log", write_log, methods=["GET"]),
        Route("/accounts", accounts, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/clock", clock, methods=["GET"]),
        Route("/clock/advance", advance, methods=["POST"]),
        Route("/processing", pending, methods=["GET"]),
        Route("/processing/flush", flush_all, methods=["POST"]),
    ]
