"""What a worker runs for one task: an account's sync under the cluster's lock and rate limiter.

The sync itself is :func:`listingsync.sync.pipeline.run_sync`, the very function ``listingsync sync``
and the embedded executor call; the worker only adds what running on many machines needs:

- the shared rate limiter (:class:`~listingsync.amazon.redis_ratelimit.RedisRateLimiter`), so an
  account's requests stay within its buckets whichever worker sends them;
- no waiting for the state database's run lock (:mod:`listingsync.sync.lock`: on PostgreSQL an
  advisory lock that lives exactly as long as its holder's connection, so a worker killed with
  kill -9 frees it at once): when another worker holds it, :class:`~listingsync.sync.lock.LockHeldError`
  goes back to the task, which retries later instead of keeping a worker slot busy waiting.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from listingsync.amazon import SPAPIClient
from listingsync.amazon.ratelimit import RateLimiter, TokenBucketLimiter
from listingsync.config import Config, load_config
from listingsync.credentials import load_credentials
from listingsync.errors import ListingSyncError
from listingsync.sync.engine import SyncReport
from listingsync.sync.feeds import FeedExecutor
from listingsync.sync.lock import acquire_lock
from listingsync.sync.pipeline import SYNC_LOCK, open_store, run_sync, sync_options

__all__ = ["SyncJob", "limiter_for", "poll_delay", "poll_job", "run_job"]

RATE_SCALE_ENV = "LISTINGSYNC_RATE_SCALE"


@dataclass(frozen=True, slots=True)
class SyncJob:
    """One account's sync as it travels through the broker (JSON)."""

    config: str
    mode: str = "send"
    via: str | None = None
    concurrency: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncJob:
        return cls(**data)


def _rate_scale() -> float:
    raw = os.environ.get(RATE_SCALE_ENV) or "1"
    try:
        value = float(raw)
    except ValueError:
        raise ListingSyncError(
            f"{RATE_SCALE_ENV}={raw!r} is not a number", fix="unset it, or set e.g. 20"
        ) from None
    if value <= 0:
        raise ListingSyncError(f"{RATE_SCALE_ENV} must be positive", fix="unset it, or set e.g. 20")
    return value


def limiter_for(config: Config, limiter_url: str | None, scale: float) -> RateLimiter:
    """The cluster's Redis limiter (buckets per partner, region, operation), else this process's own."""
    if limiter_url is None:
        return TokenBucketLimiter(scale=scale)
    from listingsync.amazon.redis_ratelimit import RedisRateLimiter

    return RedisRateLimiter.from_url(limiter_url, region=config.account.resolved_region.value, scale=scale)


def _client(config: Config, limiter_url: str | None, scale: float) -> SPAPIClient:
    credentials = load_credentials(config.account.selling_partner_id, config.account.resolved_region)
    return SPAPIClient.from_account(
        config.account, credentials, rate_limiter=limiter_for(config, limiter_url, scale)
    )


async def run_job(job: SyncJob, *, limiter_url: str | None) -> SyncReport:
    """One account's sync, as ``listingsync sync`` would run it (LockHeldError when it is running).

    Feeds are submitted, not followed: :func:`poll_job` records their outcomes later, so a feed that
    Amazon takes twenty minutes over does not hold a worker slot for twenty minutes.
    """
    config = load_config(Path(job.config))
    scale = _rate_scale()
    options = sync_options(config, mode=job.mode, via=job.via, concurrency=job.concurrency, scale=scale)
    options.lock_wait = 0.0
    options.follow_feeds = False
    client = _client(config, limiter_url, scale)
    try:
        report, _ = await run_sync(config, options, client=client)
        return report
    finally:
        await client.aclose()


def poll_delay(job: SyncJob, polls: int) -> float:
    """Seconds before the next look at an account's feeds: the in-process poller's schedule
    (15 s, then x1.5 up to 2 minutes; faster on an emulator's scaled clock)."""
    limits = sync_options(load_config(Path(job.config)), scale=_rate_scale()).feed_limits
    return float(min(limits.poll_initial * limits.poll_factor**polls, limits.poll_max))


async def poll_job(job: SyncJob, *, limiter_url: str | None) -> int:
    """One getFeed per feed the account left ``submitted``; record those Amazon finished.

    Returns how many are still processing. Runs under the account's sync lock (LockHeldError when a
    sync holds it: that sync's recovery follows the feeds itself).
    """
    config = load_config(Path(job.config))
    scale = _rate_scale()
    limits = sync_options(config, scale=scale).feed_limits
    client = _client(config, limiter_url, scale)
    store = open_store(config)
    try:
        with acquire_lock(store.engine, SYNC_LOCK, purpose="listingsync worker: feed polling", wait=0):
            feeds = FeedExecutor(client, store, config.account.selling_partner_id, run_id=None, limits=limits)
            left = 0
            for record in store.open_feeds():
                if record.state == "submitted" and record.feed_id and await feeds.poll(record) is None:
                    left += 1
            return left
    finally:
        await client.aclose()
        store.close()
