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
