from __future__ import annotations

import json
from typing import Any

import pytest
from mapping_helpers import FR, US

from listingsync.mapping import BundledSchemas, Requirements
from listingsync.mapping.shape import ShapeContext, convert_unit, shape_attribute


def prop(schemas: BundledSchemas, name: str, marketplace: str = US, product_type: str = "HOME") -> Any:
    return schemas(product_type, marketplace, Requirements.LISTING)["properties"][name]


US_CTX = ShapeContext(US, "en_US", "USD", {"weight": "kilograms", "length": "centimeters"})
FR_CTX = ShapeContext(FR, "fr_FR", "EUR", {"weight": "kilograms"})


def test_text_gets_language_and_marketplace(schemas: BundledSchemas) -> None:
    entries, issues = shape_attribute("item_name", prop(schemas, "item_name"), "Vase", US_CTX)
    assert entries == [{"value": "Vase", "marketplace_id": US, "language_tag": "en_US"}]
    assert issues == []


def test_a_list_becomes_several_entries_and_empty_values_are_dropped(schemas: BundledSchemas) -> None:
    entries, _ = shape_attribute("bullet_point", prop(schemas, "bullet_point"), ["One", "", "Two"], US_CTX)
    assert [e["value"] for e in entries or []] == ["One", "Two"]


def test_list_price_value_key_follows_the_schema(schemas: BundledSchemas) -> None:
    us, _ = shape_attribute("list_price", prop(schemas, "list_price"), "29.90", US_CTX)
    fr, _ = shape_attribute("list_price", prop(schemas, "list_price", FR), "29,90", FR_CTX)
    assert us == [{"value": 29.9, "currency": "USD", "marketplace_id": US}]
    assert fr == [{"value_with_tax": 29.9, "currency": "EUR", "marketplace_id": FR}]


def test_purchasable_offer_nests_the_price(schemas: BundledSchemas) -> None:
    entries, issues = shape_attribute(
        "purchasable_offer",
        prop(schemas, "purchasable_offer"),
        {"our_price": {"schedule": {"value_with_tax": "9.99"}}},
        US_CTX,
    )
    assert issues == []
    assert entries == [
        {
            "our_price": [{"schedule": [{"value_with_tax": 9.99}]}],
            "marketplace_id": US,
            "currency": "USD",
            "audience": "ALL",
        }
    ]


def test_numbers_integers_and_booleans_are_converted(schemas: BundledSchemas) -> None:
    items, _ = shape_attribute("number_of_items", prop(schemas, "number_of_items"), "3", US_CTX)
    assert items == [{"value": 3, "marketplace_id": US}]
    flag, _ = shape_attribute("batteries_required", prop(schemas, "batteries_required"), "no", US_CTX)
    assert flag == [{"value": False, "marketplace_id": US}]
    bad, issues = shape_attribute("number_of_items", prop(schemas, "number_of_items"), "2.5", US_CTX)
    assert bad is None and issues[0].code == "LS-MAP-TYPE" and "whole number" in issues[0].message
    assert issues[0].path == "/number_of_items/0/value"


def test_enum_values_match_case_and_labels(schemas: BundledSchemas) -> None:
    by_label, _ = shape_attribute("country_of_origin", prop(schemas, "country_of_origin"), "China", US_CTX)
    assert by_label == [{"value": "CN", "marketplace_id": US}]
    by_case, _ = shape_attribute("condition_type", prop(schemas, "condition_type"), "NEW_NEW", US_CTX)
    assert by_case == [{"value": "new_new", "marketplace_id": US}]
    unknown, _ = shape_attribute("country_of_origin", prop(schemas, "country_of_origin"), "Atlantis", US_CTX)
    assert unknown == [{"value": "Atlantis", "marketplace_id": US}]  # left for the validator to report


def test_units_are_filled_and_converted(schemas: BundledSchemas) -> None:
    us, _ = shape_attribute("item_weight", prop(schemas, "item_weight"), "1", US_CTX)  # US: pounds only
    assert us == [{"value": 2.2046, "marketplace_id": US, "unit": "pounds"}]
    fr, _ = shape_attribute("item_weight", prop(schemas, "item_weight", FR), "1.5", FR_CTX)
    assert fr == [{"value": 1.5, "marketplace_id": FR, "unit": "kilograms"}]
    dims, issues = shape_attribute(
        "item_dimensions",
        prop(schemas, "item_dimensions"),
        {"length": 254, "width": "2.54", "height": 0},
        US_CTX,
    )
    assert issues == []
    assert dims == [
        {
            "length": {"value": 100.0, "unit": "inches"},
            "width": {"value": 1.0, "unit": "inches"},
            "height": {"value": 0, "unit": "inches"},
            "marketplace_id": US,
        }
    ]


def test_a_unit_the_schema_leaves_open_must_be_configured(schemas: BundledSchemas) -> None:
    ctx = ShapeContext(FR, "fr_FR", "EUR", {})
    entries, issues = shape_attribute("item_weight", prop(schemas, "item_weight", FR), "1.5", ctx)
    assert entries == [{"value": 1.5, "marketplace_id": FR}]
    assert issues[0].code == "LS-MAP-UNIT" and "listings.units.weight" in issues[0].message


def test_unknown_sub_property_suggests_the_right_one(schemas: BundledSchemas) -> None:
    _, issues = shape_attribute(
        "item_dimensions", prop(schemas, "item_dimensions"), {"lenght": 1, "width": 1, "height": 1}, US_CTX
    )
    assert issues[0].code == "LS-MAP-STRUCTURE" and "did you mean length" in issues[0].message


def test_a_scalar_for_a_structure_says_how_to_map_it(schemas: BundledSchemas) -> None:
    entries, issues = shape_attribute("item_dimensions", prop(schemas, "item_dimensions"), "10x10", US_CTX)
    assert entries is None and "length" in issues[0].message and issues[0].code == "LS-MAP-STRUCTURE"


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [("kilograms", "pounds", 1, 2.2046), ("centimeters", "inches", 2.54, 1.0), ("grams", "inches", 1, None)],
)
def test_convert_unit(source: str, target: str, value: float, expected: float | None) -> None:
    assert convert_unit(value, source, target) == expected


#: Values of every kind a template or a catalogue cell can give: plain and locale-dependent numbers,
#: numbers out of range or beyond a float's exact integers, blanks, labels, structures.
ODD_VALUES: list[Any] = [
    "Vase",
    "  padded  ",
    "",
    "   ",
    None,
    [],
    ["One", "", "Two"],
    ("a", None),
    "12",
    "-3",
    "+4",
    "007",
    "-0",
    "12.0",
    "-0.00",
    "12.5",
    "0.125",
    "1.234",
    "1,234",
    "12.500",
    "1234.500",
    "9,90",
    "1.234,56",
    "1 234",
    "1e3",
    ".5",
    "5.",
    "99999999999999999999",
    "999999999999999999",
    "٣",
    "0.0000001",
    "0." + "1" * 40,
    *(f"{n / 100:.2f}" for n in range(1, 3000, 151)),
    0,
    7,
    -7,
    2**63,
    2**63 - 1,
    1.5,
    2.0,
    -0.0,
    1e16,
    float(2**60),
    float("nan"),
    float("inf"),
    True,
    False,
    "yes",
    "Nein",
    "maybe",
    "China",
    "cn",
    "new_new",
    "NEW NEW",
    {"value": "3", "unit": "pounds"},
    {"value": "3"},
    {"lenght": 1},
    {"length": "10", "width": 2.5, "height": {"value": "1"}},
    {"value_with_tax": "19.90"},
    {"our_price": {"schedule": {"value_with_tax": "9,90"}}},
]


@pytest.mark.parametrize("marketplace", [US, FR])
@pytest.mark.parametrize(
    "units",
    [
        {"weight": "kilograms", "length": "centimeters"},
        {"weight": "grams", "length": "millimeters", "volume": "liters"},
        {"weight": "liters"},
        {},
    ],
)
@pytest.mark.parametrize("separator", [".", ",", None])
def test_the_compiled_shaper_gives_what_the_generic_one_does(
    schemas: BundledSchemas, marketplace: str, units: dict[str, str], separator: str | None
) -> None:
    """Every property of HOME, every odd value: the same entries (as JSON text: int and float
    differ there) and the same issues, whether the fast path took the value or gave it up."""
    from listingsync.mapping.shape import AttributeShaper, compile_shape

    ctx = ShapeContext(marketplace, "en_US" if marketplace == US else "fr_FR", "USD", units, separator)
    properties = schemas("HOME", marketplace, Requirements.LISTING)["properties"]
    for name, schema in properties.items():
        node = compile_shape(schema)
        shaper = AttributeShaper(name, node, ctx)
        for value in ODD_VALUES:
            fast, fast_issues = shaper(value)
            slow, slow_issues = shape_attribute(name, node, value, ctx)
            assert json.dumps(fast) == json.dumps(slow), (name, value)
            assert fast_issues == slow_issues, (name, value)


def test_the_compiled_shaper_shapes_a_constant_once_and_a_changed_value_again(
    schemas: BundledSchemas,
) -> None:
    """A mapping's constant reaches the shaper as the same object for every record: its entries
    are made once and shared. Anything else (an equal text read from another record, a list the
    caller changed) is shaped anew."""
    from listingsync.mapping.shape import AttributeShaper, compile_shape

    shaper = AttributeShaper("item_name", compile_shape(prop(schemas, "item_name")), US_CTX)
    constant = "Vase"
    first, _ = shaper(constant)
    assert shaper(constant)[0] is first
    equal = "".join(["Va", "se"])
    assert equal is not constant
    again, _ = shaper(equal)
    assert again == first and again is not first
    assert shaper("Jug")[0] == [{"value": "Jug", "marketplace_id": US, "language_tag": "en_US"}]
    bullets = AttributeShaper("bullet_point", compile_shape(prop(schemas, "bullet_point")), US_CTX)
    values = ["One"]
    assert [e["value"] for e in bullets(values)[0] or []] == ["One"]
    values.append("Two")
    assert [e["value"] for e in bullets(values)[0] or []] == ["One", "Two"]
