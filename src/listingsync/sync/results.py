"""A run's per-listing results, in run order, in bounded memory.

A sync of a million listings has a million results: held as objects they would take more memory
than the rest of the run together. :class:`ResultLog` keeps the first ``memory`` of them as objects
(every run the tests and most users make fits) and appends the rest to a temporary file as JSON
lines, read back when the log is iterated. Results are filled in after sending (status, Amazon's
issues, ASIN) by :meth:`ResultLog.rewritten`, a chunk at a time, never all at once.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from listingsync.sync.engine import SkuResult

__all__ = ["MEMORY_RESULTS", "LazyResults", "ResultLines", "ResultLog"]

#: Results kept as objects before the rest go to a file.
MEMORY_RESULTS = 10_000

_FIELDS = (
    "sku",
    "marketplace_id",
    "op",
    "status",
    "issues",
    "asin",
    "origin",
    "changed",
    "removed",
    "previous",
    "patches",
    "adopt",
    "was_invalid",
)


@dataclass(frozen=True, slots=True)
class ResultLines:
    """Results already written as the log's JSON lines, all with one ``(status, was_invalid)``.

    A no-change run over a million records reports the listings still invalid from the state
    (``sync.rawskip``): the database writes each line (issues included, as stored), so none is
    decoded and encoded again in Python, which cost twice what the query did."""

    lines: Sequence[str]
    status: str
    was_invalid: bool

    def __len__(self) -> int:
        return len(self.lines)


class ResultLog:
    def __init__(self, results: Iterable[SkuResult] = (), *, memory: int = MEMORY_RESULTS) -> None:
        self.memory = memory
        self._held: list[SkuResult] = []
        self._spill: IO[bytes] | None = None
        self._spilled = 0
        #: ``(status, was_invalid)`` of the spilled results (never changed once written), so
        #: counting failures needs no pass over the file (:meth:`tally`).
        self._spilled_tally: Counter[tuple[str, bool]] = Counter()
        #: The file's length: where the next result goes.
        self._end = 0
        self.extend(results)

    def append(self, result: SkuResult) -> None:
        if len(self._held) < self.memory:
            self._held.append(result)
            return
        self._write(orjson.dumps({f: getattr(result, f) for f in _FIELDS}) + b"\n")
        self._spilled += 1
        self._spilled_tally[result.status, result.was_invalid] += 1

    def _write(self, lines: bytes) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the log
            self._end = 0
        if self._spill.tell() != self._end:  # an iteration moved the position
            self._spill.seek(self._end)
        self._end += self._spill.write(lines)

    def extend(self, results: Iterable[SkuResult]) -> None:
        for result in results:
            self.append(result)

    def extend_lines(self, results: ResultLines) -> None:
        """Results given as JSON lines: decoded only as far as the log holds objects."""
        lines = iter(results.lines)
        room = self.memory - len(self._held)
        if room > 0:
            from listingsync.sync.engine import SkuResult

            self._held.extend(SkuResult(**orjson.loads(line)) for line in itertools.islice(lines, room))
        spilled = len(results) - max(room, 0)
        if spilled > 0:
            self._write("\n".join(lines).encode() + b"\n")
            self._spilled += spilled
            self._spilled_tally[results.status, results.was_invalid] += spilled

    def __len__(self) -> int:
        return len(self._held) + self._spilled

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[SkuResult]:
        yield from self._held
        if self._spill is None:
            return
        from listingsync.sync.engine import SkuResult

        spill, position = self._spill, 0
        for _ in range(self._spilled):
            if spill.tell() != position:  # an append (or another iteration) moved it
                spill.seek(position)
            line = spill.readline()
            position += len(line)
            yield SkuResult(**orjson.loads(line))

    def tally(self) -> Counter[tuple[str, bool]]:
        """How many results have each ``(status, was_invalid)``, without reading the file back."""
        counts = Counter((r.status, r.was_invalid) for r in self._held)
        counts.update(self._spilled_tally)
        return counts

    def chunks(self, size: int) -> Iterator[list[SkuResult]]:
        chunk: list[SkuResult] = []
        for result in self:
            chunk.append(result)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def rewritten(self, fill: Callable[[list[SkuResult]], Any], size: int = 500) -> ResultLog:
        """A new log of the same results, each chunk of ``size`` passed to ``fill`` (which updates
        them in place) on the way: one pass, one chunk in memory beyond what the log keeps."""
        out = ResultLog(memory=self.memory)
        for chunk in self.chunks(size):
            fill(chunk)
            out.extend(chunk)
        self.close()
        return out

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


class LazyResults(list):  # type: ignore[type-arg]
    """A :class:`ResultLog` as a JSON array written one result at a time.

    ``json``'s pure-Python encoder (the one ``indent`` selects) takes a ``list`` subclass by its
    length and its iteration, so ``JSONEncoder(indent=2).iterencode`` writes each result as the
    log reads it back: the same text as ``json.dumps`` of the whole list, without the list. Only
    for that encoder: the C one reads a list's storage directly (and would see it empty).
    """

    def __init__(self, log: ResultLog) -> None:
        super().__init__()
        self.log = log

    def __len__(self) -> int:
        return len(self.log)

    def __bool__(self) -> bool:
        return bool(self.log)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (r.as_dict() for r in self.log)
