"""The Sales Layer source against the fake Sales Layer server over loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from listingsync.catalog import CatalogError, CatalogProblem, Product, open_source
from listingsync.catalog.saleslayer import SalesLayerSource
from listingsync.catalog.saleslayer_client import SalesLayerError
from listingsync.config import parse_config
from listingsync.config.source import SourceConfig
from listingsync.emulator.saleslayer import FakeSalesLayerServer, load_catalog, run_in_thread

DATA = Path(__file__).parent / "data" / "saleslayer.yaml"
CODE = "CN9999H9999C999"
SECRET = "0123456789abcdef0123456789abcdef"
T0 = 1717171717


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeSalesLayerServer]:
    with run_in_thread(load_catalog(DATA)) as server:
        yield server


@pytest.fixture
def server(_server: FakeSalesLayerServer) -> FakeSalesLayerServer:
    """The module's server with a fresh copy of the test catalogue."""
    _server.reset(load_catalog(DATA))
    return _server


def make_source(
    server: FakeSalesLayerServer, tmp_path: Path, secret: str = SECRET, **extra: Any
) -> SalesLayerSource:
    settings = SourceConfig(
        type="saleslayer", connector_id=CODE, api_url=server.url, pagination=4, max_retries=3
    )
    return SalesLayerSource(
        settings,
        secret,
        id_cache=tmp_path / "ids.sqlite",
        sleep=lambda seconds: None,  # retries without waiting
        **extra,
    )


def split(records: Iterator[Any]) -> tuple[list[Product], list[CatalogProblem]]:
    products: list[Product] = []
    problems: list[CatalogProblem] = []
    for record in records:
        (problems if isinstance(record, CatalogProblem) else products).append(record)
    return products, problems


def test_full_export_of_three_pages(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    source = make_source(server, tmp_path)
    products, problems = split(source.records())
    assert problems == []
    assert [page for page, _ in server.fake.requests] == [1, 2, 3]
    first = server.fake.requests[0][1]
    assert first["ver"] == "1.18" and first["pagination"] == "4" and "last_update" not in first
    assert source.next_checkpoint == str(T0) and source.complete and source.action == "refresh"
    by_sku = {p.sku: p for p in products}
    assert len(products) == 10
    mug = by_sku["PRD-MUG-CLASSIC"]
    assert mug.source_id == "products/501" and str(mug.origin) == "saleslayer products ID 501"
    assert mug.category_path == ("Kitchen", "Mugs")
    assert mug.localized["product_name"] == {"en": "Classic ceramic mug", "es": "Taza de cerámica clásica"}
    assert mug.localized["product_bullets"]["en"] == ["Dishwasher safe", "Microwave safe"]
    assert mug.fields["product_brand"] == "Acme Home" and mug.fields["product_weight_kg"] == 0.32
    assert mug.images == [
        "https://img.example-sl-cdn.test/40123/mug-classic-front_ORG.jpg",
        "https://img.example-sl-cdn.test/40123/mug-classic-side_ORG.jpg",
    ]
    assert mug.fields["product_manual"] == ["https://img.example-sl-cdn.test/40123/mug-care.pdf"]
    white = by_sku["MUG-CLASSIC-WHT"]
    assert white.parent_sku == "PRD-MUG-CLASSIC" and white.source_id == "product_formats/7001"
    assert white.localized["format_color"] == {"en": "White", "es": "Blanco"}
    assert white.images == ["https://img.example-sl-cdn.test/40123/mug-classic-white_ORG.jpg"]
    # Variants inherit what they lack from their product (the variant's own values win).
    assert white.fields["product_brand"] == "Acme Home" and white.fields["format_ean"] == "8412345678905"
    assert by_sku["MUG-CLASSIC-BLK"].images == mug.images


def test_incremental_run_returns_only_changed_and_deleted_records(
    server: FakeSalesLayerServer, tmp_path: Path
) -> None:
    source = make_source(server, tmp_path)
    split(source.records())
    checkpoint = source.next_checkpoint
    assert checkpoint is not None
    fake = server.fake
    fake.set_clock(T0 + 500)
    travel = fake.tables["products"].records[502]
    fake.upsert("products", {**travel, "product_brand": "Acme Travel", "images_modified": T0 - 1000})
    fake.delete("product_formats", 7002)
    fake.delete("products", 504)

    # A new source object: deletions find their SKU in the ID cache on disk.
    again = make_source(server, tmp_path)
    products, problems = split(again.records(since=checkpoint))
    assert problems == []
    first_page = [params for page, params in fake.requests if page == 1][-1]
    assert first_page["last_update"] == checkpoint
    summary = sorted((p.sku, p.status.value) for p in products)
    assert summary == [
        ("MUG-CLASSIC-BLK", "deleted"),
        ("PRD-KETTLE", "deleted"),
        ("PRD-MUG-TRAVEL", "active"),
    ]
    travel_product = next(p for p in products if p.sku == "PRD-MUG-TRAVEL")
    assert travel_product.fields["product_brand"] == "Acme Travel"
    assert travel_product.images == [] and travel_product.images_unchanged  # "U": keep, never remove
    assert travel_product.category_path == ("Kitchen", "Mugs")
    deleted_variant = next(p for p in products if p.sku == "MUG-CLASSIC-BLK")
    assert deleted_variant.parent_sku == "PRD-MUG-CLASSIC"
    assert again.next_checkpoint == str(T0 + 500) and not again.complete and again.action == "update"


def test_a_failure_on_page_2_leaves_the_checkpoint_unchanged(
    server: FakeSalesLayerServer, tmp_path: Path
) -> None:
    source = make_source(server, tmp_path)
    split(source.records())
    checkpoint = source.next_checkpoint
    fake = server.fake
    fake.set_clock(T0 + 100)
    for record_id in (501, 502, 503, 504):  # 4 products + cascades: more than one page
        fake.upsert("products", {**fake.tables["products"].records[record_id], "product_brand": "B2"})
    fake.add_fault(2, error=2, times=1)  # a fatal error on page 2 of the next export

    with pytest.raises(SalesLayerError) as info:
        split(source.records(since=checkpoint))
    assert info.value.code == 2 and info.value.page == 2
    assert source.next_checkpoint is None  # nothing to commit: the caller keeps its checkpoint

    # The next run from the same checkpoint gets the same changes.
    products, _ = split(source.records(since=checkpoint))
    assert {p.sku for p in products} >= {"PRD-MUG-CLASSIC", "PRD-MUG-TRAVEL", "PRD-TEAPOT", "PRD-KETTLE"}
    assert source.next_checkpoint == str(T0 + 100)


def test_transient_errors_are_retried_with_backoff(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    delays: list[float] = []
    settings = SourceConfig(
        type="saleslayer", connector_id=CODE, api_url=server.url, pagination=4, max_retries=3
    )
    source = SalesLayerSource(settings, SECRET, sleep=delays.append, backoff=0.5)
    server.fake.add_fault(1, error=11, times=1)
    server.fake.add_fault(2, error=14, times=1)
    server.fake.add_fault(3, malformed=True, times=1)
    products, problems = split(source.records())
    assert len(products) == 10 and problems == []
    assert len(delays) == 3 and all(0.25 <= d <= 0.5 for d in delays)
    # Page 1 was signed afresh on its retry; later pages were fetched as given.
    page_ones = [params for page, params in server.fake.requests if page == 1]
    assert len(page_ones) == 2 and page_ones[0]["unique"] != page_ones[1]["unique"]


def test_transient_errors_give_up_after_max_retries(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    server.fake.add_fault(1, error=10, times=10)
    with pytest.raises(SalesLayerError, match="gave up after 4 attempts") as info:
        split(make_source(server, tmp_path).records())
    assert info.value.code == 10 and "checkpoint was not moved" in str(info.value)


def test_wrong_secret_names_the_credential_and_never_shows_it(
    server: FakeSalesLayerServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-right-private-key-42"
    source = make_source(server, tmp_path, secret=wrong)
    with pytest.raises(SalesLayerError) as info:
        split(source.records())
    text = str(info.value)
    assert info.value.code == 4 and "LISTINGSYNC_SALESLAYER_SECRET" in text and CODE in text
    assert "key256=***" in caplog.text  # httpx's request log line, signature masked
    for shown in (text, repr(source), repr(source.client), caplog.text):
        assert wrong not in shown and not re.search(r"key256=[0-9a-f]{64}", shown)


def test_unknown_connector_and_a_wrong_clock(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    settings = SourceConfig(type="saleslayer", connector_id="CN0000", api_url=server.url)
    with pytest.raises(SalesLayerError, match="does not know the connector ID 'CN0000'") as info:
        split(SalesLayerSource(settings, SECRET).records())
    assert "source.connector_id" in str(info.value)
    late = make_source(server, tmp_path, clock=lambda: 1_000_000_000.0)
    with pytest.raises(SalesLayerError, match="clock") as info:
        split(late.records())
    assert info.value.code == 13 and "NTP" in str(info.value)


def test_gzip_and_bom_bodies(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    server.fake.bom = True
    products, _ = split(make_source(server, tmp_path).records())
    assert len(products) == 10


def test_unknown_product_of_a_variant_and_unknown_deletions(
    server: FakeSalesLayerServer, tmp_path: Path
) -> None:
    fake = server.fake
    fake.set_clock(T0 + 10)
    fake.upsert("product_formats", {"ID": 7100, "ID_products": 999, "format_sku": "ORPHAN"})
    fake.delete("products", 12345)  # never seen by us
    source = make_source(server, tmp_path)
    products, problems = split(source.records(since=str(T0)))
    assert products == []
    messages = {str(p.origin): (p.severity, p.message) for p in problems}
    severity, message = messages["saleslayer product_formats ID 7100"]
    assert severity == "error" and "product ID 999" in message and "full export" in message
    severity, message = messages["saleslayer products ID 12345"]
    assert severity == "warning" and "SKU is unknown" in message


def test_open_source_reads_the_secret_from_the_environment(
    server: FakeSalesLayerServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_text = (
        "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE]}\n"
        f"source: {{type: saleslayer, connector_id: {CODE}, api_url: '{server.url}', pagination: 100}}\n"
    )
    config = parse_config(config_text, base_dir=tmp_path)
    monkeypatch.setenv("LISTINGSYNC_SALESLAYER_SECRET", SECRET)
    source = open_source(config)
    products, _ = split(source.records())
    assert len(products) == 10
    assert (tmp_path / ".listingsync" / "saleslayer-ids.sqlite").exists()  # relative to the config
    monkeypatch.delenv("LISTINGSYNC_SALESLAYER_SECRET")
    monkeypatch.setattr("listingsync.credentials.load_secret", lambda name, scope=None: None)
    with pytest.raises(CatalogError, match="no private key") as info:
        open_source(config)
    assert "LISTINGSYNC_SALESLAYER_SECRET" in str(info.value)


def test_config_requires_a_connector_id() -> None:
    with pytest.raises(ValueError, match="connector_id"):
        SourceConfig(type="saleslayer")


def test_served_by_the_emulator_under_saleslayer(tmp_path: Path) -> None:
    from listingsync.emulator import EmulatorSettings
    from listingsync.emulator import run_in_thread as run_emulator

    with run_emulator(EmulatorSettings(saleslayer_file=DATA)) as emulator:
        settings = SourceConfig(
            type="saleslayer", connector_id=CODE, api_url=emulator.saleslayer_url, pagination=4
        )
        source = SalesLayerSource(settings, SECRET, id_cache=tmp_path / "ids.sqlite")
        products, problems = split(source.records())
    assert len(products) == 10 and problems == []
    assert source.next_checkpoint == str(T0)


def test_images_take_org_else_the_largest_size(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    server.fake.image_sizes = {"THM": (150, 150), "BIG": (3000, 3000), "IMD": (600, 600)}
    with make_source(server, tmp_path) as source:
        products, _ = split(source.records())
    mug = next(p for p in products if p.sku == "PRD-MUG-CLASSIC")
    assert mug.images[0].endswith("mug-classic-front_BIG.jpg")


def test_a_changed_connector_answers_a_full_refresh(server: FakeSalesLayerServer, tmp_path: Path) -> None:
    source = make_source(server, tmp_path)
    split(source.records())
    server.fake.set_clock(T0 + 60)
    server.fake.change_connector()
    products, _ = split(source.records(since=source.next_checkpoint))
    assert len(products) == 10  # everything, although nothing changed
    assert source.action == "refresh" and source.complete
    assert source.next_checkpoint == str(T0 + 60)


def test_an_unreachable_api_url_points_at_source_api_url() -> None:
    from listingsync.catalog.saleslayer_client import SalesLayerClient

    client = SalesLayerClient(CODE, SECRET, "http://127.0.0.1:1/", max_retries=1, sleep=lambda _: None)
    with client, pytest.raises(SalesLayerError) as info:
        next(client.export())
    text = str(info.value)
    assert "network error (ConnectError)" in text and "source.api_url" in text
    assert "checkpoint was not moved" in text and SECRET not in text


@pytest.mark.parametrize("bad_data", ["null", "missing", "list", "string"])
def test_a_page_without_a_data_object_stops_the_export_with_the_checkpoint_held(
    server: FakeSalesLayerServer, tmp_path: Path, bad_data: str
) -> None:
    server.fake.add_fault(2, bad_data=bad_data)
    source = make_source(server, tmp_path)
    with pytest.raises(SalesLayerError, match=r"page 2 is malformed: it has (no 'data'|'data' as)") as info:
        split(source.records())
    assert info.value.page == 2 and "checkpoint was not moved" in str(info.value)
    assert source.next_checkpoint is None  # never "read as empty": page 2's records would be lost

    products, problems = split(source.records())  # the next run reads every record
    assert len(products) == 10 and problems == [] and source.next_checkpoint == str(T0)


def test_a_table_that_is_not_a_list_of_rows_stops_the_export(
    server: FakeSalesLayerServer, tmp_path: Path
) -> None:
    from listingsync.catalog.saleslayer import IdCache, _ExportReader

    reader = _ExportReader(make_source(server, tmp_path).settings, IdCache(None, CODE))
    with pytest.raises(SalesLayerError, match=r"page 3 is malformed: it has data.products as null"):
        list(reader.page({"data": {"products": None}}, 3))
    with pytest.raises(SalesLayerError, match="has products rows but no data_schema for products"):
        list(reader.page({"data": {"products": [["M", 1, "SKU-1"]]}}, 1))
    assert list(reader.page({"data": []}, 4)) == []  # PHP's empty array: a page without rows


@pytest.mark.parametrize(("page", "to", "fetched"), [(2, 2, [1, 2]), (2, 1, [1, 2, 1])])
def test_a_next_page_cycle_is_refused_instead_of_looping_for_ever(
    server: FakeSalesLayerServer, tmp_path: Path, page: int, to: int, fetched: list[int]
) -> None:
    server.fake.add_fault(page, next_page_to=to, times=100)  # every visit leads back
    source = make_source(server, tmp_path)
    with pytest.raises(SalesLayerError, match=r"next_page leads back to page \d \(a cycle\)") as info:
        split(source.records())
    assert "checkpoint was not moved" in str(info.value) and source.next_checkpoint is None
    assert [p for p, _ in server.fake.requests] == fetched  # each page fetched at most once more


def test_an_endless_export_stops_at_the_page_cap(server: FakeSalesLayerServer) -> None:
    from listingsync.catalog.saleslayer_client import SalesLayerClient

    with SalesLayerClient(CODE, SECRET, server.url, pagination=4, max_pages=2) as client:
        pages = client.export()
        next(pages), next(pages)
        with pytest.raises(SalesLayerError, match="the export goes on past 2 pages"):
            next(pages)
    assert [p for p, _ in server.fake.requests] == [1, 2]
