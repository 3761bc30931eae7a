"""The cluster's gauges for serve's Prometheus endpoint, read at scrape time from the broker and Redis.

- ``listingsync_worker_queue_depth{queue}``: messages waiting in each of the cluster's queues (runs,
  syncs and feed polls; catalogue slices), as the broker counts them;
- ``listingsync_cluster_requests_total{region, selling_partner, operation}``: SP-API requests the
  shared Redis limiter let through, whichever worker sent them: ``rate()`` of it is each account's
  throughput across the cluster (next to its limit: 5/s for Listings Items writes).

The runs' own counters (runs, writes, 429s per connection) stay with serve's metrics, which read the
workspace database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from listingsync.worker.app import WorkerSettings, queue_depths

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["ClusterCollector"]


class ClusterCollector(Collector):
    def __init__(self, celery: Celery, settings: WorkerSettings) -> None:
        self.celery = celery
        self.settings = settings

    def collect(self) -> Iterator[Any]:
        depth = GaugeMetricFamily(
            "listingsync_worker_queue_depth", "Tasks waiting in the broker, by queue", labels=["queue"]
        )
        for queue, n in queue_depths(self.celery, self.settings).items():
            depth.add_metric([queue], float(n))
        yield depth
        if self.settings.limiter is None:
            return
        import redis

        from listingsync.amazon.redis_ratelimit import sent_counts

        sent = CounterMetricFamily(
            "listingsync_cluster_requests",
            "SP-API requests let through the cluster's rate limiter, by region, selling partner and "
            "operation (rate() = an account's throughput across every worker)",
            labels=["region", "selling_partner", "operation"],
        )
        client = redis.Redis.from_url(self.settings.limiter)
        try:
            for bucket in sent_counts(client):
                sent.add_metric([bucket.region, bucket.partner, bucket.operation], float(bucket.sent))
        except redis.RedisError:
            return  # a scrape must not fail with Redis; the gauges above still go out
        finally:
            client.close()
        yield sent
