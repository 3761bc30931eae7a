"""The distributed executor: a Celery app whose tasks run syncs on any number of worker processes.

``listingsync worker`` starts one (see :mod:`listingsync.worker.app` for the queues and the crash
semantics, :mod:`listingsync.worker.tasks` for what each task does). Celery is imported only here,
so the embedded executor and the CLI never need it.
"""

from __future__ import annotations

from listingsync.worker.app import QUEUES, WorkerSettings, make_app
from listingsync.worker.executor import CeleryExecutor

__all__ = ["QUEUES", "CeleryExecutor", "WorkerSettings", "make_app"]
