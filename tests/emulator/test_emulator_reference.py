"""The reference validator (python jsonschema + Amazon's vocabulary) and the requirements views."""

from __future__ import annotations

import copy
import json
import random
import socket
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import DE, FR, US, home_product_only, home_us

from listingsync.emulator.product_types import ProductTypeRegistry, bundled_dir
from listingsync.emulator.validation import PiecewiseValidator
from listingsync.errors import ListingSyncError
from listingsync.schema.issues import Severity
from listingsync.schema.reference import META_SCHEMA_ID, ReferenceValidator
from listingsync.schema.requirements import OFFER_GROUP, derive


def titles(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"value": "t", "marketplace_id": m, "language_tag": lang} for m, lang in pairs]


ARRAY = {
    "type": "object",
    "properties": {
        "item_name": {
            "type": "array",
            "selectors": ["marketplace_id", "language_tag"],
            "maxUniqueItems": 1,
            "minUniqueItems": 1,
            "items": {
                "type": "object",
                "required": ["value"],
                "properties": {"value": {"type": "string", "maxLength": 10, "maxUtf8ByteLength": 8}},
            },
        },
        "bullet_point": {"type": "array", "selectors": ["marketplace_id"], "maxUniqueItems": 2},
        "plain": {"type": "array", "maxUniqueItems": 1},
        "code": {"type": "string", "minUtf8ByteLength": 3},
    },
    "required": ["item_name"],
    "additionalProperties": False,
}


def paths(attributes: Any, schema: dict[str, Any] = ARRAY) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in ReferenceValidator(schema).issues(attributes)]


def test_max_unique_items_counts_selector_combinations() -> None:
    assert paths({"item_name": titles(("US", "en_US"), ("US", "es_US"))}) == []
    assert paths({"item_name": titles(("US", "en_US"), ("US", "en_US"))}) == [
        ("/item_name", "LS-MAX-UNIQUE-ITEMS")
    ]
    bullets = [{"marketplace_id": "US", "value": str(i)} for i in range(3)]
    assert paths({"item_name": titles(("US", "en_US")), "bullet_point": bullets[:2]}) == []
    assert paths({"item_name": titles(("US", "en_US")), "bullet_point": bullets}) == [
        ("/bullet_point", "LS-MAX-UNIQUE-ITEMS")
    ]


def test_selectors_compare_as_canonical_json_and_no_selectors_means_whole_item() -> None:
    nested = [{"marketplace_id": {"a": 1, "b": 2}}, {"marketplace_id": {"b": 2, "a": 1}}]
    assert paths({"item_name": titles(("US", "en_US")), "bullet_point": nested + nested[:1]}) == [
        ("/bullet_point", "LS-MAX-UNIQUE-ITEMS")
    ]
    distinct = [{"marketplace_id": {"a": 1}}, {"marketplace_id": {"a": 2}}, {"marketplace_id": {"a": 3}}]
    assert paths({"item_name": titles(("US", "en_US")), "bullet_point": distinct}) == []
    assert paths({"item_name": titles(("US", "en_US")), "plain": [{"x": 1}, {"x": 2}]}) == []
    assert paths({"item_name": titles(("US", "en_US")), "plain": [{"x": 1}, {"x": 1}]}) == [
        ("/plain", "LS-MAX-UNIQUE-ITEMS")
    ]
    # non-object items and non-arrays are not the keyword's business
    assert paths({"item_name": titles(("US", "en_US")), "plain": [1, 1]}) == []


def test_utf8_byte_lengths_apply_to_strings() -> None:
    ok = {"item_name": [{"value": "abcdefgh"}]}
    assert paths(ok) == []
    accented = {"item_name": [{"value": "ééééé"}]}  # 5 characters, 10 bytes
    assert paths(accented) == [("/item_name/0/value", "LS-MAX-UTF8-BYTES")]
    assert paths({"item_name": [{"value": "x"}], "code": "é"}) == [("/code", "LS-MIN-UTF8-BYTES")]
    assert paths({"item_name": [{"value": "x"}], "code": "abc"}) == []


def test_required_additional_and_nested_paths() -> None:
    issues = ReferenceValidator(ARRAY).issues({"item_name": [{}], "colour": []})
    assert [(i.path, i.code, i.attribute) for i in issues] == [
        ("/colour", "LS-UNKNOWN-ATTRIBUTE", "colour"),
        ("/item_name/0/value", "90220", "item_name"),
    ]
    assert issues[1].message == "'value' is required but not supplied."
    assert all(i.severity is Severity.ERROR for i in issues)
    assert paths({}) == [("/item_name", "90220")]


def test_conditionals_and_dependent_required() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "array"}, "b": {"type": "array"}, "c": {"type": "array"}},
        "allOf": [{"if": {"required": ["a"]}, "then": {"required": ["b"]}}],
        "dependentRequired": {"b": ["c"]},
    }
    assert paths({}, schema) == []
    assert paths({"a": []}, schema) == [("/b", "90220")]
    assert paths({"a": [], "b": []}, schema) == [("/c", "90220")]


def test_the_four_invalid_cases_on_home_us() -> None:
    validator = ReferenceValidator(ProductTypeRegistry().get("HOME", US) or {})
    assert validator.issues(home_us()) == []
    doc = home_us("x" * 201)
    del doc["brand"]
    doc["condition_type"] = [{"value": "brand_new", "marketplace_id": US}]
    doc["bullet_point"] = doc["bullet_point"] * 11
    found = {(i.attribute, i.code) for i in validator.issues(doc)}
    assert {
        ("brand", "90220"),
        ("condition_type", "LS-ENUM"),
        ("item_name", "LS-MAX-LENGTH"),
        ("bullet_point", "LS-MAX-UNIQUE-ITEMS"),
    } <= found


def test_meta_schema_is_registered_and_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the reference validator tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    meta = ReferenceValidator({"$ref": META_SCHEMA_ID})
    assert meta.issues({"type": "object", "maxUniqueItems": 1}) == []
    assert [i.code for i in meta.issues({"maxUniqueItems": "one"})] == ["LS-TYPE"]


def test_requirements_views() -> None:
    schema = ProductTypeRegistry().get("HOME", US) or {}
    listing = ReferenceValidator(schema)
    product_only = ReferenceValidator(derive(schema, "LISTING_PRODUCT_ONLY"))
    offer_only = ReferenceValidator(derive(schema, "LISTING_OFFER_ONLY"))
    not_enforced = ReferenceValidator(derive(schema, "LISTING", requirements_enforced=False))
    no_offer = {k: v for k, v in home_us().items() if k not in OFFER_GROUP}
    missing = {i.attribute for i in listing.issues(no_offer) if i.code == "90220"}
    assert {"condition_type", "fulfillment_availability", "list_price"} <= missing
    assert product_only.issues(no_offer) == []
    offer = {k: v for k, v in home_us().items() if k in OFFER_GROUP}
    assert offer_only.issues(offer) == []
    unknown = {i.attribute for i in offer_only.issues(home_us()) if i.code == "LS-UNKNOWN-ATTRIBUTE"}
    assert "item_name" in unknown and "condition_type" not in unknown
    assert not_enforced.issues({"item_name": home_us()["item_name"]}) == []
    # structure is still checked when requirements are not enforced
    assert not_enforced.issues({"item_name": home_us("x" * 201)["item_name"]})
    # the input schema is left untouched
    assert "condition_type" in json.dumps(schema["allOf"])
    with pytest.raises(ValueError, match="LISTING_PRODUCT_ONLY"):
        derive(schema, "OFFER")


def _mutations(base: dict[str, Any], schema: dict[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    names = sorted(schema["properties"])
    docs = []
    for _ in range(count):
        doc = copy.deepcopy(base)
        for _ in range(rnd.randint(1, 4)):
            name = rnd.choice(names)
            roll = rnd.random()
            if roll < 0.3:
                doc.pop(name, None)
            elif roll < 0.5:
                doc[name] = [{"value": "zz", "marketplace_id": US}]
            elif roll < 0.7 and name in doc:
                doc[name] = doc[name] * 2
            elif roll < 0.8:
                doc[name] = [{"value": True}]
            else:
                doc["bogus_" + name] = [1]
        docs.append(doc)
    return docs


def test_piecewise_cached_validation_answers_as_the_whole_schema() -> None:
    registry = ProductTypeRegistry()
    cases = [
        (derive(registry.get("HOME", US) or {}, "LISTING"), home_us()),
        (derive(registry.get("HOME", FR) or {}, "LISTING_PRODUCT_ONLY"), home_product_only(FR, "fr_FR")),
    ]
    for schema, base in cases:
        piecewise = PiecewiseValidator(schema)
        assert piecewise.split  # Amazon's schemas split into cacheable pieces
        for doc in [base, *_mutations(base, schema, 40, seed=11)]:
            assert piecewise.issues(doc) == piecewise.whole.issues(doc)
            assert piecewise.issues(doc) == piecewise.whole.issues(doc)  # from the cache, too


def test_piecewise_falls_back_to_whole_validation_for_unknown_root_keywords() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": False}
    piecewise = PiecewiseValidator(schema)
    assert not piecewise.split
    assert [i.path for i in piecewise.issues({"a": 1, "b": 2})] == ["/a", "/b"]


def test_deprecated_enum_values_warn_without_invalidating() -> None:
    schema = ProductTypeRegistry().get("HOME", US) or {}
    deprecated = schema["properties"]["variation_theme"]["items"]["properties"]["name"]["$lifecycle"][
        "enumDeprecated"
    ]
    doc = home_us()
    doc["variation_theme"] = [{"name": deprecated[0], "marketplace_id": US}]
    issues = ReferenceValidator(schema).issues(doc)
    warnings = [i for i in issues if i.severity is Severity.WARNING]
    assert [(i.path, i.code) for i in warnings] == [("/variation_theme/0/name", "LS-ENUM-DEPRECATED")]
    assert PiecewiseValidator(schema).issues(doc) == issues


def test_registry_reads_user_schemas_and_borrows_for_other_marketplaces(tmp_path: Path) -> None:
    registry = ProductTypeRegistry()
    assert registry.product_types() == ["HOME", "PRODUCT"]
    assert registry.native_marketplaces("HOME") == sorted([US, FR])
    borrowed = registry.info("HOME", DE)
    assert borrowed is not None and borrowed.borrowed_from == FR  # same region first
    schema_de = registry.get("HOME", DE) or {}
    assert schema_de["$defs"]["marketplace_id"]["default"] == DE
    assert schema_de["$defs"]["language_tag"]["default"] == "de_DE"
    assert (registry.get("HOME", FR) or {})["$defs"]["marketplace_id"]["default"] == FR  # untouched
    assert registry.get("LUGGAGE", US) is None

    # a user's file, as Amazon serves it: its $id and $defs say what it is
    own = json.loads((bundled_dir() / "PRODUCT.json").read_text("utf-8"))
    own["$defs"]["marketplace_id"]["default"] = DE
    (tmp_path / "whatever-name.json").write_text(json.dumps(own))
    with_user = ProductTypeRegistry([tmp_path])
    info = with_user.info("PRODUCT", DE)
    assert info is not None and info.borrowed_from is None and info.path.name == "whatever-name.json"

    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(ListingSyncError, match=r"\$id"):
        ProductTypeRegistry([tmp_path])
    with pytest.raises(ListingSyncError, match="no such"):
        ProductTypeRegistry([tmp_path / "missing"])


def test_multiple_of_is_decimal_and_formats_are_asserted() -> None:
    price = ReferenceValidator({"multipleOf": 0.01})
    assert price.issues(19.99) == [] and price.issues(1e300) == [] and price.issues(5) == []
    assert [i.code for i in price.issues(19.995)] == ["LS-MULTIPLE-OF"]
    when = ReferenceValidator(
        {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    )
    assert when.issues("2024-08-12") == [] and when.issues("2024-08-12T10:00:00Z") == []
    for bad in ("2024-13-12", "12/08/2024", "2024-08-12T10:00:00"):
        assert [i.code for i in when.issues(bad)] == ["LS-FORMAT"], bad
    uri = ReferenceValidator({"format": "uri"})
    assert uri.issues("https://cdn.example.com/a.jpg") == []
    assert [i.code for i in uri.issues("a.jpg")] == ["LS-FORMAT"]


def test_forbidden_attributes_and_messages_without_whole_values() -> None:
    schema = {
        "type": "object",
        "allOf": [{"if": {"required": ["a"]}, "then": {"not": {"required": ["b"]}}}],
        "properties": {"d": {"type": "array", "minItems": 2}, "e": {"type": "array"}},
    }
    issues = ReferenceValidator(schema).issues(
        {"a": 1, "b": [{"secret": "x" * 50}], "d": [{"x": 1}], "e": {"y": 2}}
    )
    assert [(i.path, i.code) for i in issues] == [
        ("/b", "LS-NOT-ALLOWED"),
        ("/d", "LS-MIN-ITEMS"),
        ("/e", "LS-TYPE"),
    ]
    assert issues[0].message == "'b' must not be supplied here."
    assert issues[1].message == "has 1 entries; at least 2 are allowed"
    assert issues[2].message == "must be array, not object"
    assert all("secret" not in i.message and "'x'" not in i.message for i in issues)


def test_piecewise_agrees_on_generated_variation_families() -> None:
    """Generated listings (parents, children, standalone) and one-rule mutations of them exercise the
    conditional rules that the per-rule projections key on."""
    from listingsync.schema.samples import MUTATIONS, mutate_listing, sample_listing

    schema = ProductTypeRegistry().get("HOME", US) or {}
    piecewise = PiecewiseValidator(schema)
    rng = random.Random("piecewise")
    valid = [
        sample_listing(
            schema, rng, parentage=rng.choice([None, "parent", "child"]), optional=rng.random() * 0.3
        )
        for _ in range(40)
    ]
    docs = valid + [
        mutate_listing(schema, valid[i % 40], rng, MUTATIONS[i % len(MUTATIONS)])[0] for i in range(80)
    ]
    for doc in docs:
        assert piecewise.issues(doc) == piecewise.whole.issues(doc)
