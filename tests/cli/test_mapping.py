"""``mapping suggest`` and ``preview`` on the bundled sample catalogue (bundled schemas, no network)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.config import parse_config
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "listingsync" / "data" / "sample"
runner = CliRunner()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for name in ("products.csv", "listingsync.yaml", "listingsync-seller.yaml"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return tmp_path


def test_suggest_matches_fields_and_marks_the_rest(sample: Path) -> None:
    out = sample / "mapping.yaml"
    result = runner.invoke(
        app,
        [
            "mapping",
            "suggest",
            "home",
            "-c",
            str(sample / "listingsync-seller.yaml"),
            "--bundled",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert 'item_name: "{{ title }}"' in text
    assert 'product_description: "{{ description }}"' in text
    assert 'bullet_point: ["{{ bullet1 }}", "{{ bullet2 }}"]' in text
    assert 'brand: "{{ brand }}"' in text
    assert "# supplier_declared_dg_hz_regulation: ''  # no matching catalogue field" in text
    assert "main_product_image_locator" in text and "Filled automatically" in text
    # The starter mapping is a valid listings section.
    account = "account: {type: seller, selling_partner_id: A3DEMOSELLER01, marketplaces: [US]}\n"
    config = parse_config(account + text)
    assert config.listings.product_type == "HOME"
    assert config.listings.attributes["item_name"] == "{{ title }}"
    assert yaml.safe_load(text)["listings"]["attributes"]["brand"] == "{{ brand }}"


def test_suggest_to_stdout_for_another_marketplace(sample: Path) -> None:
    result = runner.invoke(
        app, ["mapping", "suggest", "HOME", "-m", "FR", "-c", str(sample / "listingsync.yaml"), "--bundled"]
    )
    assert result.exit_code == 0, result.output
    assert "HOME in FR (A13V1IB3VIYZZH)" in result.output
    assert "recommended_browse_nodes" in result.output  # required by the French schema


def test_suggest_unknown_product_type_exits_2(sample: Path) -> None:
    result = runner.invoke(
        app, ["mapping", "suggest", "LUGGAGE", "-c", str(sample / "listingsync-seller.yaml"), "--bundled"]
    )
    assert result.exit_code == 2
    assert "LUGGAGE" in result.output


def test_preview_clean_sku_exits_0(sample: Path) -> None:
    result = runner.invoke(
        app, ["preview", "MD-CUSH-001", "-c", str(sample / "listingsync.yaml"), "--bundled"]
    )
    assert result.exit_code == 0, result.output
    assert "MD-CUSH-001" in result.output and "products.csv:2" in result.output
    assert "A13V1IB3VIYZZH" in result.output and "A1PA6795UKMFR9" in result.output
    assert "no issues" in result.output


def test_preview_json_shows_source_listing_and_issues(sample: Path) -> None:
    result = runner.invoke(
        app, ["preview", "MD-VASE-007", "-c", str(sample / "listingsync-seller.yaml"), "--bundled", "--json"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["sku"] == "MD-VASE-007" and data["source"]["category"] == "Vases"
    (listing,) = data["listings"]
    assert listing["productType"] == "HOME" and listing["requirements"] == "LISTING"
    assert listing["attributes"]["item_name"][0]["language_tag"] == "en_US"
    assert [(i["attribute"], i["code"]) for i in listing["issues"]] == [("brand", "90220")]


def test_preview_variant_shows_inherited_values(sample: Path) -> None:
    result = runner.invoke(
        app, ["preview", "MD-THRW-KNIT-SAGE", "-c", str(sample / "listingsync.yaml"), "--bundled", "--json"]
    )
    assert result.exit_code == 0, result.output
    fr = json.loads(result.stdout)["listings"][0]
    assert fr["attributes"]["child_parent_sku_relationship"][0]["parent_sku"] == "MD-THRW-KNIT"
    assert fr["attributes"]["brand"][0]["value"] == "Maison Demo"  # from the parent row


def test_preview_unknown_sku_exits_2_with_a_suggestion(sample: Path) -> None:
    result = runner.invoke(
        app, ["preview", "MD-CUSH-01", "-c", str(sample / "listingsync.yaml"), "--bundled"]
    )
    assert result.exit_code == 2
    assert "MD-CUSH-01" in result.output and "did you mean" in result.output


def test_preview_with_a_mapping_error_exits_2(sample: Path) -> None:
    config = sample / "listingsync.yaml"
    config.write_text(config.read_text().replace("    brand:", "    brnd:"), encoding="utf-8")
    result = runner.invoke(app, ["preview", "MD-CUSH-001", "-c", str(config), "--bundled"])
    assert result.exit_code == 2
    assert "listings.attributes.brnd" in result.output and "brand" in result.output


def _online(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, tmp_path: Path) -> None:
    """The demo vendor's credentials and the emulator's endpoints, for commands that go online."""
    for name, value in {
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": "Atzr|listingsync-demo-vendor-eu",
        "LISTINGSYNC_ENDPOINT": emulator.endpoint("eu"),
        "LISTINGSYNC_LWA_ENDPOINT": emulator.lwa_url,
    }.items():
        monkeypatch.setenv(name, value)


def test_suggest_online_fetches_the_type_asked_for(
    sample: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Online, a type the config does not use yet is fetched; a wrong one gets Amazon's refusal,
    not "not downloaded yet, fetch it while online" (what a preload-then-cache lookup used to say)."""
    _online(monkeypatch, emulator, tmp_path)
    config = str(sample / "listingsync.yaml")
    wrong = runner.invoke(app, ["mapping", "suggest", "NOPE", "-c", config])
    assert wrong.exit_code == 2
    text = " ".join(wrong.output.split())
    assert "Invalid product type 'NOPE'" in text and "product-types search" in text
    assert "not been downloaded" not in text
    good = runner.invoke(app, ["mapping", "suggest", "PRODUCT", "-m", "DE", "-c", config])
    assert good.exit_code == 0, good.output
    assert "Starter mapping for PRODUCT in DE" in good.output
    assert list((sample / ".listingsync" / "schemas").rglob("*.json"))  # cached for --offline runs


def test_suggest_never_overwrites_a_file_without_force(sample: Path) -> None:
    config = sample / "listingsync.yaml"
    before = config.read_text(encoding="utf-8")
    args = ["mapping", "suggest", "HOME", "-c", str(config), "--bundled", "-o", str(config)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "the file exists" in refused.output and "--force" in refused.output
    assert config.read_text(encoding="utf-8") == before
    target = sample / "mapping.yaml"
    target.write_text("old\n", encoding="utf-8")
    forced = runner.invoke(app, [*args[:-1], str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_text(encoding="utf-8").startswith("# Starter mapping for HOME")


@pytest.mark.parametrize("command", [["preview", "MD-CUSH-001"], ["product-types", "show", "HOME"]])
def test_a_refused_client_secret_is_exit_2_with_the_fix_even_with_cached_schemas(
    sample: Path,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
) -> None:
    """Issue 14 item 13: with schemas cached by an earlier run, a wrong client secret used to print
    "Amazon unreachable … using the cached schema" and exit 0."""
    _online(monkeypatch, emulator, tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    config = str(sample / "listingsync.yaml")
    first = runner.invoke(app, [*command, "-c", config])
    assert first.exit_code in (0, 1), first.output  # fetched and cached with the right secret
    assert list((sample / ".listingsync" / "schemas").rglob("*.json"))
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_SECRET", "not-the-secret")
    refused = runner.invoke(app, [*command, "-c", config])
    text = " ".join(refused.output.split())
    assert refused.exit_code == 2, text
    assert "invalid_client" in text and "LISTINGSYNC_LWA_CLIENT_SECRET" in text and "unreachable" not in text
    assert "not-the-secret" not in text
