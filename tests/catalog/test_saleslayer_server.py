"""The fake Sales Layer API, pinned to the reference (../shared/reference/saleslayer.md), not to
our client: requests are built by hand as the PHP SDK builds them."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from listingsync.emulator.saleslayer import (
    FakeSalesLayer,
    FakeSalesLayerServer,
    key256,
    load_catalog,
    run_in_thread,
)

DATA = Path(__file__).parent / "data" / "saleslayer.yaml"
CODE = "CN9999H9999C999"
SECRET = "0123456789abcdef0123456789abcdef"
NOW = 1717171717


def test_key256_worked_example_from_the_reference() -> None:
    # reference §1.2: code=CN9999H9999C999, secret 0123…cdef, time=1717171717, unique=482913
    assert key256(CODE, SECRET, 1717171717, 482913) == (
        "96d4b3179080475cec4fdfcb163078000963278eca11a459a497469c47c68ef5"
    )


@pytest.fixture
def fake() -> FakeSalesLayer:
    fake = load_catalog(DATA)
    fake.wall_clock = lambda: NOW  # the reference example's time is "now"
    return fake


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeSalesLayerServer]:
    with run_in_thread(load_catalog(DATA)) as server:
        yield server


@pytest.fixture
def http(fake: FakeSalesLayer, _server: FakeSalesLayerServer) -> Iterator[httpx.Client]:
    _server.reset(fake)
    with httpx.Client(base_url=_server.url) as client:
        yield client


def auth(time_: int = NOW, unique: int = 482913, secret: str = SECRET, code: str = CODE) -> dict[str, Any]:
    return {"code": code, "time": time_, "unique": unique, "key256": key256(code, secret, time_, unique)}


def call(http: httpx.Client, query: dict[str, Any], form: dict[str, Any] | None = None) -> dict[str, Any]:
    response = http.post("/", params=query, data=form) if form is not None else http.get("/", params=query)
    assert response.status_code == 200  # errors travel in the JSON, as the SDK expects
    result: dict[str, Any] = json.loads(response.content.removeprefix(b"\xef\xbb\xbf"))
    return result


def test_the_reference_request_post_with_query_auth_and_form_pagination(http: httpx.Client) -> None:
    # reference §4: POST /?code=…&time=…&unique=…&key256=…&ver=1.18&… with body pagination=500
    doc = call(http, {**auth(), "ver": "1.18", "group_category_id": 1}, {"pagination": 500})
    assert doc["error"] == 0
    assert doc["version"] == "1.18" and doc["time"] == NOW and doc["action"] == "refresh"
    assert doc["schema"]["connector_ID"] == CODE and doc["schema"]["languages"] == ["en", "es"]
    products = doc["data_schema"]["products"]
    assert products[:3] == ["STATUS", "ID", "ID_catalogue"]
    assert "product_name_en" in products and "product_name_es" in products
    assert {"product_image": ["STATUS", "ID", "ORG", "IMD", "THM"]} in products
    assert {"product_manual": ["STATUS", "ID", "FILE"]} in products
    info = doc["data_schema_info"]["products"]["product_name_es"]
    assert info["basename"] == "product_name" and info["language_code"] == "es"
    assert doc["data_schema_info"]["products"]["product_image"]["sizes"]["ORG"] == {
        "width": 2000,
        "height": 2000,
    }
    # 12 rows fit one page of 500: no next page, counted as one page.
    assert doc["next_page"] == "" and doc["page_count"] == 1
    row = doc["data"]["products"][0]
    by_column = dict(zip([c if isinstance(c, str) else next(iter(c)) for c in products], row, strict=True))
    assert by_column["STATUS"] == "M" and by_column["ID"] == 501 and by_column["ID_catalogue"] == [12, 11]
    assert by_column["product_name_es"] == "Taza de cerámica clásica"
    image = by_column["product_image"][0]
    assert (
        image[0] == "M" and image[2].endswith("mug-classic-front_ORG.jpg") and image[4].endswith("_THM.jpg")
    )


def test_parameters_are_accepted_from_the_query_string_alone(http: httpx.Client) -> None:
    doc = call(http, {**auth(), "ver": "1.18", "pagination": 4})
    assert doc["error"] == 0 and doc["page_length"] == 4  # exact_pagination in the test catalogue


def test_auth_errors(http: httpx.Client) -> None:
    assert call(http, {**auth(code="CN0000"), "ver": "1.18"})["error"] == 2
    assert call(http, {**auth(), "unique": "abc", "ver": "1.18"})["error"] == 3
    assert call(http, {**auth(secret="wrong"), "ver": "1.18"})["error"] == 4
    assert call(http, {**auth(), "time": "yesterday", "ver": "1.18"})["error"] == 12
    assert call(http, {**auth(time_=NOW - 3600), "ver": "1.18"})["error"] == 13
    # The legacy SHA-1 ``key`` still works.
    legacy = hashlib.sha1(f"{CODE}{SECRET}{NOW}7".encode(), usedforsecurity=False).hexdigest()
    assert call(http, {"code": CODE, "time": NOW, "unique": 7, "key": legacy, "ver": "1.18"})["error"] == 0


def test_pages_chain_through_absolute_next_page_urls_and_repeat_the_schema(http: httpx.Client) -> None:
    doc = call(http, {**auth(), "ver": "1.18"}, {"pagination": 4})
    pages = [doc]
    while doc["next_page"]:
        assert doc["next_page"].startswith(f"{http.base_url}?")  # same host, absolute
        doc = json.loads(http.get(doc["next_page"]).content)  # as given: no fresh auth
        pages.append(doc)
    assert len(pages) == 3 and all(p["page_count"] == 3 and p["page_length"] == 4 for p in pages)
    assert all("data_schema" in p and "schema" in p and p["time"] == NOW for p in pages)
    ids = [(t, r[1]) for p in pages for t, rows in p["data"].items() for r in rows]
    assert ids[:2] == [("catalogue", 11), ("catalogue", 12)]  # categories, products, variants
    assert len(ids) == 12 and len(set(ids)) == 12


def test_sales_layer_rounds_pagination_unless_exact(fake: FakeSalesLayer, http: httpx.Client) -> None:
    fake.exact_pagination = False
    assert call(http, {**auth(), "ver": "1.18"}, {"pagination": 5000})["page_length"] == 4500
    assert call(http, {**auth(), "ver": "1.18"}, {"pagination": 4})["page_length"] == 500


def test_version_1_17_has_no_pagination(http: httpx.Client) -> None:
    doc = call(http, {**auth()}, {"pagination": 4})
    assert doc["version"] == "1.17" and "next_page" not in doc
    assert sum(len(rows) for rows in doc["data"].values()) == 12


def test_incremental_export_returns_changes_deletions_and_unchanged_images(
    fake: FakeSalesLayer, http: httpx.Client
) -> None:
    fake.set_clock(NOW + 100)
    fake.upsert(
        "products", {**fake.tables["products"].records[501], "product_brand": "New", "images_modified": 0}
    )
    fake.delete("product_formats", 7006)
    doc = call(
        http,
        {**auth(), "ver": "1.18", "last_update": NOW, "first_parent_level": 1, "parents_category_tree": 1},
        {"pagination": 100},
    )
    assert doc["action"] == "update" and doc["time"] == NOW + 100
    assert [r[:2] for r in doc["data"]["products"]] == [["M", 501]]
    assert doc["data"]["product_formats"] == [["D", 7006]]
    # first_parent_level: the product's categories; parents_category_tree: their ancestors.
    assert [r[1] for r in doc["data"]["catalogue"]] == [11, 12]
    columns = [c if isinstance(c, str) else next(iter(c)) for c in doc["data_schema"]["products"]]
    assert doc["data"]["products"][0][columns.index("product_image")] == ["U"]
    # Without the options only the changed rows come.
    plain = call(http, {**auth(), "ver": "1.18", "last_update": NOW})
    assert plain["data"]["catalogue"] == []


def test_deleting_a_product_deletes_its_variants(fake: FakeSalesLayer, http: httpx.Client) -> None:
    fake.set_clock(NOW + 100)
    fake.delete("products", 503)
    doc = call(http, {**auth(), "ver": "1.18", "last_update": NOW}, {"pagination": 100})
    assert doc["data"]["products"] == [["D", 503]]
    assert doc["data"]["product_formats"] == [["D", 7005], ["D", 7006]]
    full = call(http, {**auth(), "ver": "1.18"}, {"pagination": 100})
    assert {r[1] for r in full["data"]["product_formats"]} == {7001, 7002, 7003, 7004}


def test_records_from_the_future_do_not_exist_yet(fake: FakeSalesLayer, http: httpx.Client) -> None:
    fake.upsert("products", {"ID": 900, "product_reference": "LATER"}, modified=NOW + 50)
    doc = call(http, {**auth(), "ver": "1.18"}, {"pagination": 100})
    assert 900 not in [r[1] for r in doc["data"]["products"]]


def test_repr_hides_the_connector_secret(fake: FakeSalesLayer) -> None:
    assert SECRET not in repr(fake)


def test_gzip_and_bom(fake: FakeSalesLayer, http: httpx.Client) -> None:
    fake.bom = True
    response = http.get("/", params={**auth(), "ver": "1.18"}, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    raw = response.read()  # httpx decodes gzip
    assert raw.startswith(b"\xef\xbb\xbf")
    assert json.loads(raw[3:])["error"] == 0
    plain = http.get(
        "/", params={**auth(), "ver": "1.18", "compression": 0}, headers={"accept-encoding": "gzip"}
    )
    assert "content-encoding" not in plain.headers
    assert gzip.compress(b"x")  # (gzip module used by the server)


def test_fault_injection_on_a_page(fake: FakeSalesLayer, http: httpx.Client) -> None:
    fake.add_fault(2, error=11, times=1)
    first = call(http, {**auth(), "ver": "1.18"}, {"pagination": 4})
    assert json.loads(http.get(first["next_page"]).content)["error"] == 11
    assert json.loads(http.get(first["next_page"]).content)["error"] == 0  # once only
    fake.add_fault(1, malformed=True)
    with pytest.raises(json.JSONDecodeError):
        json.loads(http.get("/", params={**auth(), "ver": "1.18"}).content)
