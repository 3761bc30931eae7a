"""Token buckets per (selling partner, operation), with Amazon's published rates and bursts.

Amazon's default usage plan is a token bucket per selling-partner + application pair: each call
takes a token, tokens refill at *rate* per second up to *burst*, an empty bucket is a 429
``QuotaExceeded`` (spapi.md §9). ``rate_scale`` speeds up the refill clock so a benchmark or a test
need not wait real minutes; the burst is unchanged.

Other emulator modules (feeds, definitions, catalog) use :meth:`RateLimiter.take` with their own
operation names; :data:`RATES` holds every operation's (rate, burst).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RATES", "Rate", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int

    @property
    def header(self) -> str:
        """``x-amzn-RateLimit-Limit`` value: the rate in requests per second as a decimal, as Amazon
        writes it (``5.0``, ``0.0083``; a live putListingsItem answer quoted in
        selling-partner-api-docs issue #2479 carries ``'x-amzn-RateLimit-Limit': '5.0'``)."""
        return repr(round(float(self.per_second), 4))


#: Amazon's documented limits (spapi.md §3.4 DOCS values, §4.1, §5.1, §6.1, §7).
RATES: dict[str, Rate] = {
    # Listings Items 2021-08-01 (DOCS "Listings Items API Rate Limits", per account-app pair)
    "getListingsItem": Rate(5, 5),
    "putListingsItem": Rate(5, 5),
    "patchListingsItem": Rate(5, 5),
    "deleteListingsItem": Rate(5, 5),
    "searchListingsItems": Rate(5, 5),
    # mode=VALIDATION_PREVIEW on put/patch: 1 rps per account (changelog 2024-01-31). The burst is
    # not published; 1 is the conservative reading.
    "validationPreview": Rate(1, 1),
    # Product Type Definitions 2020-09-01 (DOCS: 5 rps, burst 5)
    "getDefinitionsProductType": Rate(5, 5),
    "searchDefinitionsProductTypes": Rate(5, 5),
    # Feeds 2021-06-30
    "createFeedDocument": Rate(0.5, 15),
    "createFeed": Rate(0.0083, 15),
    "getFeed": Rate(2, 15),
    "getFeeds": Rate(0.0222, 10),
    "cancelFeed": Rate(2, 15),
    "getFeedDocument": Rate(0.0222, 10),
    # JSON_LISTINGS_FEED: 5 submissions per 5 minutes per region (changelog 2025-05-06); the
    # caller keys this one by region rather than by selling partner.
    "createFeed:JSON_LISTINGS_FEED": Rate(5 / 300, 5),
    # Catalog Items 2022-04-01
    "searchCatalogItems": Rate(2, 2),
    "getCatalogItem": Rate(2, 2),
    # Sellers v1
    "getMarketplaceParticipations": Rate(0.016, 15),
    "getAccount": Rate(0.016, 15),
}


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    """Thread-safe token buckets; ``take`` answers whether a call may proceed."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        scale: float = 1.0,
        rates: dict[str, Rate] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scale <= 0:
            raise ValueError("rate_scale must be positive")
        self.enabled = enabled
        self.scale = scale
        self.rates = dict(RATES if rates is None else rates)
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def rate(self, operation: str) -> Rate:
        try:
            return self.rates[operation]
        except KeyError:
            raise KeyError(f"no rate limit known for operation {operation!r}") from None

    def take(self, key: str, operation: str) -> bool:
        """Spend one token of ``(key, operation)``'s bucket; False when it is empty (→ 429)."""
        if not self.enabled:
            return True
        rate = self.rate(operation)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((key, operation))
            if bucket is None:
                bucket = self._buckets[(key, operation)] = _Bucket(float(rate.burst), now)
            else:
                refill = (now - bucket.stamp) * rate.per_second * self.scale
                bucket.tokens = min(float(rate.burst), bucket.tokens + refill)
                bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            return False

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
