"""Token buckets kept in Redis: one rate limiter for every process and machine of a cluster.

The same buckets as :class:`~listingsync.amazon.ratelimit.TokenBucketLimiter` (reservations handed
out in call order, then a check of the bucket as it stands when the caller really leaves), but the
state lives in one Redis hash per (selling partner, region, operation) and every change is one Lua
script, so it is atomic across workers: two workers of one account share its 5 requests/s instead of
taking 5 each. A lower ``x-amzn-RateLimit-Limit`` seen by one worker slows all of them, and a 429
seen by one empties the bucket for all of them. Requests acquired with ``hold`` keep their token in
flight until answered, as there (a sorted set of tickets beside the hash, each with a deadline: the
ticket of a worker killed mid-request is charged when its deadline passes instead of holding a token
for ever). Tickets are named ``host:pid:random``: a caller that finds a bucket's flight full drops the
tickets of processes of its own host that are no longer alive (a worker killed with kill -9), so their
share of the burst is free at once there; another host's tickets cannot be judged from here and
still wait for their deadline. The liveness check runs in Python (a Lua script cannot see
processes); the chosen tickets then leave in one script, atomically.

Time is Redis's own clock (``TIME`` inside the script), so machines with skewed clocks still agree;
tests inject a clock instead. Keys expire after an hour of silence (a bucket idle that long is full
again anyway, so nothing is lost by forgetting it).

The limiter talks to Redis with the blocking client: one loopback round trip per request is far
below an SP-API call, and a blocking client is not tied to one event loop (every Celery task runs its
own ``asyncio.run``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from listingsync.amazon.ratelimit import LimiterStats, check_margins

if TYPE_CHECKING:
    import redis

__all__ = ["BucketCount", "RedisRateLimiter", "sent_counts"]

log = logging.getLogger(__name__)

#: The region part of the keys of a limiter made without one (one bucket per partner for all regions).
ANY_REGION = "-"

#: Seconds a silent bucket is kept (it refills completely well within this).
_TTL = 3600

#: Seconds a request may stay in flight before its token is charged anyway (its worker died): twice
#: the client's 30 s timeout (``answered`` comes as the answer or the error does, before any retry
#: sleep). Short, because a dead worker's tickets keep that much of the account's burst till then
#: on the other hosts (its own host drops them as soon as the flight is full).
_HELD_DEADLINE = 60

# Shared by both scripts: the bucket's pace and capacity from the caller's rate, the lowest rate
# Amazon announced (stored in the hash, so every worker applies it) and the safety margins.
_PACE = """
local rate = tonumber(ARGV[1])
local announced = tonumber(redis.call('HGET', KEYS[1], 'announced'))
if announced and announced < rate then rate = announced end
rate = rate * tonumber(ARGV[3]) * tonumber(ARGV[4])
local capacity = math.max(1, tonumber(ARGV[2]) - math.min(tonumber(ARGV[2]) / 2, rate * tonumber(ARGV[5])))
local now = tonumber(ARGV[6])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function refill(tokens_field, stamp_field)
  local v = redis.call('HMGET', KEYS[1], tokens_field, stamp_field)
  local tokens = tonumber(v[1]) or capacity
  local stamp = tonumber(v[2]) or now
  return math.min(capacity, tokens + math.max(0, now - stamp) * rate)
end
"""

#: Reserve a turn: take a token (the balance may go negative) and answer how long to wait for it.
_RESERVE = (
    _PACE
    + """
local tokens = refill('tokens', 'updated') - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now, 'rate', rate, 'capacity', capacity)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
local wait = 0
if tokens < 0 then wait = -tokens / rate end
return {tostring(wait), tostring(rate)}
"""
)

#: Leave: the bucket judged by when Amazon can at the latest have counted each request (its answer;
#: in flight: now). Answers {wait, full}: wait 0 = go; full '1' = every token is in flight.
#: ARGV[8] is the caller's ticket when it holds ('' if not).
_LEAVE = (
    _PACE
    + """
-- Tickets past their deadline (their worker died): spent at their deadline, in order.
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES')
if #expired > 0 then
  local v = redis.call('HMGET', KEYS[1], 'sent_tokens', 'sent_updated')
  local level = tonumber(v[1]) or capacity
  local stamp = tonumber(v[2]) or now
  for i = 2, #expired, 2 do
    local at = tonumber(expired[i])
    if at > stamp then
      level = math.min(capacity, level + (at - stamp) * rate)
      stamp = at
    end
    level = level - 1
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('HSET', KEYS[1], 'sent_tokens', level, 'sent_updated', stamp)
end
local tokens = refill('sent_tokens', 'sent_updated')
local held = redis.call('ZCARD', KEYS[2])
if tokens - held >= 1 - 1e-9 then
  if ARGV[8] ~= '' then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[9]), ARGV[8])
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
  else
    tokens = tokens - 1
  end
  redis.call('HSET', KEYS[1], 'sent_tokens', tokens, 'sent_updated', now)
  redis.call('HINCRBY', KEYS[1], 'sent', 1)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
  return {'0', '0'}
end
if held + 1 <= capacity then return {tostring((1 + held - tokens) / rate), '0'} end
-- The flight is full: the caller looks for tickets of dead processes among it.
return {tostring(1 / rate), '1'}
"""
)

#: Held requests left the flight (ARGV[2..]: answered, or their process died): each token is spent
#: now (a dead worker's request reached Amazon at the latest now). Tickets already gone (expired,
#: dropped by another caller) are not charged twice. Answers how many left.
_ANSWERED = """
local gone = 0
for i = 2, #ARGV do gone = gone + redis.call('ZREM', KEYS[2], ARGV[i]) end
if gone == 0 then return 0 end
local v = redis.call('HMGET', KEYS[1], 'sent_tokens', 'sent_updated', 'rate', 'capacity')
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local rate = tonumber(v[3]) or 1
local capacity = tonumber(v[4]) or 1
local tokens = tonumber(v[1]) or capacity
local stamp = tonumber(v[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - gone
redis.call('HSET', KEYS[1], 'sent_tokens', tokens, 'sent_updated', now)
return gone
"""

#: Amazon announced a rate: keep the lowest (never raise it).
_ANNOUNCE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'announced'))
local rate = tonumber(ARGV[1])
if not current or rate < current then redis.call('HSET', KEYS[1], 'announced', rate) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

#: A 429: Amazon's bucket is empty. Reservations already handed out stay valid; stored credit goes.
#: The refill up to now uses the pace the last reservation stored.
_THROTTLED = """
local v = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'rate', 'capacity')
if not v[1] then return 0 end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local tokens = math.min(tonumber(v[4]), tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * tonumber(v[3]))
tokens = math.min(0, tokens)
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now, 'sent_tokens', 0, 'sent_updated', now)
return 1
"""


def _host() -> str:
    """This machine in tickets: its name and, on Linux, its pid namespace (a container run with the
    host's network has the host's name but pids of its own), so a pid is only ever judged in the
    namespace it came from."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}~{namespace}".replace(":", "_")


_HOST = _host()


def _flag(value: Any) -> bool:
    return (value.decode() if isinstance(value, bytes) else str(value)) == "1"


def _dead_here(ticket: str) -> bool:
    """A ticket of a process of this host that no longer runs (a zombie is as dead: it sends nothing)."""
    host, _, rest = ticket.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False  # another host's (or an older, unnamed ticket): its deadline decides
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    try:
        # Killed but not reaped yet (its parent was killed too and nobody reaps in a container).
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rpartition(b")")[2].split()[:1] == [b"Z"]


@dataclass(frozen=True, slots=True)
class BucketCount:
    """Requests let through one bucket since it was created (a counter: it restarts at 0 when an
    idle bucket expires, which Prometheus's ``rate()`` handles as a counter reset)."""

    region: str
    partner: str
    operation: str
    sent: int


def sent_counts(redis_client: redis.Redis, prefix: str = "listingsync:ratelimit") -> list[BucketCount]:
    """Every bucket's count of requests sent, across the cluster: per-account throughput for metrics."""
    out = []
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        name = key.decode() if isinstance(key, bytes) else str(key)
        parts = name[len(prefix) + 1 :].split(":", 2)
        if len(parts) != 3:
            continue  # not a bucket of this module's
        sent = redis_client.hget(key, "sent")
        out.append(BucketCount(parts[0], parts[1], parts[2], int(sent or 0)))
    return sorted(out, key=lambda b: (b.region, b.partner, b.operation))


class RedisRateLimiter:
    """Cluster-wide token buckets in Redis, behind the :class:`RateLimiter` seam.

    ``region`` completes the bucket key (the client's key is ``"<selling partner>:<bucket>"``), so a
    partner's EU and NA authorisations are paced apart, as Amazon does; without one, a partner's
    regions share its buckets (slower for a partner in several regions, never faster than allowed). ``prefix`` namespaces the keys
    (tests give each run its own). ``safety`` and ``scale`` mean what they mean for
    :class:`~listingsync.amazon.ratelimit.TokenBucketLimiter`; ``clock`` replaces Redis's clock (tests).

    ``headroom`` is seconds' worth of tokens kept unused, as there, but up to half the burst rather
    than one token. It was 0.5 s to absorb the spread between the moment a request was let go and
    the moment Amazon counts it (1.3-3.5% 429s with 50 accounts on 2 busy cores, bench_workers);
    requests held until answered cover that spread exactly, so it is 0 by default.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        region: str = "",
        prefix: str = "listingsync:ratelimit",
        safety: float = 0.98,
        headroom: float = 0.0,
        scale: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        check_margins(safety=safety, scale=scale, headroom=headroom)
        self._redis = redis_client
        self._namespace = f"{prefix}:{region or ANY_REGION}:"
        self._held_namespace = f"{prefix}-held:{region or ANY_REGION}:"
        self._margins = (safety, scale, headroom)
        self._clock = clock
        self._sleep = sleep
        self._reserve = redis_client.register_script(_RESERVE)
        self._leave = redis_client.register_script(_LEAVE)
        self._announce = redis_client.register_script(_ANNOUNCE)
        self._throttled = redis_client.register_script(_THROTTLED)
        self._answered = redis_client.register_script(_ANSWERED)
        # This process's tickets in flight per bucket (any one of a bucket's stands for any other).
        self._tickets: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        # Announcements repeat on every answer: only a lower one is worth a round trip.
        self._announced: dict[str, float] = {}
        self.stats = LimiterStats()
        #: Tickets of dead processes of this host this limiter took out of a flight.
        self.dead_tickets_dropped = 0

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRateLimiter:
        """A limiter on the Redis at ``url`` (``redis://host:6379/0``)."""
        import redis

        return cls(redis.Redis.from_url(url), **kwargs)

    def redis_key(self, key: str) -> str:
        """The Redis hash that holds ``key``'s bucket."""
        return self._namespace + key

    def held_key(self, key: str) -> str:
        """The sorted set of ``key``'s requests in flight (outside the hashes' namespace)."""
        return self._held_namespace + key

    def _args(self, rate: float, burst: int) -> list[Any]:
        safety, scale, headroom = self._margins
        now = "" if self._clock is None else repr(self._clock())
        return [repr(float(rate)), burst, safety, scale, headroom, now, _TTL]

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        name = [self.redis_key(key), self.held_key(key)]
        # The pid of the moment, not of construction: Celery's prefork children inherit the limiter.
        ticket = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}" if hold else ""
        wait = float(self._reserve(keys=name[:1], args=self._args(rate, burst))[0])
        self.stats.acquired += 1
        waited = 0.0
        while True:
            if wait > 0:
                await self._sleep(wait)
                waited += wait
            answer = self._leave(keys=name, args=[*self._args(rate, burst), ticket, _HELD_DEADLINE])
            wait = float(answer[0])
            if wait > 0 and _flag(answer[1]) and self.drop_dead_tickets(key):
                wait = 0.0  # tokens were freed: look again at once
                continue
            if wait <= 0:
                if hold:
                    self._tickets[key].append(ticket)
                if waited > 0:
                    self.stats.delayed += 1
                    self.stats.waited_seconds += waited
                return waited

    def observe_rate(self, key: str, rate: float) -> None:
        if rate <= 0 or rate >= self._announced.get(key, float("inf")):
            return
        self._announced[key] = rate
        self._announce(keys=[self.redis_key(key)], args=[repr(float(rate)), _TTL])

    def answered(self, key: str) -> None:
        tickets = self._tickets.get(key)
        if not tickets:
            return
        now = "" if self._clock is None else repr(self._clock())
        self._answered(keys=[self.redis_key(key), self.held_key(key)], args=[now, tickets.popleft()])

    def drop_dead_tickets(self, key: str) -> int:
        """Take out of ``key``'s flight the tickets of this host's processes that are gone; answer
        how many left (another caller may have dropped some of them first: those are not counted)."""
        members = self._redis.zrange(self.held_key(key), 0, -1)
        names = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        dead = [name for name in names if _dead_here(name)]
        if not dead:
            return 0
        now = "" if self._clock is None else repr(self._clock())
        gone = int(self._answered(keys=[self.redis_key(key), self.held_key(key)], args=[now, *dead]))
        self.dead_tickets_dropped += gone
        if gone:
            pids = sorted({name.split(":")[1] for name in dead})
            log.info(
                "%s: %d request(s) in flight of dead process(es) %s released", key, gone, ", ".join(pids)
            )
        return gone

    def throttled(self, key: str) -> None:
        now = "" if self._clock is None else repr(self._clock())
        self._throttled(keys=[self.redis_key(key)], args=[now])

    def rate_of(self, key: str) -> float | None:
        """The pace the last reservation of ``key`` applied (after safety and announcements)."""
        rate = self._redis.hget(self.redis_key(key), "rate")
        return float(rate) if rate is not None else None
