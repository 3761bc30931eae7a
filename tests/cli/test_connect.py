"""``listingsync connect``: the wizard against the emulator, secrets hidden, nothing saved unverified."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.cli.account import write_account_section
from listingsync.config import AccountConfig, load_config
from listingsync.credentials import load_secret
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"
runner = CliRunner()


def environ(tmp_path: Path) -> dict[str, str]:
    # No LISTINGSYNC_LWA_* variables: the wizard's answers and the secrets file are the only source.
    return {
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "LISTINGSYNC_LWA_CLIENT_ID": "",
        "LISTINGSYNC_LWA_CLIENT_SECRET": "",
        "LISTINGSYNC_LWA_REFRESH_TOKEN": "",
        "COLUMNS": "200",
    }


def connect(server: EmulatorServer, config: Path, answers: list[str], tmp_path: Path) -> tuple[int, str]:
    args = [
        "connect",
        "--config",
        str(config),
        "--type",
        "vendor",
        "--region",
        "eu",
        "--endpoint",
        server.endpoint("eu"),
        "--lwa-endpoint",
        server.lwa_url,
    ]
    result = runner.invoke(app, args, input="\n".join(answers) + "\n", env=environ(tmp_path))
    return result.exit_code, result.output


def test_connect_verifies_then_saves_config_and_secrets(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    code, out = connect(
        emulator, config, [DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, VENDOR_TOKEN, "DEMOV", "DE, FR"], tmp_path
    )
    assert code == 0, out
    # The guide's order: LWA credentials, then Authorize, then the vendor code.
    assert out.index("LWA credentials") < out.index("Authorize") < out.index("vendor code")
    assert DEMO_CLIENT_SECRET not in out and VENDOR_TOKEN not in out
    assert "✓ marketplace DE" in out and "✓ marketplace FR" in out
    account = load_config(config).account
    assert account.selling_partner_id == "DEMOV" and account.endpoint == emulator.endpoint("eu")
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())["secrets"]
    assert stored[f"LISTINGSYNC_LWA_REFRESH_TOKEN:{DEMO_CLIENT_ID}/DEMOV@eu"] == VENDOR_TOKEN
    assert "no usable OS keyring" in out
    assert DEMO_CLIENT_SECRET not in config.read_text()
    # check now finds everything without any environment variable.
    result = runner.invoke(app, ["check", "--config", str(config)], env=environ(tmp_path))
    assert result.exit_code == 0, result.output


def test_failed_verification_saves_nothing(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    code, out = connect(
        emulator, config, [DEMO_CLIENT_ID, "wrong-secret-x", VENDOR_TOKEN, "DEMOV", "DE"], tmp_path
    )
    assert code == 2
    assert "✗ lwa" in out and "LISTINGSYNC_LWA_CLIENT_SECRET" in out and "Nothing was saved" in out
    assert not config.exists() and not (tmp_path / "secrets.json").exists()
    assert "wrong-secret-x" not in out


def test_bad_answers_are_asked_again(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    answers = [
        "amzn1.sp.solution.app-id",
        "n",
        DEMO_CLIENT_ID,  # the app id is not the client id
        DEMO_CLIENT_SECRET,
        VENDOR_TOKEN,
        "amzn1.vg.123456",
        "DE",  # an account id, not a vendor code
        "DEMOV",
        "US",  # right code, wrong region
        "DEMOV",
        "DE",
    ]
    code, out = connect(emulator, config, answers, tmp_path)
    assert code == 0, out
    assert "does not look like an LWA client identifier" in out
    assert "not a vendor code" in out
    assert "not in the EU region" in out


def test_account_section_is_replaced_in_place(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "# my catalogue sync\naccount:\n  type: vendor\n  selling_partner_id: OLD01\n  marketplaces: [DE]\n\n"
        "# products come from here\nsource:\n  type: csv\n  path: products.csv\n",
        encoding="utf-8",
    )
    account = AccountConfig.model_validate(
        {"type": "vendor", "selling_partner_id": "NEW01", "marketplaces": ["FR"]}
    )
    write_account_section(config, account)
    text = config.read_text()
    assert text.startswith("# my catalogue sync\naccount:\n")
    assert "NEW01" in text and "OLD01" not in text
    assert "# products come from here\nsource:\n  type: csv\n" in text
    assert load_config(config).account.marketplaces == ["A13V1IB3VIYZZH"]


def test_saleslayer_private_key_is_asked_for_and_stored_for_load_secret(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "account:\n  type: vendor\n  selling_partner_id: OLD01\n  marketplaces: [DE]\n"
        "source:\n  type: saleslayer\n  connector_id: CN123\n",
        encoding="utf-8",
    )
    answers = [DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, VENDOR_TOKEN, "DEMOV", "DE", "sl-private-key-9"]
    code, out = connect(emulator, config, answers, tmp_path)
    assert code == 0, out
    assert "Sales Layer" in out and "CN123" in out and "sl-private-key-9" not in out
    for name, value in environ(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LISTINGSYNC_SALESLAYER_SECRET", raising=False)
    assert load_secret("LISTINGSYNC_SALESLAYER_SECRET", "CN123") == "sl-private-key-9"


def test_secrets_go_to_the_os_keyring_when_one_is_usable(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.entries: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.entries.pop((service, username), None)

    ring = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: ring)
    config = tmp_path / "listingsync.yaml"
    args = [
        "connect",
        "--config",
        str(config),
        "--type",
        "vendor",
        "--region",
        "eu",
        "--endpoint",
        emulator.endpoint("eu"),
        "--lwa-endpoint",
        emulator.lwa_url,
    ]
    env = {**environ(tmp_path), "LISTINGSYNC_KEYRING": ""}
    answers = [DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, VENDOR_TOKEN, "DEMOV", "DE"]
    result = runner.invoke(app, args, input="\n".join(answers) + "\n", env=env)
    assert result.exit_code == 0, result.output
    assert "OS keyring" in result.output and "no usable OS keyring" not in result.output
    assert not (tmp_path / "secrets.json").exists()
    assert (
        ring.entries[("listingsync", f"LISTINGSYNC_LWA_CLIENT_SECRET:{DEMO_CLIENT_ID}")] == DEMO_CLIENT_SECRET
    )
    assert (
        ring.entries[("listingsync", f"LISTINGSYNC_LWA_REFRESH_TOKEN:{DEMO_CLIENT_ID}/DEMOV@eu")]
        == VENDOR_TOKEN
    )
    assert ring.entries[("listingsync", "LISTINGSYNC_LWA_CLIENT_ID:DEMOV@eu")] == DEMO_CLIENT_ID


def test_connect_saleslayer_alone_stores_the_key_and_checks_it(tmp_path: Path) -> None:
    from listingsync.emulator import EmulatorSettings
    from listingsync.emulator import run_in_thread as run_emulator

    data = Path(__file__).parents[1] / "catalog" / "data" / "saleslayer.yaml"
    config = tmp_path / "listingsync.yaml"
    with run_emulator(EmulatorSettings(saleslayer_file=data)) as server:
        config.write_text(
            "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [DE]}\n"
            f"source: {{type: saleslayer, connector_id: CN9999H9999C999, api_url: '{server.saleslayer_url}'}}\n",
            encoding="utf-8",
        )
        env = environ(tmp_path) | {"LISTINGSYNC_SALESLAYER_SECRET": ""}
        wrong = runner.invoke(
            app, ["connect", "saleslayer", "-c", str(config)], input="not-the-key\n", env=env
        )
        right = runner.invoke(
            app,
            ["connect", "saleslayer", "-c", str(config)],
            input="0123456789abcdef0123456789abcdef\n",
            env=env,
        )
    assert wrong.exit_code == 1, wrong.output
    assert "Parameters tab → Private key" in wrong.output and "not-the-key" not in wrong.output
    assert right.exit_code == 0, right.output
    assert "accepted the private key" in right.output
    stored = json.loads((tmp_path / "secrets.json").read_text())["secrets"]
    assert stored["LISTINGSYNC_SALESLAYER_SECRET:CN9999H9999C999"] == "0123456789abcdef0123456789abcdef"


def test_connect_saleslayer_without_a_connector_names_the_option(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    config.write_text("account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [DE]}\n")
    result = runner.invoke(app, ["connect", "saleslayer", "-c", str(config)], env=environ(tmp_path))
    assert result.exit_code == 2
    assert "--connector" in result.output


def test_rewriting_the_account_keeps_comments_flow_style_and_anchors(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "# my shop\n"
        "account:\n"
        "  type: vendor   # 1P\n"
        "  selling_partner_id: OLD01\n"
        "  marketplaces: [DE]\n"
        "  region: eu\n"
        "source: {type: csv, path: products.csv}   # flow style stays\n"
        "listings:\n"
        "  product_type: HOME\n"
        "  attributes:\n"
        "    brand: &brand '{{ brand }}'\n"
        "    manufacturer: *brand   # the same template\n"
        "    bullet_point:\n"
        "      - '{{ bullet1 }}'\n"
        "      - '{{ bullet2 }}'\n",
        encoding="utf-8",
    )
    account = AccountConfig.model_validate(
        {"type": "vendor", "selling_partner_id": "NEW01", "marketplaces": ["FR", "DE"]}
    )
    write_account_section(config, account)
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# my shop\naccount:\n  type: vendor   # 1P\n  selling_partner_id: NEW01\n")
    assert "  marketplaces: [FR, DE]\n" in text and "region" not in text
    assert "source: {type: csv, path: products.csv}   # flow style stays\n" in text
    assert "brand: &brand '{{ brand }}'" in text and "manufacturer: *brand" in text
    assert "# the same template" in text  # (ruamel puts a comment after an alias on the next line)
    assert "      - '{{ bullet1 }}'\n" in text
    loaded = load_config(config)
    assert loaded.account.selling_partner_id == "NEW01"
    assert loaded.listings.attributes["manufacturer"] == "{{ brand }}"


def test_a_new_file_gets_a_header_and_the_account(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    account = AccountConfig.model_validate(
        {
            "type": "seller",
            "selling_partner_id": "A2EXAMPLE1234",
            "marketplaces": ["US"],
            "endpoint": "http://127.0.0.1:1/na",
        }
    )
    write_account_section(config, account)
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# listingsync configuration")
    assert load_config(config).account.endpoint == "http://127.0.0.1:1/na"
