"""A scriptable fake Amazon (LWA + SP-API) behind httpx.MockTransport, for unit tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from listingsync.amazon import Credentials, RetryPolicy, SPAPIClient, TokenBucketLimiter

CLIENT_ID = "amzn1.application-oa2-client.unit"
SECRET = "amzn1.oa2-cs.v1.unit-test-canary-secret"
REFRESH = "Atzr|unit-test-canary-refresh"
ENDPOINT = "https://sp.test/eu"
LWA = "https://lwa.test/auth/o2/token"

Responder = Callable[[httpx.Request], httpx.Response]


def creds() -> Credentials:
    return Credentials(CLIENT_ID, SECRET, REFRESH)


def envelope(status: int, code: str, message: str, details: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"errors": [{"code": code, "message": message, "details": details}]},
        headers={"x-amzn-RequestId": "req-123", **headers},
    )


@dataclass
class FakeAmazon:
    """LWA hands out numbered tokens; SP-API answers pop from ``script`` (default 200 ``{}``)."""

    script: list[Responder | httpx.Response] = field(default_factory=list)
    lwa_script: list[httpx.Response] = field(default_factory=list)
    lwa_delay: float = 0.0
    exchanges: int = 0
    lwa_forms: list[dict[str, list[str]]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == LWA:
            self.exchanges += 1
            self.lwa_forms.append(parse_qs(request.content.decode()))
            if self.lwa_delay:
                await asyncio.sleep(self.lwa_delay)
            if self.lwa_script:
                return self.lwa_script.pop(0)
            return httpx.Response(
                200,
                json={
                    "access_token": f"Atza|token-{self.exchanges}",
                    "refresh_token": REFRESH,
                    "token_type": "bearer",
                    "expires_in": 3600,
                },
            )
        self.requests.append(request)
        if self.script:
            item = self.script.pop(0)
            return item if isinstance(item, httpx.Response) else item(request)
        return httpx.Response(200, json={}, headers={"x-amzn-RequestId": "req-ok"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def make_client(fake: FakeAmazon, **kwargs: Any) -> SPAPIClient:
    kwargs.setdefault("rate_limiter", TokenBucketLimiter(scale=1e6))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4))
    kwargs.setdefault("sleep", no_sleep)
    return SPAPIClient(
        creds(),
        "eu",
        endpoint=ENDPOINT,
        lwa_endpoint=LWA,
        transport=fake.transport(),
        selling_partner_id="C96QA",
        **kwargs,
    )


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)
