"""Adoption: before the first write for a listing the state does not know, read what Amazon holds.

A new machine, a lost state database or an account that already sells: the catalogue's listings
may already be on Amazon. A PUT would replace each of them whole. Instead, every listing the state
has no accepted base for is looked up first (searchListingsItems, 20 SKUs a call, within its
rate limit; getListingsItem where search is not offered), and what Amazon holds becomes the base
the planner diffs against:

- Amazon holds the catalogue's very attributes → ``adopt``: recorded, nothing sent;
- it holds other values → ``update``: a PATCH of the differing attributes only (attributes
  Amazon holds that the mapping does not produce are not ours and are left alone);
- it holds nothing → ``create``: a PUT, as before.

Only the attributes the catalogue's listing has are taken from Amazon's copy, so a PATCH never
deletes an attribute listingsync did not send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import NotFound, SPAPIClient
from listingsync.sync.hashing import listing_hash
from listingsync.sync.outcomes import status_from_item
from listingsync.sync.plan import Candidate
from listingsync.sync.progress import ProgressTask
from listingsync.sync.recovery import fetch_items, transient
from listingsync.sync.store import PlanIndexEntry

__all__ = ["Held", "look_up", "needs_look_up"]

Key = tuple[str, str]


@dataclass(slots=True)
class Held:
    """A listing found on Amazon that the state did not know, as a planning base."""

    product_type: str | None
    requirements: str | None
    #: Amazon's values of the attributes the catalogue's listing has (the PATCH base).
    attributes: dict[str, Any]
    status: str
    asin: str | None
    issues: list[dict[str, Any]] = field(default_factory=list)
    #: Amazon's ``summaries[].status`` (``BUYABLE``, ``DISCOVERABLE``), comma-joined.
    amazon_status: str | None = None

    @property
    def hash(self) -> str:
        return listing_hash(self.product_type, self.requirements, self.attributes)

    def entry(self) -> PlanIndexEntry:
        """The planner's view: as if listingsync had sent these attributes."""
        return PlanIndexEntry(
            status=self.status,
            product_type=self.product_type,
            requirements=self.requirements,
            sent_hash=self.hash,
            attempted_hash=self.hash,
            pending_op=None,
            parentage=None,
        )


def needs_look_up(entry: PlanIndexEntry | None) -> bool:
    """No base of ours on Amazon and no write in flight: what Amazon holds is unknown."""
    return entry is None or (entry.sent_hash is None and entry.pending_op is None)


def summary_status(item: Mapping[str, Any], marketplace_id: str) -> str | None:
    for summary in item.get("summaries") or []:
        if summary.get("marketplaceId") in (None, marketplace_id):
            statuses = summary.get("status") or []
            return ",".join(sorted(str(s) for s in statuses)) or "NONE"
    return None


def held_from_item(item: Mapping[str, Any], cand: Candidate) -> Held:
    listing = cand.listing
    mp = listing.marketplace_id
    attributes = item.get("attributes") or {}
    status, asin, issues = status_from_item(dict(item), mp)
    product_type = None
    for summary in item.get("summaries") or []:
        if summary.get("marketplaceId") in (None, mp):
            product_type = summary.get("productType")
    requirements = listing.requirements.value if listing.requirements else None
    return Held(
        product_type=product_type or listing.product_type,
        requirements=requirements,
        attributes={k: attributes[k] for k in listing.attributes if k in attributes},
        status=status,
        asin=asin,
        issues=issues,
        amazon_status=summary_status(item, mp),
    )


async def look_up(
    client: SPAPIClient,
    seller_id: str,
    candidates: Iterable[Candidate],
    *,
    task: ProgressTask | None = None,
) -> tuple[dict[Key, Held], set[Key]]:
    """What Amazon holds for each candidate (found ones only), 20 SKUs per search call, and the
    listings that could not be looked up (search and getListingsItem both kept failing)."""
    by_mp: dict[str, dict[str, Candidate]] = {}
    for cand in candidates:
        by_mp.setdefault(cand.listing.marketplace_id, {})[cand.listing.sku] = cand
    found: dict[Key, Held] = {}
    unknown: set[Key] = set()
    included = ["summaries", "attributes", "issues"]
    for mp, cands in by_mp.items():
        skus = list(cands)
        if unknown:  # Amazon stopped answering in another marketplace: do not hammer it here
            unknown.update((s, mp) for s in skus)
            continue
        try:
            items = await fetch_items(client, seller_id, mp, skus, included, task)
        except Exception as exc:
            if not transient(exc):
                raise
            # Search kept failing: one getListingsItem each, until one fails too (then Amazon is
            # not answering, and the rest stay unknown rather than hammering it).
            items = {}
            for position, sku in enumerate(skus):
                try:
                    items[sku] = await client.listings.get_listings_item(
                        seller_id, sku, marketplace_ids=[mp], included_data=included
                    )
                except NotFound:
                    continue  # absent: created
                except Exception as again:
                    if not transient(again):
                        raise
                    unknown.update((s, mp) for s in skus[position:])
                    break
        for sku, item in items.items():
            found[(sku, mp)] = held_from_item(item, cands[sku])
    return found, unknown
