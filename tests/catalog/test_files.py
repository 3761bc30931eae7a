"""CSV, XLSX, JSON and JSON Lines sources: conventions, detection, and bad input that never stops
the good records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from listingsync.catalog import (
    CatalogError,
    CatalogProblem,
    Product,
    csv_source,
    json_source,
    open_source,
    source_from_settings,
)
from listingsync.catalog.source import MAX_LINE_BYTES
from listingsync.config import parse_config
from listingsync.config.source import SourceConfig


def read(path: Path, type_: str = "csv", **settings: Any) -> tuple[list[Product], list[CatalogProblem]]:
    source = source_from_settings(SourceConfig(type=type_, path=str(path), **settings))
    products: list[Product] = []
    problems: list[CatalogProblem] = []
    for record in source.records():
        (problems if isinstance(record, CatalogProblem) else products).append(record)  # type: ignore[arg-type]
    return products, problems


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- conventions -----------------------------------------------------------------------------


def test_csv_conventions_languages_images_category_and_variants(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        "SKU;Parent SKU;title_de;title_fr;description[de_DE];weight_kg;image_2;image_1;main_image;category\n"
        "T-1;;Tisch;Table;Ein Tisch;12.5;http://i/2.jpg;http://i/1.jpg;http://i/0.jpg;Home > Furniture\n"
        "T-1-RED;T-1;Tisch rot;Table rouge;;;;;;\n",
    )
    (table, red), problems = read(path)
    assert problems == []
    assert table.sku == "T-1" and table.parent_sku is None
    assert table.localized == {"title": {"de": "Tisch", "fr": "Table"}, "description": {"de_DE": "Ein Tisch"}}
    assert table.fields["weight_kg"] == "12.5"  # a lone two-letter suffix is not a language
    assert table.images == ["http://i/0.jpg", "http://i/1.jpg", "http://i/2.jpg"]  # main, then by number
    assert table.category_path == ("Home", "Furniture")
    assert str(table.origin) == f"{path}:2"
    assert red.parent_sku == "T-1" and red.is_variant
    assert "image_1" not in red.fields and "title_de" not in red.fields
    assert red.raw["title_de"] == "Tisch rot"


def test_configured_roles_override_detection(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        "art,mother,name_en,pics,cat\nA1,,Chair,http://a|http://b,Garden/Chairs\nA2,A1,Chair 2,,\n",
    )
    (a1, a2), problems = read(
        path,
        sku_field="art",
        parent_field="mother",
        image_fields=["pics"],
        category_field="cat",
        languages=["en"],
    )
    assert problems == []
    assert a1.images == ["http://a", "http://b"]
    assert a1.category_path == ("Garden", "Chairs")
    assert a1.localized == {"name": {"en": "Chair"}}
    assert a2.parent_sku == "A1"


def test_variant_sku_layout_rows_repeat_the_product_sku(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,variant_sku,color\nP1,,\nP1,P1-RED,red\nP1,P1-BLUE,blue\n")
    products, problems = read(path)
    assert problems == []
    assert [(p.sku, p.parent_sku) for p in products] == [("P1", None), ("P1-RED", "P1"), ("P1-BLUE", "P1")]


def test_deleted_rows_are_deletions(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,status\nA,active\nB,deleted\n")
    products, _ = read(path)
    assert [p.is_deleted for p in products] == [False, True]


def test_no_sku_column_is_unusable_and_names_the_columns_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "name,price\nChair,10\n")
    with pytest.raises(CatalogError) as info:
        read(path)
    assert "no SKU column" in str(info.value)
    assert "source.sku_field" in str(info.value) and "name, price" in str(info.value)
    with pytest.raises(CatalogError, match=r"source\.sku_field names the column 'ref'"):
        read(path, sku_field="ref")


def test_source_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, "cat.csv", "sku\nX1\n")
    config = parse_config(
        "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE]}\n"
        "source: {type: csv, path: cat.csv}\n",
        base_dir=tmp_path,
    )
    assert [r.sku for r in open_source(config).records() if isinstance(r, Product)] == ["X1"]


def test_missing_file_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="catalogue file not found"):
        read(tmp_path / "nope.csv")


# --- encodings and delimiters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("sku;title_de;title_fr\nA;Größe;Taille\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "sku;title_de;title_fr\nA;Größe;Taille\n".encode(), "utf-8-sig"),
        ("sku;title_de;title_fr\nA;Größe;Taille\n".encode("cp1252"), "cp1252"),
        ("sku\ttitle_de\ttitle_fr\nA\tGröße\tTaille\n".encode("utf-16"), "utf-16"),
    ],
)
def test_encoding_and_delimiter_are_detected(tmp_path: Path, raw: bytes, encoding: str) -> None:
    path = write(tmp_path, "p.csv", raw)
    source = source_from_settings(SourceConfig(type="csv", path=str(path)))
    (product,) = list(source.records())
    assert isinstance(product, Product)
    assert product.sku == "A"  # the BOM did not end up in the first column's name
    assert product.localized == {"title": {"de": "Größe", "fr": "Taille"}}
    assert source.encoding == encoding  # type: ignore[attr-defined]


def test_encoding_override(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,name\nA,café\n".encode("latin-1"))
    (product,), _ = read(path, encoding="latin-1", delimiter=",")
    assert product.fields["name"] == "café"


def test_a_line_in_another_encoding_is_reported_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample (1 MiB, here 40 bytes) is UTF-8, so UTF-8 is chosen; a cp1252 line further down
    # does not decode.
    monkeypatch.setattr(csv_source, "_SAMPLE", 40)
    good = "".join(f"S{i},Grüße {i}\n" for i in range(3))
    raw = ("sku,name\n" + good).encode() + "BAD,Größe\n".encode("cp1252") + b"LAST,ok\n"
    path = write(tmp_path, "p.csv", raw)
    products, problems = read(path)
    assert [p.sku for p in products] == ["S0", "S1", "S2", "LAST"]
    (problem,) = problems
    assert str(problem.origin) == f"{path}:5"
    assert "not readable as utf-8" in problem.message and "0xF6" in problem.message
    assert "source.encoding" in problem.message


# --- broken rows and cross-record checks -----------------------------------------------------


def test_broken_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        'sku,name,price\nA,Chair,10\nB,"Table" top,20\nC,Lamp\nD,"Desk, oak",30\nE,Sofa,40,extra\nF,Bed,50\n',
    )
    products, problems = read(path)
    assert [p.sku for p in products] == ["A", "D", "F"]
    assert products[1].fields["name"] == "Desk, oak"
    where = {str(p.origin): p.message for p in problems}
    assert "',' expected after '\"'" in where[f"{path}:3"]
    assert "2 values but the header has 3 columns" in where[f"{path}:4"]
    assert "4 values but the header has 3 columns" in where[f"{path}:6"]


def test_quoted_newlines_keep_the_record_start_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", 'sku,notes\nA,"two\nlines"\nB,x\nB,dup\n')
    products, problems = read(path)
    assert [str(p.origin) for p in products] == [f"{path}:2", f"{path}:4"]
    assert str(problems[0].origin) == f"{path}:5"


def test_duplicate_sku_is_reported_once_with_both_places(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,name\nA,first\nB,b\nA,second\n")
    products, problems = read(path)
    assert [(p.sku, p.fields["name"]) for p in products] == [("A", "first"), ("B", "b")]
    (problem,) = problems
    assert problem.sku == "A" and str(problem.origin) == f"{path}:4"
    assert f"duplicate SKU 'A': {path}:2 has the same SKU" in problem.message


def test_child_whose_parent_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,parent_sku\nC1,P9\nP1,\nC2,P1\n")
    products, problems = read(path)
    assert [p.sku for p in products] == ["C1", "P1", "C2"]  # nothing dropped silently
    (problem,) = problems
    assert problem.sku == "C1" and str(problem.origin) == f"{path}:2"
    assert "parent SKU 'P9' is not in the catalogue" in problem.message


def test_child_before_its_parent_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,parent_sku\nC1,P1\nP1,\n")
    _, problems = read(path)
    assert problems == []


def test_parent_cycle_is_reported_and_closing_record_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,parent_sku\nA,B\nOK,\nB,C\nC,A\nSELF,SELF\n")
    products, problems = read(path)
    assert [p.sku for p in products] == ["A", "OK", "B"]
    messages = [p.message for p in problems]
    assert any("parent cycle C → A → B → C" in m for m in messages)
    assert any("parent cycle SELF → SELF" in m for m in messages)
    # B's parent C closed the cycle and was left out, so B is reported too, naming why.
    assert any(p.sku == "B" and "its parent 'C' was left out" in p.message for p in problems)


def test_missing_sku_in_a_row(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "sku,name\n,orphan\nA,ok\n")
    products, problems = read(path)
    assert [p.sku for p in products] == ["A"]
    assert str(problems[0].origin) == f"{path}:2" and "no SKU" in problems[0].message


# --- XLSX ------------------------------------------------------------------------------------


def make_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_sheet_by_name_types_kept_and_row_numbers(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "p.xlsx",
        {
            "Notes": [["nothing here"]],
            "Products": [
                [],
                ["sku", "ean", "price", "title_de", "title_fr"],
                ["A", 4006381333931, 9.9, "Stuhl", "Chaise"],
                ["B", None, 5, None, None, "stray"],
                ["C", 123, 1.5, None, None],
            ],
        },
    )
    products, problems = read(path, "xlsx", sheet="Products")
    assert [p.sku for p in products] == ["A", "C"]
    assert products[0].fields["ean"] == 4006381333931 and products[0].fields["price"] == 9.9
    assert products[0].localized == {"title": {"de": "Stuhl", "fr": "Chaise"}}
    assert str(products[0].origin) == f"{path}[Products]:3"
    (problem,) = problems
    assert (
        str(problem.origin) == f"{path}[Products]:4" and "column(s) 6 which have no header" in problem.message
    )


def test_xlsx_first_sheet_by_default_and_unknown_sheet(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "p.xlsx", {"One": [["sku"], ["X"]], "Two": [["sku"], ["Y"]]})
    products, _ = read(path, "xlsx")
    assert [p.sku for p in products] == ["X"]
    with pytest.raises(CatalogError, match=r"source\.sheet 'Three' is not a sheet") as info:
        read(path, "xlsx", sheet="Three")
    assert "One, Two" in str(info.value)


def test_not_an_xlsx_file(tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx", "sku\nA\n")
    with pytest.raises(CatalogError, match=r"not a readable \.xlsx workbook"):
        read(path, "xlsx")


# --- JSON and JSON Lines ---------------------------------------------------------------------


def test_json_array_streams_with_lines_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_source, "_CHUNK", 64)  # force many refills, elements cut mid-way
    records = [
        {"sku": f"S{i}", "title": {"de": f"Titel {i}", "fr": f"Titre {i}"}, "images": [f"http://i/{i}.jpg"]}
        for i in range(40)
    ]
    path = write(tmp_path, "p.json", json.dumps(records, indent=2, ensure_ascii=False))
    products, problems = read(path, "json")
    assert problems == []
    assert [p.sku for p in products] == [f"S{i}" for i in range(40)]
    assert products[7].localized == {"title": {"de": "Titel 7", "fr": "Titre 7"}}
    assert products[7].images == ["http://i/7.jpg"]
    text = path.read_text()
    start = text.rindex("{", 0, text.index('"S7"'))  # the element's opening brace
    assert str(products[7].origin) == f"{path}:{text[:start].count(chr(10)) + 1}"


def test_json_malformed_element_is_skipped_and_reading_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_source, "_CHUNK", 32)
    path = write(
        tmp_path,
        "p.json",
        '[\n  {"sku": "A"},\n  {"sku": "B", "name": },\n  "just text",\n  {"sku": "C",\n   "parent_sku": "A"}\n]\n',
    )
    products, problems = read(path, "json")
    assert [(p.sku, p.parent_sku) for p in products] == [("A", None), ("C", "A")]
    assert [(p.origin.line, p.message.split(" (")[0]) for p in problems] == [
        (3, "malformed JSON"),
        (4, "expected an object for each record, found a string; skipped"),
    ]


def test_json_compact_array_and_unclosed_array(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '[{"sku":"A"},{"sku":"B","x":tru},{"sku":"C"}')
    products, problems = read(path, "json")
    assert [p.sku for p in products] == ["A", "C"]
    assert "malformed JSON" in problems[0].message
    assert "not closed" in problems[-1].message


def test_json_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.jsonl",
        '{"sku": "A", "name": {"en": "Chair", "de": "Stuhl"}}\n\n{"sku": "B", oops}\n[1]\n{"sku": "C", "parent_sku": "A"}\n',
    )
    products, problems = read(path, "json")
    assert [p.sku for p in products] == ["A", "C"]
    assert products[0].localized == {"name": {"en": "Chair", "de": "Stuhl"}}
    assert [(str(p.origin), p.message.split(" (")[0]) for p in problems] == [
        (f"{path}:3", "malformed JSON"),
        (f"{path}:4", "expected an object for each record, found a list; skipped"),
    ]


def test_missing_parents_are_only_judged_on_a_whole_catalogue() -> None:
    from listingsync.catalog import CrossRecordChecker, Origin

    def stream() -> list[Product]:
        return [Product("C1", Origin("delta", record_id="1"), parent_sku="P1")]

    partial = list(CrossRecordChecker().check(stream(), whole=lambda: False))
    assert [type(r).__name__ for r in partial] == ["Product"]
    whole = list(CrossRecordChecker().check(stream()))
    assert [type(r).__name__ for r in whole] == ["Product", "CatalogProblem"]


def test_old_excel_format_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "p.xls", b"\xd0\xcf\x11\xe0 not a zip")
    with pytest.raises(CatalogError) as info:
        read(path, "xlsx")
    assert "not a readable .xlsx workbook" in str(info.value) and "Excel Workbook (.xlsx)" in str(info.value)


def test_a_single_wrapped_object_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{\n  "products": [{"sku": "A"}]\n}\n')
    with pytest.raises(CatalogError, match="expected a JSON array of objects") as info:
        read(path, "json")
    assert "top-level array" in str(info.value)


def test_a_one_line_wrapped_object_names_the_key_holding_the_records(tmp_path: Path) -> None:
    """On one line it used to read as JSON Lines: 'no SKU column found; columns are: products'."""
    path = write(tmp_path, "p.json", '{"products": [{"sku": "A"}, {"sku": "B"}], "count": 2}\n')
    with pytest.raises(CatalogError) as info:
        read(path, "json")
    text = str(info.value)
    assert "wrapped in an object, under 'products'" in text and "jq '.products' p.json" in text


def test_a_file_cut_short_on_its_one_line_says_not_valid_json(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"products": [{"sku": "A"\n')
    with pytest.raises(CatalogError, match=r"not valid JSON \(") as info:
        read(path, "json")
    assert "spans several lines" not in str(info.value) and "cut short" in str(info.value)


def test_json_lines_whose_records_hold_lists_of_objects_are_not_wrappers(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"sku": "A", "images": [{"url": "u"}]}\n{"sku": "B"}\n')
    products, problems = read(path, "json")
    assert [p.sku for p in products] == ["A", "B"] and not problems


@pytest.mark.parametrize(
    ("columns", "languages", "expected"),
    [
        (["sku", "weight_kg", "size_cm"], None, {}),  # a lone suffix is not a language
        (["sku", "product_id", "category_id"], None, {}),  # "id" is ambiguous: never guessed
        (["sku", "name_it", "desc_it"], None, {"name_it": ("name", "it"), "desc_it": ("desc", "it")}),
        (["sku", "title_no", "item_no"], ["no"], {"title_no": ("title", "no"), "item_no": ("item", "no")}),
        (["sku", "title_de", "title_fr"], ["de"], {"title_de": ("title", "de")}),
        (["sku", "title_de-DE"], None, {"title_de-DE": ("title", "de-DE")}),
        # Units that are also ISO 639-1 codes (Kongo, Malayalam, Luxembourgish) are not languages ...
        (["sku", "product_weight_kg", "package_weight_kg", "volume_ml", "pack_ml", "weight_lb"], None, {}),
        # ... unless the catalogue says so, or writes them in bracket form.
        (["sku", "title_kg", "text_kg"], ["kg"], {"title_kg": ("title", "kg"), "text_kg": ("text", "kg")}),
        (["sku", "title[cs]"], None, {"title[cs]": ("title", "cs")}),
    ],
)
def test_language_columns_detection(
    columns: list[str], languages: list[str] | None, expected: dict[str, Any]
) -> None:
    from listingsync.catalog.rows import detect_roles

    settings = SourceConfig(type="csv", path="x.csv", languages=languages)
    assert dict(detect_roles(columns, settings, "x.csv").localized) == expected


@pytest.mark.parametrize("type_", ["csv", "json"])
@pytest.mark.parametrize(
    ("content", "expected", "fix"),
    [
        (b"PK\x03\x04\x14\x00binary zip body\n\x00\x01", "an Excel workbook (.xlsx)", "source.type: xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 ole body", "an old Excel file (.xls)", "Excel Workbook (.xlsx)"),
    ],
)
def test_a_workbook_given_to_a_text_source_says_so(
    tmp_path: Path, type_: str, content: bytes, expected: str, fix: str
) -> None:
    """A CSV source given an .xlsx used to die in the csv module with a traceback."""
    path = write(tmp_path, "products.xlsx", content)
    with pytest.raises(CatalogError) as info:
        read(path, type_)
    assert f"source.type is {type_}, but this file is {expected}" in str(info.value)
    assert fix in str(info.value)


def test_a_header_the_csv_reader_rejects_is_a_named_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", 'sku,"ti"tle\nA,b\n')
    with pytest.raises(CatalogError, match=r"p.csv:1: the header is not readable as CSV"):
        read(path)


# --- line endings, size caps, hostile files (issue 14 items 9, 10, 11) --------------------------


def test_csv_rows_ending_in_cr_lf_and_crlf_in_one_file_are_all_read(tmp_path: Path) -> None:
    rows = [f"SKU-{i},Title {i}" for i in range(62)]
    endings = ["\r", "\n", "\r\n"]
    body = "sku,title\n" + "".join(row + endings[i % 3] for i, row in enumerate(rows))
    products, problems = read(write(tmp_path, "mixed.csv", body))
    assert problems == [] and [p.sku for p in products] == [f"SKU-{i}" for i in range(62)]
    assert [p.origin.line for p in products][:4] == [2, 3, 4, 5]  # a bare CR ends a line too
    quoted = write(tmp_path, "q.csv", 'sku,title\r"A-1","two\rlines"\r"A-2","x"')
    products, problems = read(quoted)
    assert problems == [] and [p.sku for p in products] == ["A-1", "A-2"]
    assert products[0].fields["title"] == "two\rlines"  # a CR inside quotes stays in the value


def test_utf16_csv_with_bare_cr_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "sku\ttitle\rA-1\tÉté\rA-2\tx\r\n".encode("utf-16"))
    products, problems = read(path)
    assert problems == [] and [(p.sku, p.fields["title"]) for p in products] == [("A-1", "Été"), ("A-2", "x")]


def _peak_memory(call: Any) -> tuple[Any, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            result: Any = call()
        except CatalogError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("name", "type_", "line"), [("big.csv", "csv", 2), ("big.jsonl", "jsonl", 2)])
def test_a_line_over_the_cap_stops_with_its_line_in_bounded_memory(
    tmp_path: Path, name: str, type_: str, line: int
) -> None:
    cap = MAX_LINE_BYTES
    path = tmp_path / name
    with path.open("wb") as handle:  # a header, then 3 × the cap without a line break
        handle.write(b"sku,title\n" if type_ == "csv" else b'{"sku": "A"}\n')
        for _ in range(3 * cap // (1 << 20)):
            handle.write(b"A" * (1 << 20))
    error, peak = _peak_memory(lambda: read(path, type_))
    assert isinstance(error, CatalogError)
    assert f"{path}:{line}: line {line} is longer than {cap:,} bytes" in str(error)
    assert peak < 4 * cap  # never the whole file


def test_a_json_record_over_the_cap_stops_with_its_line(tmp_path: Path) -> None:
    cap = MAX_LINE_BYTES
    path = write(tmp_path, "big.json", b'[{"sku": "A"},\n {"sku": "' + b"A" * (2 * cap) + b'"}]')
    error, peak = _peak_memory(lambda: read(path, "json"))
    assert isinstance(error, CatalogError) and f"{path}:2: a record from line 2 on is larger" in str(error)
    assert peak < 6 * cap


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_fifo_or_a_device_as_the_source_is_refused_not_read_for_ever(tmp_path: Path, special: str) -> None:
    import os

    path = Path(special)
    if special == "fifo":
        path = tmp_path / "products.csv"
        os.mkfifo(path)  # opening it would wait for a writer for ever
    kind = "a named pipe (FIFO)" if special == "fifo" else "a device or socket"
    for type_ in ("csv", "json", "xlsx"):
        with pytest.raises(CatalogError, match=rf"source.path is {re.escape(kind)}, not a regular file"):
            read(path, type_)


def test_binary_jsonl_and_deeply_nested_json_are_problems_not_tracebacks(tmp_path: Path) -> None:
    binary = write(tmp_path, "bin.jsonl", b'{"sku": "A-1"}\n\x81\x9d\xff\x00garbage\n{"sku": "A-2"}\n')
    products, problems = read(binary, "jsonl", encoding="cp1252")
    assert [p.sku for p in products] == ["A-1", "A-2"]
    assert len(problems) == 1 and "not readable as cp1252 (byte 0x81 at column 1)" in problems[0].message
    products, problems = read(binary, "jsonl")  # detected: not UTF-8 → cp1252, same outcome
    assert [p.sku for p in products] == ["A-1", "A-2"] and len(problems) == 1

    deep = write(tmp_path, "deep.json", '[{"sku": "A-1"},\n' + "[" * 200_000 + "\n]")
    products, problems = read(deep, "json")
    assert [p.sku for p in products] == ["A-1"]
    assert [(p.origin.line, p.message) for p in problems] == [
        (2, "nested too deeply (over 1,000 levels); record skipped")
    ]
    deep_lines = write(tmp_path, "deep.jsonl", '{"sku": "A-1"}\n' + "[" * 200_000 + "\n")
    products, problems = read(deep_lines, "jsonl")
    assert [p.sku for p in products] == ["A-1"] and "line skipped" in problems[0].message


def test_weight_in_kg_on_two_columns_stays_two_plain_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.csv",
        "sku,title_de,title_fr,product_weight_kg,package_weight_kg\nA,Tisch,Table,9.5,10.2\n",
    )
    (product,), _ = read(path)
    assert product.fields["product_weight_kg"] == "9.5" and product.fields["package_weight_kg"] == "10.2"
    assert set(product.localized) == {"title"}


def test_a_json_object_keyed_by_units_is_not_per_language_text(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.json", json.dumps([{"sku": "A", "weight": {"kg": 1.2, "lb": 2.6}, "title": {"de": "T"}}])
    )
    (product,), _ = read(path, "json")
    assert product.localized == {"title": {"de": "T"}}
    assert product.fields["weight"] == {"kg": 1.2, "lb": 2.6}
