"""CSV that spreadsheets open safely: cells that would start a formula are neutralised.

A catalogue value such as ``=HYPERLINK("http://evil", "click")`` or ``@SUM(1+1)*cmd|' /C calc'!A0``
written raw into ``validate --report`` or ``status --csv`` runs as a formula when the file is opened
in Excel or LibreOffice (CSV injection). As OWASP recommends, a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'``, which spreadsheets show as text; the
csv module quotes the cell. Plain numbers (``-12.5``, ``+3``) are left alone: they are not formulas.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["SafeCsvWriter", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` / ``csv.DictWriter`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, handle: TextIO, fieldnames: list[str] | None = None) -> None:
        self._fieldnames = fieldnames
        self._writer = csv.writer(handle)

    def writeheader(self) -> None:
        assert self._fieldnames is not None
        self.writerow(self._fieldnames)

    def writerow(self, row: Iterable[Any] | dict[str, Any]) -> None:
        if isinstance(row, dict):
            assert self._fieldnames is not None
            row = [row.get(name, "") for name in self._fieldnames]
        self._writer.writerow([safe_cell(cell) for cell in row])
