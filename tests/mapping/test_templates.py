from __future__ import annotations

import pytest

from listingsync.config import ConfigError, parse_config
from listingsync.mapping import sandbox
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


def test_an_expression_remembers_results_by_value_and_type_only_when_that_is_safe() -> None:
    """Results are remembered per variables' values: 1 and True are different inputs, a list input
    or result is evaluated each time, and whatever draws at random is never remembered."""
    from listingsync.mapping.templates import compile_evaluator

    same = compile_evaluator(compile_spec("{{ flag is sameas true }}"))
    assert [same({"flag": v}) for v in (1, True, 1, True, 1.0)] == [False, True, False, True, False]
    first = compile_evaluator(compile_spec("{{ tags | first }}"))
    assert [first({"tags": ["a"]}), first({"tags": ["b"]})] == ["a", "b"]
    listed = compile_evaluator(compile_spec("{{ [title] }}"))
    one, two = listed({"title": "x"}), listed({"title": "x"})
    assert one == two == ["x"] and one is not two  # a list is the caller's to change
    drawn = compile_evaluator(compile_spec("{{ range(1000) | random }}"))
    assert len({drawn({}) for _ in range(20)}) > 1
    fragile = compile_evaluator(compile_spec("{{ category in ['Vases'] }}"))
    assert fragile({"category": "Vases"}) is True and fragile({"category": "Bags"}) is False
    with pytest.raises(TemplateFailure, match="category"):  # a record without the field still fails
        fragile({"title": "x"})


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


@pytest.mark.timeout(120)  # a bound, never reached when green: unlimited, these take GBs or hours
@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ 'A' * 5000000000 }}", "would make a value of 5,000,000,000 characters or items"),
        ("x {{ [1] * 5000000000 }}", "would make a value of 5,000,000,000"),
        ("{{ ('A' * 600000) + ('B' * 600000) }}", "would make a value of 1,200,000"),
        ("{{ 9 ** 999999 }}", "would compute a number of about 3,999,996 bits"),
        ("{{ 'a'.ljust(5000000000) }}", "would make a text of 5,000,000,000"),
        ("{{ 'x' | center(5000000000) }}", "would make a text of 5,000,000,000"),
        ("{{ 'x' | indent(5000000000) }}", "would make a text of 5,000,000,001"),
        ("{{ ('A' * 900000) | replace('A', 'BB') }}", "would make a text of 1,800,000"),
        ("{{ '{:>5000000000}'.format(1) }}", "its format asks for a width of more than 1,000,000"),
        ("{{ '%*s' % (5000000000, 'x') }}", "its format asks for a width of more than 1,000,000"),
        ("{{ '%s' | format('x') }}{{ '%5000000000s' | format('x') }}", "width of more than 1,000,000"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "its loops ran more than 100,000 times",
        ),
        ("{% for i in range(1000) %}{{ 'A' * 999999 }}{% endfor %}", "its output would pass 1,000,000"),
    ],
)
def test_templates_that_would_exhaust_the_machine_are_stopped_with_a_clear_error(
    source: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped clock: the limit named in the message is the one under test, not the 2 s guard that a
    # loaded machine (and tracemalloc) can reach first.
    monkeypatch.setattr(sandbox, "_clock", lambda: 0.0)
    import tracemalloc

    tracemalloc.start()
    try:
        spec = compile_spec(source)  # at config load: nothing is computed (no constant folding)
        compiled_peak = tracemalloc.get_traced_memory()[1]
        with pytest.raises(TemplateFailure) as info:
            evaluate(spec, {"title": "Mug"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert compiled_peak < 5 * 1024 * 1024 and peak < 30 * 1024 * 1024
    assert info.value.message.startswith(repr(source)) and words in info.value.message
    assert "simplify the template" in info.value.message


def test_a_template_running_past_its_time_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(100))  # a clock that moves one second each time the budget looks at it
    monkeypatch.setattr(sandbox, "_clock", lambda: float(next(ticks)))
    source = "{% for i in range(10) %}x{% endfor %}"
    with pytest.raises(TemplateFailure) as info:
        evaluate(compile_spec(source), {})
    assert info.value.message == f"{source!r} was stopped: it ran longer than 2 s; simplify the template"


def test_templates_within_the_limits_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_clock", lambda: 0.0)  # only the iteration limit applies to the loops
    loops = "{% for i in range(300) %}{% for j in range(300) %}{% endfor %}{% endfor %}{{ title }}"
    assert evaluate(compile_spec(loops), {"title": "Mug"}) == "Mug"  # 90,300 iterations
    assert evaluate(compile_spec("{{ 'ab' * 3 }}-{{ '%05d' % 42 }}"), {}) == "ababab-00042"
    assert evaluate(compile_spec("{{ ('x' * 10) | center(20) | length }}"), {}) == 20
    assert evaluate(compile_spec("{{ title | replace('u', 'oo') }}"), {"title": "Mug"}) == "Moog"
    assert evaluate(compile_spec("{{ 2 ** 64 }}"), {}) == 2**64
