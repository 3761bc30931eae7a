"""The one retry machinery for remote calls (SP-API, LWA, pre-signed documents, Sales Layer), on tenacity.

A :class:`RetryPolicy` says how often and how long: at most ``max_attempts`` attempts (the first
included), no wait that would end past ``budget`` seconds after the first attempt, and before the
n-th retry a wait of ``uniform(0, min(cap, max(base, floor) · 2^(n-1)))`` ("full jitter", so
clients that failed together do not come back together), or its upper half with ``jitter="equal"``.
Each caller brings its own rules: which failures are worth another attempt (``retry_on``) and, per
failure, a ``floor`` for the backoff's scale (a throttled SP-API operation backs off on its own
bucket interval). Sleep and clock are injected per client, so tests never really wait.

Why tenacity and not stamina (which is built on it): stamina's sleep can only be switched off
process-wide (``set_testing``), its jitter is additive rather than full, and its wait cannot depend
on the failure; tenacity takes a sleep per controller, arbitrary stop/wait/retry callables, and has
the same controller for synchronous (Sales Layer) and asynchronous (SP-API, LWA) code.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import tenacity

__all__ = ["RetryPolicy"]

Predicate = Callable[[BaseException], bool]
Floor = Callable[[BaseException], float]
Hook = Callable[[tenacity.RetryCallState], None]


def _no_floor(_: BaseException) -> float:
    return 0.0


class _OutOfTime(tenacity.stop.stop_base):
    """Give up rather than start a wait that would end past the budget (tenacity draws the wait
    before it asks the stop)."""

    def __init__(self, clock: Callable[[], float], budget: float) -> None:
        self._clock = clock
        self._budget = budget
        self._started = clock()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._clock() - self._started + retry_state.upcoming_sleep > self._budget


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter (see the module docstring)."""

    max_attempts: int = 5
    base: float = 0.25
    cap: float = 20.0
    budget: float = 120.0
    jitter: Literal["full", "equal"] = "full"

    def delay(self, retry: int, *, floor: float = 0.0) -> float:
        """The wait before the ``retry``-th retry (1 = the second attempt)."""
        ceiling = min(self.cap, max(self.base, floor) * 2 ** (retry - 1))
        return random.uniform(ceiling / 2 if self.jitter == "equal" else 0.0, ceiling)

    def retrying(
        self,
        retry_on: Predicate,
        *,
        floor: Floor = _no_floor,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        before_sleep: Hook | None = None,
    ) -> tenacity.Retrying:
        """A controller for one synchronous call: ``controller(fn, *args)`` runs ``fn`` until it
        returns, raises something ``retry_on`` refuses, or the policy is spent (the last error is
        raised as it was)."""
        return tenacity.Retrying(sleep=sleep, **self._rules(retry_on, floor, clock, before_sleep))

    def async_retrying(
        self,
        retry_on: Predicate,
        *,
        floor: Floor = _no_floor,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        before_sleep: Hook | None = None,
    ) -> tenacity.AsyncRetrying:
        """:meth:`retrying` for a coroutine function: ``await controller(fn, *args)``."""
        return tenacity.AsyncRetrying(sleep=sleep, **self._rules(retry_on, floor, clock, before_sleep))

    def _rules(
        self, retry_on: Predicate, floor: Floor, clock: Callable[[], float], hook: Hook | None
    ) -> dict[str, Any]:
        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, floor=floor(failure) if failure else 0.0)

        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts) | _OutOfTime(clock, self.budget),
            "wait": wait,
            "retry": tenacity.retry_if_exception(retry_on),
            "before_sleep": hook,
            "reraise": True,
        }
