"""The executor seam: the scheduler and the API decide *what* runs *when*; an executor decides *where*.

``InProcessExecutor`` (the default) runs :func:`~listingsync.service.runs.execute_run` on a pool of
threads in this process. A distributed executor (Celery, ``listingsync.worker``) implements the
same three methods and calls the same function in its task. :func:`make_executor` picks one from
configuration: a broker URL (``--broker`` / ``$LISTINGSYNC_BROKER_URL``) selects Celery.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from listingsync.errors import ListingSyncError
from listingsync.service.workspace import Workspace

__all__ = ["BROKER_ENV", "Executor", "InProcessExecutor", "make_executor"]

log = logging.getLogger(__name__)

BROKER_ENV = "LISTINGSYNC_BROKER_URL"


@runtime_checkable
class Executor(Protocol):
    def submit(self, run_id: int) -> None:
        """Have the queued run executed (soon, somewhere); returns at once."""
        ...

    def queue_depth(self) -> int:
        """Runs handed over and not started yet (as far as this executor can tell)."""
        ...

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking runs; with ``wait``, return once the runs started here have ended."""
        ...


class InProcessExecutor:
    """Runs on ``max_workers`` threads of this process (each run has its own event loop)."""

    def __init__(self, ws: Workspace, *, max_workers: int = 4) -> None:
        from listingsync.service.runs import execute_run

        self._ws = ws
        self._execute = execute_run
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="run")
        self._lock = threading.Lock()
        self._waiting = 0
        self.futures: dict[int, Future[object]] = {}

    def submit(self, run_id: int) -> None:
        with self._lock:
            self._waiting += 1
        self.futures[run_id] = self._pool.submit(self._run, run_id)

    def _run(self, run_id: int) -> object:
        with self._lock:
            self._waiting -= 1
        try:
            return self._execute(self._ws, run_id)
        except Exception:  # execute_run records its own failures; this is a last resort
            log.exception("run %s could not be executed", run_id)
            raise

    def queue_depth(self) -> int:
        with self._lock:
            return self._waiting

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


def make_executor(ws: Workspace, *, broker: str | None = None, max_workers: int = 4) -> Executor:
    """The executor configuration asks for: Celery with a broker URL, else in-process threads."""
    broker = broker or os.environ.get(BROKER_ENV)
    if not broker:
        return InProcessExecutor(ws, max_workers=max_workers)
    try:
        # Imported by name: the worker package (issue 12) is optional and depends on Celery.
        celery_executor = importlib.import_module("listingsync.worker").CeleryExecutor
    except (ImportError, AttributeError):
        raise ListingSyncError(
            f"a broker is configured ({BROKER_ENV} or --broker) but the Celery executor is not available",
            fix=f"install listingsync's worker support, or unset {BROKER_ENV} to run in-process",
        ) from None
    executor: Executor = celery_executor(ws, broker=broker)
    return executor
