"""Token buckets on a fake clock: burst, steady pacing, 429 resync, announced rates, scale."""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import Coroutine
from typing import Any

import pytest

from listingsync.amazon import OPERATIONS, RateLimiter, TokenBucketLimiter, operation


class FakeTime:
    """Virtual time: it advances only when the limiter sleeps, and sleepers overlap as in real time.

    ``stall`` models a busy event loop: nobody wakes before that instant.
    """

    def __init__(self, stall: float = 0.0) -> None:
        self.now = 0.0
        self.stall = stall
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.now + seconds
        await asyncio.sleep(0)  # let the other callers reserve (and sleep) first
        self.now = max(self.now, wake, self.stall)


def limiter(t: FakeTime, **kwargs: float) -> TokenBucketLimiter:
    return TokenBucketLimiter(clock=t.clock, sleep=t.sleep, **kwargs)


async def test_burst_goes_at_once_then_reservations_are_spaced_by_one_interval() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    waits = await asyncio.gather(*(lim.acquire("P:getListingsItem", 5, 5) for _ in range(8)))
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5:] == pytest.approx([0.2, 0.4, 0.6])
    assert lim.stats.acquired == 8 and lim.stats.delayed == 3


async def test_refill_over_time_and_cap_at_burst() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    for _ in range(5):
        await lim.acquire("k", 5, 5)
    t.now += 100  # long idle: refills to the burst, not beyond
    waits = [await lim.acquire("k", 5, 5) for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 0, 0, 0.2])


async def test_headroom_and_safety_leave_a_margin() -> None:
    t = FakeTime()
    lim = limiter(t, safety=0.98, headroom=0.2)
    waits = await asyncio.gather(*(lim.acquire("k", 5, 5) for _ in range(6)))
    # 0.2 s at 4.9 rps = 0.98 tokens kept back: four go at once, the fifth waits about 0.2 s.
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4] == pytest.approx(0.2)
    assert waits[5] == pytest.approx(0.2 + 1 / 4.9)
    assert lim.rate_of("k") == pytest.approx(4.9)


async def test_headroom_barely_touches_slow_buckets() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.2)
    waits = [await lim.acquire("k", 0.0222, 10) for _ in range(10)]
    assert waits[:9] == [0] * 9
    assert waits[9] < 0.25  # not a whole 45 s interval


async def test_buckets_are_per_key() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    await lim.acquire("A:getListingsItem", 1, 1)
    assert await lim.acquire("B:getListingsItem", 1, 1) == 0
    assert await lim.acquire("A:putListingsItem", 1, 1) == 0
    assert await lim.acquire("A:getListingsItem", 1, 1) == pytest.approx(1.0)


async def test_throttled_drops_stored_credit() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    await lim.acquire("k", 5, 5)
    lim.throttled("k")  # Amazon says empty: our 4 remaining tokens were an illusion
    assert await lim.acquire("k", 5, 5) == pytest.approx(0.2)


async def test_announced_rate_only_lowers() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    lim.observe_rate("k", 2.0)
    lim.observe_rate("k", 10.0)
    await lim.acquire("k", 5, 1)
    assert lim.rate_of("k") == 2.0


async def test_scale_speeds_every_bucket() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0, scale=10)
    await lim.acquire("k", 5, 1)
    assert await lim.acquire("k", 5, 1) == pytest.approx(0.02)


async def test_concurrent_callers_are_paced_in_order() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0, headroom=0.0)
    waits = await asyncio.gather(*(lim.acquire("k", 2, 2) for _ in range(6)))
    assert sorted(waits) == pytest.approx([0, 0, 0.5, 1.0, 1.5, 2.0])


async def test_callers_that_wake_late_do_not_leave_together() -> None:
    # Eight callers are due over 1.6 s, but the event loop is busy until t=3 s. Amazon's bucket holds
    # at most 5 tokens across the stall, so letting all eight go at t=3 would earn three 429s.
    t = FakeTime(stall=3.0)
    lim = limiter(t, safety=1.0, headroom=0.0)
    for _ in range(5):
        await lim.acquire("k", 5, 5)
    sent: list[float] = []

    async def one() -> None:
        await lim.acquire("k", 5, 5)
        sent.append(t.now)

    await asyncio.gather(*(one() for _ in range(8)))
    assert sent[:5] == [3.0] * 5
    assert sent[5:] == pytest.approx([3.2, 3.4, 3.6])
    # Replayed against Amazon's bucket (rate 5, burst 5): never empty.
    tokens, last = 0.0, 0.0
    for when in sent:
        tokens = min(5.0, tokens + (when - last) * 5) - 1
        last = when
        assert tokens >= -1e-9


def test_in_memory_limiter_satisfies_the_protocol() -> None:
    assert isinstance(TokenBucketLimiter(), RateLimiter)


def test_operation_table_uses_docs_values() -> None:
    assert (operation("getListingsItem").rate, operation("getListingsItem").burst) == (5, 5)
    assert operation("putListingsItem", "validationPreview").rate == 1
    assert operation("getMarketplaceParticipations").rate == 0.016
    assert operation("createFeed", "createFeed:JSON_LISTINGS_FEED").burst == 5
    assert all(op.rate > 0 and op.burst >= 1 for op in OPERATIONS)


class VirtualTime:
    """Virtual time for many concurrent callers: sleepers wake in order of their wake-up time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), self._seq, future))
        await future

    async def run(self, *coros: Coroutine[Any, Any, None]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(task.done() for task in tasks):
            for _ in range(50):  # every runnable caller reaches its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, when)
                future.set_result(None)
        for task in tasks:
            task.result()


def amazon_refusals(charged: list[float], rate: float, burst: int) -> int:
    """429s Amazon's bucket (full at first) answers to requests it counts at ``charged``."""
    tokens, last, refused = float(burst), 0.0, 0
    for when in sorted(charged):
        tokens = min(float(burst), tokens + (when - last) * rate)
        last = when
        if tokens >= 1.0 - 1e-9:
            tokens -= 1.0
        else:
            refused += 1
    return refused


async def paced_through_delays(lim: RateLimiter, t: VirtualTime, *, hold: bool, seed: int = 7) -> list[float]:
    """Eight senders, 80 requests to one 5/s burst-5 bucket. Each request reaches Amazon's bucket
    0-1.5 s after it was let go (a queue, a starved server), answered 10 ms later. Returns when
    Amazon counted each."""
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, 1.5) for _ in range(80)]
    charged: list[float] = []

    async def sender(mine: list[float]) -> None:
        for delay in mine:
            await lim.acquire("P:putListingsItem", 5, 5, hold=hold)
            await t.sleep(delay)
            charged.append(t.now)
            await t.sleep(0.01)
            if hold:
                lim.answered("P:putListingsItem")

    await t.run(*(sender(delays[i::8]) for i in range(8)))
    return charged


async def test_held_requests_never_find_amazons_bucket_empty_whatever_the_delays() -> None:
    t = VirtualTime()
    lim = TokenBucketLimiter(clock=t.clock, sleep=t.sleep)
    charged = await paced_through_delays(lim, t, hold=True)
    assert len(charged) == 80
    assert amazon_refusals(charged, 5, 5) == 0


async def test_paced_by_send_time_alone_the_same_delays_earn_429s() -> None:
    # The same senders without hold (the pacing before): even send times, bunched arrivals.
    t = VirtualTime()
    lim = TokenBucketLimiter(clock=t.clock, sleep=t.sleep)
    charged = await paced_through_delays(lim, t, hold=False)
    assert amazon_refusals(charged, 5, 5) > 0


async def test_a_held_token_is_spent_at_the_answer() -> None:
    t = FakeTime()
    lim = limiter(t, safety=1.0)
    for _ in range(5):
        assert await lim.acquire("k", 5, 5, hold=True) == 0
    t.now = 10.0  # long after: still in flight, so still counted; a sixth must wait for an answer
    lim.answered("k")  # spent at t=10: the bucket holds 5 - 4 in flight - 1 spent = 0
    assert await lim.acquire("k", 5, 5, hold=True) == pytest.approx(0.2)
    lim.answered("k")
    lim.answered("k")
    lim.answered("nobody")  # unknown buckets and extra answers are ignored
