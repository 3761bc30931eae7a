"""The catalogue mirror: the last full record per SKU, kept in the state database (``ls_catalog``).

A Sales Layer source reads incrementally: a run sees only the records changed in the PIM. The mirror
merges each read in (changed records replace theirs, deletions drop theirs, a complete read drops
what it no longer has), so the whole catalogue is at hand when something *other* than a record
changes: a mapping template, a rule, a product type schema. Those listings are rebuilt from here
(:meth:`CatalogMirror.products`) with no round trip to the PIM.

    mirror = CatalogMirror(store)
    merged = mirror.merge(products, complete=source.complete)   # after a sending run's read
    merged.changed        # SKUs whose record differs from the mirror's (new ones included)
    mirror.products(skus) # the records as last read, images carried over from earlier reads

Only sending runs merge (dry runs read the mirror but never write it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from listingsync.catalog.model import Product
from listingsync.sync import tables as t
from listingsync.sync.fingerprint import product_document, product_from_document, record_fingerprint
from listingsync.sync.store import StateStore

__all__ = ["CatalogMirror", "MirrorMerge"]

_CHUNK = 500


@dataclass(slots=True)
class MirrorMerge:
    """What a merge changed: SKUs added or changed, and SKUs dropped (deleted or no longer read)."""

    changed: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)


class CatalogMirror:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.engine = store.engine
        #: The store's scope: a workspace database holds one mirror per connection.
        self._mine = store.mine(t.catalog)

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(t.catalog).where(self._mine)
            return int(conn.execute(query).scalar_one())

    def fingerprints(self) -> dict[str, str]:
        """SKU → fingerprint of the record as last merged."""
        c = t.catalog.c
        with self.engine.connect() as conn:
            return {sku: fp for sku, fp in conn.execute(sa.select(c.sku, c.fingerprint).where(self._mine))}

    def _fingerprints_of(self, skus: Sequence[str]) -> dict[str, str]:
        c = t.catalog.c
        wanted = sorted(set(skus))
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                query = sa.select(c.sku, c.fingerprint).where(
                    self._mine, c.sku.in_(wanted[start : start + _CHUNK])
                )
                out.update({sku: fp for sku, fp in conn.execute(query)})
        return out

    def drop_absent(self, present: Container[str], *, present_mirrored: int | None = None) -> set[str]:
        """Drop the records a complete read no longer has (``present``: what it has, or could not
        read), the SKUs paged through in order rather than loaded all at once.

        ``present_mirrored``: how many of the read's SKUs the mirror held when the read counted
        them (a CSV raw pass). The mirror only grows since, by the records it merged: when it
        holds exactly that many, none is absent and no SKU is paged through."""
        if present_mirrored is not None and len(self) == present_mirrored:
            return set()
        doomed = list(self._absent(present))
        c = t.catalog.c
        with self.engine.begin() as conn:
            for start in range(0, len(doomed), _CHUNK):
                conn.execute(t.catalog.delete().where(self._mine, c.sku.in_(doomed[start : start + _CHUNK])))
        return set(doomed)

    def _absent(self, present: Container[str]) -> Iterator[str]:
        """The mirrored SKUs not in ``present``, paged through in order."""
        c = t.catalog.c
        after = ""
        with self.engine.connect() as conn:
            while True:
                query = sa.select(c.sku).where(self._mine, c.sku > after).order_by(c.sku).limit(10_000)
                page = [r[0] for r in conn.execute(query)]
                yield from (sku for sku in page if sku not in present)
                if len(page) < 10_000:
                    return
                after = page[-1]

    def skus(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(t.catalog.c.sku).where(self._mine))}

    def products(self, skus: Iterable[str] | None = None) -> Iterator[Product]:
        """The mirrored records (all, or these SKUs), in SKU order."""
        c = t.catalog.c
        with self.engine.connect() as conn:
            if skus is None:
                for (doc,) in conn.execute(sa.select(c.document).where(self._mine).order_by(c.sku)):
                    yield product_from_document(doc)
                return
            wanted = sorted(set(skus))
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                query = sa.select(c.document).where(self._mine, c.sku.in_(chunk)).order_by(c.sku)
                for (doc,) in conn.execute(query):
                    yield product_from_document(doc)

    def get(self, sku: str) -> Product | None:
        return next(self.products([sku]), None)

    def children(self, parent_skus: Iterable[str]) -> set[str]:
        """SKUs of the mirrored variants of these parents."""
        c = t.catalog.c
        parents = sorted(set(parent_skus))
        out: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(parents), _CHUNK):
                chunk = parents[start : start + _CHUNK]
                query = sa.select(c.sku).where(self._mine, c.parent_sku.in_(chunk))
                out.update(r[0] for r in conn.execute(query))
        return out

    def fill_unchanged_images(self, products: Sequence[Product]) -> None:
        """A record read with ``images_unchanged`` (Sales Layer's ``U``) gets the images it had."""
        waiting = {p.sku: p for p in products if p.images_unchanged and not p.images and not p.is_deleted}
        for before in self.products(waiting):
            product = waiting[before.sku]
            product.images = list(before.images)
            product.images_unchanged = False

    def merge(
        self,
        products: Sequence[Product],
        *,
        complete: bool,
        keep: Iterable[str] = (),
    ) -> MirrorMerge:
        """Merge a read in. ``complete``: the read was the whole catalogue, so SKUs it did not bring
        are dropped, except those in ``keep`` (records that could not be read this time)."""
        self.fill_unchanged_images(products)
        # A partial read (a streamed run's batch) looks up only its own SKUs.
        known = self.fingerprints() if complete else self._fingerprints_of([p.sku for p in products])
        out = MirrorMerge()
        now = dt.datetime.now(dt.UTC)
        upserts: list[dict[str, object]] = []
        deletes: set[str] = set()
        seen: set[str] = set()
        for product in products:
            seen.add(product.sku)
            if product.is_deleted:
                if product.sku in known:
                    deletes.add(product.sku)
                continue
            fp = record_fingerprint(product)
            if known.get(product.sku) == fp:
                continue
            out.changed.add(product.sku)
            upserts.append(
                {
                    "scope": self.store.scope,
                    "sku": product.sku,
                    "parent_sku": product.parent_sku,
                    "fingerprint": fp,
                    "document": product_document(product),
                    "updated_at": now,
                }
            )
        if complete:
            deletes |= set(known) - seen - set(keep)
        out.dropped = deletes
        c = t.catalog.c
        with self.engine.begin() as conn:
            doomed = sorted(deletes | {str(u["sku"]) for u in upserts if u["sku"] in known})
            for start in range(0, len(doomed), _CHUNK):
                conn.execute(t.catalog.delete().where(self._mine, c.sku.in_(doomed[start : start + _CHUNK])))
            for start in range(0, len(upserts), 2000):
                conn.execute(t.catalog.insert(), upserts[start : start + 2000])
        return out
