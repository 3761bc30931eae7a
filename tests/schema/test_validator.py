"""The fast validator: every issue, Amazon's vocabulary, plain messages, codes, no network."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from listingsync.errors import ListingSyncError
from listingsync.schema import Severity, Validator, bundled_schema_files, mutate_listing, sample_listing
from listingsync.schema.validator import META_SCHEMA_ID

HOME = next(p for p in bundled_schema_files() if p.name == "HOME.json")
US = "ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def home() -> Validator:
    return Validator.from_file(HOME)


@pytest.fixture(scope="module")
def home_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(HOME.read_text("utf-8"))
    return schema


def _entry(value: Any, **extra: Any) -> list[dict[str, Any]]:
    return [{"value": value, "marketplace_id": US, **extra}]


def _small(**title: Any) -> dict[str, Any]:
    """A tiny product type schema in Amazon's dialect: one localised, selector-keyed attribute."""
    value = {"type": "string", "maxLength": 10, "maxUtf8ByteLength": 10, **title.pop("value", {})}
    return {
        "$schema": META_SCHEMA_ID,
        "$id": "https://schemas.amazon.com/selling-partners/definitions/product-types/schema/v1/SMALL",
        "type": "object",
        "required": ["title"],
        "properties": {
            "title": {
                "type": "array",
                "minItems": 1,
                "minUniqueItems": 1,
                "maxUniqueItems": 1,
                "selectors": ["marketplace_id", "language_tag"],
                "items": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "value": value,
                        "language_tag": {"type": "string"},
                        "marketplace_id": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                **title,
            }
        },
        "additionalProperties": False,
    }


def test_missing_required_attribute_uses_amazons_code_and_names_the_attribute(home: Validator) -> None:
    issues = home.issues({})
    brand = [i for i in issues if i.path == "/brand"]
    assert len(brand) == 1
    assert brand[0].code == "90220" and brand[0].severity is Severity.ERROR
    assert brand[0].message == "'brand' is required but not supplied"
    assert brand[0].attribute == "brand"
    # Every issue, sorted by path.
    assert len({i.attribute for i in issues}) >= 7
    assert [i.path for i in issues] == sorted(i.path for i in issues)


def test_conditional_requirement_names_its_condition(home: Validator, home_schema: dict[str, Any]) -> None:
    doc = sample_listing(home_schema, random.Random(4), parentage="child")
    doc.pop("child_parent_sku_relationship")
    [issue] = [i for i in home.issues(doc) if i.attribute == "child_parent_sku_relationship"]
    assert issue.code == "90220"
    assert "required because parentage_level is given" in issue.message

    parent = sample_listing(home_schema, random.Random(5), parentage="child")
    parent.pop("manufacturer", None)
    [issue] = [i for i in home.issues(parent) if i.attribute == "manufacturer"]
    assert "because parentage_level is not parent" in issue.message


def test_wrong_enum_shows_the_allowed_values_with_their_labels(home: Validator) -> None:
    [issue] = [
        i for i in home.issues({"condition_type": _entry("brand_new")}) if i.attribute == "condition_type"
    ]
    assert issue.path == "/condition_type/0/value" and issue.code == "LS-ENUM"
    assert "'brand_new' is not an allowed value" in issue.message
    assert "new_new (New)" in issue.message and "used_like_new (Used - Like New)" in issue.message


def test_wrong_type_is_plain(home: Validator) -> None:
    [issue] = [i for i in home.issues({"bullet_point": "soft"}) if i.attribute == "bullet_point"]
    assert issue.message == "must be array, not string" and issue.code == "LS-TYPE"


def test_utf8_byte_length_is_checked_in_bytes_not_characters() -> None:
    v = Validator(_small())
    assert not v.issues({"title": [{"value": "abcdefghij", "marketplace_id": US}]})
    [issue] = v.issues({"title": [{"value": "ééééé é", "marketplace_id": US}]})  # 7 chars, 13 bytes
    assert issue.path == "/title/0/value" and issue.code == "LS-MAX-UTF8-BYTES"
    assert "13 bytes" in issue.message and "at most 10" in issue.message


def test_selectors_limit_each_combination_not_the_array() -> None:
    v = Validator(_small())
    de = {"value": "Titel", "marketplace_id": "A1PA6795UKMFR9", "language_tag": "de_DE"}
    en = {"value": "Title", "marketplace_id": "A1PA6795UKMFR9", "language_tag": "en_GB"}
    assert not v.issues({"title": [de, en]})
    [issue] = v.issues({"title": [de, en, dict(de, value="Zweiter")]})
    assert issue.path == "/title" and issue.code == "LS-MAX-UNIQUE-ITEMS"
    assert "language_tag=de_DE" in issue.message and "at most 1 time" in issue.message


def test_deprecated_enum_value_is_a_warning_not_an_error(
    home: Validator, home_schema: dict[str, Any]
) -> None:
    doc = sample_listing(home_schema, random.Random(9), parentage="parent")
    doc["variation_theme"] = [{"name": "COLOR_NAME"}]
    issues = [i for i in home.issues(doc) if i.attribute == "variation_theme"]
    assert [(i.severity, i.code) for i in issues] == [(Severity.WARNING, "LS-ENUM-DEPRECATED")]
    assert home.is_valid(doc)


def test_keywords_inside_a_conditional_fall_back_to_rust_side_keywords() -> None:
    schema = _small()
    schema["properties"]["mode"] = {"type": "string"}
    schema["allOf"] = [
        {
            "if": {"required": ["mode"], "properties": {"mode": {"const": "strict"}}},
            "then": {"properties": {"title": {"maxUniqueItems": 1, "selectors": ["marketplace_id"]}}},
        }
    ]
    schema["properties"]["title"].pop("maxUniqueItems")
    v = Validator(schema)
    assert v.vocabulary_mode == "rust"
    two = [
        {"value": "a", "marketplace_id": US, "language_tag": "en_US"},
        {"value": "b", "marketplace_id": US},
    ]
    assert v.is_valid({"title": two})
    [issue] = v.issues({"title": two, "mode": "strict"})
    assert issue.code == "LS-MAX-UNIQUE-ITEMS" and "because mode is strict" in issue.message
    with pytest.raises(ValueError, match="conditionals"):
        Validator(schema, vocabulary="python")


def test_python_and_rust_vocabulary_modes_agree(home_schema: dict[str, Any]) -> None:
    fast, rust = Validator(home_schema), Validator(home_schema, vocabulary="rust")
    assert (fast.vocabulary_mode, rust.vocabulary_mode) == ("python", "rust")
    rng = random.Random(11)
    for _ in range(60):
        doc = sample_listing(home_schema, rng)
        broken, _kind = mutate_listing(home_schema, doc, rng)
        for candidate in (doc, broken):
            assert set(fast.issues(candidate)) == set(rust.issues(candidate))


def test_external_references_are_never_fetched() -> None:
    schema = _small()
    schema["properties"]["title"]["items"]["properties"]["value"] = {
        "$ref": "https://example.com/remote.json"
    }
    with pytest.raises(ListingSyncError, match="cannot be compiled"):
        Validator(schema)


def test_from_file_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "HOME.json"
    bad.write_text("{not json", "utf-8")
    with pytest.raises(ListingSyncError) as error:
        Validator.from_file(bad)
    assert error.value.where == str(bad)


def test_one_bad_attribute_does_not_hide_the_others(home: Validator, home_schema: dict[str, Any]) -> None:
    doc = copy.deepcopy(sample_listing(home_schema, random.Random(2)))
    doc["condition_type"] = _entry("nope")
    doc["item_name"] = "not a list"
    doc.pop("brand")
    failing = {i.attribute for i in home.issues(doc) if i.severity is Severity.ERROR}
    assert {"condition_type", "item_name", "brand"} <= failing


def test_dates_are_checked_as_dates(home: Validator) -> None:
    ok = {"merchant_release_date": _entry("2025-03-01")}
    assert not [i for i in home.issues(ok) if i.attribute == "merchant_release_date"]
    [issue] = [
        i
        for i in home.issues({"merchant_release_date": _entry("2024-13-45")})
        if i.attribute == "merchant_release_date"
    ]
    assert issue.code == "LS-FORMAT" and "'2024-13-45' is not a valid date" in issue.message


def test_min_unique_items_counts_each_selector_combination_as_the_meta_schema_says() -> None:
    # "the minimum number of items with the same combination of selector properties" (meta-schema v1):
    # each combination that occurs must occur at least N times; the reference validator agrees.
    from listingsync.schema.reference import ReferenceValidator

    schema = _small()
    schema["properties"]["title"]["minUniqueItems"] = 2
    schema["properties"]["title"]["maxUniqueItems"] = 3
    twice = [{"value": "a", "marketplace_id": US, "language_tag": "en_US"}] * 2
    once_more = [*twice, {"value": "b", "marketplace_id": US, "language_tag": "es_US"}]
    for validator in (Validator(schema), ReferenceValidator(schema)):
        assert not [i for i in validator.issues({"title": twice}) if "UNIQUE" in i.code]
        found = [i for i in validator.issues({"title": once_more}) if "UNIQUE" in i.code]
        assert [(i.path, i.code) for i in found] == [("/title", "LS-MIN-UNIQUE-ITEMS")]
        assert "es_US" in found[0].message


def test_a_value_that_is_not_a_url_is_one_issue_not_two() -> None:
    from listingsync.schema.product_type import bundled_schema_files
    from listingsync.schema.reference import ReferenceValidator

    path = next(p for p in bundled_schema_files() if p.name == "HOME.json")
    bad = {"main_product_image_locator": [{"media_location": "not a url", "marketplace_id": "ATVPDKIKZ0DAE"}]}
    for validator in (Validator.from_file(path), ReferenceValidator(json.loads(path.read_text()))):
        found = [i for i in validator.issues(bad) if i.path.startswith("/main_product_image_locator")]
        assert [i.code for i in found] == ["LS-FORMAT"], found
    # A URL that only fails the pattern (ftp://) still says so.
    ftp = {
        "main_product_image_locator": [
            {"media_location": "ftp://x.test/a.jpg", "marketplace_id": "ATVPDKIKZ0DAE"}
        ]
    }
    found = [
        i for i in Validator.from_file(path).issues(ftp) if i.path.startswith("/main_product_image_locator")
    ]
    assert [i.code for i in found] == ["LS-PATTERN"]


def _vocabulary_schema() -> dict[str, Any]:
    """Every vocabulary keyword, each at a spot of its own."""
    return {
        "type": "object",
        "properties": {
            "title": {
                "type": "array",
                "maxUniqueItems": 1,
                "selectors": ["marketplace_id"],
                "items": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string", "maxUtf8ByteLength": 10, "minUtf8ByteLength": 3},
                        "marketplace_id": {"type": "string"},
                    },
                },
            },
            "tags": {"type": "array", "minUniqueItems": 2, "items": {"type": "string"}},
            "colour": {"type": "string", "$lifecycle": {"enumDeprecated": ["grey"]}},
        },
    }


def _random_text(rng: random.Random) -> str:
    # 1, 2, 3 and 4 bytes a character in UTF-8, around the 3..10-byte limits.
    alphabets = ("abcxyz", "éèüß", "漢字", "😀🎉", "aé漢😀")
    letters = rng.choice(alphabets)
    return "".join(rng.choice(letters) for _ in range(rng.randint(0, 12)))


def test_the_vocabulary_screen_clears_only_what_the_checks_clear() -> None:
    """A document the screen passes has no vocabulary issue (no error, no warning): random
    documents around every limit, in 1- to 4-byte characters. The screen clears the common ones."""
    from jsonschema_rs import Draft201909Validator

    from listingsync.schema.vocabulary import check_vocabulary, plan_vocabulary, screen_schema

    plan = plan_vocabulary(_vocabulary_schema())
    assert plan is not None
    screen = Draft201909Validator(screen_schema(plan))
    rng = random.Random(5)
    cleared = 0
    for _ in range(3000):
        doc: dict[str, Any] = {
            "title": [
                {"value": _random_text(rng), "marketplace_id": rng.choice((US, "A1PA6795UKMFR9"))}
                for _ in range(rng.randint(0, 2))
            ],
            "colour": rng.choice(("grey", "blue", "gris")),
        }
        if rng.random() < 0.3:
            doc["tags"] = [_random_text(rng) for _ in range(rng.randint(0, 3))]
        found = check_vocabulary(plan, doc)
        if screen.is_valid(doc):
            assert found == [], doc
            cleared += 1
    assert cleared > 300
    # Each tier of the byte limit clears what it should: ASCII up to the limit, 2-byte letters up
    # to half of it; 4-byte ones are over the limit and are left to the checks.
    for value, clear in (("abcdefghij", True), ("ééééé", True), ("éééééé", False), ("😀😀😀", False)):
        assert screen.is_valid({"title": [{"value": value, "marketplace_id": US}]}) is clear, value


def test_validator_with_the_screen_reports_what_the_checks_report() -> None:
    schema = {"$schema": META_SCHEMA_ID, **_vocabulary_schema()}
    fast, rust = Validator(schema), Validator(schema, vocabulary="rust")
    assert fast.vocabulary_mode == "python"
    rng = random.Random(8)
    for _ in range(400):
        doc = {
            "title": [{"value": _random_text(rng), "marketplace_id": US}],
            "colour": rng.choice(("grey", "red")),
        }
        assert set(fast.issues(doc)) == set(rust.issues(doc)), doc
        assert fast.is_valid(doc) == rust.is_valid(doc), doc
