"""A set of SKUs in 8 bytes each: which SKUs a streamed catalogue holds.

A streamed run must know, before it sends anything, which listings the catalogue no longer has (the
mass-deletion guard refuses before the first write). A ``set`` of a million SKU strings takes
~100 MB; this keeps each SKU's 64-bit hash in a sorted array (8 MB) and answers membership by
binary search. Two SKUs with the same hash (about 1 in 10^7 for a million SKUs) make a removed
listing look present: it is kept, never wrongly deleted, which is the safe side. The hashes are
Python's own string hash: valid within one process only, never stored.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import pairwise

__all__ = ["SkuSet"]


class SkuSet:
    def __init__(self, skus: Iterable[str] = ()) -> None:
        self._hashes = array("q")
        self._sorted = True
        self.update(skus)

    def add(self, sku: str) -> None:
        self._hashes.append(hash(sku))
        self._sorted = False

    def update(self, skus: Iterable[str]) -> None:
        self._hashes.extend(map(hash, skus))
        self._sorted = False

    def __contains__(self, sku: object) -> bool:
        if not isinstance(sku, str):
            return False
        if not self._sorted:
            # Sorted as they are: a SKU added twice sits twice, side by side, which a binary search
            # does not mind (deduplicating first, through a set, doubles the time at a million).
            self._hashes = array("q", sorted(self._hashes))
            self._sorted = True
        h = hash(sku)
        at = bisect_left(self._hashes, h)
        return at < len(self._hashes) and self._hashes[at] == h

    def among(self, skus: Iterable[str]) -> set[str]:
        """Those of ``skus`` that are here, the whole set walked once in C: for many SKUs, far
        cheaper than a membership test each (a binary search in Python)."""
        by_hash: dict[int, str] = {}
        clashing = [sku for sku in skus if by_hash.setdefault(hash(sku), sku) != sku]
        found = {by_hash[h] for h in by_hash.keys() & self._hashes}
        found.update(sku for sku in clashing if sku in self)  # another SKU's hash: as __contains__ says
        return found

    def __len__(self) -> int:
        """The distinct SKUs (a pass over them all)."""
        if not self._hashes:
            return 0
        "x" in self  # noqa: B015 - sorts
        hashes = self._hashes
        return 1 + sum(1 for before, h in pairwise(hashes) if h != before)
