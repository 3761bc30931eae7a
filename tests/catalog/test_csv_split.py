"""A big CSV file read on two cores (catalog/csv_split.py) gives exactly what one process gives."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from listingsync.catalog import csv_source
from listingsync.catalog.csv_source import CsvSource
from listingsync.catalog.csv_split import Handover, _breaks, find_split, splittable
from listingsync.config.source import SourceConfig

HEADER = b"sku,parent_sku,title,description\r\n"


def key_of(header: list[str]) -> bytes:
    return hashlib.blake2b(",".join(header).encode(), digest_size=32).digest()


def tricky_rows(copies: int) -> bytes:
    """Rows of every kind a reader must number and judge alike: quoted line breaks (LF, CRLF and
    a bare CR), mixed line endings, a broken quote that ends its line, a row of the wrong width,
    a byte that is not UTF-8, a blank line, duplicates, variants and their parents."""
    out = []
    for i in range(copies):
        out += [
            f'P{i},,"Shirt {i}","line one\nline two"\r\n'.encode(),
            f"V{i}-a,P{i},Shirt {i} red,plain\n".encode(),
            f'V{i}-b,P{i},"Shirt ""{i}"" blue","cr\rinside"\r'.encode(),
            f'Q{i},,"quoted, comma","crlf\r\ninside"\n'.encode(),
            b"\r\n",
            f"W{i},,too,many,cells\n".encode(),
            f"B{i},,caf".encode() + b"\xe9,not utf-8\n",
            f'X{i},,"broken "quote,here\n'.encode(),
            f"P{i},,duplicate of P{i},again\n".encode(),
            f"M{i},Nobody{i},orphan variant,\n".encode(),
        ]
    return HEADER + b"".join(out)


def source(tmp_path: Path, data: bytes, name: str, encoding: str | None = "utf-8") -> CsvSource:
    path = tmp_path / name
    path.write_bytes(data)
    return CsvSource(path, SourceConfig(type="csv", path=str(path), encoding=encoding), name="products.csv")


@pytest.fixture
def handovers(monkeypatch: pytest.MonkeyPatch) -> list[Handover]:
    """Every helper a read starts, to see whether it took the tail."""
    made: list[Handover] = []

    class Recorded(Handover):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(csv_source, "Handover", Recorded)
    monkeypatch.setattr(Handover, "patient", True)
    return made


def both(tmp_path: Path, data: bytes, encoding: str | None = "utf-8") -> tuple[list[Any], list[Any]]:
    alone = list(source(tmp_path, data, "one.csv", encoding).digests(key_of, split_from=1 << 62))
    split = list(source(tmp_path, data, "two.csv", encoding).digests(key_of, split_from=1))
    return alone, split


def test_a_split_read_gives_what_one_process_gives(tmp_path: Path, handovers: list[Handover]) -> None:
    alone, split = both(tmp_path, tricky_rows(400))
    assert [h.reached for h in handovers] == [True]  # the helper did read the tail
    assert split == alone
    problems = [item for item in alone if not isinstance(item, tuple)]
    messages = " | ".join(p.message for p in problems)
    for kind in ("duplicate SKU", "values but the header", "not readable", "broken row", "Nobody"):
        assert kind in messages
    # Problems and stamps from the helper's share, their line numbers counted from the file's start.
    line = handovers[0].line
    assert line is not None
    assert any((p.origin.line or 0) > line for p in problems)
    assert any(item[3] > line for item in alone if isinstance(item, tuple))


def test_a_broken_quote_before_the_split_point_makes_the_main_process_read_on_alone(
    tmp_path: Path, handovers: list[Handover]
) -> None:
    """An unclosed quote early on: the quote count guesses a split point inside what the reader
    takes as one record, so the reader passes it; the helper is stopped, the result the same."""
    data = tricky_rows(50) + b'Z,,"never closed,x\n' + tricky_rows(400)[len(HEADER) :]
    alone, split = both(tmp_path, data)
    assert split == alone
    assert handovers and not handovers[0].reached


def test_a_helper_that_dies_midway_leaves_the_rest_to_the_main_process(
    tmp_path: Path, handovers: list[Handover], caplog: pytest.LogCaptureFixture
) -> None:
    """Killed after its first batch arrived (more batches follow than a pipe holds): the main
    process reads the rest of the tail itself and gives what one process gives."""
    data = tricky_rows(2000)
    alone = list(source(tmp_path, data, "one.csv").digests(key_of, split_from=1 << 62))
    split: list[Any] = []
    for item in source(tmp_path, data, "two.csv").digests(key_of, split_from=1):
        split.append(item)
        helper = handovers[0]._process
        if helper is not None and helper.is_alive() and helper_took(item, handovers[0]):
            helper.kill()
            helper.join()
    assert [h.reached for h in handovers] == [True]
    assert split == alone
    assert "reading the rest in this process" in caplog.text


def helper_took(item: Any, handover: Handover) -> bool:
    line = item[3] if isinstance(item, tuple) else item.origin.line
    return handover.line is not None and line > handover.line


def test_no_split_point_means_one_process(tmp_path: Path, handovers: list[Handover]) -> None:
    """Old Mac line endings (bare CR only): no ``\\n`` to split at; read alone, the same."""
    data = HEADER.replace(b"\r\n", b"\r") + b"".join(f"S{i},,t,d\r".encode() for i in range(3000))
    alone, split = both(tmp_path, data)
    assert split == alone and len(alone) == 3000
    assert handovers and not handovers[0].reached


def test_utf16_files_are_not_split(tmp_path: Path, handovers: list[Handover]) -> None:
    data = "sku,title\n".encode("utf-16") + "".join(f"U{i},t\n" for i in range(500)).encode("utf-16-le")
    alone, split = both(tmp_path, data, encoding=None)  # detected from its BOM
    assert split == alone and len(alone) == 500
    assert handovers == []
    assert not splittable("utf-16") and splittable("utf-8-sig") and splittable("cp1252")


def test_the_split_point_starts_a_record_and_counts_lines_as_the_reader_does(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    # A quoted value with a line break straddles the middle: the split skips past it.
    path.write_bytes(b"h\r\n" + b"a\rb\r\n" + b'"x\ny"\n' + b"c\n" * 3)
    middle = len(b"h\r\na\rb\r\n") + 2  # inside the quoted value
    offset, before = find_split(path, middle / path.stat().st_size) or (0, 0)
    assert path.read_bytes()[offset:] == b"c\n" * 3
    assert before == 5  # h, a, b, and the quoted record's two lines
    # A CRLF split between two reads is one line break.
    assert _breaks(b"x\r", False) + _breaks(b"\ny\n", True) == 2
