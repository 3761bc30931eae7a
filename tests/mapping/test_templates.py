from __future__ import annotations

import pytest

from listingsync.config import ConfigError, parse_config
from listingsync.mapping.templates import (
    Const,
    Expr,
    FieldRef,
    TemplateFailure,
    compile_spec,
    evaluate,
    evaluate_condition,
)


def test_single_expression_keeps_the_value_type() -> None:
    assert evaluate(compile_spec("{{ bullets }}"), {"bullets": ["a", "b"]}) == ["a", "b"]
    assert evaluate(compile_spec("{{ price * 2 }}"), {"price": 2.5}) == 5.0
    assert evaluate(compile_spec("{{ category in ['Vases'] }}"), {"category": "Vases"}) is True


def test_a_template_with_text_renders_a_string() -> None:
    spec = compile_spec("{{ title }} – {{ color | upper }}")
    assert isinstance(spec, Expr) and not spec.native
    assert evaluate(spec, {"title": "Vase", "color": "blue"}) == "Vase – BLUE"


def test_plain_strings_numbers_and_field_references() -> None:
    assert compile_spec("not_applicable") == Const("not_applicable")
    assert compile_spec(3) == Const(3)
    assert compile_spec({"field": "weight"}) == FieldRef("weight")
    assert evaluate(compile_spec({"field": "weight"}), {"weight": "1.5"}) == "1.5"
    nested = compile_spec({"length": "{{ l }}", "width": 2})
    assert evaluate(nested, {"l": "10"}) == {"length": "10", "width": 2}
    assert evaluate(compile_spec(["{{ a }}", "{{ b }}"]), {"a": 1, "b": 2}) == [1, 2]


@pytest.mark.parametrize("source", ["{{ titel }}", "{{ titel }} x", "{{ titel | upper }}"])
def test_a_missing_field_names_the_field(source: str) -> None:
    with pytest.raises(TemplateFailure) as info:
        evaluate(compile_spec(source), {"title": "x"})
    assert info.value.field == "titel"
    assert "'titel'" in info.value.message and "title" in info.value.message


def test_a_missing_field_suggests_the_field_meant() -> None:
    with pytest.raises(TemplateFailure, match="does not have; did you mean 'color'\\?"):
        evaluate(compile_spec("{{ colour }}"), {"color": "red", "title": "b"})
    with pytest.raises(TemplateFailure, match="not in this record; did you mean 'color'\\?"):
        evaluate(FieldRef("colour"), {"color": "red"})


def test_missing_field_reference_lists_the_known_fields() -> None:
    with pytest.raises(TemplateFailure, match="fields: brand, title"):
        evaluate(FieldRef("colour"), {"brand": "a", "title": "b"})


def test_the_sandbox_refuses_internals() -> None:
    with pytest.raises(TemplateFailure, match="sandbox"):
        evaluate(compile_spec("{{ title.__class__.__mro__ }}"), {"title": "x"})
    with pytest.raises(TemplateFailure):
        evaluate(compile_spec("{{ items.append(1) }}"), {"items": []})


def test_conditions() -> None:
    assert evaluate_condition("category == 'Bags'", {"category": "Bags"})
    assert not evaluate_condition(
        "category == 'Bags' and price|float > 10", {"category": "Bags", "price": "5"}
    )
    with pytest.raises(TemplateFailure) as info:
        evaluate_condition("categorie == 'Bags'", {"category": "Bags"})
    assert info.value.field == "categorie"


def test_config_rejects_a_broken_template_with_its_line() -> None:
    text = (
        "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
        "listings:\n"
        "  product_type: HOME\n"
        "  attributes:\n"
        "    item_name: '{{ title '\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="listingsync.yaml")
    message = str(info.value)
    assert "listingsync.yaml:5: listings.attributes.item_name: template error" in message


def test_config_names_every_broken_attribute_at_its_own_line() -> None:
    text = (
        "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
        "listings:\n"
        "  product_type: HOME\n"
        "  attributes:\n"
        "    item_name: '{{ title }}'\n"
        "    brand: '{{ brand '\n"
        "    color: {field: ''}\n"
        "  product_types:\n"
        "    HOME:\n"
        "      attributes:\n"
        "        size: '{{ size + }}'\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="listingsync.yaml")
    message = str(info.value)
    assert "listingsync.yaml:6: listings.attributes.brand: template error" in message
    assert "listingsync.yaml:7: listings.attributes.color: 'field' must name a catalogue field" in message
    assert "listingsync.yaml:11: listings.product_types.HOME.attributes.size: template error" in message


def test_config_rejects_a_broken_rule() -> None:
    text = (
        "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
        "listings:\n"
        "  rules:\n"
        '    - when: "category =="\n'
        "      product_type: luggage\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="listingsync.yaml")
    assert "listingsync.yaml:4" in str(info.value) and "not a valid expression" in str(info.value)


def test_rule_product_types_are_upper_cased() -> None:
    config = parse_config(
        "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
        "listings:\n  product_type: home\n  rules: [{when: 'true', product_type: luggage}]\n"
    )
    assert config.listings.product_type_names == ["HOME", "LUGGAGE"]


def test_none_renders_as_empty_text() -> None:
    assert (
        evaluate(compile_spec("{{ title }} {{ parent_sku }}"), {"title": "Vase", "parent_sku": None})
        == "Vase "
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("offer: {price: '{{ price '}", "listings.offer.price"),
        ("offer: {cost_price: '{{ cost + }}'}", "listings.offer.cost_price"),
        ("variations: {theme: '{{ theme + }}'}", "listings.variations.theme"),
        ("identifier: {field: '{{ ean '}", "listings.identifier.field"),
        ("images: {swatch: '{{ swatch '}", "listings.images.swatch"),
    ],
)
def test_config_checks_every_template_not_only_attributes(section: str, key: str) -> None:
    """Offer, variation, identifier and image templates used to reach jinja unchecked: a traceback."""
    text = (
        "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
        f"listings:\n  product_type: HOME\n  {section}\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="listingsync.yaml")
    assert f"listingsync.yaml:4: {key}: template error" in str(info.value)
