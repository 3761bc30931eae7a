"""Pins what mapping and validation produce, byte for byte: the built attribute documents and every
issue (path, severity, code, message) of the sample catalogue and of a catalogue of deliberately odd
values, under several mappings, and the validator's issues for generated listings.

The point is to let mapping and validation be made faster without any output changing: a fast path
that rounds a number differently, orders keys differently or words an issue differently fails here,
with the SKU and the first differing line (documents are pinned by a digest of their JSON text, to
keep the file small; dump them from both versions to see the difference). The expected text (``data/golden_*.jsonl``) was written by
the code before the speed work; after a deliberate change of output, regenerate it with
``.venv/bin/python tests/mapping/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mapping_helpers import SAMPLE

from listingsync.catalog import open_source
from listingsync.config import load_config
from listingsync.mapping import BundledSchemas, MappingPipeline
from listingsync.schema import Validator, bundled_schema_files, mutate_listing, sample_listing

DATA = Path(__file__).resolve().parent / "data"

#: Odd values, one per record of the odd catalogue (the sample's rows, each with one cell changed):
#: numbers in both locales and ambiguous ones, out of range, not numbers, whole numbers written as
#: decimals, enum values by label or case, blanks, broken barcodes.
ODD_CELLS: list[tuple[str, str]] = [
    ("price", "9,90"),
    ("price", "1.234"),
    ("price", "1,234"),
    ("price", "abc"),
    ("price", "99999999999999999999"),
    ("price", " 84.82 "),
    ("price", "-3"),
    ("price", "1e3"),
    ("price", "0.125"),
    ("price", "12.500"),
    ("price", "+4.50"),
    ("price", "1 234,50"),
    ("quantity", "12.5"),
    ("quantity", "007"),
    ("quantity", "12.0"),
    ("quantity", "-0.00"),
    ("quantity", "9223372036854775808"),
    ("quantity", "922337203685477580"),
    ("weight", "1,5"),
    ("weight", ""),
    ("weight", "250.000"),
    ("weight", ".5"),
    ("weight", "0.0000001"),
    ("country_of_origin", "china"),
    ("country_of_origin", "China"),
    ("country_of_origin", "ZZ"),
    ("country_of_origin", " pt "),
    ("title_en", "   "),
    ("title_fr", ""),
    ("ean", "123"),
    ("ean", "12345678901"),
    ("ean", "3760000000018"),
    ("color_en", ""),
    ("package_length", "x"),
    ("package_width", "46.0"),
    ("list_price", "1.000.000"),
    ("list_price", "1.234,56"),
    ("list_price", "1.234.56"),
    ("handling_time", "2.0"),
    ("handling_time", "two"),
    ("size", "  45 x 45 cm  "),
    ("brand", "\u00a0"),
    ("item_type", "Throw Pillow Covers"),
    ("cost_price", "17,5"),
]

#: Mapping variants that take other paths: unit conversion, no units at all, structures mapped
#: wrongly, constants of every type, an ambiguous locale (UK + DE write numbers differently).
VARIANTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "seller-grams": (
        "listingsync-seller.yaml",
        [("units: {weight: kilograms, length: centimeters}", "units: {weight: grams, length: millimeters}")],
    ),
    "seller-no-units": (
        "listingsync-seller.yaml",
        [("units: {weight: kilograms, length: centimeters}", "units: {}")],
    ),
    "seller-odd-mapping": (
        "listingsync-seller.yaml",
        [
            (
                "    number_of_items: 1\n",
                '    number_of_items: 2.0\n    unit_count: {value: "{{ quantity }}", typo: 1}\n'
                '    item_dimensions: "{{ size }}"\n    batteries_included: "{{ category }}"\n'
                '    ships_globally: "yes"\n    gift_options: {can_be_messaged: 1}\n',
            ),
        ],
    ),
    "seller-bad-units": (
        "listingsync-seller.yaml",
        [("units: {weight: kilograms, length: centimeters}", "units: {weight: liters, length: kg}")],
    ),
    "vendor-no-units": (
        "listingsync.yaml",
        [("units: {weight: kilograms, length: centimeters}", "units: {}")],
    ),
    "vendor-uk-de": (
        "listingsync.yaml",
        [("marketplaces: [FR, DE]", "marketplaces: [UK, DE]")],
    ),
}


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")


def _odd_catalogue(directory: Path) -> None:
    """``products.csv``: the sample and its odd copies; ``variants/products.csv``: a fifth of the
    sample, the variation family and half of the odd copies (for the mapping variants)."""
    with (SAMPLE / "products.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    odd: list[dict[str, str]] = []
    for index, (column, value) in enumerate(ODD_CELLS):
        row = dict(rows[(index * 7) % len(rows)])
        row[column] = value
        row["sku"] = f"{row['sku']}-odd{index}"
        if row["parent_sku"]:
            row["parent_sku"] = f"{row['parent_sku']}-odd{index}"
        odd.append(row)
    header = list(rows[0])
    _write(directory / "products.csv", header, rows + odd)
    family = [r for r in rows if r["sku"].startswith("MD-THRW-KNIT")]
    _write(directory / "variants" / "products.csv", header, rows[::5] + family + odd[::2])


def _digest(attributes: dict[str, Any]) -> str:
    """The document's JSON text (key order, number types and float digits included), hashed."""
    return hashlib.sha256(json.dumps(attributes, ensure_ascii=False).encode()).hexdigest()[:24]


def _issue(issue: Any) -> list[str]:
    return [issue.path, issue.severity.value, issue.code, issue.message]


def mapping_lines(directory: Path) -> Iterator[str]:
    """One JSON line per record and config: the SKU, its listings' documents and issues."""
    schemas = BundledSchemas()
    configs: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("seller", "listingsync-seller.yaml", []),
        ("vendor", "listingsync.yaml", []),
    ]
    configs += [(label, name, edits) for label, (name, edits) in VARIANTS.items()]
    for label, name, edits in configs:
        text = (SAMPLE / name).read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, (label, old)
            text = text.replace(old, new)
        path = directory / (f"{label}.yaml" if not edits else f"variants/{label}.yaml")
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        source = open_source(config)
        for result in MappingPipeline(config, schemas).run(source.records(), columns=source.columns()):
            record: dict[str, Any] = {"config": label, "sku": result.sku, "origin": result.origin}
            if result.problem is not None:
                record["problem"] = str(result.problem)
            record["listings"] = [
                {
                    "marketplace": r.listing.marketplace_id,
                    "product_type": r.listing.product_type,
                    "requirements": r.listing.requirements.value,
                    "parentage": r.listing.parentage,
                    # A digest keeps the file small; the issues say in words where a change is.
                    "attributes": _digest(r.listing.attributes),
                    "issues": [_issue(i) for i in r.issues],
                }
                for r in result.listings
            ]
            yield json.dumps(record, ensure_ascii=False, sort_keys=False)


def validator_lines() -> Iterator[str]:
    """One JSON line per generated listing (valid, broken, empty) and schema: its issues (asked
    twice of the same validator: its memos must not change a second answer)."""
    for path in sorted(bundled_schema_files()):
        schema = json.loads(path.read_text("utf-8"))
        validator = Validator(schema)
        rng = random.Random(16)
        docs: list[dict[str, Any]] = [{}]
        for i in range(40):
            doc = sample_listing(schema, rng, optional=0.5)
            if i % 3 != 0:
                doc, _kind = mutate_listing(schema, doc, rng)
            docs.append(doc)
        first = [validator.issues(doc) for doc in docs]
        for index, doc in enumerate(docs):
            issues = [_issue(i) for i in validator.issues(doc)]
            assert issues == [_issue(i) for i in first[index]]
            yield json.dumps(
                {"schema": path.name, "doc": index, "valid": validator.is_valid(doc), "issues": issues},
                ensure_ascii=False,
            )


def _compare(expected_file: Path, actual: list[str]) -> None:
    expected = expected_file.read_text(encoding="utf-8").splitlines()
    for number, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        assert got == want, f"{expected_file.name} line {number} differs"
    assert len(actual) == len(expected)


def test_built_documents_and_issues_are_unchanged(tmp_path: Path) -> None:
    _odd_catalogue(tmp_path)
    _compare(DATA / "golden_mapping.jsonl", list(mapping_lines(tmp_path)))


def test_validator_issues_are_unchanged() -> None:
    _compare(DATA / "golden_validator.jsonl", list(validator_lines()))


if __name__ == "__main__":  # regenerate after a deliberate change of output (and review the diff)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _odd_catalogue(Path(tmp))
        (DATA / "golden_mapping.jsonl").write_text(
            "".join(line + "\n" for line in mapping_lines(Path(tmp))), encoding="utf-8"
        )
    (DATA / "golden_validator.jsonl").write_text(
        "".join(line + "\n" for line in validator_lines()), encoding="utf-8"
    )
