"""``/_emulator/…``: what the emulator holds and saw, for tests, the demo and crash proofs.

    GET  /_emulator/listings[?seller_id=&marketplace_id=]   stored listings
    GET  /_emulator/counters                                requests and 429s per operation
    GET  /_emulator/write-log[?since=SEQ&sku=]              every accepted write, in order
    GET  /_emulator/accounts                                accounts (no secrets)
    POST /_emulator/reset                                   forget listings, tokens, counters, log

No authentication: the emulator listens on loopback and this is test plumbing, not SP-API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.errors import json_response

__all__ = ["routes"]


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    state = ctx.state

    async def listings(request: Request) -> Response:
        seller = request.query_params.get("seller_id")
        marketplace = request.query_params.get("marketplace_id")
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
        with state.lock:
            entries = [e for e in state.write_log if e["seq"] > since and (sku is None or e["sku"] == sku)]
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
    ]
