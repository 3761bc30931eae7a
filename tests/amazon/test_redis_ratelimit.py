"""The Redis token buckets against the real Redis (127.0.0.1:6379), each test under its own key prefix.

Two limiter objects on two connections stand for two workers: whatever one takes, announces or is
throttled on, the other sees. Time is a fake clock passed to the scripts, so nothing here is timed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from listingsync.amazon import RateLimiter

redis = pytest.importorskip("redis")

from listingsync.amazon.redis_ratelimit import RedisRateLimiter, sent_counts  # noqa: E402

from .test_ratelimit import FakeTime, VirtualTime, amazon_refusals, paced_through_delays  # noqa: E402

REDIS_URL = os.environ.get("LISTINGSYNC_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("LISTINGSYNC_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable")
    name = f"ls-test-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        for key in client.scan_iter(f"{name}*"):
            client.delete(key)
        client.close()


def worker(t: FakeTime, prefix: str, **kwargs: float | str) -> RedisRateLimiter:
    """One worker's limiter: its own connection, the shared clock and key prefix."""
    return RedisRateLimiter(
        redis.Redis.from_url(REDIS_URL), prefix=prefix, clock=t.clock, sleep=t.sleep, **kwargs
    )


def test_it_is_a_rate_limiter() -> None:
    assert isinstance(RedisRateLimiter(redis.Redis.from_url(REDIS_URL)), RateLimiter)


async def test_burst_goes_at_once_then_reservations_are_spaced_by_one_interval(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0, headroom=0.0)
    waits = await asyncio.gather(*(lim.acquire("P:getListingsItem", 5, 5) for _ in range(8)))
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert sorted(waits[5:]) == pytest.approx([0.2, 0.4, 0.6])
    assert lim.stats.acquired == 8 and lim.stats.delayed == 3


async def test_two_workers_share_one_bucket(prefix: str) -> None:
    t = FakeTime()
    a = worker(t, prefix, safety=1.0, headroom=0.0)
    b = worker(t, prefix, safety=1.0, headroom=0.0)
    for _ in range(3):
        assert await a.acquire("P:putListingsItem", 5, 5) == 0
    assert await b.acquire("P:putListingsItem", 5, 5) == 0
    assert await b.acquire("P:putListingsItem", 5, 5) == 0
    # The burst of 5 is spent between them: the sixth request, from either, waits one interval.
    assert await a.acquire("P:putListingsItem", 5, 5) == pytest.approx(0.2)
    assert await b.acquire("P:putListingsItem", 5, 5) == pytest.approx(0.2)


async def test_refill_over_time_and_cap_at_burst(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0, headroom=0.0)
    for _ in range(5):
        await lim.acquire("k", 5, 5)
    t.now += 100  # long idle: refills to the burst, not beyond
    waits = [await lim.acquire("k", 5, 5) for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 0, 0, 0.2])


async def test_an_announced_rate_slows_every_worker_and_never_raises(prefix: str) -> None:
    t = FakeTime()
    a = worker(t, prefix, safety=1.0, headroom=0.0)
    b = worker(t, prefix, safety=1.0, headroom=0.0)
    await b.acquire("k", 5, 1)
    a.observe_rate("k", 2.0)
    a.observe_rate("k", 10.0)  # higher: ignored
    await b.acquire("k", 5, 1)
    assert b.rate_of("k") == pytest.approx(2.0)
    assert await b.acquire("k", 5, 1) == pytest.approx(0.5)


async def test_a_429_seen_by_one_worker_empties_the_bucket_for_all(prefix: str) -> None:
    t = FakeTime()
    a = worker(t, prefix, safety=1.0, headroom=0.0)
    b = worker(t, prefix, safety=1.0, headroom=0.0)
    await a.acquire("k", 5, 5)
    t.now += 10  # full again
    a.throttled("k")
    assert await b.acquire("k", 5, 5) == pytest.approx(0.2)


async def test_buckets_are_per_partner_operation_and_region(prefix: str) -> None:
    t = FakeTime()
    eu = worker(t, prefix, region="eu", safety=1.0, headroom=0.0)
    na = worker(t, prefix, region="na", safety=1.0, headroom=0.0)
    await eu.acquire("A:getListingsItem", 1, 1)
    assert await eu.acquire("B:getListingsItem", 1, 1) == 0
    assert await eu.acquire("A:putListingsItem", 1, 1) == 0
    assert await na.acquire("A:getListingsItem", 1, 1) == 0
    assert await eu.acquire("A:getListingsItem", 1, 1) == pytest.approx(1.0)


async def test_headroom_and_safety_leave_a_margin(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=0.98, headroom=0.5)
    waits = await asyncio.gather(*(lim.acquire("k", 5, 5) for _ in range(4)))
    # 0.5 s at 4.9 rps = 2.45 tokens kept back: two go at once, the third waits for 0.45 of a token.
    assert waits[:2] == [0, 0]
    assert waits[2] == pytest.approx(0.45 / 4.9)
    assert waits[3] == pytest.approx(1.45 / 4.9)
    assert lim.rate_of("k") == pytest.approx(4.9)


async def test_headroom_keeps_at_most_half_of_a_burst(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0, headroom=0.5)
    waits = [await lim.acquire("k", 0.0222, 10) for _ in range(6)]
    assert waits[:5] == [0] * 5  # 0.5 s of a slow bucket is a hundredth of a token: the burst stays
    slow = worker(t, prefix, safety=1.0, headroom=100)
    waits = [await slow.acquire("s", 2, 4) for _ in range(3)]
    assert waits[:2] == [0, 0] and waits[2] == pytest.approx(0.5)


async def test_callers_that_wake_late_do_not_leave_together(prefix: str) -> None:
    # Eight callers are due over 1.6 s, but the event loop is busy until t=3 s. Amazon's bucket holds
    # at most 5 tokens across the stall, so letting all eight go at t=3 would earn three 429s.
    t = FakeTime(stall=3.0)
    lim = worker(t, prefix, safety=1.0, headroom=0.0)
    for _ in range(5):
        await lim.acquire("k", 5, 5)
    sent: list[float] = []

    async def one() -> None:
        await lim.acquire("k", 5, 5)
        sent.append(t.now)

    await asyncio.gather(*(one() for _ in range(8)))
    assert sent[:5] == [3.0] * 5
    assert sent[5:] == pytest.approx([3.2, 3.4, 3.6])


async def test_scale_speeds_every_bucket(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0, headroom=0.0, scale=10)
    await lim.acquire("k", 5, 1)
    assert await lim.acquire("k", 5, 1) == pytest.approx(0.02)


async def test_idle_buckets_expire(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix)
    await lim.acquire("k", 5, 5)
    ttl = redis.Redis.from_url(REDIS_URL).ttl(lim.redis_key("k"))
    assert 0 < ttl <= 3600


async def test_requests_sent_are_counted_per_region_partner_and_operation(prefix: str) -> None:
    t = FakeTime()
    eu = worker(t, prefix, region="eu", safety=1.0, headroom=0.0)
    other = worker(t, prefix, region="eu", safety=1.0, headroom=0.0)
    na = worker(t, prefix, region="na", safety=1.0, headroom=0.0)
    for _ in range(3):
        await eu.acquire("DEMOV:putListingsItem", 5, 5)
    await other.acquire("DEMOV:putListingsItem", 5, 5)
    await na.acquire("A3SELLER:createFeed:JSON_LISTINGS_FEED", 5, 5)
    counts = sent_counts(redis.Redis.from_url(REDIS_URL), prefix)
    assert [(c.region, c.partner, c.operation, c.sent) for c in counts] == [
        ("eu", "DEMOV", "putListingsItem", 4),
        ("na", "A3SELLER", "createFeed:JSON_LISTINGS_FEED", 1),
    ]


async def test_held_requests_never_find_amazons_bucket_empty_whatever_the_delays(prefix: str) -> None:
    t = VirtualTime()
    lim = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), prefix=prefix, clock=t.clock, sleep=t.sleep)
    charged = await paced_through_delays(lim, t, hold=True)
    assert len(charged) == 80
    assert amazon_refusals(charged, 5, 5) == 0


async def test_a_request_held_by_another_worker_counts_for_both(prefix: str) -> None:
    t = FakeTime()
    a, b = worker(t, prefix, safety=1.0), worker(t, prefix, safety=1.0)
    for _ in range(4):
        assert await a.acquire("P:putListingsItem", 5, 5, hold=True) == 0
    assert await b.acquire("P:putListingsItem", 5, 5, hold=True) == 0
    t.now = 10.0  # all five still in flight: b must wait for an answer, however long it has been
    a.answered("P:putListingsItem")
    assert await b.acquire("P:putListingsItem", 5, 5, hold=True) == pytest.approx(0.2)


async def test_the_ticket_of_a_worker_killed_mid_request_expires(prefix: str) -> None:
    t = FakeTime()
    dead, alive = worker(t, prefix, safety=1.0), worker(t, prefix, safety=1.0)
    for _ in range(5):
        await dead.acquire("P:putListingsItem", 5, 5, hold=True)  # never answered
    held = redis.Redis.from_url(REDIS_URL).zcard(dead.held_key("P:putListingsItem"))
    assert held == 5
    t.now = 1000.0  # past the deadline: the five are charged, and the bucket has refilled since
    assert await alive.acquire("P:putListingsItem", 5, 5, hold=True) == 0


#: Another worker process of this host: it takes held tickets (at the fake time 0) and then waits to
#: be killed, never answering them.
_HOLDER = """
import asyncio, sys, redis
from listingsync.amazon.redis_ratelimit import RedisRateLimiter
lim = RedisRateLimiter(redis.Redis.from_url(sys.argv[1]), prefix=sys.argv[2], safety=1.0, clock=lambda: 0.0)
async def take():
    for _ in range(int(sys.argv[3])):
        await lim.acquire("P:putListingsItem", 5, 5, hold=True)
asyncio.run(take())
print("held", flush=True)
sys.stdin.read()
"""


def _holder(prefix: str, tickets: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, REDIS_URL, prefix, str(tickets)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _kill9(proc: subprocess.Popen[str]) -> None:
    """kill -9, and wait until it has exited but leave it unreaped: a zombie counts as dead too."""
    os.kill(proc.pid, signal.SIGKILL)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)


def _pids(lim: RedisRateLimiter, key: str) -> list[str]:
    members = redis.Redis.from_url(REDIS_URL).zrange(lim.held_key(key), 0, -1)
    return sorted(m.decode().split(":")[1] for m in members)


async def test_tickets_of_a_dead_process_of_this_host_are_dropped_and_a_live_ones_are_not(
    prefix: str,
) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0)
    key = "P:putListingsItem"
    await lim.acquire(key, 5, 5, hold=True)  # this process's ticket: alive
    other = _holder(prefix, 3)
    try:
        assert lim.drop_dead_tickets(key) == 0  # the other worker is alive: its tickets stay
        assert _pids(lim, key) == sorted([str(os.getpid()), *[str(other.pid)] * 3])
        _kill9(other)
        assert lim.drop_dead_tickets(key) == 3
        assert _pids(lim, key) == [str(os.getpid())]
        assert lim.drop_dead_tickets(key) == 0  # already gone: never charged twice
    finally:
        if other.poll() is None:
            other.kill()
        other.wait()
    assert lim.dead_tickets_dropped == 3


async def test_a_full_flight_frees_a_killed_workers_burst_at_once_but_not_another_hosts(prefix: str) -> None:
    t = FakeTime()
    lim = worker(t, prefix, safety=1.0)
    key = "P:putListingsItem"
    dead = _holder(prefix, 2)
    _kill9(dead)
    dead.wait()
    for _ in range(2):
        assert await lim.acquire(key, 5, 5, hold=True) == 0
    # A worker of another machine, in flight until its deadline: its pid means nothing here.
    client = redis.Redis.from_url(REDIS_URL)
    client.zadd(lim.held_key(key), {f"elsewhere~1:{dead.pid}:{uuid.uuid4().hex}": 60.0})
    assert client.zcard(lim.held_key(key)) == 5  # the whole burst of 5 is in flight
    # The dead worker's two tickets are charged now and leave the flight: one interval's wait
    # (3 tokens left, 3 in flight), not the 60 s until their deadline.
    assert await lim.acquire(key, 5, 5, hold=True) == pytest.approx(0.2)
    assert lim.dead_tickets_dropped == 2
    assert _pids(lim, key) == sorted([str(os.getpid())] * 3 + [str(dead.pid)])  # the last: elsewhere's
