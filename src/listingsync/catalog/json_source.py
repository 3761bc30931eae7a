"""JSON catalogues: a top-level array of objects, streamed, or JSON Lines (one object per line).

The array is read with an incremental decoder: the file is consumed in 1 MiB chunks and each
element is decoded on its own (``json.JSONDecoder.raw_decode``), so memory holds one chunk and one
element, and every record knows the line it starts on. A malformed element is reported with its
line; reading then resumes at the next element that starts a line at the same indentation (or
after the next ``},{``), so one bad record does not stop the others.

JSON Lines (``type: jsonl``, or a ``.jsonl``/``.ndjson`` file, or a file whose first character is
``{``) are decoded line by line with orjson.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import orjson

from listingsync.catalog.csv_source import detect_encoding
from listingsync.catalog.model import CatalogProblem, Origin
from listingsync.catalog.rows import RowMapper, detect_roles
from listingsync.catalog.source import (
    MAX_LINE_BYTES,
    CatalogError,
    CatalogSource,
    Record,
    open_catalogue_file,
    read_lines,
    refuse_workbook,
)
from listingsync.config.source import SourceConfig

__all__ = ["JsonSource", "iter_json_array"]

_CHUNK = 1 << 20
_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class _Malformed:
    """A JSON array element that could not be decoded."""

    __slots__ = ("line", "message")

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


class RecordTooLarge(Exception):
    """An array element (or the garbage after a malformed one) runs on past ``MAX_LINE_BYTES``."""

    def __init__(self, line: int) -> None:
        super().__init__(f"a record from line {line} on is larger than {MAX_LINE_BYTES:,} bytes")
        self.line = line


class _ArrayReader:
    """The buffer, position and line counter of :func:`iter_json_array`."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.line = 1  # the line number at ``pos``
        self.eof = False

    def fill(self) -> bool:
        """Append a chunk (dropping what was consumed); False at the end of the file."""
        if self.eof:
            return False
        chunk = self.handle.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        # Keep the current line's start (up to 1 KiB of it): resync needs the indentation.
        keep = max(self.buf.rfind("\n", 0, self.pos) + 1, self.pos - 1024, 0)
        self.buf = self.buf[keep:] + chunk
        self.pos -= keep
        return True

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def skip_ws(self) -> None:
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None
            self.advance(match.end())
            if self.pos < len(self.buf) or not self.fill():
                return

    def resync(self, element_start: int, search_from: int) -> bool:
        """Move to the next element after a malformed one; False when none is left.

        Elements of a pretty-printed array start on their own line at one indentation; a compact
        array separates them with ``},{``. A resynced element is read as if a ``,`` preceded it.
        """
        line_start = self.buf.rfind("\n", 0, element_start) + 1
        indent = self.buf[line_start:element_start]
        if indent.strip():
            pattern = re.compile(r"\}\s*,\s*(\{)")
        else:
            # The next line at the element's indentation that is not its closing bracket.
            pattern = re.compile(r"\n" + re.escape(indent) + r"([^\s}\]])")
        offset = search_from - self.pos  # fill() rebases positions; offsets from pos survive it
        while True:
            match = pattern.search(self.buf, self.pos + max(offset, 0))
            if match:
                self.advance(match.start(1))
                return True
            offset = max(len(self.buf) - self.pos - 256, 0)
            if offset > MAX_LINE_BYTES:
                raise RecordTooLarge(self.line)
            if not self.fill():
                return False


def iter_json_array(handle: TextIO) -> Iterator[tuple[int, Any] | _Malformed]:
    """``(line, value)`` for each element of the top-level array in ``handle``, streamed."""
    r = _ArrayReader(handle)
    r.fill()
    r.skip_ws()
    if r.pos >= len(r.buf) or r.buf[r.pos] != "[":
        found = repr(r.buf[r.pos]) if r.pos < len(r.buf) else "an empty file"
        yield _Malformed(r.line, f"expected a JSON array of objects ('[' first), found {found}")
        return
    r.advance(r.pos + 1)
    expect_comma = False
    while True:
        r.skip_ws()
        if r.pos >= len(r.buf):
            yield _Malformed(r.line, "the array is not closed (']' missing at the end of the file)")
            return
        char = r.buf[r.pos]
        if char == "]":
            return
        if expect_comma:
            if char != ",":
                yield _Malformed(r.line, f"expected ',' or ']' between array elements, found {char!r}")
                if not r.resync(r.pos, r.pos):
                    return
                continue
            r.advance(r.pos + 1)
            r.skip_ws()
        expect_comma = True
        if len(r.buf) - r.pos < _CHUNK // 2:
            r.fill()
        last_error: tuple[int, str] | None = None
        while True:
            try:
                value, end = _DECODER.raw_decode(r.buf, r.pos)
            except RecursionError:
                yield _Malformed(r.line, "nested too deeply (over 1,000 levels); record skipped")
                if not r.resync(r.pos, r.pos + 1):
                    return
                expect_comma = False
                break
            except json.JSONDecodeError as exc:
                if len(r.buf) - r.pos > MAX_LINE_BYTES:
                    raise RecordTooLarge(r.line) from None
                error = (exc.pos - r.pos, exc.msg)
                # The element may run past the buffer: read on while the error keeps moving.
                if error != last_error and r.fill():
                    last_error = error
                    continue
                yield _Malformed(
                    r.line + r.buf.count("\n", r.pos, exc.pos),
                    f"malformed JSON ({exc.msg}); record skipped",
                )
                if not r.resync(r.pos, exc.pos):
                    return
                expect_comma = False
                break
            start_line = r.line
            r.advance(end)
            yield start_line, value
            break


def _wrapping_key(value: Any) -> str | None:
    """The key of ``{"products": [{…}, …]}``, an export wrapping its records (``None`` otherwise)."""
    if not isinstance(value, dict) or len(value) > 3:
        return None
    for key, inner in value.items():
        if isinstance(inner, list) and inner and all(isinstance(item, dict) for item in inner):
            return str(key)
    return None


class JsonSource(CatalogSource):
    def __init__(
        self, path: Path, config: SourceConfig, name: str | None = None, *, lines: bool | None = None
    ) -> None:
        super().__init__()
        self.path = path
        self.config = config
        self.name = name or str(path)
        self.lines = lines
        self.mapper: RowMapper | None = None
        self._columns: list[str] = []
        self._known: set[str] = set()

    def columns(self) -> list[str]:
        return list(self._columns)

    def _read(self, since: str | None) -> Iterator[Record]:
        self.complete = True
        with open_catalogue_file(self.path, self.name) as handle:
            sample = handle.read(_CHUNK)
            refuse_workbook(sample, self.name, "json")
            encoding = self.config.encoding or detect_encoding(sample)
            handle.seek(0)
            lines = self.lines
            if lines is None:
                text = sample.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
                lines = self.path.suffix.lower() in (".jsonl", ".ndjson") or text.startswith("{")
                if text.startswith("{"):
                    self._check_first_object(text, whole=len(sample) < _CHUNK)
            if lines:
                yield from self._json_lines(handle, encoding)
            else:
                reader = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
                try:
                    yield from self._array(reader)
                finally:
                    reader.detach()  # the ``with`` above closes the file

    def _check_first_object(self, text: str, *, whole: bool) -> None:
        """A file starting with ``{`` must be JSON Lines: say plainly what it is when it is not."""
        first_line = text.split("\n", 1)[0].strip()
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError as exc:
            if whole and not text.strip().count("\n"):  # the whole file is this one line
                raise CatalogError(
                    f"not valid JSON ({str(exc).split(': line', 1)[0]})",
                    where=self.name,
                    fix="check that the file is complete (it may be cut short) and is one JSON array "
                    "of objects or one object per line",
                ) from None
            raise CatalogError(
                "the file starts with an object that spans several lines: expected a JSON "
                "array of objects ([{…}, {…}]) or JSON Lines (one object per line)",
                where=self.name,
                fix="put the records in a top-level array, or write one record per line",
            ) from None
        key = _wrapping_key(first)
        if key is not None and self._has_no_sku(first):
            raise CatalogError(
                f"the records are wrapped in an object, under {key!r}: expected a JSON array of "
                "objects ([{…}, {…}]) or JSON Lines (one object per line)",
                where=self.name,
                fix=f"export the array itself, e.g. jq '.{key}' {self.path.name} > products.json",
            )

    def _has_no_sku(self, record: dict[str, Any]) -> bool:
        """A record has a SKU; an object wrapping the records (``{"products": […]}``) has none."""
        try:
            detect_roles(list(record), self.config, self.name)
        except CatalogError:
            return True
        return False

    def _mapper(self, record: dict[str, Any]) -> RowMapper:
        if self.mapper is None:
            self._columns = list(record)
            self._known = set(record)
            self.mapper = RowMapper(self.config, self._columns, self.name)
        elif not record.keys() <= self._known:
            # JSON objects need not all have the same keys: a key first seen now (parent_sku on the
            # first variant, image_3 …) may play a role. Detect again over every key seen so far,
            # keeping the SKU field that earlier records were read with.
            self._columns += [k for k in record if k not in self._known]
            self._known.update(record)
            keep = self.config.model_copy(update={"sku_field": self.mapper.roles.sku})
            self.mapper = RowMapper(keep, self._columns, self.name)
        return self.mapper

    def _record(self, value: Any, origin: Origin) -> Record:
        if not isinstance(value, dict):
            kind = type(value).__name__.replace("dict", "object").replace("str", "string")
            return CatalogProblem(origin, f"expected an object for each record, found a {kind}; skipped")
        return self._mapper(value).product(value, origin)

    def _array(self, reader: io.TextIOWrapper) -> Iterator[Record]:
        try:
            for item in iter_json_array(reader):
                if isinstance(item, _Malformed):
                    yield CatalogProblem(Origin(self.name, item.line), item.message)
                    continue
                line, value = item
                yield self._record(value, Origin(self.name, line))
        except RecordTooLarge as exc:
            raise CatalogError(
                f"{exc}: this is not a catalogue record (binary data, or one huge value)",
                where=f"{self.name}:{exc.line}",
                fix="check that source.path is the catalogue export; a record must stay under "
                f"{MAX_LINE_BYTES // (1 << 20)} MiB",
            ) from None
        except UnicodeDecodeError as exc:
            raise CatalogError(
                f"not valid {reader.encoding} at byte {exc.start} of a chunk: {exc.reason}",
                where=self.name,
                fix="save the file as UTF-8 (JSON is UTF-8), or set source.encoding",
            ) from None

    def _json_lines(self, handle: Any, encoding: str) -> Iterator[Record]:
        utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        for number, raw in enumerate(read_lines(handle, self.name, bare_cr=False), start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if not raw.strip():
                continue
            origin = Origin(self.name, number)
            try:
                value = orjson.loads(raw if utf8 else raw.decode(encoding))
            except orjson.JSONDecodeError as exc:  # also bytes that are not UTF-8, and deep nesting
                reason = str(exc).split(": line", 1)[0]
                yield CatalogProblem(origin, f"malformed JSON ({reason}); line skipped")
                continue
            except UnicodeDecodeError as exc:
                yield CatalogProblem(
                    origin,
                    f"not readable as {encoding} (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); "
                    "line skipped — save the file as UTF-8 (JSON is UTF-8) or set source.encoding",
                )
                continue
            yield self._record(value, origin)
