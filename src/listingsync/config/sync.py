"""The ``sync:`` section: what to do with changes and how to send them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A SKU gone from the catalogue: keep its Amazon listing (ignore) or delete it.
    on_removed: Literal["ignore", "delete"] = "ignore"
    #: auto: Listings Items API below ``feed_threshold`` writes, JSON_LISTINGS_FEED from there on.
    via: Literal["auto", "items", "feed"] = "auto"
    #: Writes from which ``via: auto`` uses a feed (items at 5 requests/s: 1,000 take ~200 s).
    feed_threshold: int = Field(default=1000, ge=1)
    #: Listings Items requests in flight; the client's rate limiter paces them.
    concurrency: int = Field(default=16, ge=1, le=64)
    #: Read accepted listings back after an items run (Amazon's later issues, ASIN, live or not).
    reconcile: bool = True
    #: Mass-deletion guard (with ``on_removed: delete``): a sync that would delete more than this
    #: share of the listings it knows on Amazon is refused unless run with ``--allow-mass-delete`` ...
    max_delete_share: float = Field(default=0.2, ge=0, le=1)
    #: ... when it would also delete more than this many; an empty catalogue is always refused.
    delete_guard_min: int = Field(default=10, ge=0)
    #: Before the first write of a listing the state does not know, read what Amazon holds and
    #: adopt it (identical), PATCH what differs, or create it (absent): never a PUT over it blind.
    adopt: bool = True
    #: A listing changed or deleted on Amazon outside listingsync (found by ``reconcile`` or the
    #: rolling check of each sync): ``report`` it, or ``overwrite`` it with the catalogue's values.
    on_drift: Literal["report", "overwrite"] = "report"
    #: Share of each sync's read budget (``reconcile_budget`` listings) spent re-checking the
    #: listings checked longest ago, so a scheduled sync eventually looks at every listing.
    reconcile_share: float = Field(default=0.25, ge=0, le=1)
    #: Listings a sync may read back from Amazon (20 per searchListingsItems call at 5/s: 2,000
    #: take ~20 s); ``sync.reconcile`` reads accepted writes back from it, the rolling check its share.
    reconcile_budget: int = Field(default=2000, ge=0)
