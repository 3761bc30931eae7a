"""Runs of the service's workspace on a worker: the same ``execute_run`` the in-process executor calls.

``serve --broker URL`` queues a run (a row in the workspace database) and sends only its id; the
worker opens the same workspace (``listingsync worker --db URL``, with the same
``LISTINGSYNC_SECRET_KEY`` to unseal the connection's credentials) and executes the run there.

Taking over a run whose worker vanished: the broker gives the task back (acks_late), but the run row
still says ``running``. The task then asks :func:`~listingsync.service.runs.recover_interrupted`
whether its process is gone (at once for a dead process of this host, after the heartbeat went silent
for ``STALE_SECONDS`` for another host): if so the run is recorded as interrupted and a ``recovery``
run of the connection is executed here, which settles the dead run's writes with Amazon (write-ahead
intents) before it sends the rest, as ``serve`` does after a restart. If the process still lives (a
duplicate delivery), the task looks again later.

Feeds are not waited for in the run (``follow_feeds=False``): a run that leaves feeds with Amazon
answers ``awaiting_feeds`` (seconds before the first look) and the task hands it to
``poll_run_feeds``, so a feed Amazon takes twenty minutes over holds no worker slot.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from listingsync.service.runs import (
    FEEDS_OWNER,
    STALE_SECONDS,
    RunBusyError,
    RunRecord,
    create_run,
    execute_run,
    feed_poll_delay,
    get_run,
    owner_id,
    recover_interrupted,
)
from listingsync.service.workspace import Workspace

__all__ = ["Busy", "open_workspace", "run_or_take_over"]

_lock = threading.Lock()
_workspaces: dict[tuple[int, str | None], Workspace] = {}


class Busy(Exception):
    """The run is being executed by a process that still lives; look again after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"the run's process still lives; looking again in {delay:.0f} s")
        self.delay = delay


def open_workspace(db_url: str | None, limiter_url: str | None) -> Workspace:
    """This worker process's workspace (opened once per process: a forked child opens its own)."""
    key = (os.getpid(), db_url)
    with _lock:
        ws = _workspaces.get(key)
        if ws is None:
            limiter = None
            if limiter_url:
                from listingsync.amazon.redis_ratelimit import RedisRateLimiter

                # One limiter for every connection of the workspace: buckets per selling partner and
                # operation, shared by all workers (and serve, when it runs syncs itself).
                scale = float(os.environ.get("LISTINGSYNC_RATE_SCALE") or 1.0)
                limiter = RedisRateLimiter.from_url(limiter_url, scale=scale)
            ws = _workspaces[key] = Workspace.open(db_url, rate_limiter=limiter)
        return ws


def run_or_take_over(ws: Workspace, run_id: int) -> dict[str, Any]:
    """Execute the queued run; take over one whose process died; :class:`Busy` while it lives."""
    run = get_run(ws, run_id)
    if run.status == "running" and run.owner == FEEDS_OWNER:
        # Delivered again after it was handed to its feeds (its worker died before the ack): make
        # sure a poll task follows them (a second one finds them done, or waits for the lock).
        return _outcome(ws, run)
    if run.status == "running" and run.owner != owner_id():
        if run_id not in {r.id for r in recover_interrupted(ws)}:
            raise Busy(STALE_SECONDS / 4)
        if run.connection is None:
            return get_run(ws, run_id).as_dict()
        try:
            recovery = create_run(ws, run.connection, trigger="recovery")
        except RunBusyError:  # another run of the connection is queued or going: it recovers
            return get_run(ws, run_id).as_dict()
        out = _outcome(ws, execute_run(ws, recovery.id, follow_feeds=False))
        out["took_over"] = run_id
        return out
    return _outcome(ws, execute_run(ws, run_id, follow_feeds=False))


def _outcome(ws: Workspace, record: RunRecord) -> dict[str, Any]:
    out = record.as_dict()
    if record.owner == FEEDS_OWNER and not record.finished:
        out["awaiting_feeds"] = feed_poll_delay(ws, record, 0)
    return out
