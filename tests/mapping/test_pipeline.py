from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from mapping_helpers import SAMPLE, config, home_fields, product

from listingsync.catalog import CatalogProblem, Origin, Product, open_source
from listingsync.config import load_config
from listingsync.mapping import BundledSchemas, MappingPipeline, order_listings, parents_first
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.pipeline import Outline, field_names

#: The sample catalogue's deliberate errors: SKU → (attribute, issue code).
BROKEN = {
    "MD-VASE-007": ("brand", "90220"),
    "MD-CNDL-004": ("country_of_origin", "LS-ENUM"),
    "MD-CUSH-009": ("item_name", "LS-MAX-LENGTH"),
    "MD-KTCH-005": ("externally_assigned_product_identifier", "LS-MAP-BARCODE"),
}


def test_parents_first_is_stable_and_survives_cycles() -> None:
    items = [("c1", "p"), ("x", None), ("p", None), ("c2", "p"), ("a", "b"), ("b", "a")]
    ordered = parents_first(items, lambda i: i[0], lambda i: i[1])
    assert [i[0] for i in ordered][:4] == ["p", "c1", "x", "c2"]
    assert sorted(i[0] for i in ordered[4:]) == ["a", "b"]  # a cycle: each once, no hang


def test_order_listings() -> None:
    def listing(sku: str, parent: str | None) -> Listing:
        return Listing(sku, "US", "HOME", Requirements.LISTING, {}, parent_sku=parent)

    ordered = order_listings([listing("c", "p"), listing("p", None)])
    assert [item.sku for item in ordered] == ["p", "c"]


def test_problems_pass_through_and_one_bad_record_does_not_stop_the_others(schemas: BundledSchemas) -> None:
    cfg = config(
        '  product_type: HOME\n  attributes:\n    item_name: "{{ title }}"\n    color: "{{ colour }}"\n'
    )
    problem = CatalogProblem(Origin("products.csv", 3), "duplicate SKU", sku="A")
    records: list[Product | CatalogProblem] = [
        product("A", fields=home_fields(title="a")),
        problem,
        product("B", fields=home_fields(title="b", colour="red")),
    ]
    results = list(MappingPipeline(cfg, schemas).run(records))
    assert results[0].problem is problem
    by_sku = {r.sku: r for r in results if r.product is not None}
    assert {i.code for i in by_sku["B"].issues} >= {"90220"}  # built and validated
    # "colour" exists in the catalogue (record B), so A's empty colour is no template error.
    assert "LS-MAP-TEMPLATE" not in {i.code for i in by_sku["A"].issues}
    assert by_sku["B"].listings[0].listing.attributes["color"][0]["value"] == "red"


def test_deleted_records_are_not_built(schemas: BundledSchemas) -> None:
    from listingsync.catalog import ProductStatus

    cfg = config("  product_type: HOME\n")
    (result,) = MappingPipeline(cfg, schemas).run([product("A", status=ProductStatus.DELETED)])
    assert result.deleted and result.listings == [] and result.ok


def test_a_block_built_at_once_equals_its_records_built_one_by_one(schemas: BundledSchemas) -> None:
    """``results`` builds a whole block before validating it: same results, issues and order as
    ``result`` per record, a catalogue problem and a deleted record in their places."""
    from listingsync.catalog import ProductStatus
    from listingsync.mapping.pipeline import Job, problem_result

    cfg = load_config(SAMPLE / "listingsync.yaml")
    source = open_source(cfg)
    records: list[Product | CatalogProblem] = list(source.records())
    records.insert(5, CatalogProblem(Origin("products.csv", 9), "duplicate SKU", sku="MD-VASE-007"))
    records.insert(9, product("GONE", status=ProductStatus.DELETED))
    pipeline = MappingPipeline(cfg, schemas)
    items = list(pipeline.ordered(records, Outline.of(records, source.columns())))

    def summary(results: list) -> list[tuple[str, bool, list[tuple[str, str, str]]]]:
        return [
            (
                r.sku,
                r.problem is None,
                [(i.listing.marketplace_id, x.code, x.path) for i in r.listings for x in i.issues],
            )
            for r in results
        ]

    one_by_one = [
        problem_result(item)
        if isinstance(item, CatalogProblem)
        else pipeline.result(item.product, parent=item.parent, is_parent=item.is_parent)
        for item in items
    ]
    at_once = pipeline.results(items)
    assert summary(at_once) == summary(one_by_one)
    assert any(isinstance(item, Job) and item.parent is not None for item in items)  # a family
    assert {r.sku for r in at_once if r.problem is None and not r.ok} == set(BROKEN)
    assert [r.sku for r in at_once if r.problem is not None] == ["MD-VASE-007"]


@pytest.mark.parametrize("config_name", ["listingsync.yaml", "listingsync-seller.yaml"])
def test_sample_catalogue_has_exactly_the_deliberate_errors(
    schemas: BundledSchemas, config_name: str
) -> None:
    cfg = load_config(SAMPLE / config_name)
    source = open_source(cfg)
    pipeline = MappingPipeline(cfg, schemas)
    pipeline.check()
    results = list(pipeline.run(source.records(), columns=source.columns()))
    assert len(results) == 62 and all(r.problem is None for r in results)
    types = Counter(item.listing.product_type for r in results for item in r.listings)
    markets = len(cfg.account.marketplaces)
    # All HOME, tote bags included: Amazon refuses to create products with PRODUCT (4000004).
    assert types == {"HOME": 62 * markets}
    invalid = {r.sku for r in results if not r.ok}
    assert invalid == set(BROKEN)
    for sku, (attribute, code) in BROKEN.items():
        (result,) = [r for r in results if r.sku == sku]
        for item in result.listings:
            assert [(i.attribute, i.code) for i in item.errors] == [(attribute, code)], (sku, item.issues)
    # parents before children; the family is complete
    skus = [r.sku for r in results]
    assert skus.index("MD-THRW-KNIT") < min(
        skus.index(f"MD-THRW-KNIT-{c}") for c in ("GREY", "OCHRE", "SAGE")
    )
    parent = next(r for r in results if r.sku == "MD-THRW-KNIT")
    assert all(item.listing.parentage == "parent" for item in parent.listings)
    assert all(item.listing.requirements is Requirements.LISTING_PRODUCT_ONLY for item in parent.listings)
    if cfg.account.is_vendor:
        assert all(
            item.listing.requirements is Requirements.LISTING_PRODUCT_ONLY
            for r in results
            for item in r.listings
        )
        assert not any("purchasable_offer" in item.listing.attributes for r in results for item in r.listings)


def test_pipeline_uses_the_schema_objects_own_validator() -> None:
    from listingsync.schema.product_type import ProductTypeSchema

    home = ProductTypeSchema.bundled("HOME", "ATVPDKIKX0DER")
    cfg = config('  product_type: HOME\n  attributes:\n    item_name: "{{ title }}"\n')
    (result,) = MappingPipeline(cfg, lambda *_: home).run([product(fields=home_fields(title="Vase"))])
    assert "item_name" not in {i.attribute for i in result.listings[0].issues}
    assert {i.code for i in result.listings[0].issues} >= {"90220"}
    assert home._validator is not None  # the pipeline used (and compiled) the schema's own validator


def test_a_variant_without_its_parent_in_the_batch_uses_the_lookup(schemas: BundledSchemas) -> None:
    cfg = config('  product_type: HOME\n  attributes:\n    brand: "{{ brand }}"\n')
    parent = product("P", fields={"brand": "Acme", "variation_theme": "COLOR"})
    child = product("P-RED", parent_sku="P", fields={"color": "red"})
    alone = next(iter(MappingPipeline(cfg, schemas).run([child]))).listings[0].listing
    assert "brand" not in alone.attributes and "variation_theme" not in alone.attributes
    pipeline = MappingPipeline(cfg, schemas, parent_lookup={"P": parent}.get)
    with_lookup = next(iter(pipeline.run([child]))).listings[0].listing
    assert with_lookup.attributes["brand"][0]["value"] == "Acme"
    assert with_lookup.attributes["variation_theme"] == [{"name": "COLOR"}]


def test_streaming_with_an_outline_holds_variants_until_their_parent_and_matches_the_whole_read(
    schemas: BundledSchemas,
) -> None:
    cfg = config('  product_type: HOME\n  attributes:\n    brand: "{{ brand }}"\n')
    records: list[Product | CatalogProblem] = [
        product("P-RED", parent_sku="P", fields={"color": "red"}),
        product("SOLO", fields={"brand": "Other"}),
        product("P", fields={"brand": "Acme", "variation_theme": "COLOR"}),
        product("P-BLUE", parent_sku="P", fields={"color": "blue"}),
    ]
    outline = Outline.of(iter(records))
    assert outline.parents == {"P"} and {"brand", "color", "variation_theme"} <= outline.fields

    def consumed_once() -> Iterator[Product | CatalogProblem]:
        yield from records  # a stream: it cannot be read twice

    streamed = list(MappingPipeline(cfg, schemas).run(consumed_once(), outline=outline))
    assert [r.sku for r in streamed] == ["SOLO", "P", "P-RED", "P-BLUE"]
    red = streamed[2].listings[0].listing
    assert red.attributes["brand"][0]["value"] == "Acme"  # inherited from the parent that came later
    assert streamed[1].listings[0].listing.parentage == "parent"
    whole = {r.sku: r for r in MappingPipeline(cfg, schemas).run(records)}
    for result in streamed:
        assert [i.listing.attributes for i in result.listings] == [
            i.listing.attributes for i in whole[result.sku].listings
        ]


async def test_preload_stops_asking_amazon_once_it_is_unreachable() -> None:
    from listingsync.amazon.errors import SPAPIConnectionError
    from listingsync.errors import ListingSyncError
    from listingsync.mapping import preload

    class Store:
        def __init__(self) -> None:
            self.online = 0
            self.cached = 0

        async def get(self, *key: object) -> None:
            self.online += 1
            try:
                raise SPAPIConnectionError("https://sellingpartnerapi-na.amazon.com", OSError("refused"))
            except SPAPIConnectionError as exc:
                raise ListingSyncError("cannot fetch the schema") from exc

        def get_cached(self, *key: object) -> None:
            self.cached += 1
            raise ListingSyncError("not cached")

    cfg = config(
        "  product_type: HOME\n  rules: [{when: 'true', product_type: PRODUCT}]\n", marketplaces="[US, CA]"
    )
    store = Store()
    failures = await preload(cfg, store)
    assert store.online == 1 and store.cached == 7  # 2 types x 2 marketplaces x 2 requirements
    assert len(failures) == 8


def test_a_misspelt_field_is_one_config_error_with_did_you_mean(schemas: BundledSchemas) -> None:
    from listingsync.mapping import MappingConfigError

    cfg = config(
        "  product_type: HOME\n  rules: [{when: \"Category == 'Bags'\", product_type: PRODUCT}]\n"
        "  attributes:\n    item_name: '{{ Title }}'\n    brand: '{{ brand }} {{ marketplace }}'\n"
        "    color: '{{ colour | upper }}'\n"
    )
    records = [
        product(f"SKU-{i}", fields=home_fields(title=f"T{i}", category="Home", color="red"))
        for i in range(20)
    ]
    with pytest.raises(MappingConfigError) as info:  # validate and sync call this on a whole catalogue
        MappingPipeline(cfg, schemas).builder.check_fields(Outline.of(records).fields)
    message = info.value.message
    assert message.count("\n") == 3  # one line per misspelt name, not one per record
    assert (
        "listings.attributes.item_name: uses 'Title', which no record has; did you mean 'title'?" in message
    )
    assert "listings.attributes.color: uses 'colour', which no record has; did you mean 'color'?" in message
    assert "listings.rules[0].when: uses 'Category', which no record has; did you mean 'category'?" in message
    assert "marketplace" not in message and "upper" not in message  # provided names and filters are fine


def test_field_hints_leave_out_the_marketplaces_own_names(schemas: BundledSchemas) -> None:
    cfg = config("  product_type: HOME\n  attributes:\n    item_name: '{{ titel }}'\n")
    (listing,) = MappingPipeline(cfg, schemas).builder.build(product(fields=home_fields(title="Vase")))
    (issue,) = [i for i in listing.build_issues if i.code == "LS-MAP-TEMPLATE"]
    assert "did you mean 'title'?" in issue.message
    fields_listed = issue.message.split("(fields: ", 1)[1]
    for internal in ("currency", "language_tag", "marketplace_id"):
        assert internal not in fields_listed


def test_field_names_fold_language_columns_but_not_unit_suffixes() -> None:
    names = field_names((), ["sku", "title_de", "description[de_DE]", "bullet_fr_FR", "product_weight_kg"])
    assert {"title", "description", "bullet"} <= names
    assert "product_weight" not in names  # kg is a unit here, not Kongo: {product_weight} stays unknown
