"""``listingsync product-types search/show`` against the emulator over loopback, and offline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

runner = CliRunner()
VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"


def _config(tmp_path: Path, server: EmulatorServer) -> Path:
    path = tmp_path / "listingsync.yaml"
    path.write_text(
        "account:\n  type: vendor\n  selling_partner_id: DEMOV\n  marketplaces: [DE, FR]\n"
        f"  endpoint: {server.endpoint('eu')}\n  lwa_endpoint: {server.lwa_url}\n",
        encoding="utf-8",
    )
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": VENDOR_TOKEN,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "LISTINGSYNC_RATE_SCALE": "1000",
        "COLUMNS": "200",
    }


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["product-types", *args], env=_env(tmp_path))
    return result.exit_code, result.output


def test_search_finds_home(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, emulator))
    code, out = _run(tmp_path, "search", "home", "--config", cfg)
    assert code == 0, out
    assert "HOME" in out and "product-types show HOME --marketplace DE" in out
    code, out = _run(tmp_path, "search", "home", "--config", cfg, "--json", "--marketplace", "FR")
    assert code == 0, out
    body = json.loads(out)
    assert body["country"] == "FR" and any(p["name"] == "HOME" for p in body["productTypes"])
    assert DEMO_CLIENT_SECRET not in out and "Atzr|" not in out


def test_show_lists_required_conditional_and_labelled_values(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    cfg = str(_config(tmp_path, emulator))
    code, out = _run(tmp_path, "show", "HOME", "--config", cfg)
    assert code == 0, out
    assert "HOME" in out and "DE A1PA6795UKMFR9, LISTING_PRODUCT_ONLY" in out  # vendor default
    assert "brand" in out.split("Required under a condition")[0]
    assert "child_parent_sku_relationship" in out and "required when parentage_level is given" in out
    assert "(--all-values)" in out  # long enum lists are cut in text mode

    code, out = _run(tmp_path, "show", "HOME", "--config", cfg, "--json")
    report = json.loads(out)
    assert report["marketplaceId"] == "A1PA6795UKMFR9" and report["version"]
    required = {a["name"]: a for a in report["required"]}
    assert "brand" in required and "item_name" in required
    conditional = {a["name"]: a for a in report["conditional"]}
    assert conditional["child_parent_sku_relationship"]["requiredWhen"] == ["parentage_level is given"]
    values = {v["value"]: v["label"] for v in required["supplier_declared_dg_hz_regulation"]["allowedValues"]}
    assert values["not_applicable"]  # every value carries its label

    # The schema is now cached beside the config: --offline needs no network.
    emulator_down = _env(tmp_path) | {"LISTINGSYNC_LWA_REFRESH_TOKEN": "Atzr|wrong"}
    result = runner.invoke(
        app, ["product-types", "show", "HOME", "--config", cfg, "--offline", "--json"], env=emulator_down
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["version"] == report["version"]


def test_show_offline_without_cache_says_how_to_fetch(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, emulator))
    code, out = _run(tmp_path, "show", "HOME", "--config", cfg, "--offline", "--marketplace", "FR")
    assert code == 2
    assert "has not been downloaded" in out and "product-types show HOME --marketplace FR" in out


def test_unknown_product_type_exits_2_with_a_fix(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, emulator))
    code, out = _run(tmp_path, "show", "NOPE_TYPE", "--config", cfg)
    assert code == 2
    assert "NOPE_TYPE" in out and "product-types search" in out


def test_bundled_needs_no_config(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "show", "HOME", "--bundled", "--marketplace", "FR", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["marketplaceId"] == "A13V1IB3VIYZZH"
    assert any(a["name"] == "brand" for a in report["required"])
    code, out = _run(tmp_path, "show", "LUGGAGE", "--bundled")
    assert code == 2 and "bundled schemas: HOME (FR), HOME (US), PRODUCT (US)" in out.replace("\n", " ")


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "listingsync.yaml"
    bad.write_text("account:\n  type: vendor\n  nonsense: 1\n", encoding="utf-8")
    code, _out = _run(tmp_path, "show", "HOME", "--config", str(bad))
    assert code == 2


def test_show_without_credentials_falls_back_to_the_cache(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = str(_config(tmp_path, emulator))
    code, out = _run(tmp_path, "show", "HOME", "--config", cfg, "--json")
    assert code == 0, out
    no_credentials: dict[str, str | None] = {
        **_env(tmp_path),
        "LISTINGSYNC_LWA_CLIENT_ID": None,
        "LISTINGSYNC_LWA_CLIENT_SECRET": None,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": None,
    }
    result = runner.invoke(app, ["product-types", "show", "HOME", "--config", cfg], env=no_credentials)
    assert result.exit_code == 0, result.output
    assert "showing the cached schema" in result.output and "brand" in result.output
    # Nothing cached for FR: the credentials problem is the error.
    result = runner.invoke(
        app, ["product-types", "show", "HOME", "--config", cfg, "--marketplace", "FR"], env=no_credentials
    )
    assert result.exit_code == 2 and "missing credentials" in result.output
