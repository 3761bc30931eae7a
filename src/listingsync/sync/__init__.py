"""The sync engine: state store, planner, executors (Listings Items API, JSON_LISTINGS_FEED), outcomes.

::

    from listingsync.sync import StateStore, SyncEngine, SyncOptions, Candidate

    store = StateStore.open("sqlite:///.listingsync/state.db")       # Alembic-migrated at open
    engine = SyncEngine(store, client, seller_id, options=SyncOptions(via="auto"))
    report = await engine.run([Candidate(listing, issues), ...])     # recover → plan → send → reconcile
    report.results  # one SkuResult per SKU and marketplace written or refused

or the whole pipeline from a config (catalogue → mapping → validation → engine)::

    from listingsync.sync import run_sync
    report, catalog = await run_sync(config, SyncOptions(mode="dry-run"))

Statuses per SKU and marketplace: pending, accepted, live, invalid, error, deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from listingsync.lazy import lazy_exports

if TYPE_CHECKING:
    from listingsync.sync.engine import AUTO_FEED_THRESHOLD, SkuResult, SyncEngine, SyncOptions, SyncReport
    from listingsync.sync.feeds import FeedExecutor, FeedLimits
    from listingsync.sync.items import ItemsExecutor
    from listingsync.sync.pipeline import CatalogRead, open_store, read_candidates, run_sync
    from listingsync.sync.plan import Action, Candidate, Op, Plan, Planner
    from listingsync.sync.progress import NullProgress, Progress
    from listingsync.sync.recovery import RecoveryReport, reconcile, recover
    from listingsync.sync.store import ListingState, Outcome, StateStore, StateStoreError

__all__ = [
    "AUTO_FEED_THRESHOLD",
    "Action",
    "Candidate",
    "CatalogRead",
    "FeedExecutor",
    "FeedLimits",
    "ItemsExecutor",
    "ListingState",
    "NullProgress",
    "Op",
    "Outcome",
    "Plan",
    "Planner",
    "Progress",
    "RecoveryReport",
    "SkuResult",
    "StateStore",
    "StateStoreError",
    "SyncEngine",
    "SyncOptions",
    "SyncReport",
    "open_store",
    "read_candidates",
    "reconcile",
    "recover",
    "run_sync",
]


# Imported on first use (PEP 562): `from listingsync.sync.guard import ALLOW_FLAG` (a CLI option's
# name) must not pull in SQLAlchemy, Alembic and the mapping, which `listingsync sync --help` does
# not need.
_WHERE = {
    "AUTO_FEED_THRESHOLD": "listingsync.sync.engine",
    "SkuResult": "listingsync.sync.engine",
    "SyncEngine": "listingsync.sync.engine",
    "SyncOptions": "listingsync.sync.engine",
    "SyncReport": "listingsync.sync.engine",
    "FeedExecutor": "listingsync.sync.feeds",
    "FeedLimits": "listingsync.sync.feeds",
    "ItemsExecutor": "listingsync.sync.items",
    "CatalogRead": "listingsync.sync.pipeline",
    "open_store": "listingsync.sync.pipeline",
    "read_candidates": "listingsync.sync.pipeline",
    "run_sync": "listingsync.sync.pipeline",
    "Action": "listingsync.sync.plan",
    "Candidate": "listingsync.sync.plan",
    "Op": "listingsync.sync.plan",
    "Plan": "listingsync.sync.plan",
    "Planner": "listingsync.sync.plan",
    "NullProgress": "listingsync.sync.progress",
    "Progress": "listingsync.sync.progress",
    "RecoveryReport": "listingsync.sync.recovery",
    "reconcile": "listingsync.sync.recovery",
    "recover": "listingsync.sync.recovery",
    "ListingState": "listingsync.sync.store",
    "Outcome": "listingsync.sync.store",
    "StateStore": "listingsync.sync.store",
    "StateStoreError": "listingsync.sync.store",
}


__getattr__ = lazy_exports(__name__, _WHERE, globals())
