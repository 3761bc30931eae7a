"""``listingsync check`` against the real emulator over loopback: every ✓ and each named ✗."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator import EmulatorServer, EmulatorSettings, default_accounts, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"
SELLER_TOKEN = "Atzr|listingsync-demo-seller-na"

runner = CliRunner()


def write_config(
    tmp_path: Path, server: EmulatorServer, *, kind: str, partner: str, countries: str, region: str
) -> Path:
    path = tmp_path / "listingsync.yaml"
    path.write_text(
        f"account:\n  type: {kind}\n  selling_partner_id: {partner}\n  marketplaces: [{countries}]\n"
        f"  endpoint: {server.endpoint(region)}\n  lwa_endpoint: {server.lwa_url}\n",
        encoding="utf-8",
    )
    return path


def env(tmp_path: Path, *, secret: str = DEMO_CLIENT_SECRET, token: str = VENDOR_TOKEN) -> dict[str, str]:
    return {
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": secret,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": token,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "COLUMNS": "200",
    }


def run_check(config: Path, environ: dict[str, str], *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["check", "--config", str(config), *extra], env=environ)
    return result.exit_code, result.output


def test_vendor_all_good(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, emulator, kind="vendor", partner="DEMOV", countries="FR, DE, IT, ES", region="eu"
    )
    code, out = run_check(cfg, env(tmp_path))
    assert code == 0, out
    for step in ("config", "credentials", "lwa", "region", "marketplace FR", "marketplace ES"):
        assert f"✓ {step}" in out
    assert "✗" not in out
    assert f"client id {DEMO_CLIENT_ID}" in out  # an identifier, not masked
    assert DEMO_CLIENT_SECRET not in out and "Atzr|" not in out


def test_seller_all_good_including_participations(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, emulator, kind="seller", partner="A3DEMOSELLER01", countries="US, CA", region="na"
    )
    code, out = run_check(cfg, env(tmp_path, token=SELLER_TOKEN), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == [
        "config",
        "credentials",
        "lwa",
        "region",
        "marketplace US",
        "marketplace CA",
        "participations",
    ]


def test_wrong_client_secret_names_the_secret_and_where_to_get_it(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="DE", region="eu")
    code, out = run_check(cfg, env(tmp_path, secret="not-the-secret"))
    assert code == 1
    assert "✗ lwa" in out and "invalid_client" in out
    assert "LISTINGSYNC_LWA_CLIENT_SECRET" in out and "LWA credentials" in out and "180 days" in out
    assert "not-the-secret" not in out


def test_unknown_refresh_token_names_the_token_and_authorize_step(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="DE", region="eu")
    code, out = run_check(cfg, env(tmp_path, token="Atzr|mistyped"))
    assert code == 1
    assert "invalid_grant" in out and "LISTINGSYNC_LWA_REFRESH_TOKEN" in out and "Edit App → Authorize" in out


@pytest.fixture
def revoked_emulator() -> Iterator[EmulatorServer]:
    accounts = default_accounts()
    vendor = accounts[0]
    revoked = dataclasses.replace(vendor, revoked=True)
    with run_in_thread(
        EmulatorSettings(accounts=[revoked, accounts[1]], demo_accounts=False, rate_scale=1000)
    ) as server:
        yield server


def test_revoked_refresh_token(revoked_emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, revoked_emulator, kind="vendor", partner="DEMOV", countries="DE", region="eu"
    )
    code, out = run_check(cfg, env(tmp_path))
    assert code == 1
    assert "revoked" in out and "LISTINGSYNC_LWA_REFRESH_TOKEN" in out and "Authorize" in out


def test_refresh_token_of_another_region(emulator: EmulatorServer, tmp_path: Path) -> None:
    # The NA seller's token, used against the EU host: LWA is global, the regional host says 403.
    cfg = write_config(
        tmp_path, emulator, kind="seller", partner="A3DEMOSELLER01", countries="DE", region="eu"
    )
    code, out = run_check(cfg, env(tmp_path, token=SELLER_TOKEN))
    assert code == 1
    assert "✓ lwa" in out and "✗ region" in out
    # The other regions' hosts were asked: the token works in NA, so the message says so.
    assert "authorized for NA, not EU" in out and "Authorize the app in EU" in out
    assert "Edit App → Authorize" in out


def test_vendor_code_given_as_amazon_account_id_is_a_config_error(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    # Chosen behaviour: config validation rejects amzn1.vg… before any request → exit 2.
    cfg = write_config(
        tmp_path, emulator, kind="vendor", partner="amzn1.vg.1234567", countries="DE", region="eu"
    )
    code, out = run_check(cfg, env(tmp_path))
    assert code == 2
    assert "selling_partner_id" in out and "vendor code" in out and "listingsync.yaml:3" in out
    assert emulator.state.requests["lwa.token"] == 0  # nothing was sent


def test_marketplace_the_account_does_not_sell_in_is_named(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="DE, GB", region="eu")
    code, out = run_check(cfg, env(tmp_path))
    assert code == 1
    assert "✓ marketplace DE" in out and "✗ marketplace GB" in out
    assert "does not sell in GB" in out and "account.marketplaces" in out


def test_wrong_vendor_code_in_every_marketplace(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="WRONG1", countries="DE, FR", region="eu")
    code, out = run_check(cfg, env(tmp_path))
    assert code == 1
    assert "vendor code 'WRONG1' is wrong" in out and "Vendor Central → Settings → Account Info" in out


def test_missing_credentials(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="DE", region="eu")
    environ = env(tmp_path)
    environ["LISTINGSYNC_LWA_REFRESH_TOKEN"] = ""
    code, out = run_check(cfg, environ, "--json")
    assert code == 1
    last = json.loads(out)["steps"][-1]
    assert last["name"] == "credentials" and not last["ok"]
    assert "LISTINGSYNC_LWA_REFRESH_TOKEN" in last["message"] and "listingsync connect" in last["fix"]


def test_unreadable_config_exits_2(tmp_path: Path) -> None:
    code, out = run_check(tmp_path / "nope.yaml", env(tmp_path))
    assert code == 2 and "file not found" in out


def test_the_catalogue_source_is_checked_too(emulator: EmulatorServer, tmp_path: Path) -> None:
    """A config whose source cannot be read used to pass check, and fail only at validate/sync."""
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="FR", region="eu")
    base = cfg.read_text(encoding="utf-8")
    (tmp_path / "products.csv").write_text("sku,title\nA,x\n", encoding="utf-8")
    cfg.write_text(base + "source: {type: csv, path: products.csv}\n", encoding="utf-8")
    code, out = run_check(cfg, env(tmp_path))
    assert code == 0, out
    assert "✓ source: " in out and "(SKU column sku)" in out
    cfg.write_text(base + "source: {type: csv, path: nowhere.csv}\n", encoding="utf-8")
    code, out = run_check(cfg, env(tmp_path), "--json")
    assert code == 1
    step = json.loads(out)["steps"][-1]
    assert step["name"] == "source" and not step["ok"] and "catalogue file not found" in step["message"]
    assert "source.path" in step["fix"]


def test_a_wrong_sales_layer_private_key_fails_check(emulator: EmulatorServer, tmp_path: Path) -> None:
    from listingsync.emulator.saleslayer import load_catalog
    from listingsync.emulator.saleslayer import run_in_thread as run_saleslayer

    fake = load_catalog(Path(__file__).parents[1] / "catalog" / "data" / "saleslayer.yaml")
    cfg = write_config(tmp_path, emulator, kind="vendor", partner="DEMOV", countries="FR", region="eu")
    with run_saleslayer(fake) as server:
        cfg.write_text(
            cfg.read_text(encoding="utf-8")
            + f"source: {{type: saleslayer, connector_id: {fake.code}, api_url: '{server.url}'}}\n",
            encoding="utf-8",
        )
        good = {**env(tmp_path), "LISTINGSYNC_SALESLAYER_SECRET": fake.secret}
        code, out = run_check(cfg, good)
        assert code == 0, out
        assert f"✓ source: Sales Layer connector {fake.code} accepted the private key" in out
        wrong = {**env(tmp_path), "LISTINGSYNC_SALESLAYER_SECRET": "not-the-key-0123456789"}
        code, out = run_check(cfg, wrong)
        assert code == 1 and "✗ source:" in out and "not-the-key-0123456789" not in out
        code, out = run_check(cfg, {**env(tmp_path), "LISTINGSYNC_SALESLAYER_SECRET": ""})
        assert code == 1 and "no private key for Sales Layer connector" in out
