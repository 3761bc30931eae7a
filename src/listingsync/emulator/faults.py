"""Deterministic fault injection for reliability tests.

Spec string (``--faults``), comma-separated ``key=value`` pairs, every part optional::

    error=0.05            share of SP-API requests answered 500 InternalFailure / 503 ServiceUnavailable
    storm=0.01:20         share of requests that start a 429 storm, and its length in requests
    latency=5-50ms        added latency, uniform in the range (``ms`` or ``s``; ``20ms`` for fixed)
    drop=0.01             share of requests whose connection is dropped without an answer
    expire_every=100      every Nth authenticated request finds its access token expired (403)
    lose=0.05             share of writes that are APPLIED, then their answer is dropped (the
                          connection hangs up mid-answer): the client cannot know it landed
    lose_ops=createFeed   which writes ``lose`` picks from (``+``-separated operationIds; default
                          createFeed+putListingsItem+patchListingsItem+deleteListingsItem)

Choices come from ``random.Random(seed)`` drawn once per request in arrival order, so one client
sending the same sequence sees the same faults run after run. Faults apply to the SP-API paths
(region prefixes) only, never to LWA or ``/_emulator``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from enum import Enum

from listingsync.errors import ListingSyncError

__all__ = ["WRITE_OPS", "Fault", "FaultDecision", "Faults", "write_operation"]


class Fault(Enum):
    NONE = "none"
    ERROR_500 = "500"
    ERROR_503 = "503"
    THROTTLE = "429"
    DROP = "drop"
    EXPIRE = "expire"
    LOSE = "lose"  # applied, then the answer dropped


#: The writes ``lose`` can pick: the requests whose lost answer leaves the client in doubt.
WRITE_OPS = ("createFeed", "putListingsItem", "patchListingsItem", "deleteListingsItem")


@dataclass(frozen=True, slots=True)
class FaultDecision:
    fault: Fault
    latency: float  # seconds


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def _seconds(text: str, where: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ListingSyncError(f"bad duration {text!r}", where=where, fix="write e.g. 20ms, 5-50ms or 0.1s")
    value = float(match.group(1))
    return value / 1000 if match.group(2) in (None, "ms") else value


def _share(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ListingSyncError(f"{text!r} is not a share between 0 and 1", where=where)
    return value


class Faults:
    def __init__(
        self,
        *,
        error: float = 0.0,
        storm: float = 0.0,
        storm_length: int = 0,
        latency: tuple[float, float] = (0.0, 0.0),
        drop: float = 0.0,
        expire_every: int = 0,
        lose: float = 0.0,
        lose_ops: tuple[str, ...] = WRITE_OPS,
        seed: int = 0,
    ) -> None:
        self.error = error
        self.storm = storm
        self.storm_length = storm_length
        self.latency = latency
        self.drop = drop
        self.expire_every = expire_every
        self.lose = lose
        self.lose_ops = lose_ops
        self.seed = seed
        self._lock = threading.Lock()
        self.reset()

    @property
    def active(self) -> bool:
        return bool(
            self.error
            or self.storm
            or self.drop
            or self.expire_every
            or self.lose
            or self.latency != (0.0, 0.0)
        )

    def reset(self) -> None:
        with self._lock:
            self._random = random.Random(self.seed)
            # Its own stream: turning ``lose`` on does not shift the other faults of a seed.
            self._lose_random = random.Random(self.seed + 1)
            self._storm_left = 0
            self._count = 0

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> Faults:
        where = f"--faults {spec!r}"
        kwargs: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep:
                raise ListingSyncError(f"{part!r} has no value", where=where, fix="write key=value")
            if key in ("error", "drop"):
                kwargs[key] = _share(value, where)
            elif key == "storm":
                share, _, length = value.partition(":")
                kwargs["storm"] = _share(share, where)
                try:
                    kwargs["storm_length"] = int(length or "10")
                except ValueError:
                    raise ListingSyncError(
                        f"storm length {length!r} is not a number", where=where, fix="write storm=0.01:20"
                    ) from None
            elif key == "latency":
                low, _, high = value.partition("-")
                unit = "ms" if value.strip().endswith("ms") else ("s" if value.strip().endswith("s") else "")
                lo = _seconds(low if low.strip().endswith(("ms", "s")) else low + unit, where)
                hi = _seconds(high, where) if high else lo
                if hi < lo:
                    raise ListingSyncError("latency range runs backwards", where=where)
                kwargs["latency"] = (lo, hi)
            elif key == "lose":
                kwargs["lose"] = _share(value, where)
            elif key == "lose_ops":
                ops = tuple(filter(None, (o.strip() for o in value.split("+"))))
                unknown = [o for o in ops if o not in WRITE_OPS]
                if not ops or unknown:
                    raise ListingSyncError(
                        f"lose_ops={value!r}: {', '.join(unknown) or 'nothing'} is not a write",
                        where=where,
                        fix=f"use {'+'.join(WRITE_OPS)} or a part of them",
                    )
                kwargs["lose_ops"] = ops
            elif key == "expire_every":
                try:
                    kwargs["expire_every"] = int(value)
                except ValueError:
                    raise ListingSyncError(f"expire_every={value!r} is not a number", where=where) from None
            else:
                raise ListingSyncError(
                    f"unknown fault {key!r}",
                    where=where,
                    fix="use error, storm, latency, drop, expire_every, lose, lose_ops",
                )
        return cls(seed=seed, **kwargs)  # type: ignore[arg-type]

    def decide(self, authenticated: bool = True, write: str | None = None) -> FaultDecision:
        """The fault (if any) for the next request, in arrival order (``write``: its operationId
        when it is one of :data:`WRITE_OPS`)."""
        with self._lock:
            rnd = self._random
            self._count += 1
            # Draw every number every time so that one fault's share does not shift the others.
            r_drop, r_error, r_storm, r_kind = rnd.random(), rnd.random(), rnd.random(), rnd.random()
            lo, hi = self.latency
            latency = lo + (hi - lo) * rnd.random() if hi > 0 else 0.0
            fault = Fault.NONE
            if self._storm_left > 0:
                self._storm_left -= 1
                fault = Fault.THROTTLE
            elif r_drop < self.drop:
                fault = Fault.DROP
            elif r_error < self.error:
                fault = Fault.ERROR_500 if r_kind < 0.5 else Fault.ERROR_503
            elif r_storm < self.storm and self.storm_length > 0:
                self._storm_left = self.storm_length - 1
                fault = Fault.THROTTLE
            elif authenticated and self.expire_every and self._count % self.expire_every == 0:
                fault = Fault.EXPIRE
            if self.lose and write in self.lose_ops:
                r_lose = self._lose_random.random()
                if fault is Fault.NONE and r_lose < self.lose:
                    fault = Fault.LOSE
            return FaultDecision(fault, latency)


def write_operation(method: str, path: str) -> str | None:
    """The operationId of a write ``lose`` may pick, from the method and the path (region prefix
    included), or None."""
    if method == "POST" and path.endswith("/feeds/2021-06-30/feeds"):
        return "createFeed"
    if "/listings/2021-08-01/items/" in path:
        return {"PUT": "putListingsItem", "PATCH": "patchListingsItem", "DELETE": "deleteListingsItem"}.get(
            method
        )
    return None
