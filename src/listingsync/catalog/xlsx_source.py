"""Excel (.xlsx) catalogues, streamed with openpyxl's read-only mode (rows are parsed as read).

The sheet is ``source.sheet`` or the first one; its first non-empty row is the header. Cell values
keep their spreadsheet types (numbers stay numbers; dates become ISO 8601 text), and formulas give
their cached values. Origins read ``products.xlsx[Sheet1]:42`` (the spreadsheet row number).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from listingsync.catalog.model import CatalogProblem, Origin
from listingsync.catalog.rows import RowMapper
from listingsync.catalog.source import CatalogError, CatalogSource, Record, open_catalogue_file
from listingsync.config.source import SourceConfig

__all__ = ["XlsxSource"]


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


class XlsxSource(CatalogSource):
    def __init__(self, path: Path, config: SourceConfig, name: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.config = config
        self.file_name = name or str(path)
        self.name = self.file_name
        self.mapper: RowMapper | None = None
        self._header: list[str] = []

    def columns(self) -> list[str]:
        return list(self._header)

    def _read(self, since: str | None) -> Iterator[Record]:
        import openpyxl  # imported here: a CSV-only user never pays for it

        self.complete = True
        open_catalogue_file(self.path, self.file_name).close()  # the same errors as every file source
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise CatalogError(
                f"not a readable .xlsx workbook ({exc})",
                where=self.file_name,
                fix="save it from Excel as 'Excel Workbook (.xlsx)'; .xls and .ods are not read",
            ) from None
        try:
            if self.config.sheet is not None:
                if self.config.sheet not in book.sheetnames:
                    raise CatalogError(
                        f"source.sheet {self.config.sheet!r} is not a sheet of the workbook",
                        where=self.file_name,
                        fix=f"use one of: {', '.join(book.sheetnames)}",
                    )
                sheet = book[self.config.sheet]
            else:
                sheet = book.worksheets[0]
            self.name = f"{self.file_name}[{sheet.title}]"
            yield from self._rows(sheet.iter_rows(values_only=True))
        finally:
            book.close()

    def _rows(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[Record]:
        header: list[str] | None = None
        width = 0
        name = self.name
        mapper: RowMapper | None = None
        for number, values in enumerate(rows, start=1):
            if header is None:
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                cells = [None if v is None else str(v).strip() for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                for position, column in enumerate(cells, start=1):
                    if not column:
                        raise CatalogError(
                            f"header column {position} has no name",
                            where=f"{name}:{number}",
                            fix="give every column a name in the header row",
                        )
                header = [c for c in cells if c]
                if len(set(header)) != len(header):
                    twice = sorted({c for c in header if header.count(c) > 1})
                    raise CatalogError(
                        f"header has the column(s) {', '.join(map(repr, twice))} more than once",
                        where=f"{name}:{number}",
                        fix="rename the duplicates",
                    )
                width = len(header)
                self._header = header
                mapper = RowMapper(self.config, header, name)
                self.mapper = mapper
                continue
            assert mapper is not None
            if all(v is None for v in values):
                continue
            origin = Origin(name, number)
            extra = [i for i, v in enumerate(values[width:], start=width + 1) if v not in (None, "")]
            if extra:
                yield CatalogProblem(
                    origin,
                    f"value(s) in column(s) {', '.join(map(str, extra))} which have no header; "
                    "row skipped — give the column a name or clear the cells",
                )
                continue
            padded = list(values[:width]) + [None] * (width - len(values))
            row = {column: _cell(value) for column, value in zip(header, padded, strict=True)}
            yield mapper.product(row, origin)
        if header is None:
            raise CatalogError("the sheet is empty; its first row must be the header", where=name)
