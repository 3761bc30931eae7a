"""Numbers written as text in the catalogue's locale (issue 14 item 2).

Before: ``1.234,56`` became 1.23456 and ``1,234`` (US thousands) 1.234, silently sent.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from mapping_helpers import FR, product

from listingsync.config import parse_config
from listingsync.mapping import BundledSchemas, ListingBuilder
from listingsync.mapping.numbers import AmbiguousNumber, decimal_separator_for, parse_number


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("1.234,56", ",", "1234.56"),
        ("1.234,56", None, "1234.56"),  # both marks: the last is the decimal one
        ("1,234.56", None, "1234.56"),
        ("1,234", ",", "1.234"),
        ("1,234", ".", "1234"),
        ("1.234", ",", "1234"),
        ("1.234", ".", "1.234"),
        ("9,90", None, "9.90"),  # not three digits after it: a decimal mark in any locale
        ("84.82", ",", "84.82"),
        ("0,125", None, "0.125"),  # a leading 0 group is never thousands
        ("1234.567", None, "1234.567"),  # four digits before it: not a thousands group
        ("1.234.567", None, "1234567"),
        ("1 234,5", ",", "1234.5"),
        ("-1.234,5", None, "-1234.5"),
        ("12", None, "12"),
        (12.5, None, "12.5"),
    ],
)
def test_reads_what_has_one_reading(text: object, separator: str | None, expected: str) -> None:
    assert parse_number(text, separator) == Decimal(expected)


@pytest.mark.parametrize("text", ["1,234", "1.234", "-12,500"])
def test_refuses_what_only_the_locale_could_tell(text: str) -> None:
    with pytest.raises(AmbiguousNumber):
        parse_number(text, None)


@pytest.mark.parametrize("text", ["12.34,5", "1,23.4", "abc", "1,2,3.4.5", ""])
def test_misplaced_separators_are_no_number(text: str) -> None:
    assert parse_number(text, ",") is None


def test_separator_from_the_marketplaces() -> None:
    assert decimal_separator_for(["de_DE", "fr_FR"]) == ","
    assert decimal_separator_for(["en_US", "es_MX"]) == "."
    assert decimal_separator_for(["en_GB", "de_DE"]) is None
    assert decimal_separator_for(["en_ZA"]) is None


BASIC = """\
listings:
  product_type: HOME
  attributes:
    item_name: "{{ title }}"
    brand: "{{ brand }}"
"""


def _price(marketplaces: str, price: str, separator: str = "") -> tuple[object, list[str]]:
    source = f"source: {{type: csv, path: p.csv, decimal_separator: '{separator}'}}\n" if separator else ""
    cfg = parse_config(
        f"account: {{type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: {marketplaces}}}\n"
        + source
        + BASIC
    )
    builder = ListingBuilder(cfg, BundledSchemas())
    fields = {"title": "Vase", "brand": "Acme", "price": price, "quantity": "1", "ean": "4006381333931"}
    listing = next(lst for lst in builder.build(product(fields=fields)) if lst.marketplace_id == FR)
    offer = listing.attributes.get("purchasable_offer")
    value = offer[0]["our_price"][0]["schedule"][0]["value_with_tax"] if offer else None
    return value, [f"{i.code} {i.path}: {i.message}" for i in listing.build_issues]


def test_a_german_price_in_a_comma_locale() -> None:
    assert _price("[FR, DE]", "1.234,56") == (1234.56, [])
    assert _price("[FR, DE]", "1,234")[0] == 1.234


def test_an_ambiguous_price_is_refused_with_the_fix() -> None:
    value, issues = _price("[GB, FR]", "1,234")  # en_GB and fr_FR write numbers differently
    assert value is None
    (issue,) = [i for i in issues if i.startswith("LS-MAP-AMBIGUOUS-NUMBER")]
    assert "'1,234'" in issue and "1.234" in issue and "1234" in issue
    assert "source.decimal_separator" in issue and "purchasable_offer" in issue
    # Told the catalogue's separator, the same value is read.
    assert _price("[GB, FR]", "1,234", separator=".") == (1234, [])
