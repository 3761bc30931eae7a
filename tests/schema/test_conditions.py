"""Conditions in plain words: what ``product-types show`` and the validator's messages say."""

from __future__ import annotations

from listingsync.schema import ProductTypeSchema, conditional_requirements, describe
from listingsync.schema.conditions import condition_for


def _value_is(name: str, *values: object) -> dict[str, object]:
    return {
        "required": [name],
        "properties": {
            name: {"contains": {"required": ["value"], "properties": {"value": {"enum": list(values)}}}}
        },
    }


def test_value_tests_read_as_sentences() -> None:
    assert describe(_value_is("parentage_level", "child")) == "parentage_level is child"
    assert describe(_value_is("package_level", "case", "pallet")) == "package_level is one of case, pallet"
    assert describe({"required": ["battery"]}) == "battery is given"
    assert describe({"not": {"required": ["battery"]}}) == "battery is not given"
    assert describe({"not": _value_is("parentage_level", "parent")}) == "parentage_level is not parent"
    assert describe(_value_is("batteries_required", True)) == "batteries_required is true"


def test_fields_other_than_value_are_named() -> None:
    schema = {
        "required": ["fulfillment_availability"],
        "properties": {
            "fulfillment_availability": {
                "contains": {
                    "required": ["fulfillment_channel_code"],
                    "properties": {"fulfillment_channel_code": {"enum": ["DEFAULT"]}},
                }
            }
        },
    }
    assert describe(schema) == "fulfillment_availability.fulfillment_channel_code is DEFAULT"


def test_redundant_clauses_are_dropped() -> None:
    # not(given and parent) = not given or not parent = not parent.
    assert describe({"not": _value_is("parentage_level", "parent")}) == "parentage_level is not parent"
    either = {
        "anyOf": [{"not": {"required": ["parentage_level"]}}, {"not": _value_is("parentage_level", "parent")}]
    }
    assert describe(either) == "parentage_level is not parent"
    both = {"allOf": [{"required": ["color"]}, _value_is("color", "red")]}
    assert describe(both) == "color is red"


def test_de_morgan_under_negation() -> None:
    text = describe({"not": {"allOf": [_value_is("a", "x"), _value_is("b", "y")]}})
    assert text == "a is not x or b is not y"


def test_condition_for_follows_nested_else_chains() -> None:
    schema = {
        "allOf": [
            {
                "if": _value_is("league", "NFL"),
                "then": {"required": ["team"]},
                "else": {"if": _value_is("league", "NBA"), "then": {"required": ["player"]}},
            }
        ]
    }
    assert condition_for(schema, ["allOf", 0, "then", "required"]) == "league is NFL"
    assert (
        condition_for(schema, ["allOf", 0, "else", "then", "required"])
        == "league is not NFL and league is NBA"
    )
    assert condition_for(schema, ["properties", "x", "type"]) is None
    reqs = {(r.attribute, r.condition) for r in conditional_requirements(schema)}
    assert reqs == {("team", "league is NFL"), ("player", "league is not NFL and league is NBA")}


def test_home_child_attributes() -> None:
    home = ProductTypeSchema.bundled("HOME")
    conditions = {r.attribute: r.condition for r in home.conditional_requirements()}
    assert conditions["child_parent_sku_relationship"] == "parentage_level is given"
    assert (
        conditions["variation_theme"]
        == "child_parent_sku_relationship.child_relationship_type is variation and parentage_level is given"
    )
    assert conditions["ghs"] == "supplier_declared_dg_hz_regulation is ghs"
