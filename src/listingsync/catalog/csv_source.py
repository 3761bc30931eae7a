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
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

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

__all__ = ["CheckVerdicts", "CsvSource", "RowStamp", "detect_delimiter", "detect_encoding"]

#: What :meth:`CsvSource.scan` gives for a record it did not build a product of:
#: ``(sku, parent_sku, deleted, line, cells)``.
RowStamp = tuple[str, str | None, bool, int, list[str]]
#: Builds what a row yields: ``(mapper, header, cells, line) -> record``.
_Make = Callable[[RowMapper, list[str], list[str], int], Any]

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
        checker = CrossRecordChecker()
        admit = checker.admit_key
        name = self.name
        for position, item in enumerate(self._read_rows(self._stamp)):
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

    def _read_rows(self, make: _Make) -> Iterator[Any]:
        self.complete = True
        with open_catalogue_file(self.path, self.name) as handle:
            sample = handle.read(_SAMPLE)
            handle.seek(0)
            refuse_workbook(sample, self.name, "csv")
            if self.encoding is None:
                self.encoding = detect_encoding(sample)
            bad_lines: dict[int, str] = {}
            lines = self._decoded_lines(handle, self.encoding, bad_lines)
            yield from self._rows(lines, bad_lines, make)

    def _decoded_lines(self, handle: BinaryIO, encoding: str, bad: dict[int, str]) -> Iterator[str]:
        """Decoded lines, ended by CRLF, LF or a bare CR; a line that does not decode is noted in
        ``bad`` and passed on replaced."""
        source: Readable = handle
        if codecs.lookup(encoding).name.startswith("utf-16"):
            # UTF-16 cannot be split on b"\n": transcode it to UTF-8 as it is read.
            source = codecs.EncodedFile(handle, "utf-8", encoding, errors="replace")
            encoding = "utf-8"
        # Chained in C from a chunk's lines at a time: a million rows resume no Python frame per line.
        return itertools.chain.from_iterable(self._decoded_chunks(source, encoding, bad))

    def _decoded_chunks(self, source: Readable, encoding: str, bad: dict[int, str]) -> Iterator[list[str]]:
        first_encoding = encoding  # the first line may start with a BOM (utf-8-sig)
        encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        number = 0  # lines before this chunk
        for raw in read_line_chunks(source, self.name):
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

    def _rows(self, lines: Iterator[str], bad: dict[int, str], make: _Make) -> Iterator[Any]:
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
        width = len(header)
        end = reader.line_num
        name = self.name
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                span = f"line {start}" if end <= start else f"lines {start}–{end}"
                yield CatalogProblem(
                    Origin(name, start),
                    f"broken row ({exc}); {span} skipped — check the quotes around values "
                    "that contain the delimiter, quotes or line breaks",
                )
                continue
            end = reader.line_num
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
                    f"a missing or extra {_show(self.delimiter)} (quote values that contain it)",
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


def _decode(line: bytes, encoding: str, named: str, number: int, bad: dict[int, str]) -> str:
    """One line decoded; one that is not valid ``encoding`` is noted in ``bad`` and replaced."""
    try:
        return line.decode(encoding)
    except UnicodeDecodeError as exc:
        bad[number] = f"byte 0x{line[exc.start]:02X} at column {exc.start + 1} is not valid {named}"
        return line.decode(named, errors="replace")


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)
