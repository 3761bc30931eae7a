"""The SP-API's retry rules as the client applies them (one test per rule, against the scripted fake):
what is resent, on what scale it backs off, how long a call may spend failing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from listingsync import retrying
from listingsync.amazon import (
    LWAClient,
    QuotaExceeded,
    RetryPolicy,
    ServerError,
    SPAPIClient,
    TokenBucketLimiter,
)

from .fakes import LWA, FakeAmazon, creds, envelope, make_client, no_sleep

DE = "A1PA6795UKMFR9"


class Draw:
    """Stands in for ``random`` in the retry module: every wait is the top of its range."""

    @staticmethod
    def uniform(_low: float, high: float) -> float:
        return high


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


async def create_feed(c: SPAPIClient) -> Any:
    return await c.feeds.create_feed("JSON_LISTINGS_FEED", [DE], "doc-1")


async def create_feed_document(c: SPAPIClient) -> Any:
    return await c.feeds.create_feed_document()


# --- never resend a POST that may have arrived ----------------------------------------------------


@pytest.mark.parametrize("send", [create_feed, create_feed_document])
@pytest.mark.parametrize("status", [500, 503])
async def test_a_post_is_not_resent_after_a_server_error(send: Any, status: int) -> None:
    fake = FakeAmazon(script=[envelope(status, "InternalFailure", "oops")])
    async with make_client(fake, retry=RetryPolicy(max_attempts=4)) as c:
        with pytest.raises(ServerError):
            await send(c)
    assert len(fake.requests) == 1  # Amazon may have created it: a second one would be a duplicate


@pytest.mark.parametrize("send", [create_feed, create_feed_document])
async def test_a_post_is_resent_when_the_connection_was_never_made(send: Any) -> None:
    fake = FakeAmazon(script=[refused, httpx.Response(202, json={"feedId": "1", "url": "u"})])
    async with make_client(fake, retry=RetryPolicy(max_attempts=4)) as c:
        await send(c)
        assert c.stats.retries == 1
    assert len(fake.requests) == 2


async def test_a_throttled_post_is_resent() -> None:
    fake = FakeAmazon(
        script=[envelope(429, "QuotaExceeded", "slow down"), httpx.Response(202, json={"feedId": "1"})]
    )
    async with make_client(fake, retry=RetryPolicy(max_attempts=4)) as c:
        assert await create_feed(c) == {"feedId": "1"}
    assert len(fake.requests) == 2


async def test_a_read_after_a_read_timeout_is_resent() -> None:
    fake = FakeAmazon(script=[timed_out])
    async with make_client(fake, retry=RetryPolicy(max_attempts=4)) as c:
        await c.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert len(fake.requests) == 2


# --- backoff scale ---------------------------------------------------------------------------------


async def test_a_429_backs_off_on_the_operations_bucket_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrying, "random", Draw)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fake = FakeAmazon(script=[envelope(429, "QuotaExceeded", "slow down"), envelope(503, "X", "down")])
    async with make_client(fake, retry=RetryPolicy(base=0.01, cap=100.0), sleep=sleep) as c:
        await c.feeds.get_feeds(feed_types=["JSON_LISTINGS_FEED"])
    # getFeeds refills 0.0222 tokens a second: a 429 waits on that scale, a 503 on the base.
    assert slept == [pytest.approx(1 / 0.0222), pytest.approx(0.02)]


# --- expired token -----------------------------------------------------------------------------------


async def test_a_token_refresh_does_not_use_up_an_attempt() -> None:
    expired = envelope(403, "Unauthorized", "The access token you provided has expired.")
    fake = FakeAmazon(script=[expired])
    async with make_client(fake, retry=RetryPolicy(max_attempts=1)) as c:
        await c.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
        assert c.stats.token_refreshes == 1 and c.stats.retries == 0
    assert len(fake.requests) == 2 and fake.exchanges == 2


# --- time budget -------------------------------------------------------------------------------------


def slow_failure(clock: Clock) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        clock.now += 10.0  # each answer takes 10 s
        return envelope(503, "ServiceUnavailable", "down")

    return answer


async def test_a_call_gives_up_when_its_time_budget_is_spent() -> None:
    clock = Clock()
    fake = FakeAmazon(script=[slow_failure(clock)] * 50)
    async with make_client(
        fake, retry=RetryPolicy(max_attempts=50, base=0.001, budget=25.0), clock=clock
    ) as c:
        with pytest.raises(ServerError):
            await c.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert len(fake.requests) == 3  # at 10 s and 20 s a retry fits in 25 s; at 30 s none does


class PacedLimiter(TokenBucketLimiter):
    """Every token takes 100 s to come (a slow operation's bucket)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(scale=1e6)
        self.clock = clock

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        self.clock.now += 100.0
        return 100.0 + await super().acquire(key, rate, burst, hold=hold)


async def test_waiting_for_a_rate_limit_token_is_not_time_spent_failing() -> None:
    clock = Clock()
    fake = FakeAmazon(script=[slow_failure(clock)] * 50)
    retry = RetryPolicy(max_attempts=50, base=0.001, budget=25.0)
    async with make_client(fake, retry=retry, clock=clock, rate_limiter=PacedLimiter(clock)) as c:
        with pytest.raises(ServerError):
            await c.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert len(fake.requests) == 3


async def test_throttling_is_bounded_by_attempts() -> None:
    fake = FakeAmazon(script=[envelope(429, "QuotaExceeded", "slow down")] * 10)
    async with make_client(fake, retry=RetryPolicy(max_attempts=2)) as c:
        with pytest.raises(QuotaExceeded):
            await create_feed(c)
    assert len(fake.requests) == 2


# --- pre-signed documents and LWA ------------------------------------------------------------------


async def test_a_presigned_upload_is_resent_after_a_server_error() -> None:
    fake = FakeAmazon(script=[httpx.Response(503), timed_out, httpx.Response(200)])
    async with make_client(fake, retry=RetryPolicy(max_attempts=4)) as c:
        await c.feeds.upload_feed_document("https://s3.test/doc?X-Amz-Signature=abc", b"{}")
        assert c.stats.retries == 2  # a PUT of the same bytes to the same URL is idempotent


async def test_lwa_resends_the_token_request_after_a_read_timeout() -> None:
    answers: list[Any] = [timed_out]

    def handler(request: httpx.Request) -> httpx.Response:
        if answers:
            return answers.pop(0)(request)  # type: ignore[no-any-return]
        return httpx.Response(200, json={"access_token": "Atza|again", "expires_in": 3600})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        lwa = LWAClient(creds(), http, endpoint=LWA, sleep=no_sleep)
        assert await lwa.access_token() == "Atza|again"  # a second exchange is harmless
    assert lwa.exchanges == 2
