"""What every catalogue source is, and the checks that span records.

A source streams :class:`Product` and :class:`CatalogProblem` values in source order. Checks that
need more than one record (duplicate SKU, a variant whose parent is missing, a parent cycle) run
as the stream passes, with memory bounded by one dict entry per SKU: no record is held back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator

from listingsync.catalog.model import CatalogProblem, Origin, Product
from listingsync.errors import ListingSyncError

__all__ = ["CatalogError", "CatalogSource", "CrossRecordChecker", "Record"]

Record = Product | CatalogProblem


class CatalogError(ListingSyncError):
    """The source cannot be read at all (missing file, no SKU column, Sales Layer refused us)."""


class CatalogSource(ABC):
    """A catalogue: ``records(since)`` streams products and problems in source order.

    ``incremental`` says whether ``since`` can narrow the stream to changes; ``next_checkpoint`` is
    the value to pass as ``since`` next time, valid once the stream was consumed to its end (the
    caller stores it only after its own run succeeded). ``complete`` says whether the last stream
    held the whole catalogue (files always; Sales Layer on a ``refresh``), i.e. whether a SKU
    missing from it is gone from the catalogue.
    """

    incremental: bool = False
    #: A short description for messages: the file path or the Sales Layer connector.
    name: str = ""

    def __init__(self) -> None:
        self.next_checkpoint: str | None = None
        self.complete: bool = True

    def records(self, since: str | None = None) -> Iterator[Record]:
        """Products and problems in source order, checked across records."""
        self.next_checkpoint = None
        checker = CrossRecordChecker()
        # An incremental stream holds only what changed: a variant's parent may be unchanged and
        # absent, so "parent missing" is only judged when the stream was the whole catalogue.
        yield from checker.check(self._read(since), whole=lambda: self.complete)

    @abstractmethod
    def _read(self, since: str | None) -> Iterator[Record]:
        """The records as read, before cross-record checks; sets ``next_checkpoint``/``complete``."""

    def columns(self) -> list[str]:
        """Field names the source declares (file header, Sales Layer data_schema); may be empty."""
        return []

    def close(self) -> None:
        """Release connections (Sales Layer's HTTP client, its ID cache); files close themselves."""
        return None

    def __enter__(self) -> CatalogSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CrossRecordChecker:
    """Duplicate SKUs, variants whose parent is missing, and parent cycles, in one pass.

    Memory is one dict entry per SKU (SKU → parent SKU or None), the origin of the first record of
    each SKU, and the variants still waiting for a parent that had not been read when they were.
    A duplicate or a record that would close a parent cycle is reported and left out; a variant
    whose parent never appears is reported at the end of the stream (it was already passed on:
    the consumer learns of it from the problem, which names its SKU).
    """

    def __init__(self) -> None:
        self._parent: dict[str, str | None] = {}
        self._first: dict[str, Origin] = {}
        self._waiting: dict[str, tuple[str, Origin]] = {}
        self._rejected: set[str] = set()
        self._parents: dict[str, str] = {}  # interned parent SKUs: one string per parent

    def check(self, records: Iterable[Record], whole: Callable[[], bool] = lambda: True) -> Iterator[Record]:
        """Pass the records through; ``whole()`` (asked at the end) says whether the stream was the
        whole catalogue, i.e. whether a parent that never came is missing."""
        for record in records:
            if isinstance(record, CatalogProblem):
                yield record
                continue
            problem = self._admit(record)
            if problem is None:
                yield record
            else:
                yield problem
        if whole():
            yield from self.finish()
        self._waiting.clear()

    def _admit(self, product: Product) -> CatalogProblem | None:
        sku = product.sku
        if product.is_deleted:
            # A deletion names a SKU that is gone; it takes part in no family checks.
            return None
        first = self._first.get(sku)
        if first is not None:
            return CatalogProblem(
                product.origin,
                f"duplicate SKU {sku!r}: {first} has the same SKU; this record is left out "
                "(give each product and variant its own SKU)",
                sku=sku,
            )
        parent = product.parent_sku
        if parent is not None:
            parent = self._parents.setdefault(parent, parent)
            cycle = self._cycle(sku, parent)
            if cycle is not None:
                self._rejected.add(sku)
                return CatalogProblem(
                    product.origin,
                    f"parent cycle {' → '.join(cycle)}: a variant cannot be its own ancestor; this "
                    f"record is left out (fix the parent SKU of {sku!r})",
                    sku=sku,
                )
            if parent not in self._parent:
                self._waiting[sku] = (parent, product.origin)
        self._parent[sku] = parent
        self._first[sku] = product.origin
        return None

    def _cycle(self, sku: str, parent: str) -> list[str] | None:
        """The chain from ``sku`` back to itself through already-read parents, if it closes."""
        chain = [sku]
        current: str | None = parent
        while current is not None:
            chain.append(current)
            if current == sku:
                return chain
            current = self._parent.get(current)
        return None

    def finish(self) -> Iterator[CatalogProblem]:
        for sku, (parent, origin) in self._waiting.items():
            if parent in self._parent:
                continue
            if parent in self._rejected:
                reason = f"its parent {parent!r} was left out (see the problem reported for it)"
            else:
                reason = f"parent SKU {parent!r} is not in the catalogue"
            yield CatalogProblem(
                origin,
                f"variant {sku!r}: {reason}; add the parent product or correct the parent SKU",
                sku=sku,
            )
        self._waiting.clear()
