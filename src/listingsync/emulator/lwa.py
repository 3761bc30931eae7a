"""Login with Amazon: ``POST /auth/o2/token`` (refresh_token grant), as Amazon answers it.

Form body (documented) or JSON body (what Amazon's Java SDK v2 sends); spapi.md §1.1 lists the error
codes and statuses reproduced here. ``invalid_request``'s status (400) follows RFC 6749, Amazon's is
unconfirmed. The grantless ``client_credentials`` grant is not emulated (catalogue sync needs no
grantless call) and gets ``unsupported_grant_type`` 400, as RFC 6749 §5.2 says.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.errors import LwaError, json_response
from listingsync.emulator.state import TokenRecord

__all__ = ["routes"]


async def _fields(request: Request) -> dict[str, str]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").lower()
    try:
        if "json" in content_type:
            data: Any = orjson.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return {str(k): str(v) for k, v in data.items() if v is not None}
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (ValueError, UnicodeDecodeError):
        raise LwaError(400, "invalid_request", "The request body could not be parsed.") from None
    for key, values in parsed.items():
        if len(values) > 1:
            raise LwaError(400, "invalid_request", f"The request has a duplicate parameter : {key}")
    return {k: v[0] for k, v in parsed.items()}


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    clients = {a.client_id: a.client_secret for a in ctx.settings.accounts}
    accounts = {a.refresh_token: a for a in ctx.settings.accounts}

    async def token(request: Request) -> Response:
        fields = await _fields(request)
        grant_type = fields.get("grant_type")
        if not grant_type:
            raise LwaError(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type != "refresh_token":
            raise LwaError(400, "unsupported_grant_type", f"The grant type {grant_type!r} is not supported.")
        for name in ("refresh_token", "client_id", "client_secret"):
            if not fields.get(name):
                raise LwaError(
                    400, "invalid_request", f"The request is missing a required parameter : {name}"
                )
        client_id, client_secret = fields["client_id"], fields["client_secret"]
        known = clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        account = accounts.get(fields["refresh_token"])
        if account is None:
            raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        if account.client_id != client_id:
            raise LwaError(400, "unauthorized_client", "Not authorized for requested operation")
        if account.revoked:
            raise LwaError(
                400,
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token. "
                "User may have revoked or didn't grant the permission.",
            )
        access = "Atza|" + secrets.token_urlsafe(48)
        ttl = ctx.settings.token_ttl
        with ctx.state.lock:
            ctx.state.tokens[access] = TokenRecord(account.refresh_token, time.time() + ttl)
            ctx.state.count("lwa.token")
        return json_response(
            {
                "access_token": access,
                "refresh_token": account.refresh_token,
                "token_type": "bearer",
                "expires_in": int(ttl),
            }
        )

    return [Route("/auth/o2/token", token, methods=["POST"])]
