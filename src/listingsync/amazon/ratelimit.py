"""Client-side pacing: a token bucket per (selling partner, operation), like Amazon's own.

Amazon throttles each operation per selling-partner/application pair with a token bucket (rate
tokens per second, at most ``burst`` stored; spapi.md §9). Sending at exactly the bucket's pace is the
fastest way through that never sees a 429, so the client keeps a mirror of each bucket and waits
before sending instead of retrying after.

Amazon counts a request when it reaches its gateway, not when we send it: anything between (our
event loop, the network, a queue in front of the server, a starved server) can hold requests sent at
an even pace and let them reach the bucket together. Measured with bench/pacing_trace.py on a busy
2-core machine: our send times replayed against Amazon's bucket gave 0 429s, the server's arrival
times the 11 it really answered. So a request sent with ``hold=True`` keeps its token *in flight*
until :meth:`RateLimiter.answered`, and is then charged at its answer time: the latest moment the
server can have counted it. Charged that late, our bucket is never fuller than Amazon's, whatever the
delays, so a request we let go always finds a token there (the proof is in :class:`TokenBucketLimiter`).

The limiter sits behind :class:`RateLimiter` so a backend shared by several processes (Redis, a
database) can replace :class:`TokenBucketLimiter` without touching the client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["LimiterStats", "RateLimiter", "TokenBucketLimiter", "check_margins"]

_EPSILON = 1e-9


def check_margins(*, safety: float, scale: float, headroom: float) -> None:
    """The margins every limiter takes (see :class:`TokenBucketLimiter`), checked alike."""
    if not 0 < safety <= 1:
        raise ValueError("safety must be in (0, 1]")
    if scale <= 0:
        raise ValueError("scale must be positive")
    if headroom < 0:
        raise ValueError("headroom must not be negative")


@runtime_checkable
class RateLimiter(Protocol):
    """What the client needs from a limiter. ``key`` is ``"<selling partner>:<bucket name>"``."""

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        """Wait until one request may be sent; return the seconds waited.

        ``hold``: the caller will report the answer with :meth:`answered`; until then the request's
        token is in flight (counted as spent now and again at every moment until it is answered).
        Without it the token is spent at once (callers that cannot report answers)."""
        ...

    def answered(self, key: str) -> None:
        """A request acquired with ``hold=True`` got its answer (any answer, or a network error)."""
        ...

    def observe_rate(self, key: str, rate: float) -> None:
        """Amazon announced this bucket's rate (``x-amzn-RateLimit-Limit``); never raises the rate."""
        ...

    def throttled(self, key: str) -> None:
        """Amazon answered 429: its bucket is empty, so empty ours and resynchronise."""
        ...


@dataclass
class LimiterStats:
    acquired: int = 0
    delayed: int = 0
    waited_seconds: float = 0.0


@dataclass
class _Bucket:
    rate: float
    burst: float
    #: Reservations: goes negative while callers wait for their turn.
    tokens: float
    updated: float
    #: The same bucket judged by when Amazon can at the latest have counted each request: its answer
    #: time (requests sent with ``hold``) or its send time; ``held`` requests are still in flight.
    sent_tokens: float
    sent_updated: float
    held: int = 0


class TokenBucketLimiter:
    """In-process token buckets.

    Each ``acquire`` *reserves* a token: the bucket may go negative, and the caller sleeps until its
    token would have been there. Reservations are handed out in call order, so concurrent callers
    are paced evenly without waking up to compete for tokens.

    ``safety`` (0-1] slows every bucket slightly and ``headroom`` keeps that many seconds' worth of
    tokens (at most one token) of the burst unused. They used to absorb the difference between when
    we send and when Amazon's clock counts the request; requests held until answered (below) cover
    that exactly, so ``headroom`` is 0 by default and ``safety`` only covers clock rate differences.
    Headroom is time, not tokens, so a slow bucket (getFeedDocument, one token per 45 s) keeps
    practically its whole burst while a 5 rps bucket gives up one token.
    ``scale`` multiplies every rate: it matches an emulator run with ``rate_scale``.

    Why charging at the answer is safe: Amazon's bucket level at time t is min over s <= t of
    ``burst + rate*(t-s) - N(s, t]``, N counting the requests it charged in (s, t]. Amazon charges a
    request between our send and its answer; we count it at its answer, or at t while it is in flight.
    So every request Amazon charged in (s, t] is in our N(s, t] too, our level is never above Amazon's,
    and our level only drops when we let a request go (an answer moves a token from "in flight" to
    "spent": no change), so it never goes below zero: Amazon always has the token we counted on.
    What it costs: a request holds its token for its round trip, so a bucket that is never idle
    leaves ``rate * round trip`` tokens of its burst unused (one token at 5/s and 200 ms).
    """

    def __init__(
        self,
        *,
        safety: float = 0.98,
        headroom: float = 0.0,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        check_margins(safety=safety, scale=scale, headroom=headroom)
        self._scale = scale
        self._safety = safety
        self._headroom = headroom
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._announced: dict[str, float] = {}
        # A thread lock, not an asyncio one: the sections are tiny and never await, and the sync face
        # may drive one limiter from several threads' event loops.
        self._lock = threading.Lock()
        self.stats = LimiterStats()

    def _bucket(self, key: str, rate: float, burst: int, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        rate = min(rate, self._announced.get(key, rate)) * self._safety * self._scale
        capacity = max(1.0, burst - min(1.0, rate * self._headroom))
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, capacity, capacity, now, capacity, now)
        else:
            bucket.rate, bucket.burst = rate, capacity
        return bucket

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        with self._lock:
            now = self._clock()
            bucket = self._bucket(key, rate, burst, now)
            bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.updated) * bucket.rate)
            bucket.updated = now
            bucket.tokens -= 1.0
            wait = -bucket.tokens / bucket.rate if bucket.tokens < 0 else 0.0
            self.stats.acquired += 1
        waited = 0.0
        # A reservation is a turn, not a licence: callers that wake late (a busy event loop, a
        # loaded machine) would all leave at once, and Amazon's bucket, which cannot store more
        # than ``burst`` tokens across the stall, answers the surplus with 429. So each caller
        # also checks the bucket as it stands when it really leaves, and waits out any deficit.
        while True:
            if wait > 0:
                await self._sleep(wait)
                waited += wait
            with self._lock:
                now = self._clock()
                tokens = min(bucket.burst, bucket.sent_tokens + (now - bucket.sent_updated) * bucket.rate)
                if tokens - bucket.held >= 1.0 - _EPSILON:  # float rounding must not cost another sleep
                    if hold:
                        bucket.held += 1
                        bucket.sent_tokens, bucket.sent_updated = tokens, now
                    else:
                        bucket.sent_tokens, bucket.sent_updated = tokens - 1.0, now
                    if waited > 0:
                        self.stats.delayed += 1
                        self.stats.waited_seconds += waited
                    return waited
                if bucket.held + 1.0 <= bucket.burst:
                    wait = (1.0 + bucket.held - tokens) / bucket.rate
                else:
                    # Refill alone cannot make room while requests in flight fill the whole burst:
                    # look again a token's time later, by when an answer has usually freed one.
                    wait = 1.0 / bucket.rate

    def answered(self, key: str) -> None:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.held == 0:
                return
            now = self._clock()
            tokens = min(bucket.burst, bucket.sent_tokens + (now - bucket.sent_updated) * bucket.rate)
            bucket.held -= 1
            bucket.sent_tokens, bucket.sent_updated = tokens - 1.0, now

    def observe_rate(self, key: str, rate: float) -> None:
        if rate <= 0:
            return
        with self._lock:
            self._announced[key] = min(rate, self._announced.get(key, rate))

    def throttled(self, key: str) -> None:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                now = self._clock()
                # Reservations already handed out stay valid; only the stored credit goes.
                bucket.tokens = min(0.0, bucket.tokens + (now - bucket.updated) * bucket.rate)
                bucket.updated = now
                bucket.sent_tokens, bucket.sent_updated = 0.0, now

    def rate_of(self, key: str) -> float | None:
        """The pace currently applied to ``key`` (after safety and any announced lower rate)."""
        bucket = self._buckets.get(key)
        return bucket.rate if bucket else None
