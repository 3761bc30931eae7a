"""200 getListingsItem calls against the emulator's real bucket (5 rps, burst 5 per DOCS).

Figures:
- paced client: wall time vs the bucket's ideal ``(200 - burst) / rate``, the ratio, and 429s;
- baseline in the same run: the same 200 calls with pacing switched off (retries with backoff only),
  which is what a client without a limiter does.

``LISTINGSYNC_BENCH_RATE_SCALE`` (default 1 = Amazon's real clock, about 40 s) speeds up the
emulator's refill clock and the client's buckets alike; the ideal time is scaled the same way.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from listingsync.amazon import (
    Credentials,
    QuotaExceeded,
    RateLimiter,
    RetryPolicy,
    SPAPIClient,
    TokenBucketLimiter,
    operation,
)
from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

CALLS = 200
DE = "A1PA6795UKMFR9"
CREDENTIALS = Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "Atzr|listingsync-demo-vendor-eu")


class _NoPacing:
    """The baseline: a limiter that never waits (the client still retries 429s with backoff)."""

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        return 0.0

    def answered(self, key: str) -> None:
        pass

    def observe_rate(self, key: str, rate: float) -> None:
        pass

    def throttled(self, key: str) -> None:
        pass


async def _run(endpoint: str, lwa: str, limiter: RateLimiter) -> dict[str, float]:
    client = SPAPIClient(
        CREDENTIALS,
        "eu",
        endpoint=endpoint,
        lwa_endpoint=lwa,
        selling_partner_id="DEMOV",
        rate_limiter=limiter,
        retry=RetryPolicy(max_attempts=5),
    )
    sent: list[float] = []
    failed = 0
    async with client:
        await client.lwa.access_token()  # the exchange is not what is measured

        async def one(i: int) -> None:
            nonlocal failed
            try:
                await client.listings.get_listings_item("DEMOV", f"BENCH-{i}", marketplace_ids=[DE])
            except QuotaExceeded:
                failed += 1
            except Exception as exc:  # 404 is the expected answer for a made-up SKU
                if getattr(exc, "status", None) != 404:
                    raise
            sent.append(time.perf_counter())

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(CALLS)))
        elapsed = time.perf_counter() - started
        gaps = [b - a for a, b in zip(sorted(sent), sorted(sent)[1:], strict=False)]
        return {
            "elapsed": elapsed,
            "throttled": client.stats.throttled,
            "requests": client.stats.requests,
            "failed": failed,
            "median_gap": statistics.median(gaps) if gaps else 0.0,
        }


def main() -> None:
    scale = float(os.environ.get("LISTINGSYNC_BENCH_RATE_SCALE", "1"))
    op = operation("getListingsItem")
    rate, burst = op.rate * scale, op.burst
    ideal = (CALLS - burst) / rate
    print(
        f"getListingsItem x{CALLS}: bucket rate {op.rate:g}/s x scale {scale:g} = {rate:g}/s, burst {burst}"
    )
    results = {}
    for name, make in (
        ("paced (TokenBucketLimiter)", lambda: TokenBucketLimiter(scale=scale)),
        ("baseline: no pacing", _NoPacing),
    ):
        # A fresh emulator per run: both start with a full bucket and no tokens issued.
        with run_in_thread(EmulatorSettings(rate_scale=scale)) as server:
            results[name] = asyncio.run(_run(server.endpoint("eu"), server.lwa_url, make()))
    print(
        f"{'client':28} {'time s':>8} {'ideal s':>8} {'ratio':>6} {'429s':>5} {'429 %':>6} {'failed':>6} {'requests':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:28} {r['elapsed']:8.2f} {ideal:8.2f} {r['elapsed'] / ideal:6.3f} {int(r['throttled']):5d} "
            f"{100 * r['throttled'] / r['requests']:6.2f} {int(r['failed']):6d} {int(r['requests']):8d}"
        )
    paced = results["paced (TokenBucketLimiter)"]
    print(
        f"paced: median gap between completions {paced['median_gap'] * 1000:.1f} ms vs bucket interval "
        f"{1000 / rate:.1f} ms; target: ratio <= 1.10 and <= 1% answered 429"
    )


if __name__ == "__main__":
    main()
