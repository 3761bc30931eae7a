"""Prometheus metrics of the service (prometheus-client), in a registry of their own.

Counters are per process (the runs this process executed: runs, writes, requests, 429s per
connection); the queue depth and the runs in progress are read from the workspace database at
scrape time, so they are right whichever process or worker runs what.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from listingsync.service.runs import RunRecord
    from listingsync.service.workspace import Workspace

__all__ = ["CONTENT_TYPE", "record_run", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)
RUNS = Counter(
    "listingsync_runs", "Runs finished, by connection and status", ["connection", "status"], registry=REGISTRY
)
WRITES = Counter(
    "listingsync_writes",
    "Listings written or refused, by connection and outcome (accepted, live, invalid, error …)",
    ["connection", "outcome"],
    registry=REGISTRY,
)
REQUESTS = Counter(
    "listingsync_spapi_requests", "SP-API requests sent, by connection", ["connection"], registry=REGISTRY
)
THROTTLED = Counter(
    "listingsync_spapi_throttled",
    "SP-API answers 429 (throttled), by connection",
    ["connection"],
    registry=REGISTRY,
)


def record_run(connection: str, run: RunRecord) -> None:
    RUNS.labels(connection, run.status).inc()
    counts = run.counts or {}
    for outcome, n in (counts.get("outcomes") or {}).items():
        WRITES.labels(connection, outcome).inc(n)
    REQUESTS.labels(connection).inc(counts.get("requests") or 0)
    THROTTLED.labels(connection).inc(counts.get("throttled") or 0)


class _WorkspaceCollector(Collector):
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def collect(self) -> Iterator[Any]:
        from listingsync.service import tables as t

        depth = GaugeMetricFamily("listingsync_queue_depth", "Runs queued, not started yet")
        running = GaugeMetricFamily(
            "listingsync_runs_in_progress", "Runs running now, by connection", labels=["connection"]
        )
        with self.ws.connect() as conn:
            queued = conn.execute(
                sa.select(sa.func.count()).select_from(t.runs).where(t.runs.c.status == "queued")
            ).scalar_one()
            rows = conn.execute(
                sa.select(t.connections.c.name, sa.func.count())
                .select_from(t.runs.join(t.connections, t.connections.c.id == t.runs.c.connection_id))
                .where(t.runs.c.status == "running")
                .group_by(t.connections.c.name)
            ).all()
        depth.add_metric([], float(queued))
        for name, n in rows:
            running.add_metric([name], float(n))
        yield depth
        yield running


def render(ws: Workspace) -> bytes:
    """The text exposition: this process's counters and the workspace's gauges."""
    registry = CollectorRegistry()
    registry.register(_WorkspaceCollector(ws))
    return generate_latest(REGISTRY) + generate_latest(registry)
