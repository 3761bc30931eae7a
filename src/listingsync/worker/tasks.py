"""The Celery tasks. Each is a thin shell around a function the embedded executor also calls.

- ``listingsync.execute_run``: one run of the service's workspace (``serve --broker``), by
  :func:`listingsync.service.runs.execute_run`, the function the in-process executor calls; a run
  whose worker died is taken over (:mod:`listingsync.worker.service_runs`). Feeds are submitted,
  not waited for: the run is handed to ``poll_run_feeds``.
- ``listingsync.poll_run_feeds``: one look at the feeds a service run left with Amazon
  (:func:`listingsync.service.runs.poll_run_feeds`); retried with a countdown, holding no worker
  slot, until they are done, then the run's end is recorded.
- ``listingsync.sync_account``: one account's whole sync (:func:`listingsync.worker.jobs.run_job`).
  When another run holds the account's state database, the task is retried later instead of
  waiting in a slot.
- ``listingsync.poll_feeds``: one look at each feed an account's sync submitted, recording those
  Amazon finished; retried (with a countdown, holding no worker slot) while any is processing.
- ``listingsync.validate_chunk``: map and validate one chunk of a catalogue's records, sent as JSON
  by :func:`listingsync.worker.chunks.validate_catalogue` (which reads the catalogue once), with
  ``mapping/parallel.py``'s ``build_chunk``: for catalogues too big for one process.

Task arguments and results are JSON: a task may run twice (acks_late), and its effect happens once
because of the state database's write-ahead intents, not because of anything held in a task.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from celery import Task, shared_task

from listingsync.sync.lock import LockHeldError
from listingsync.worker.chunks import validate_jobs
from listingsync.worker.jobs import SyncJob, poll_delay, poll_job, run_job

__all__ = ["execute_run_task", "poll_feeds", "poll_run_feeds_task", "sync_account", "validate_chunk"]

#: Seconds before an account whose run lock is held is tried again (with jitter so retries do not align).
BUSY_RETRY = 5.0


@shared_task(bind=True, name="listingsync.sync_account", max_retries=None)
def sync_account(self: Task[Any, Any], job: dict[str, Any]) -> dict[str, Any]:
    spec = SyncJob.from_dict(job)
    try:
        report = asyncio.run(run_job(spec, limiter_url=self.app.conf.get("listingsync_limiter_url")))
    except LockHeldError as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY * random.uniform(0.5, 1.5)) from None
    if report.via == "feed" and report.mode == "send":
        poll_feeds.apply_async((job,), countdown=poll_delay(spec, 0))
    return {
        "config": spec.config,
        "mode": report.mode,
        "via": report.via,
        "run_id": report.run_id,
        "plan": report.plan,
        "statuses": report.statuses,
        "failed": report.failed,
        "exit_code": report.exit_code,
        "elapsed_s": round(report.elapsed, 3),
        "requests": report.stats.get("requests"),
        "throttled": report.stats.get("throttled"),
        "notes": report.notes,
        # What this run found of a previous, interrupted one (a worker that died mid-run).
        "recovered": {
            "writes_found_on_amazon": report.recovery.landed if report.recovery else 0,
            "writes_to_resend": report.recovery.resend if report.recovery else 0,
        },
    }


@shared_task(bind=True, name="listingsync.execute_run", max_retries=None)
def execute_run_task(self: Task[Any, Any], run_id: int) -> dict[str, Any]:
    from listingsync.worker.service_runs import Busy, open_workspace, run_or_take_over

    conf = self.app.conf
    ws = open_workspace(conf.get("listingsync_db_url"), conf.get("listingsync_limiter_url"))
    try:
        out = run_or_take_over(ws, run_id)
    except Busy as exc:
        raise self.retry(exc=exc, countdown=exc.delay) from None
    if out.get("awaiting_feeds"):
        poll_run_feeds_task.apply_async((out["id"],), countdown=out["awaiting_feeds"])
    return out


@shared_task(bind=True, name="listingsync.poll_run_feeds", max_retries=None)
def poll_run_feeds_task(self: Task[Any, Any], run_id: int) -> dict[str, Any]:
    from listingsync.service.runs import feed_poll_delay, get_run, poll_run_feeds
    from listingsync.worker.service_runs import open_workspace

    conf = self.app.conf
    ws = open_workspace(conf.get("listingsync_db_url"), conf.get("listingsync_limiter_url"))
    delay = feed_poll_delay(ws, get_run(ws, run_id), self.request.retries + 1) * random.uniform(0.8, 1.2)
    try:
        processing = poll_run_feeds(ws, run_id, next_poll=delay)
    except LockHeldError as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY * random.uniform(0.5, 1.5)) from None
    if processing:
        # No worker slot is held while Amazon processes: the task comes back after a countdown.
        raise self.retry(countdown=delay)
    return get_run(ws, run_id).as_dict()


@shared_task(bind=True, name="listingsync.poll_feeds", max_retries=None)
def poll_feeds(self: Task[Any, Any], job: dict[str, Any]) -> dict[str, Any]:
    spec = SyncJob.from_dict(job)
    try:
        left = asyncio.run(poll_job(spec, limiter_url=self.app.conf.get("listingsync_limiter_url")))
    except LockHeldError as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY * random.uniform(0.5, 1.5)) from None
    if left:
        # No worker slot is held while Amazon processes: the task comes back after a countdown.
        raise self.retry(countdown=poll_delay(spec, self.request.retries + 1) * random.uniform(0.8, 1.2))
    return {"config": spec.config, "feeds_left": 0}


@shared_task(name="listingsync.validate_chunk")
def validate_chunk(spec: dict[str, Any], jobs: list[dict[str, Any]]) -> dict[str, Any]:
    return validate_jobs(spec, jobs).as_dict()
