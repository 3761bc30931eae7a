"""CSV catalogues: encoding and delimiter detection, streamed row by row with file:line origins.

The encoding is ``source.encoding`` or detected from the first MiB: a UTF-8 BOM means UTF-8 with
BOM, a UTF-16 BOM UTF-16 (Excel's "Unicode text"), bytes that decode as UTF-8 mean UTF-8, anything
else cp1252 (what Excel on Windows writes). The file is decoded line by line, so a line that does
not decode is reported with its number and the rows around it go on. Rows may end in CRLF, LF or a
bare CR (old Mac exports), mixed in one file; a line over ``MAX_LINE_BYTES`` stops the read.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from listingsync.catalog.csv_split import HEAD_SHARE, NEVER, SPLIT_MIN_BYTES, Handover, find_split, splittable
from listingsync.catalog.model import CatalogProblem, Origin
from listingsync.catalog.rows import RowMapper
from listingsync.catalog.source import (
    CatalogError,
    CatalogSource,
    CrossRecordChecker,
    Readable,
    Record,
    open_catalogue_file,
    read_line_chunks,
    refuse_workbook,
)
from listingsync.config.source import SourceConfig

__all__ = ["CheckVerdicts", "CsvSource", "DigestStamp", "RowStamp", "detect_delimiter", "detect_encoding"]

#: What :meth:`CsvSource.scan` gives for a record it did not build a product of:
#: ``(sku, parent_sku, deleted, line, cells)``.
RowStamp = tuple[str, str | None, bool, int, list[str]]
#: What :meth:`CsvSource.digests` gives for a good row: ``(sku, parent_sku, deleted, line, digest)``.
DigestStamp = tuple[str, str | None, bool, int, bytes]
#: Builds what a row yields: ``(mapper, header, cells, line) -> record``.
_Make = Callable[[RowMapper, list[str], list[str], int], Any]
#: Told the header once it is read; may hand the file's tail to a helper (``_read_digests``).
_Begin = Callable[[list[str]], "Handover | None"]

_SAMPLE = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file from its first bytes (see the module docstring)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_delimiter(header: str) -> str:
    """The delimiter that splits the header line the most (outside quotes); ``,`` on a tie."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass(slots=True)
class CheckVerdicts:
    """What the cross-record checks of one :meth:`CsvSource.scan` decided: the rows they replaced
    by a problem (by position in the stream) and the problems they added at its end."""

    replaced: dict[int, CatalogProblem] = field(default_factory=dict)
    tail: list[CatalogProblem] = field(default_factory=list)
    #: Whether a scan recorded them to the end of the file.
    complete: bool = False


class CsvSource(CatalogSource):
    def __init__(self, path: Path, config: SourceConfig, name: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.config = config
        self.name = name or str(path)
        self.encoding: str | None = config.encoding
        self.delimiter: str | None = config.delimiter
        self.mapper: RowMapper | None = None
        self._header: list[str] = []
        #: The key of :meth:`digests`'s fingerprints, once its header is read.
        self.digest_key = b""

    def columns(self) -> list[str]:
        return list(self._header)

    def _read(self, since: str | None) -> Iterator[Record]:
        yield from self._read_rows(self._product)

    def _product(self, mapper: RowMapper, header: list[str], row: list[str], line: int) -> Record:
        return mapper.product(dict(zip(header, row, strict=True)), Origin(self.name, line), row)

    def _stamp(
        self, mapper: RowMapper, header: list[str], row: list[str], line: int
    ) -> RowStamp | CatalogProblem:
        found = mapper.identity(row)
        if found[0] is None:
            return CatalogProblem(Origin(self.name, line), found[1], sku=found[2])
        return (found[0], found[1], found[2], line, row)

    def product_of(self, stamp: RowStamp) -> Record:
        """The record :meth:`records` gives for a row that :meth:`scan` gave as ``stamp``."""
        assert self.mapper is not None  # set by the scan that made the stamp
        return self._product(self.mapper, self._header, stamp[4], stamp[3])

    def scan(self, verdicts: CheckVerdicts | None = None) -> Iterator[RowStamp | CatalogProblem]:
        """The records as :meth:`records` gives them (the same problems, cross-record checks
        included), but each good one only as a :data:`RowStamp`: its SKU, parent, whether it is
        a deletion, its line and its cells, with no product built (a no-change sync's pass).

        ``verdicts``: given empty, it is filled with what the cross-record checks decided; given
        filled by an earlier scan of the same file, the checks are not run again but replayed,
        without their memory per SKU (each ``validate`` worker's scan)."""
        if verdicts is not None and verdicts.complete:
            replaced = verdicts.replaced
            for position, item in enumerate(self._read_rows(self._stamp)):
                yield replaced.get(position, item)
            yield from verdicts.tail
            return
        yield from self._checked(self._read_rows(self._stamp), verdicts)

    def digests(
        self, key_of: Callable[[list[str]], bytes], *, split_from: int = SPLIT_MIN_BYTES
    ) -> Iterator[DigestStamp | CatalogProblem]:
        """:meth:`scan`, each good row given with the BLAKE2b digest (20 bytes, keyed by
        ``key_of(header)``) of its cells as ``orjson`` writes them, not the cells: a no-change
        sync's first pass. A file of ``split_from`` bytes or more is read on two cores
        (:mod:`listingsync.catalog.csv_split`), with the same result."""
        yield from self._checked(self._read_digests(key_of, split_from), None)

    def _checked(self, items: Iterator[Any], verdicts: CheckVerdicts | None) -> Iterator[Any]:
        """The cross-record checks over a scan's stamps (see :meth:`scan`)."""
        checker = CrossRecordChecker()
        admit = checker.admit_key
        name = self.name
        for position, item in enumerate(items):
            if item.__class__ is tuple and not item[2]:
                problem = admit(item[0], item[1], None, name, item[3])
                if problem is not None:
                    item = problem
                    if verdicts is not None:
                        verdicts.replaced[position] = problem
            yield item
        tail = list(checker.finish())
        if verdicts is not None:
            verdicts.tail, verdicts.complete = tail, True
        yield from tail

    def _read_rows(self, make: _Make, begin: _Begin | None = None) -> Iterator[Any]:
        self.complete = True
        with open_catalogue_file(self.path, self.name) as handle:
            sample = handle.read(_SAMPLE)
            handle.seek(0)
            refuse_workbook(sample, self.name, "csv")
            if self.encoding is None:
                self.encoding = detect_encoding(sample)
            bad_lines: dict[int, str] = {}
            lines = self._decoded_lines(handle, self.encoding, bad_lines)
            yield from self._rows(lines, bad_lines, make, begin)

    def _tail(self, offset: int, before: int, header: list[str]) -> Iterator[Any]:
        """The digest stamps of the rows from byte ``offset`` on, ``before`` lines in (a split
        point: see :mod:`listingsync.catalog.csv_split`), as :meth:`_read_rows` gives them."""
        assert self.encoding is not None and self.delimiter is not None
        with open_catalogue_file(self.path, self.name) as handle:
            handle.seek(offset)
            bad: dict[int, str] = {}
            lines = self._decoded_lines(handle, self.encoding, bad, before)
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            mapper = RowMapper(self.config, header, self.name)
            yield from self._body(reader, before, bad, mapper, header, self._digest_stamp, None)

    def _read_digests(self, key_of: Callable[[list[str]], bytes], split_from: int) -> Iterator[Any]:
        """:meth:`_read_rows` making digest stamps, the tail of a big file read by a helper."""
        handover: Handover | None = None

        def begin(header: list[str]) -> Handover | None:
            nonlocal handover
            self.digest_key = key = key_of(header)
            assert self.encoding is not None and self.delimiter is not None  # known once the header is
            if self.path.stat().st_size >= split_from and splittable(self.encoding):
                args = (self.path, self.config, self.name, self.encoding, self.delimiter, header, key)
                handover = Handover(_read_tail, args)
            return handover

        try:
            yield from self._read_rows(self._digest_stamp, begin)
            if handover is not None and handover.reached:
                yield from handover.items()
        finally:
            if handover is not None:
                handover.close()

    def _digest_stamp(
        self, mapper: RowMapper, header: list[str], row: list[str], line: int
    ) -> DigestStamp | CatalogProblem:
        found = mapper.identity(row)
        if found[0] is None:
            return CatalogProblem(Origin(self.name, line), found[1], sku=found[2])
        digest = hashlib.blake2b(orjson.dumps(row), digest_size=20, key=self.digest_key).digest()
        return (found[0], found[1], found[2], line, digest)

    def _decoded_lines(
        self, handle: BinaryIO, encoding: str, bad: dict[int, str], before: int = 0
    ) -> Iterator[str]:
        """Decoded lines, ended by CRLF, LF or a bare CR; a line that does not decode is noted in
        ``bad`` and passed on replaced."""
        source: Readable = handle
        if codecs.lookup(encoding).name.startswith("utf-16"):
            # UTF-16 cannot be split on b"\n": transcode it to UTF-8 as it is read.
            source = codecs.EncodedFile(handle, "utf-8", encoding, errors="replace")
            encoding = "utf-8"
        # Chained in C from a chunk's lines at a time: a million rows resume no Python frame per line.
        return itertools.chain.from_iterable(self._decoded_chunks(source, encoding, bad, before))

    def _decoded_chunks(
        self, source: Readable, encoding: str, bad: dict[int, str], before: int
    ) -> Iterator[list[str]]:
        first_encoding = encoding  # the first line may start with a BOM (utf-8-sig)
        encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        number = before  # lines before this chunk
        for raw in read_line_chunks(source, self.name, before=before):
            try:
                if number:
                    lines = [line.decode(encoding) for line in raw]
                else:
                    lines = [raw[0].decode(first_encoding), *(line.decode(encoding) for line in raw[1:])]
            except UnicodeDecodeError:
                lines = [
                    _decode(line, first_encoding if at == 1 else encoding, encoding, at, bad)
                    for at, line in enumerate(raw, start=number + 1)
                ]
            number += len(raw)
            yield lines

    def _rows(
        self, lines: Iterator[str], bad: dict[int, str], make: _Make, begin: _Begin | None = None
    ) -> Iterator[Any]:
        """The records of the decoded ``lines``; ``begin(header)``, when given, may hand the
        file's tail over to a helper (:meth:`_read_digests`)."""
        first = next(lines, None)
        if first is None or not first.strip():
            raise CatalogError(
                "the file is empty or its first line is blank; the first line must be the header",
                where=self.name,
            )
        if self.delimiter is None:
            self.delimiter = detect_delimiter(first)

        reader = csv.reader(itertools.chain((first,), lines), delimiter=self.delimiter, strict=True)
        try:
            header = [h.strip() for h in next(reader)]
        except csv.Error as exc:
            raise CatalogError(
                f"the header is not readable as CSV ({exc})",
                where=f"{self.name}:1",
                fix="check that source.path is a CSV file, and the quotes in the first line",
            ) from None
        if 1 in bad:
            raise CatalogError(
                f"the header line does not decode as {self.encoding}: {bad[1]}",
                where=f"{self.name}:1",
                fix="save the file as UTF-8, or set source.encoding (e.g. cp1252, latin-1)",
            )
        self._check_header(header)
        self._header = header
        mapper = RowMapper(self.config, header, self.name)
        self.mapper = mapper
        handover = begin(header) if begin is not None else None
        yield from self._body(reader, 0, bad, mapper, header, make, handover)

    def _body(
        self,
        reader: Any,
        before: int,
        bad: dict[int, str],
        mapper: RowMapper,
        header: list[str],
        make: _Make,
        handover: Handover | None,
    ) -> Iterator[Any]:
        """The records ``reader`` parses, its lines numbered from ``before + 1``; up to the split
        point when ``handover`` reaches it (:meth:`Handover.watch`)."""
        width = len(header)
        end = before + reader.line_num
        name = self.name
        delimiter = _show(self.delimiter or ",")
        watch = end if handover is not None else NEVER
        while True:
            if end >= watch:
                assert handover is not None
                watch = handover.watch(end)
                if handover.reached:
                    return
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = before + reader.line_num
                span = f"line {start}" if end <= start else f"lines {start}–{end}"
                yield CatalogProblem(
                    Origin(name, start),
                    f"broken row ({exc}); {span} skipped — check the quotes around values "
                    "that contain the delimiter, quotes or line breaks",
                )
                continue
            end = before + reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a record
            if bad:
                broken = [f"line {n}: {bad.pop(n)}" for n in range(start, end + 1) if n in bad]
                if broken:
                    yield CatalogProblem(
                        Origin(name, start),
                        f"not readable as {self.encoding} ({'; '.join(broken)}); row skipped — save "
                        "the file as UTF-8 or set source.encoding to its encoding (e.g. cp1252)",
                    )
                    continue
            if len(row) != width:
                yield CatalogProblem(
                    Origin(name, start),
                    f"{len(row)} values but the header has {width} columns; row skipped — check for "
                    f"a missing or extra {delimiter} (quote values that contain it)",
                )
                continue
            yield make(mapper, header, row, start)

    def _check_header(self, header: list[str]) -> None:
        seen: dict[str, int] = {}
        for position, column in enumerate(header, start=1):
            if not column:
                raise CatalogError(
                    f"header column {position} has no name",
                    where=f"{self.name}:1",
                    fix="give every column a name in the first line",
                )
            if column in seen:
                raise CatalogError(
                    f"header has the column {column!r} twice (columns {seen[column]} and {position})",
                    where=f"{self.name}:1",
                    fix="rename one of them",
                )
            seen[column] = position


def _read_tail(
    path: Path, config: SourceConfig, name: str, encoding: str, delimiter: str, header: list[str], key: bytes
) -> Iterator[Any]:
    """The helper process of a split read (:class:`~listingsync.catalog.csv_split.Handover`):
    the split point first (None when there is none), then the stamps from there on."""
    split = find_split(path, HEAD_SHARE)
    yield split
    if split is None:
        return
    source = CsvSource(path, config, name)
    source.encoding, source.delimiter, source.digest_key = encoding, delimiter, key
    yield from source._tail(split[0], split[1], header)


def _decode(line: bytes, encoding: str, named: str, number: int, bad: dict[int, str]) -> str:
    """One line decoded; one that is not valid ``encoding`` is noted in ``bad`` and replaced."""
    try:
        return line.decode(encoding)
    except UnicodeDecodeError as exc:
        bad[number] = f"byte 0x{line[exc.start]:02X} at column {exc.start + 1} is not valid {named}"
        return line.decode(named, errors="replace")


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)
