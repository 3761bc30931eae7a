"""The catalogue mirror (ls_catalog) and the fingerprints of what built a listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from listingsync.catalog.model import Origin, Product, ProductStatus
from listingsync.config import load_config
from listingsync.mapping.schemas import BundledSchemas
from listingsync.sync.fingerprint import (
    MappingFingerprints,
    is_current,
    product_document,
    product_from_document,
    record_fingerprint,
)
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.store import BuiltEntry, StateStore

FR, DE = "A13V1IB3VIYZZH", "A1PA6795UKMFR9"


def _product(sku: str, title: str = "Mug", **kw: object) -> Product:
    return Product(
        sku, Origin("products.csv", 2), fields={"brand": "Acme"}, localized={"title": {"en": title}}, **kw
    )  # type: ignore[arg-type]


def test_product_round_trips_through_its_document() -> None:
    product = _product("A", parent_sku="P", images=["http://x/1.jpg"], category_path=("Home", "Mugs"))
    again = product_from_document(product_document(product))
    assert product_document(again) == product_document(product)
    assert again.origin == product.origin and again.category_path == ("Home", "Mugs")


def test_record_fingerprint_follows_content_and_parent_not_position() -> None:
    a = _product("A")
    moved = _product("A")
    moved.origin = Origin("products.csv", 40)
    assert record_fingerprint(a) == record_fingerprint(moved)
    assert record_fingerprint(a) != record_fingerprint(_product("A", title="Cup"))
    parent = _product("P")
    assert record_fingerprint(a, parent) != record_fingerprint(a, _product("P", title="Other"))


def test_merge_replaces_changed_drops_deleted_and_absent_on_complete_reads(store: StateStore) -> None:
    mirror = CatalogMirror(store)
    first = mirror.merge([_product("A"), _product("B"), _product("C")], complete=True)
    assert first.changed == {"A", "B", "C"} and len(mirror) == 3
    # Incremental: only B changed, C deleted in the source; A untouched stays.
    gone = _product("C", status=ProductStatus.DELETED)
    second = mirror.merge([_product("B", title="New"), gone], complete=False)
    assert (second.changed, second.dropped) == ({"B"}, {"C"})
    assert {p.sku: p.localized["title"]["en"] for p in mirror.products()} == {"A": "Mug", "B": "New"}
    # Complete read without A: dropped, unless it could not be read this time (kept).
    assert mirror.merge([_product("B", title="New")], complete=True, keep={"A"}).dropped == set()
    assert mirror.merge([_product("B", title="New")], complete=True).dropped == {"A"}
    assert mirror.skus() == {"B"}


def test_unchanged_images_marker_takes_the_images_it_had(store: StateStore) -> None:
    mirror = CatalogMirror(store)
    mirror.merge([_product("A", images=["http://x/1.jpg", "http://x/2.jpg"])], complete=True)
    later = _product("A", title="Renamed", images_unchanged=True)
    mirror.merge([later], complete=False)
    assert later.images == ["http://x/1.jpg", "http://x/2.jpg"] and not later.images_unchanged
    mirrored = mirror.get("A")
    assert mirrored is not None and mirrored.images == later.images


def test_children_of_parents(store: StateStore) -> None:
    mirror = CatalogMirror(store)
    mirror.merge(
        [_product("P"), _product("P-1", parent_sku="P"), _product("Q-1", parent_sku="Q")], complete=True
    )
    assert mirror.children(["P"]) == {"P-1"}


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "listingsync.yaml"
    path.write_text(
        "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [FR, DE]}\n"
        "source: {type: csv, path: products.csv}\n"
        "listings:\n  product_type: HOME\n  attributes:\n    item_name: '{{ title }}'\n" + extra,
        encoding="utf-8",
    )
    return path


def test_mapping_fingerprint_changes_only_where_the_change_applies(tmp_path: Path) -> None:
    base = MappingFingerprints(load_config(_config(tmp_path)), BundledSchemas())
    same = MappingFingerprints(load_config(_config(tmp_path)), BundledSchemas())
    assert base("HOME", FR, "LISTING_PRODUCT_ONLY") == same("HOME", FR, "LISTING_PRODUCT_ONLY")
    fr_only = MappingFingerprints(
        load_config(_config(tmp_path, "  marketplaces:\n    FR: {attributes: {brand: Acme}}\n")),
        BundledSchemas(),
    )
    assert fr_only("HOME", FR, "LISTING_PRODUCT_ONLY") != base("HOME", FR, "LISTING_PRODUCT_ONLY")
    assert fr_only("HOME", DE, "LISTING_PRODUCT_ONLY") == base("HOME", DE, "LISTING_PRODUCT_ONLY")
    by_type = MappingFingerprints(
        load_config(_config(tmp_path, "  product_types:\n    PRODUCT: {attributes: {brand: Acme}}\n")),
        BundledSchemas(),
    )
    assert by_type("HOME", FR, "LISTING_PRODUCT_ONLY") == base("HOME", FR, "LISTING_PRODUCT_ONLY")
    assert by_type("PRODUCT", FR, "LISTING_PRODUCT_ONLY") != base("PRODUCT", FR, "LISTING_PRODUCT_ONLY")
    template = MappingFingerprints(
        load_config(_config(tmp_path).parent / "listingsync.yaml"), lambda *a: {"properties": {"x": {}}}
    )
    assert template("HOME", FR, "LISTING_PRODUCT_ONLY") != base("HOME", FR, "LISTING_PRODUCT_ONLY")


@pytest.mark.parametrize(
    ("status", "pending", "source", "current"),
    [
        ("live", None, "s1", True),
        ("live", None, "s2", False),
        ("error", None, "s1", False),
        ("live", "PUT", "s1", False),
    ],
)
def test_is_current(tmp_path: Path, status: str, pending: str | None, source: str, current: bool) -> None:
    fps = MappingFingerprints(load_config(_config(tmp_path)), BundledSchemas())
    entry = BuiltEntry(
        FR, "HOME", "LISTING_PRODUCT_ONLY", "s1", fps("HOME", FR, "LISTING_PRODUCT_ONLY"), status, pending
    )
    assert is_current(entry, source, fps) is current
    entry.mapping_fp = "other"
    assert is_current(entry, "s1", fps) is False
    entry.mapping_fp = fps("HOME", FR, "LISTING_PRODUCT_ONLY")
    assert is_current(entry, None, fps) is (status == "live" and pending is None)
