from __future__ import annotations

from typing import Any

import pytest
from mapping_helpers import DE, FR, US, config, home_fields, product

from listingsync.mapping import BundledSchemas, ListingBuilder, MappingConfigError, Requirements

BASIC = """\
  product_type: HOME
  units: {weight: kilograms}
  attributes:
    item_name: "{{ title }}"
    brand: "{{ brand }}"
"""


def test_seller_listing_has_offer_identifier_images_and_condition(schemas: BundledSchemas) -> None:
    builder = ListingBuilder(config(BASIC), schemas)
    p = product(
        fields=home_fields(title="Vase"), images=[f"https://img.example.com/{i}.jpg" for i in range(3)]
    )
    (listing,) = builder.build(p)
    a = listing.attributes
    assert listing.requirements is Requirements.LISTING and listing.product_type == "HOME"
    assert a["item_name"] == [{"value": "Vase", "marketplace_id": US, "language_tag": "en_US"}]
    assert a["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 19.9}]}]
    assert a["purchasable_offer"][0]["currency"] == "USD"
    assert a["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 12, "lead_time_to_ship_max_days": 2}
    ]
    assert a["condition_type"] == [{"value": "new_new", "marketplace_id": US}]
    assert a["externally_assigned_product_identifier"] == [
        {"type": "ean", "value": "4006381333931", "marketplace_id": US}
    ]
    assert a["main_product_image_locator"][0]["media_location"].endswith("/0.jpg")
    assert a["other_product_image_locator_2"][0]["media_location"].endswith("/2.jpg")
    assert "supplier_declared_has_product_identifier_exemption" not in a
    assert listing.build_issues == []


def test_vendor_listing_is_product_only_without_offer(schemas: BundledSchemas) -> None:
    cfg = config(BASIC + '    purchasable_offer: "{{ price }}"\n', seller=False, marketplaces="[FR, DE]")
    listings = ListingBuilder(cfg, schemas).build(product(fields=home_fields(title="Vase")))
    assert [item.marketplace_id for item in listings] == [FR, DE]
    for listing in listings:
        assert listing.requirements is Requirements.LISTING_PRODUCT_ONLY
        assert not {"purchasable_offer", "fulfillment_availability", "condition_type"} & set(
            listing.attributes
        )
        assert [i.code for i in listing.build_issues] == ["LS-MAP-VENDOR-OFFER"]


def test_languages_follow_the_marketplace(schemas: BundledSchemas) -> None:
    cfg = config(BASIC, seller=False, marketplaces="[FR, DE]")
    p = product(fields=home_fields(), localized={"title": {"fr": "Vase bleu", "de_DE": "Blaue Vase"}})
    fr, de = ListingBuilder(cfg, schemas).build(p)
    assert fr.attributes["item_name"] == [
        {"value": "Vase bleu", "marketplace_id": FR, "language_tag": "fr_FR"}
    ]
    assert de.attributes["item_name"] == [
        {"value": "Blaue Vase", "marketplace_id": DE, "language_tag": "de_DE"}
    ]


def test_fallback_language_and_missing_language(schemas: BundledSchemas) -> None:
    p = product(fields=home_fields(), localized={"title": {"en": "Blue vase", "fr": "Vase bleu"}})
    cfg = config(BASIC + "  fallback_language: en\n", seller=False, marketplaces="[FR, DE]")
    fr, de = ListingBuilder(cfg, schemas).build(p)
    assert fr.attributes["item_name"][0]["value"] == "Vase bleu"
    assert de.attributes["item_name"][0]["value"] == "Blue vase"
    _, de_without = ListingBuilder(config(BASIC, seller=False, marketplaces="[FR, DE]"), schemas).build(p)
    assert "item_name" not in de_without.attributes  # no German title: left out, the validator says so


def test_marketplace_and_product_type_overrides(schemas: BundledSchemas) -> None:
    listings = BASIC + (
        "  product_types:\n    HOME: {attributes: {item_name: '{{ title }} (home)'}}\n"
        "  marketplaces:\n    DE: {attributes: {item_name: '{{ title }} (DE)', brand: null}}\n"
    )
    fr, de = ListingBuilder(config(listings, seller=False, marketplaces="[FR, DE]"), schemas).build(
        product(fields=home_fields(title="Vase"))
    )
    assert fr.attributes["item_name"][0]["value"] == "Vase (home)"
    assert de.attributes["item_name"][0]["value"] == "Vase (DE)"
    assert "brand" in fr.attributes and "brand" not in de.attributes


def test_rules_choose_the_product_type(schemas: BundledSchemas) -> None:
    cfg = config(BASIC + "  rules:\n    - when: \"category == 'Bags'\"\n      product_type: PRODUCT\n")
    builder = ListingBuilder(cfg, schemas)
    (bag,) = builder.build(product(fields=home_fields(title="Tote"), category_path=("Fashion", "Bags")))
    (vase,) = builder.build(product(fields=home_fields(title="Vase", category="Vases")))
    assert bag.product_type == "PRODUCT" and vase.product_type == "HOME"


def test_a_failing_rule_is_an_issue_not_an_exception(schemas: BundledSchemas) -> None:
    cfg = config("  rules:\n    - when: \"categry == 'Bags'\"\n      product_type: PRODUCT\n")
    (listing,) = ListingBuilder(cfg, schemas).build(product(fields={"category": "Bags"}))
    assert listing.attributes == {}
    assert listing.build_issues[0].code == "LS-MAP-RULE"
    assert "categry" in listing.build_issues[0].message and "rules[0]" in listing.build_issues[0].message


def test_missing_field_names_sku_attribute_and_field(schemas: BundledSchemas) -> None:
    cfg = config(BASIC + '    color: "{{ colour }}"\n')
    (listing,) = ListingBuilder(cfg, schemas).build(product("SKU-9", fields=home_fields(title="Vase")))
    (issue,) = [i for i in listing.build_issues if i.code == "LS-MAP-TEMPLATE"]
    assert issue.path == "/color"
    assert "SKU SKU-9" in issue.message and "attribute color" in issue.message and "'colour'" in issue.message
    assert "item_name" in listing.attributes  # the other attributes were still built


def test_fields_known_to_the_catalogue_are_empty_not_missing(schemas: BundledSchemas) -> None:
    builder = ListingBuilder(config(BASIC + '    color: "{{ colour }}"\n'), schemas)
    builder.known_fields = {"colour"}
    (listing,) = builder.build(product(fields=home_fields(title="Vase")))
    assert listing.build_issues == [] and "color" not in listing.attributes


def test_more_than_nine_images_warns(schemas: BundledSchemas) -> None:
    images = [f"https://img.example.com/{i}.jpg" for i in range(11)]
    (listing,) = ListingBuilder(config(BASIC), schemas).build(
        product(fields=home_fields(title="Vase"), images=images)
    )
    assert "other_product_image_locator_8" in listing.attributes
    assert [i.code for i in listing.build_issues] == ["LS-MAP-IMAGES"]


@pytest.mark.parametrize(
    ("code", "kind", "problem"),
    [
        ("036000291452", "upc", None),
        ("4006381333931", "ean", None),
        ("00012345600012", "gtin", None),
        ("4006381333932", "ean", "check digit"),
        ("40063813339", "ean", "11 digits"),
        ("ABC", "ean", "digits"),
        ("0306406152", "isbn", None),  # ISBN-10 (python-stdnum checks its own check digit)
        ("030640615X", "isbn", "check digit"),
        ("9780306406157", "ean", None),
        # a UPC whose leading zero a number column dropped is named as such
        ("36000291452", "ean", "it looks like a UPC that lost its leading zero"),
    ],
)
def test_barcodes(schemas: BundledSchemas, code: str, kind: str, problem: str | None) -> None:
    (listing,) = ListingBuilder(config(BASIC), schemas).build(product(fields=home_fields(ean=code)))
    entry = listing.attributes["externally_assigned_product_identifier"][0]
    assert entry["type"] == kind and entry["value"] == code
    issues = [i for i in listing.build_issues if i.code == "LS-MAP-BARCODE"]
    if problem is None:
        assert issues == []
    else:
        assert problem in issues[0].message and code in issues[0].message


def test_a_upc_read_as_a_number_says_its_leading_zero_was_lost(schemas: BundledSchemas) -> None:
    (listing,) = ListingBuilder(config(BASIC), schemas).build(product(fields=home_fields(ean=36000291452)))
    (issue,) = [i for i in listing.build_issues if i.code == "LS-MAP-BARCODE"]
    assert "a UPC that was stored as a number, which dropped its leading zero ('036000291452' is valid)" in (
        issue.message
    )
    assert "keep the column as text" in issue.message


def test_no_barcode_declares_the_exemption(schemas: BundledSchemas) -> None:
    fields = home_fields()
    del fields["ean"]
    (listing,) = ListingBuilder(config(BASIC), schemas).build(product(fields=fields))
    assert listing.attributes["supplier_declared_has_product_identifier_exemption"] == [
        {"value": True, "marketplace_id": US}
    ]
    assert "externally_assigned_product_identifier" not in listing.attributes


def test_variation_parent_and_child(schemas: BundledSchemas) -> None:
    cfg = config(BASIC + '  variations: {theme: "{{ theme }}"}\n')
    builder = ListingBuilder(cfg, schemas)
    parent = product("P", fields={"brand": "Acme", "title": "Throw", "theme": "size/color"})
    child = product(
        "P-RED",
        parent_sku="P",
        fields={"title": "Throw red", "price": "10", "quantity": "1", "ean": "4006381333931"},
    )
    (p,) = builder.build(parent)
    (c,) = builder.build(child, parent=parent)
    assert p.parentage == "parent" and p.requirements is Requirements.LISTING_PRODUCT_ONLY
    assert p.attributes["parentage_level"] == [{"value": "parent", "marketplace_id": US}]
    assert p.attributes["child_parent_sku_relationship"] == [
        {"child_relationship_type": "variation", "marketplace_id": US}
    ]
    assert p.attributes["variation_theme"] == [{"name": "SIZE/COLOR"}]  # HOME's has no marketplace_id
    assert not {"purchasable_offer", "externally_assigned_product_identifier"} & set(p.attributes)
    assert c.parentage == "child" and c.parent_sku == "P" and c.requirements is Requirements.LISTING
    assert c.attributes["child_parent_sku_relationship"] == [
        {"child_relationship_type": "variation", "parent_sku": "P", "marketplace_id": US}
    ]
    assert c.attributes["variation_theme"] == [{"name": "SIZE/COLOR"}]  # from the parent
    assert c.attributes["brand"][0]["value"] == "Acme"  # inherited
    assert c.attributes["item_name"][0]["value"] == "Throw red"  # its own


def test_check_config_names_unknown_attributes_and_suggests(schemas: BundledSchemas) -> None:
    cfg = config(
        BASIC + '    item_nam: "{{ title }}"\n  product_types:\n    PRODUCT: {attributes: {ring: x}}\n'
    )
    with pytest.raises(MappingConfigError) as info:
        ListingBuilder(cfg, schemas).check_config()
    message = str(info.value)
    assert "listings.attributes.item_nam" in message and "did you mean item_name" in message
    assert "listings.product_types.PRODUCT.attributes.ring" in message
    ListingBuilder(config(BASIC), schemas).check_config()  # a good mapping passes


def test_an_unknown_product_type_is_an_issue_per_listing(schemas: BundledSchemas) -> None:
    (listing,) = ListingBuilder(config("  product_type: LUGGAGE\n"), schemas).build(
        product(fields=home_fields())
    )
    assert listing.build_issues[0].code == "LS-MAP-SCHEMA" and "LUGGAGE" in listing.build_issues[0].message


def test_a_marketplace_can_use_another_language(schemas: BundledSchemas) -> None:
    cfg = config(BASIC + "  marketplaces:\n    DE: {language: en}\n", seller=False, marketplaces="[FR, DE]")
    p = product(fields=home_fields(), localized={"title": {"en": "Blue vase", "fr": "Vase bleu"}})
    fr, de = ListingBuilder(cfg, schemas).build(p)
    assert fr.attributes["item_name"][0]["value"] == "Vase bleu"
    assert de.attributes["item_name"][0] == {
        "value": "Blue vase",
        "marketplace_id": DE,
        "language_tag": "de_DE",
    }


def _vendor_schema() -> dict[str, Any]:
    """A small schema shaped like Amazon's, with the vendor-only ``cost_price``."""
    money = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["currency", "value"],
            "properties": {
                "value": {"type": "number"},
                "currency": {"type": "string"},
                "marketplace_id": {"$ref": "#/$defs/marketplace_id"},
            },
        },
    }
    text = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "value": {"type": "string"},
                "language_tag": {"$ref": "#/$defs/language_tag"},
                "marketplace_id": {"$ref": "#/$defs/marketplace_id"},
            },
        },
    }
    return {
        "$defs": {"marketplace_id": {"default": FR}, "language_tag": {"default": "fr_FR"}},
        "properties": {"item_name": text, "cost_price": money, "purchasable_offer": money},
    }


def test_vendor_cost_price_where_the_schema_has_it() -> None:
    cfg = config(BASIC.replace('    brand: "{{ brand }}"\n', ""), seller=False, marketplaces="[FR]")
    builder = ListingBuilder(cfg, lambda *_: _vendor_schema())
    (listing,) = builder.build(product(fields={"title": "Vase", "cost": "4,20", "price": "9"}))
    assert listing.attributes["cost_price"] == [{"value": 4.2, "currency": "EUR", "marketplace_id": FR}]
    assert "purchasable_offer" not in listing.attributes


def test_vendors_send_cost_price_with_the_bundled_schemas_and_sellers_do_not(schemas: BundledSchemas) -> None:
    """The bundled (seller) schemas lack cost_price: vendors get the vendor's view, which has it."""
    fields = home_fields(title="Vase", cost_price="4,20")
    vendor = ListingBuilder(config(BASIC, seller=False, marketplaces="[FR, DE]"), schemas)
    for listing in vendor.build(product(fields=fields)):
        assert listing.attributes["cost_price"] == [
            {"value": 4.2, "currency": "EUR", "marketplace_id": listing.marketplace_id}
        ]
        assert not {"purchasable_offer", "fulfillment_availability"} & set(listing.attributes)
    (seller,) = ListingBuilder(config(BASIC), schemas).build(product(fields=fields))
    assert "cost_price" not in seller.attributes and seller.attributes["purchasable_offer"]
    assert "cost_price" not in schemas("HOME", FR, Requirements.LISTING_PRODUCT_ONLY)["properties"]


def test_validate_checks_a_vendors_cost_price(schemas: BundledSchemas) -> None:
    from listingsync.mapping import MappingPipeline

    cfg = config(BASIC, seller=False, marketplaces="[FR]")
    pipeline = MappingPipeline(cfg, schemas)
    good = pipeline.result(product(fields=home_fields(title="Vase", cost_price="4,20")))
    assert not [i for i in good.issues if i.attribute == "cost_price"]
    bad = pipeline.result(product(fields=home_fields(title="Vase", cost_price="0")))
    assert [(i.path, i.severity.value) for i in bad.issues if i.attribute == "cost_price"] == [
        ("/cost_price/0/value", "ERROR")
    ]


def test_store_schemas_get_the_vendor_view_with_their_identity() -> None:
    from listingsync.mapping.schemas import VendorSchemas, for_account
    from listingsync.schema.product_type import ProductTypeSchema

    home = ProductTypeSchema.bundled("HOME", FR)
    home.version, home.checksum = "U1", "abc"
    vendor_cfg = config(BASIC, seller=False, marketplaces="[FR]")
    provider = for_account(lambda *_: home, vendor_cfg.account)
    assert isinstance(provider, VendorSchemas) and for_account(provider, vendor_cfg.account) is provider
    view = provider("HOME", FR, Requirements.LISTING_PRODUCT_ONLY)
    assert isinstance(view, ProductTypeSchema) and (view.version, view.checksum) == ("U1", "abc")
    assert "cost_price" in view.properties and "cost_price" in {
        i.attribute for i in view.validator.issues({"cost_price": []})
    }
    assert provider("HOME", FR, Requirements.LISTING_PRODUCT_ONLY) is view  # once, not per record
    assert "cost_price" not in home.properties
    seller = config(BASIC).account
    original = lambda *_: home  # noqa: E731
    assert for_account(original, seller) is original


def test_schema_objects_from_the_store_work_too() -> None:
    from listingsync.schema.product_type import ProductTypeSchema

    home = ProductTypeSchema.bundled("HOME", US)
    cfg = config(BASIC)
    (listing,) = ListingBuilder(cfg, lambda *_: home).build(product(fields=home_fields(title="Vase")))
    assert listing.attributes["item_name"][0]["language_tag"] == "en_US"


def test_check_config_rejects_overrides_for_a_marketplace_not_sold_in(schemas: BundledSchemas) -> None:
    cfg = config(
        BASIC + "  marketplaces:\n    DE: {attributes: {brand: x}}\n", seller=False, marketplaces="[FR]"
    )
    with pytest.raises(
        MappingConfigError, match=r"names DE, which account.marketplaces does not list \(FR\)"
    ):
        ListingBuilder(cfg, schemas).check_config()


def test_bare_names_in_identifier_offer_and_images_are_fields(schemas: BundledSchemas) -> None:
    listings = BASIC + (
        "  identifier: {field: gtin_code}\n"
        "  offer: {price: amount, quantity: stock, handling_time: 3}\n"
        "  images: {swatch: swatch_url}\n"
        "  variations: {theme: COLOR}\n"
    )
    fields = {"title": "Vase", "brand": "Acme", "gtin_code": "036000291452", "amount": "5", "stock": "7"}
    fields["swatch_url"] = "https://img.example.com/s.jpg"
    builder = ListingBuilder(config(listings), schemas)
    (child,) = builder.build(product(parent_sku="P", fields=fields), parent=product("P"))
    a = child.attributes
    assert a["externally_assigned_product_identifier"][0] == {
        "type": "upc",
        "value": "036000291452",
        "marketplace_id": US,
    }
    assert a["purchasable_offer"][0]["our_price"] == [{"schedule": [{"value_with_tax": 5}]}]
    assert a["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 7, "lead_time_to_ship_max_days": 3}
    ]
    assert a["swatch_product_image_locator"][0]["media_location"] == "https://img.example.com/s.jpg"
    assert a["variation_theme"] == [{"name": "COLOR"}]


def test_a_field_only_in_other_languages_says_so_and_what_fixes_it(schemas: BundledSchemas) -> None:
    names = {"en": "Arc floor lamp", "es": "Lámpara de arco"}
    record = product(fields=home_fields(), localized={"product_name": names})
    mapping = (
        "  product_type: HOME\n  attributes:\n    item_name: '{{ product_name }}'\n    brand: '{{ brand }}'\n"
    )
    listings = ListingBuilder(config(mapping, seller=False, marketplaces="[DE, FR]"), schemas).build(record)
    for listing, (language, country) in zip(listings, [("de", "DE"), ("fr", "FR")], strict=True):
        (hint,) = [i for i in listing.build_issues if i.code == "LS-MAP-LANGUAGE"]
        assert hint.path == "/item_name"
        assert f"'product_name' has values in en, es but none in {language} ({country})" in hint.message
        assert "listings.fallback_language: en" in hint.message and f"product_name_{language}" in hint.message
    fixed = mapping + "  fallback_language: en\n"
    listings = ListingBuilder(config(fixed, seller=False, marketplaces="[DE, FR]"), schemas).build(record)
    assert all(not [i for i in x.build_issues if i.code == "LS-MAP-LANGUAGE"] for x in listings)
    assert listings[0].attributes["item_name"][0]["value"] == "Arc floor lamp"


def test_moving_a_config_to_another_marketplace_names_it_and_where_the_attribute_exists(
    schemas: BundledSchemas,
) -> None:
    mapping = "  product_type: HOME\n  attributes:\n    is_fragile: 'false'\n    item_nam: '{{ title }}'\n"
    with pytest.raises(MappingConfigError) as info:
        ListingBuilder(config(mapping, marketplaces="[US]"), schemas).check_config()
    message = info.value.message
    fragile = next(line for line in message.splitlines() if "is_fragile" in line)
    assert "listings.attributes.is_fragile: not an attribute of HOME in US" in fragile
    assert "HOME has it in FR" in fragile and "listings.marketplaces.<country>.attributes" in fragile
    assert "list_price" not in fragile  # no look-alike guess sharing nothing with the name
    assert "did you mean item_name" in message


def test_the_barcode_fast_check_accepts_exactly_what_stdnum_does() -> None:
    import random

    from stdnum import ean

    from listingsync.mapping.builder import _gs1_valid

    rng = random.Random(16)
    codes = ["4006381333931", "4006381333932", "036000291452", "96385074", "1" * 14, "", "12345678901x"]
    codes += [
        "".join(rng.choice("0123456789") for _ in range(rng.choice((7, 8, 12, 13, 14, 15))))
        for _ in range(3000)
    ]
    codes += ["٣" * 13, "4006381333931 ", "400-6381333931"]
    for code in codes:
        if _gs1_valid(code):  # never accepts what stdnum refuses (its message would be lost)
            assert ean.is_valid(code), code
        if len(code) in (8, 12, 13, 14) and code.isascii() and code.isdigit():
            assert _gs1_valid(code) == ean.is_valid(code), code


@pytest.mark.parametrize(
    ("values", "languages", "expected"),
    [
        ({"en": "Table", "fr": "Table FR", "de": "Tisch"}, ["fr_FR", "en"], "Table FR"),  # language part
        ({"fr-FR": "exact", "fr": "part"}, ["fr_FR"], "exact"),  # the exact tag first, any spelling
        ({"fr_CA": "Québec", "en": "x"}, ["fr_FR", "en"], "Québec"),  # another region of the language
        ({"fr": "", "fr_BE": None, "en": "fallback"}, ["fr_FR", "en"], "fallback"),  # empties skipped
        ({"FR": "first", "fr": "last"}, ["fr_FR"], "last"),  # keys that normalise alike: the last counts
        ({"de": "Tisch"}, ["fr_FR", "es"], None),
    ],
)
def test_pick_language_takes_the_first_wanted_language_the_record_has(
    values: dict[str, Any], languages: list[str], expected: str | None
) -> None:
    from listingsync.mapping.context import pick_language

    for _ in range(2):  # the second call reads the cached search order
        assert pick_language(values, languages) == (expected is not None, expected)
