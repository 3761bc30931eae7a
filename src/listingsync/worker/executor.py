"""The Celery executor behind the service's executor seam: ``serve --broker URL`` hands runs to workers.

``submit(run_id)`` only enqueues the run's id; a worker (``listingsync worker --db URL``) opens the
same workspace database and calls the same :func:`listingsync.service.runs.execute_run` the in-process
executor calls. Nothing secret travels through the broker: the workspace holds the connection, its
sealed credentials and the run row.
"""

from __future__ import annotations

import logging

from listingsync.service import metrics
from listingsync.service.workspace import Workspace
from listingsync.worker.app import WorkerSettings, make_app, queue_depths
from listingsync.worker.metrics import ClusterCollector

__all__ = ["CeleryExecutor"]

log = logging.getLogger(__name__)


class CeleryExecutor:
    """:class:`listingsync.service.executor.Executor` on a Celery broker."""

    def __init__(self, ws: Workspace, *, broker: str) -> None:
        self.ws = ws
        self.settings = WorkerSettings.from_env(broker)
        self.app = make_app(self.settings)
        # serve's /api/v1/metrics: queue depths and per-account throughput of the whole cluster.
        self._collector = ClusterCollector(self.app, self.settings)
        metrics.REGISTRY.register(self._collector)

    def submit(self, run_id: int) -> None:
        from listingsync.worker.tasks import execute_run_task

        execute_run_task.delay(run_id)

    def queue_depth(self) -> int:
        """Runs waiting in the broker's runs queue (0 when the broker cannot be asked)."""
        return queue_depths(self.app, self.settings).get(f"{self.settings.prefix}.runs", 0)

    def shutdown(self, *, wait: bool = True) -> None:
        # Runs execute on the workers: there is nothing of ours to wait for, only connections to close.
        metrics.REGISTRY.unregister(self._collector)
        self.app.close()
