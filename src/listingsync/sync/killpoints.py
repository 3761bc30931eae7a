"""Crash-test hook: ``LISTINGSYNC_KILL_AT=STEP[:N]`` makes the process SIGKILL itself at the Nth
time (default 1st) it reaches the named step of a sync, so kill -9 tests hit exact moments
(between an intent and its request, after createFeed answered …) instead of guessing at times.

Unset (always, outside tests), :func:`reached` is one dictionary lookup. The steps, in order:

==========================  ===================================================================
``items.before-intent``     a chunk of Listings Items writes is about to have its intents committed
``items.after-intent``      … committed, not yet sent
``items.after-request``     one write's answer arrived, its outcome not yet committed
``feed.before-intent``      a feed document is about to be recorded with its SKUs' intents
``feed.after-intent``       … recorded, nothing uploaded yet
``feed.after-upload``       the document is uploaded, createFeed not yet called
``feed.after-create-feed``  createFeed answered, its feedId not yet committed
``feed.before-report``      the feed is DONE, its report not yet read and applied
==========================  ===================================================================
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["KILL_ENV", "STEPS", "reached"]

KILL_ENV = "LISTINGSYNC_KILL_AT"
STEPS = (
    "items.before-intent",
    "items.after-intent",
    "items.after-request",
    "feed.before-intent",
    "feed.after-intent",
    "feed.after-upload",
    "feed.after-create-feed",
    "feed.before-report",
)

_lock = threading.Lock()
_seen: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    raw = os.environ.get(KILL_ENV)
    if not raw:
        return None
    step, _, nth = raw.partition(":")
    if step not in STEPS:
        raise ValueError(f"{KILL_ENV}={raw!r}: unknown step; use one of {', '.join(STEPS)}")
    return step, int(nth or "1")


_TARGET = _target()


def reached(step: str) -> None:
    """Mark ``step``; the process dies here (SIGKILL, no cleanup) if it is the one asked for."""
    if _TARGET is None or _TARGET[0] != step:
        return
    with _lock:
        _seen[step] = _seen.get(step, 0) + 1
        if _seen[step] == _TARGET[1]:
            os.kill(os.getpid(), signal.SIGKILL)
