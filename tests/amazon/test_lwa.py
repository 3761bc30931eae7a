"""LWA: one exchange for many concurrent callers, caching until 60 s before expiry, error advice."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from listingsync.amazon import LWAClient, LWAError

from .fakes import CLIENT_ID, LWA, REFRESH, SECRET, FakeAmazon, creds, no_sleep


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lwa_client(fake: FakeAmazon, clock: Clock | None = None) -> tuple[LWAClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=fake.transport())
    return LWAClient(creds(), http, endpoint=LWA, sleep=no_sleep, clock=clock or Clock()), http


async def test_fifty_concurrent_callers_on_a_cold_cache_cause_one_exchange() -> None:
    fake = FakeAmazon(lwa_delay=0.05)  # the exchange is slow, so all 50 arrive while it runs
    lwa, http = lwa_client(fake)
    async with http:
        tokens = await asyncio.gather(*(lwa.access_token() for _ in range(50)))
    assert fake.exchanges == 1
    assert lwa.exchanges == 1
    assert set(tokens) == {"Atza|token-1"}


async def test_refresh_token_grant_is_a_form_body_with_all_four_fields() -> None:
    fake = FakeAmazon()
    lwa, http = lwa_client(fake)
    async with http:
        await lwa.access_token()
    assert fake.lwa_forms == [
        {
            "grant_type": ["refresh_token"],
            "refresh_token": [REFRESH],
            "client_id": [CLIENT_ID],
            "client_secret": [SECRET],
        }
    ]


async def test_token_is_cached_until_sixty_seconds_before_expiry() -> None:
    fake = FakeAmazon()
    clock = Clock()
    lwa, http = lwa_client(fake, clock)
    async with http:
        assert await lwa.access_token() == "Atza|token-1"
        clock.now += 3600 - 61
        assert await lwa.access_token() == "Atza|token-1"
        clock.now += 2  # now within the last 60 s
        assert await lwa.access_token() == "Atza|token-2"
    assert fake.exchanges == 2


async def test_invalidate_with_a_stale_token_keeps_a_newer_one() -> None:
    fake = FakeAmazon()
    lwa, http = lwa_client(fake)
    async with http:
        first = await lwa.access_token()
        lwa.invalidate(first)
        second = await lwa.access_token()
        lwa.invalidate(first)  # a late 403 for the old token must not throw the new one away
        assert await lwa.access_token() == second
    assert fake.exchanges == 2


async def test_transient_errors_are_retried() -> None:
    fake = FakeAmazon(
        lwa_script=[
            httpx.Response(500, json={"error": "server_error", "error_description": "boom"}),
            httpx.Response(503, json={"error": "temporarily_unavailable"}),
        ]
    )
    lwa, http = lwa_client(fake)
    async with http:
        assert await lwa.access_token() == "Atza|token-3"
    assert fake.exchanges == 3


async def test_network_errors_are_retried_then_reported() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    lwa = LWAClient(creds(), http, endpoint=LWA, sleep=no_sleep, max_attempts=3)
    async with http:
        with pytest.raises(LWAError) as info:
            await lwa.access_token()
    assert calls == 3
    assert info.value.error == "network_error"


@pytest.mark.parametrize(
    ("status", "error", "must_say"),
    [
        (401, "invalid_client", ["LISTINGSYNC_LWA_CLIENT_SECRET", "180 days", "LWA credentials"]),
        (400, "invalid_grant", ["LISTINGSYNC_LWA_REFRESH_TOKEN", "revoked", "Edit App → Authorize"]),
        (400, "unauthorized_client", ["not allowed", "Develop Apps"]),
    ],
)
async def test_errors_map_to_advice_naming_credential_and_step(
    status: int, error: str, must_say: list[str]
) -> None:
    fake = FakeAmazon(lwa_script=[httpx.Response(status, json={"error": error, "error_description": "x"})])
    lwa, http = lwa_client(fake)
    async with http:
        with pytest.raises(LWAError) as info:
            await lwa.access_token()
    assert fake.exchanges == 1  # not retried
    assert info.value.error == error
    assert info.value.status == status
    for words in must_say:
        assert words in info.value.advice
    assert info.value.fix == info.value.advice


async def test_a_failed_exchange_is_not_cached() -> None:
    fake = FakeAmazon(lwa_script=[httpx.Response(400, json={"error": "invalid_grant"})])
    lwa, http = lwa_client(fake)
    async with http:
        with pytest.raises(LWAError):
            await lwa.access_token()
        assert await lwa.access_token() == "Atza|token-2"


async def test_concurrent_callers_all_see_the_failure() -> None:
    fake = FakeAmazon(lwa_delay=0.02, lwa_script=[httpx.Response(401, json={"error": "invalid_client"})])
    lwa, http = lwa_client(fake)
    async with http:
        results = await asyncio.gather(*(lwa.access_token() for _ in range(10)), return_exceptions=True)
    assert fake.exchanges == 1
    assert all(isinstance(r, LWAError) and r.error == "invalid_client" for r in results)


async def test_unreachable_endpoint_advice_is_about_the_network() -> None:
    err = LWAError("network_error", "cannot reach x")
    assert "proxy" in err.advice and "lwa_endpoint" in err.advice
