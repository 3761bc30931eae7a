"""``listingsync adopt`` and ``listingsync reconcile``: account-wide read-backs that send nothing.

**adopt** records what Amazon already holds of the whole catalogue. For every catalogue listing the state does not know, Amazon is asked (``sync.adopt``'s look-up):
one it holds as the catalogue has it is recorded as adopted; one it holds with other values is
recorded with Amazon's values as the base, so the next ``sync`` PATCHes only what differs; one it
does not hold is left for the next ``sync`` to create. Then every listing of the account on Amazon
is listed, and those the catalogue does not have are reported (listingsync never deletes them:
it did not create them).

**reconcile** reads listings back (all, those not checked for a while, or some SKUs) and records
what drifted (:mod:`listingsync.sync.drift`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import SPAPIClient
from listingsync.config import Config
from listingsync.sync.adopt import look_up, needs_look_up, summary_status
from listingsync.sync.drift import DriftReport, check_listings
from listingsync.sync.lock import acquire_lock
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.pipeline import Selection, check_account, open_store, read_candidates, schema_provider
from listingsync.sync.plan import Op, Planner
from listingsync.sync.progress import NullProgress, Progress
from listingsync.sync.store import StateStore

__all__ = ["AdoptReport", "list_amazon_listings", "run_adopt", "run_reconcile"]

#: searchListingsItems pages through at most 1,000 results per query (reference spapi.md §3):
#: longer listings are read in windows of ``createdAfter``.
SEARCH_WINDOW = 1000
PAGE_SIZE = 20


@dataclass(slots=True)
class AdoptReport:
    looked_up: int = 0
    #: Held as the catalogue has it: recorded, nothing to send.
    identical: list[tuple[str, str]] = field(default_factory=list)
    #: Held with other values: ``(sku, marketplace_id, attributes that differ)``; the next sync PATCHes.
    different: list[tuple[str, str, list[str]]] = field(default_factory=list)
    #: Not on Amazon: the next sync creates them.
    absent: list[tuple[str, str]] = field(default_factory=list)
    #: On Amazon, not in the catalogue: ``(sku, marketplace_id, Amazon's status)``.
    not_in_catalogue: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: Catalogue listings the state already knew (adopted or sent before): not looked up.
    known: int = 0
    #: Amazon kept failing to answer for these: not judged (the next sync or adopt looks again).
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when Amazon and the catalogue disagree (values differ, or listings the catalogue lacks)."""
        return 1 if self.different or self.not_in_catalogue else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "looked_up": self.looked_up,
            "known": self.known,
            "identical": [{"sku": s, "marketplace_id": m} for s, m in self.identical],
            "different": [{"sku": s, "marketplace_id": m, "attributes": a} for s, m, a in self.different],
            "absent": [{"sku": s, "marketplace_id": m} for s, m in self.absent],
            "unreadable": [{"sku": s, "marketplace_id": m} for s, m in self.unreadable],
            "not_in_catalogue": [
                {"sku": s, "marketplace_id": m, "amazon_status": st} for s, m, st in self.not_in_catalogue
            ],
        }


async def list_amazon_listings(
    client: SPAPIClient, seller_id: str, marketplace_id: str
) -> dict[str, str | None]:
    """Every SKU the account has in a marketplace → Amazon's summary status, oldest first."""
    found: dict[str, str | None] = {}
    created_after: str | None = None
    while True:
        token: str | None = None
        window = 0
        newest: str | None = None
        while True:
            page = await client.listings.search_listings_items(
                seller_id,
                marketplace_ids=[marketplace_id],
                included_data=["summaries"],
                sort_by="createdDate",
                sort_order="ASC",
                created_after=created_after,
                page_size=PAGE_SIZE,
                page_token=token,
            )
            for item in page.get("items") or []:
                window += 1
                found[str(item["sku"])] = summary_status(item, marketplace_id)
                for summary in item.get("summaries") or []:
                    newest = summary.get("createdDate") or newest
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                break
        # A full window may have more behind it: continue after the newest creation time seen.
        if window < SEARCH_WINDOW or newest is None or newest == created_after:
            return found
        created_after = newest


@contextlib.asynccontextmanager
async def _locked_store(
    config: Config, client: SPAPIClient, purpose: str, *, claim: bool
) -> AsyncIterator[StateStore]:
    """The state database under the sync lock (one writer at a time), its account and the
    credentials checked first."""
    store = open_store(config)
    lock = None
    try:
        lock = await asyncio.to_thread(acquire_lock, store.engine, "sync", purpose=purpose)
        check_account(store, config, claim=claim)
        await client.lwa.access_token()
        yield store
    finally:
        if lock is not None:
            lock.release()
        store.close()


async def run_adopt(config: Config, client: SPAPIClient, *, progress: Progress | None = None) -> AdoptReport:
    progress = progress or NullProgress()
    seller_id = config.account.selling_partner_id
    async with _locked_store(config, client, "listingsync adopt", claim=True) as store:
        schemas = await schema_provider(config, client)
        mirror = CatalogMirror(store)
        catalog = read_candidates(
            config, schemas, progress=progress, mirror=mirror, selection=Selection(full=True)
        )
        report = AdoptReport()
        index = store.plan_index(config.account.marketplaces)
        unknown = [
            c
            for c in catalog.candidates
            if needs_look_up(index.get((c.listing.sku, c.listing.marketplace_id)))
        ]
        report.known = len(catalog.candidates) - len(unknown)
        report.looked_up = len(unknown)
        task = progress.phase(
            "adopt", "Looking up on Amazon the listings the state does not know", len(unknown)
        )
        held, failed = await look_up(client, seller_id, unknown, task=task)
        report.unreadable = sorted(failed)
        task.done()
        plan = Planner(store).plan(unknown, complete=False, index=index, held=held)
        for action in plan.actions:
            if action.op is Op.ADOPT:
                report.identical.append(action.key)
            elif action.adopt:
                report.different.append(
                    (action.sku, action.marketplace_id, [*action.changed, *action.removed])
                )
            elif action.op is Op.CREATE and action.key not in failed:
                report.absent.append(action.key)
        store.record_adopted(None, [(a, held[a.key]) for a in plan.actions if a.key in held])
        catalogue_skus = catalog.protected_skus
        task = progress.phase("list", "Listing the account's listings on Amazon")
        for mp in config.account.marketplaces:
            on_amazon = await list_amazon_listings(client, seller_id, mp)
            report.not_in_catalogue.extend(
                (sku, mp, status) for sku, status in sorted(on_amazon.items()) if sku not in catalogue_skus
            )
            task.advance(len(on_amazon))
        task.done()
        return report


async def run_reconcile(
    config: Config,
    client: SPAPIClient,
    *,
    older_than: dt.timedelta | None = None,
    skus: list[str] | None = None,
    progress: Progress | None = None,
) -> DriftReport:
    """Read back the listings on Amazon (these SKUs; those not checked within ``older_than``; or
    all) and record what drifted."""
    progress = progress or NullProgress()
    async with _locked_store(config, client, "listingsync reconcile", claim=False) as store:
        states = store.listings(skus=skus or None, marketplace_ids=config.account.marketplaces)
        if older_than is not None:
            cutoff = dt.datetime.now(dt.UTC) - older_than
            states = [s for s in states if s.checked_at is None or s.checked_at < cutoff]
        task = progress.phase("check", "Reading the listings back from Amazon", len(states))
        report = await check_listings(client, store, config.account.selling_partner_id, states, task=task)
        task.done()
        return report
