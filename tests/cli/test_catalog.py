"""``listingsync catalog inspect``: text and JSON output, and the exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator.saleslayer import load_catalog, run_in_thread

runner = CliRunner()
SL_DATA = Path(__file__).parents[1] / "catalog" / "data" / "saleslayer.yaml"


def config(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "listingsync.yaml"
    path.write_text(
        "account:\n  type: vendor\n  selling_partner_id: C96QA\n  marketplaces: [DE, FR]\n" + source,
        encoding="utf-8",
    )
    return path


def test_clean_catalogue_exits_0_with_fields_counts_and_samples(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(
        "sku,parent_sku,title_de,title_fr,price,image_1,status\n"
        "P1,,Tisch,Table,10.50,http://i/1.jpg,\n"
        "P1-R,P1,Tisch rot,,10.50,,\n"
        "P2,,Stuhl,Chaise,,,\n"
        "OLD,,,,,,deleted\n",
        encoding="utf-8",
    )
    cfg = config(tmp_path, "source:\n  type: csv\n  path: products.csv\n")
    result = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {
        "records": 4,
        "products": 2,
        "variants": 1,
        "deleted": 1,
        "errors": 0,
        "warnings": 0,
    }
    fields = {f["name"]: f for f in report["fields"]}
    assert fields["price"]["types"] == {"decimal": 2} and fields["price"]["fill_rate"] == pytest.approx(
        2 / 3, 1e-3
    )
    assert fields["title[fr]"]["kind"] == "localized" and fields["title[fr]"]["filled"] == 2
    assert fields["(images)"]["filled"] == 1
    assert report["roles"]["sku"] == "sku" and report["roles"]["languages"] == ["de", "fr"]
    assert [s["sku"] for s in report["samples"]] == ["P1", "P1-R", "P2"]
    assert report["problems"] == []

    text = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg)])
    assert text.exit_code == 0
    assert "3 records" not in text.stdout and "4 records: 2 products, 1 variants, 1 deleted" in text.stdout
    assert "title[de]" in text.stdout and "no problems" in text.stdout


def test_problems_exit_1_and_list_every_problem_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(
        "sku,parent_sku,name\nA,,ok\nA,,dup\nC,MISSING,child\nbroken\nD,,fine\n", encoding="utf-8"
    )
    cfg = config(tmp_path, "source: {type: csv, path: products.csv}\n")
    result = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["counts"]["products"] == 2 and report["counts"]["variants"] == 1  # good records counted
    where = {p["where"]: p["message"] for p in report["problems"]}
    assert "duplicate SKU 'A'" in where["products.csv:3"]
    assert "parent SKU 'MISSING' is not in the catalogue" in where["products.csv:4"]
    assert "1 values but the header has 3 columns" in where["products.csv:5"]
    text = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg)])
    assert text.exit_code == 1 and "products.csv:5" in text.stdout and "Problems (3)" in text.stdout


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("source: {type: csv, path: nowhere.csv}\n", "catalogue file not found"),
        ("source: {type: csv, path: .}\n", "source.path is a directory"),
        ("source: {type: json, path: .}\n", "source.path is a directory"),
        ("source: {type: xlsx, path: .}\n", "source.path is a directory"),
        ("source: {type: json, path: nowhere.json}\n", "catalogue file not found"),
        ("source: {type: xlsx, path: nowhere.xlsx}\n", "catalogue file not found"),
        ("source: {type: csv}\n", "needs 'path:'"),
        (
            "source: {type: csv, path: products.csv, sku_field: ref}\n",
            "source.sku_field names the column 'ref'",
        ),
        ("", "no 'source:' section"),
    ],
)
def test_unusable_source_exits_2_with_the_reason(tmp_path: Path, source: str, expected: str) -> None:
    (tmp_path / "products.csv").write_text("sku\nA\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "inspect", "--config", str(config(tmp_path, source))])
    assert result.exit_code == 2
    assert expected in " ".join(result.stderr.split())


def test_inspect_a_sales_layer_connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "0123456789abcdef0123456789abcdef"
    with run_in_thread(load_catalog(SL_DATA)) as server:
        cfg = config(
            tmp_path,
            f"source: {{type: saleslayer, connector_id: CN9999H9999C999, api_url: '{server.url}'}}\n",
        )
        monkeypatch.setenv("LISTINGSYNC_SALESLAYER_SECRET", secret)
        result = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["counts"]["products"] == 4 and report["counts"]["variants"] == 6
        assert report["source"] == "Sales Layer connector CN9999H9999C999"
        assert report["roles"] == {
            "sku": "product_reference",
            "variant_sku": "format_sku",
            "languages": ["en", "es"],
        }
        assert secret not in result.output
        monkeypatch.setenv("LISTINGSYNC_SALESLAYER_SECRET", "wrong-key-123456")
        bad = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg)])
        assert bad.exit_code == 2 and "private key does not belong" in " ".join(bad.stderr.split())
        assert "wrong-key-123456" not in bad.output


def test_an_export_with_only_its_header_is_a_problem_not_a_clean_catalogue(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text("sku,title\n", encoding="utf-8")
    cfg = config(tmp_path, "source: {type: csv, path: products.csv}\n")
    result = runner.invoke(app, ["catalog", "inspect", "--config", str(cfg), "--json"])
    assert result.exit_code == 1
    assert "the catalogue has no records" in json.loads(result.stdout)["problems"][0]["message"]
