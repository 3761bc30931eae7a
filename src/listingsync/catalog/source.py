"""What every catalogue source is, and the checks that span records.

A source streams :class:`Product` and :class:`CatalogProblem` values in source order. Checks that
need more than one record (duplicate SKU, a variant whose parent is missing, a parent cycle) run
as the stream passes, with memory bounded by one dict entry per SKU: no record is held back.
"""

from __future__ import annotations

import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from listingsync.catalog.model import CatalogProblem, Origin, Product, ProductStatus
from listingsync.errors import ListingSyncError

__all__ = [
    "MAX_LINE_BYTES",
    "CatalogError",
    "CatalogSource",
    "CrossRecordChecker",
    "Readable",
    "Record",
    "open_catalogue_file",
    "read_line_chunks",
    "read_lines",
    "refuse_workbook",
]

#: The longest line (or JSON record) a text source may have. A longer one is not a catalogue row
#: (a binary file, a dump without line breaks) and would otherwise be held whole in memory.
MAX_LINE_BYTES = 8 * 1024 * 1024
_CHUNK = 1 << 20

Record = Product | CatalogProblem


class CatalogError(ListingSyncError):
    """The source cannot be read at all (missing file, no SKU column, Sales Layer refused us)."""


def open_catalogue_file(path: Path, name: str) -> BinaryIO:
    """A file source's bytes, or a :class:`CatalogError` naming the file and the reason.

    Every failure to open is the user's to fix (a wrong source.path, a directory, no permission),
    so none escapes as a Python traceback.
    """
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            # Opening a named pipe waits for a writer, and reading a device never ends.
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
            raise CatalogError(
                f"source.path is {kind}, not a regular file",
                where=name,
                fix="export the catalogue to a file and point source.path at it",
            )
        return path.open("rb")
    except FileNotFoundError:
        raise CatalogError(
            "catalogue file not found",
            where=name,
            fix="check source.path (relative to the config file's directory)",
        ) from None
    except IsADirectoryError:
        raise CatalogError(
            "source.path is a directory, not a catalogue file",
            where=name,
            fix="give the path of the file itself (products.csv, products.xlsx, products.json)",
        ) from None
    except OSError as exc:
        raise CatalogError(f"cannot read the catalogue file: {exc.strerror}", where=name) from None


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_lines(
    handle: Readable, name: str, *, bare_cr: bool = True, limit: int = MAX_LINE_BYTES
) -> Iterator[bytes]:
    """The lines of a file, each with its ending: ``\\r\\n``, ``\\n`` and, with ``bare_cr``, a lone
    ``\\r`` (old Mac exports), all in one file if need be. Read in chunks, so memory holds one chunk
    and one line; a line over ``limit`` bytes stops the read with a :class:`CatalogError` naming it.
    """
    for lines in read_line_chunks(handle, name, bare_cr=bare_cr, limit=limit):
        yield from lines


def read_line_chunks(
    handle: Readable, name: str, *, bare_cr: bool = True, limit: int = MAX_LINE_BYTES, before: int = 0
) -> Iterator[list[bytes]]:
    """:func:`read_lines`, a chunk's lines at a time: a reader of millions of lines resumes once
    a chunk, not once a line. ``before``: the lines before the handle's position (a file read
    from a split point), for the line numbers of errors."""
    number = before
    rest = b""

    def too_long(line_number: int) -> CatalogError:
        return CatalogError(
            f"line {line_number} is longer than {limit:,} bytes: this is not a catalogue row (binary "
            "data, or a file without line breaks)",
            where=f"{name}:{line_number}",
            fix="check that source.path is the catalogue export; values of a row must stay under "
            f"{limit // (1 << 20)} MiB in all",
        )

    while chunk := handle.read(_CHUNK):
        data = rest + chunk if rest else chunk
        if bare_cr:
            lines = data.splitlines(keepends=True)  # bytes split on \r\n, \n and \r only
            # A last line without its ending continues in the next chunk; so may a last "\r" (\r\n).
            rest = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        else:
            *lines, rest = data.split(b"\n")
            lines = [line + b"\n" for line in lines]
        if len(data) > limit:  # only then can one of its lines be too long
            for at, line in enumerate(lines):
                if len(line) > limit:
                    if at:
                        yield lines[:at]  # the lines before it are read, as one at a time would
                    raise too_long(number + at + 1)
        number += len(lines)
        if lines:
            yield lines
        if len(rest) > limit:
            raise too_long(number + 1)
    if rest:
        yield [rest]


#: Leading bytes of the spreadsheet formats users point a text source at by mistake.
_WORKBOOK_MAGIC = {
    b"PK\x03\x04": "an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Excel file (.xls)",
}


def refuse_workbook(sample: bytes, name: str, source_type: str) -> None:
    """A CSV or JSON source given a spreadsheet: say so, instead of a flood of unreadable rows."""
    for magic, what in _WORKBOOK_MAGIC.items():
        if sample.startswith(magic):
            fix = (
                "set source.type: xlsx"
                if "xlsx" in what
                else "save it from Excel as 'Excel Workbook (.xlsx)' or CSV UTF-8, and set source.type to match"
            )
            raise CatalogError(f"source.type is {source_type}, but this file is {what}", where=name, fix=fix)


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

    def roles(self) -> dict[str, Any]:
        """Which fields play which part (SKU, parent, images, languages …), for ``catalog inspect``;
        known once records were read."""
        mapper = getattr(self, "mapper", None)
        roles = getattr(mapper, "roles", None)
        if roles is None:
            return {}
        return {
            "sku": roles.sku,
            "variant_sku": roles.variant_sku,
            "parent": roles.parent,
            "category": roles.category,
            "images": list(roles.images),
            "languages": sorted({lang for _, lang in roles.localized.values()}),
        }

    def close(self) -> None:
        """Release connections (Sales Layer's HTTP client, its ID cache); files close themselves."""
        return None

    def __enter__(self) -> CatalogSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CrossRecordChecker:
    """Duplicate SKUs, variants whose parent is missing, and parent cycles, in one pass.

    Memory per SKU is one dict entry (SKU → the line it was first read on, or its origin when it
    has no line), plus one for each variant (SKU → parent SKU, parent strings shared), plus the
    variants still waiting for a parent that had not been read when they were: about 130 bytes
    per SKU with the SKU string itself, so a million SKUs fit well within 300 MB.

    A duplicate or a record that would close a parent cycle is reported and left out; a variant
    whose parent never appears is reported at the end of the stream (it was already passed on:
    the consumer learns of it from the problem, which names its SKU).
    """

    def __init__(self) -> None:
        self._where: dict[str, int | Origin] = {}
        self._parent_of: dict[str, str] = {}
        self._waiting: dict[str, tuple[str, Origin]] = {}
        self._rejected: set[str] = set()
        self._parents: dict[str, str] = {}  # interned parent SKUs: one string per parent

    def check(self, records: Iterable[Record], whole: Callable[[], bool] = lambda: True) -> Iterator[Record]:
        """Pass the records through; ``whole()`` (asked at the end) says whether the stream was the
        whole catalogue, i.e. whether a parent that never came is missing."""
        admit = self._admit
        for record in records:
            if isinstance(record, CatalogProblem):
                yield record
                continue
            problem = admit(record)
            yield record if problem is None else problem
        if whole():
            yield from self.finish()
        self._waiting.clear()

    def _admit(self, product: Product) -> CatalogProblem | None:
        if product.status is ProductStatus.DELETED:
            # A deletion names a SKU that is gone; it takes part in no family checks.
            return None
        return self.admit_key(product.sku, product.parent_sku, product.origin)

    def admit_key(
        self, sku: str, parent: str | None, origin: Origin | None, source: str = "", line: int | None = None
    ) -> CatalogProblem | None:
        """:meth:`check`'s verdict on one record that is not a deletion, from its SKU and parent
        alone (a no-change sync's first pass builds no product); ``origin`` may be None when
        ``source`` and ``line`` say where the record is (an origin is made only for a problem)."""
        first = self._where.get(sku)
        if first is not None:
            origin = origin or Origin(source, line)
            shown = f"{origin.source}:{first}" if isinstance(first, int) else str(first)
            return CatalogProblem(
                origin,
                f"duplicate SKU {sku!r}: {shown} has the same SKU; this record is left out "
                "(give each product and variant its own SKU)",
                sku=sku,
            )
        if parent is not None:
            parent = self._parents.setdefault(parent, parent)
            if self._closes_cycle(sku, parent):
                self._rejected.add(sku)
                return CatalogProblem(
                    origin or Origin(source, line),
                    f"parent cycle {' → '.join(self._chain(sku, parent))}: a variant cannot be its own "
                    f"ancestor; this record is left out (fix the parent SKU of {sku!r})",
                    sku=sku,
                )
            if parent not in self._where:
                self._waiting[sku] = (parent, origin or Origin(source, line))
            self._parent_of[sku] = parent
        if origin is None:
            self._where[sku] = line if line is not None else Origin(source, line)
        else:
            self._where[sku] = origin.line if origin.line is not None else origin
        return None

    def _closes_cycle(self, sku: str, parent: str) -> bool:
        """Whether the already-read ancestors of ``parent`` lead back to ``sku``."""
        parent_of = self._parent_of
        current: str | None = parent
        while current is not None:
            if current == sku:
                return True
            current = parent_of.get(current)
        return False

    def _chain(self, sku: str, parent: str) -> list[str]:
        chain = [sku, parent]
        while chain[-1] != sku:
            chain.append(self._parent_of[chain[-1]])
        return chain

    def finish(self) -> Iterator[CatalogProblem]:
        for sku, (parent, origin) in self._waiting.items():
            if parent in self._where:
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
