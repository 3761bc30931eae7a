from __future__ import annotations

import yaml

from listingsync.mapping import BundledSchemas, Requirements, render_suggestion, suggest_attributes
from listingsync.mapping.suggest import Suggestion

US = "ATVPDKIKX0DER"
FIELDS = [
    "title",
    "description",
    "bullet1",
    "bullet2",
    "brand",
    "band_name_of_the_shop",
    "origin",
    "package_length",
    "package_width",
    "package_height",
    "weight_kg",
]


def _by_attribute(schemas: BundledSchemas) -> dict[str, Suggestion]:
    schema = schemas("HOME", US, Requirements.LISTING)
    return {s.attribute: s for s in suggest_attributes(schema, FIELDS)}


def test_fields_are_matched_by_name_label_and_synonym(schemas: BundledSchemas) -> None:
    found = _by_attribute(schemas)
    assert found["item_name"].fields == ("title",)
    assert found["product_description"].fields == ("description",)
    assert found["bullet_point"].fields == ("bullet1", "bullet2")
    assert found["country_of_origin"].fields == ("origin",)
    assert found["item_package_dimensions"].parts == (
        ("length", "package_length"),
        ("width", "package_width"),
        ("height", "package_height"),
    )


def test_required_first_and_automatic_attributes_left_out(schemas: BundledSchemas) -> None:
    schema = schemas("HOME", US, Requirements.LISTING)
    suggestions = suggest_attributes(schema, FIELDS)
    kinds = [s.kind for s in suggestions]
    assert kinds == sorted(kinds, key=["required", "conditional", "recommended"].index)
    assert {s.attribute for s in suggestions if s.kind == "required"} == set(schema["required"])
    names = {s.attribute for s in suggestions}
    assert not names & {
        "main_product_image_locator",
        "purchasable_offer",
        "externally_assigned_product_identifier",
    }
    assert "team_name" not in names  # required only for some variation themes: not suggested


def test_spelling_alone_does_not_match(schemas: BundledSchemas) -> None:
    found = _by_attribute(schemas)
    assert "band" not in found or not found["band"].fields


def test_rendered_mapping_is_yaml_with_comments_for_the_unmatched(schemas: BundledSchemas) -> None:
    schema = schemas("HOME", US, Requirements.LISTING)
    text = render_suggestion(
        "HOME", "US", suggest_attributes(schema, FIELDS), source="p.csv", automatic=["x"]
    )
    data = yaml.safe_load(text)
    assert data["listings"]["product_type"] == "HOME"
    assert data["listings"]["attributes"]["item_name"] == "{{ title }}"
    assert data["listings"]["attributes"]["item_package_dimensions"]["width"] == "{{ package_width }}"
    assert "item_type_keyword" not in data["listings"]["attributes"]
    assert "# item_type_keyword: ''  # no matching catalogue field" in text
