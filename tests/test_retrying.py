"""The retry machinery itself: attempts, time budget, backoff shape, floor, what is retried.

Waits are recorded through the injected sleep and time through an injected clock; the random draw
is pinned to one end of its range where a test needs an exact figure.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from listingsync import retrying
from listingsync.retrying import RetryPolicy


class Transient(Exception):
    pass


class Fatal(Exception):
    pass


class Draw:
    """Stands in for the ``random`` module: ``uniform`` answers one end of the range."""

    def __init__(self, end: str) -> None:
        self.end = end

    def uniform(self, low: float, high: float) -> float:
        return high if self.end == "high" else low


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def failing(times: int, error: type[Exception] = Transient) -> Any:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error(f"failure {len(calls)}")
        return "done"

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def transient(failure: BaseException) -> bool:
    return isinstance(failure, Transient)


@pytest.fixture
def upper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrying, "random", Draw("high"))


def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    clock = Clock()
    fn = failing(2)
    assert RetryPolicy(max_attempts=5).retrying(transient, sleep=clock.sleep, clock=clock)(fn) == "done"
    assert len(fn.calls) == 3 and len(clock.slept) == 2


def test_attempts_are_bounded_and_the_last_failure_is_raised_as_it_was() -> None:
    clock = Clock()
    fn = failing(100)
    with pytest.raises(Transient, match="failure 4"):
        RetryPolicy(max_attempts=4).retrying(transient, sleep=clock.sleep, clock=clock)(fn)
    assert len(fn.calls) == 4 and len(clock.slept) == 3


def test_a_failure_the_rules_refuse_is_raised_at_once() -> None:
    clock = Clock()
    fn = failing(1, Fatal)
    with pytest.raises(Fatal):
        RetryPolicy(max_attempts=5).retrying(transient, sleep=clock.sleep, clock=clock)(fn)
    assert len(fn.calls) == 1 and clock.slept == []


@pytest.mark.usefixtures("upper")
def test_backoff_doubles_from_base_up_to_cap() -> None:
    clock = Clock()
    with pytest.raises(Transient):
        RetryPolicy(max_attempts=6, base=0.5, cap=3.0, budget=1e9).retrying(
            transient, sleep=clock.sleep, clock=clock
        )(failing(100))
    assert clock.slept == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_may_wait_nothing_equal_jitter_waits_at_least_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retrying, "random", Draw("low"))
    assert [RetryPolicy(base=1.0, cap=8.0).delay(n) for n in (1, 2, 3)] == [0.0, 0.0, 0.0]
    assert [RetryPolicy(base=1.0, cap=8.0, jitter="equal").delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


@pytest.mark.usefixtures("upper")
def test_the_floor_raises_the_backoff_scale_for_the_failures_it_names() -> None:
    clock = Clock()

    def floor(failure: BaseException) -> float:
        return 4.0 if "failure 1" in str(failure) else 0.0

    RetryPolicy(base=0.25, cap=20.0).retrying(transient, floor=floor, sleep=clock.sleep, clock=clock)(
        failing(2)
    )
    assert clock.slept == [4.0, 0.5]  # the floored first wait, then the base scale again


@pytest.mark.usefixtures("upper")
def test_no_wait_starts_that_would_end_past_the_budget() -> None:
    clock = Clock()
    fn = failing(100)
    with pytest.raises(Transient, match="failure 3"):
        RetryPolicy(max_attempts=50, base=1.0, cap=100.0, budget=5.0).retrying(
            transient, sleep=clock.sleep, clock=clock
        )(fn)
    # 1 s, 2 s (ends at 3 s), then a 4 s wait would end at 7 s > 5 s: give up after 3 attempts.
    assert clock.slept == [1.0, 2.0] and len(fn.calls) == 3


def test_the_budget_counts_time_spent_in_the_attempts_too() -> None:
    clock = Clock()

    def slow() -> None:
        clock.now += 10.0  # an answer that took 10 s (a read timeout)
        raise Transient("slow")

    with pytest.raises(Transient):
        RetryPolicy(max_attempts=50, base=0.001, budget=25.0).retrying(
            transient, sleep=clock.sleep, clock=clock
        )(slow)
    assert len(clock.slept) == 2  # after 10 s and 20 s; at 30 s the budget is spent


def test_the_async_controller_awaits_the_injected_sleep() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = 0

    async def fn() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise Transient
        return "done"

    controller = RetryPolicy(max_attempts=3).async_retrying(transient, sleep=sleep)
    assert asyncio.run(controller(fn)) == "done"
    assert calls == 3 and len(slept) == 2
