"""One listing of a connection as a person looks at it, and what they may do with it.

``listing_detail``: what the state holds (what was sent, Amazon's verdict, the write in flight),
the catalogue record the mirror keeps, and every request sent for it. ``request_resend``: send it
again, whole, on the next run. Paging through many listings is ``service.inspect.listings_page``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from listingsync.amazon import marketplaces as mp
from listingsync.service.connections import Connection
from listingsync.service.utc import as_utc
from listingsync.service.workspace import Workspace
from listingsync.sync import tables as st
from listingsync.sync.fingerprint import product_document
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.store import ListingState

__all__ = ["ListingDetail", "listing_detail", "listing_facets", "request_resend"]


@dataclass
class ListingDetail:
    state: ListingState
    #: The catalogue record as the mirror keeps it (``fields``, ``localized``, ``images`` …).
    record: dict[str, Any] | None
    #: Requests sent for it, newest first: run, operation, Amazon's submission id and answer.
    history: list[dict[str, Any]] = field(default_factory=list)


def listing_detail(
    ws: Workspace, connection: Connection, sku: str, marketplace_id: str
) -> ListingDetail | None:
    store = ws.store(connection.name)
    state = store.get(sku, marketplace_id)
    if state is None:
        return None
    product = CatalogMirror(store).get(sku)
    s = st.submissions.c
    with ws.connect() as conn:
        rows = conn.execute(
            sa.select(s.run_id, s.operation, s.submission_id, s.status, s.created_at)
            .where(store.mine(st.submissions), s.sku == sku, s.marketplace_id == marketplace_id)
            .order_by(s.id.desc())
            .limit(50)
        ).all()
    history = [{**dict(r._mapping), "created_at": as_utc(r.created_at)} for r in rows]
    return ListingDetail(state, product_document(product) if product else None, history)


#: Every status a listing can have (``sync/tables.py``), in the order people think of them.
STATUSES = ("pending", "accepted", "live", "invalid", "error", "deleted")


def listing_facets(connection: Connection) -> dict[str, list[str]]:
    """What the listing filters offer: every status, the connection's marketplaces and the product
    types its mapping names. From the configuration, not a scan of 100,000 listings per page view."""
    document = connection.document
    markets = [mp.find(str(m)) for m in (document.get("account") or {}).get("marketplaces") or []]
    listings = document.get("listings") or {}
    types = {str(listings.get("product_type") or "")}
    types |= {str(r.get("product_type") or "") for r in listings.get("rules") or [] if isinstance(r, dict)}
    types |= {str(t) for t in (listings.get("product_types") or {})}
    return {
        "status": list(STATUSES),
        "marketplace": [m.marketplace_id for m in markets if m is not None],
        "product_type": sorted(t.upper() for t in types if t),
    }


def request_resend(ws: Workspace, connection: Connection, sku: str, marketplace_id: str) -> bool:
    """Make the next run send this listing again, whole (a PUT), whatever the state believed Amazon
    held; False when there is no such listing. A write still in flight is left to recovery."""
    store = ws.store(connection.name)
    c = st.listings.c
    with ws.begin() as conn:
        done = conn.execute(
            st.listings.update()
            .where(store.mine(st.listings), c.sku == sku, c.marketplace_id == marketplace_id)
            .values(sent_hash=None, sent_attributes=None, attempted_hash=None, mapping_fp=None)
        )
    return bool(done.rowcount)
