"""Log output of the command line: level options, $LISTINGSYNC_LOG_LEVEL, JSON lines, and none for library users."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app

runner = CliRunner()


@pytest.fixture
def config_with_file_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose credentials sit in the plain secrets file: reading them logs a warning."""
    import listingsync.credentials as credentials
    from listingsync.amazon import Credentials
    from listingsync.credentials import SecretStore, save_credentials

    monkeypatch.setattr(credentials, "_warned", set())
    file = tmp_path / "secrets.json"
    store = SecretStore(env={}, use_keyring=False, file=file)
    save_credentials(
        Credentials("amzn1.application-oa2-client.x", "s3cret-x", "Atzr|tok-x"), "C96QA", "eu", store=store
    )
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE], "
        "endpoint: 'http://127.0.0.1:9/eu', lwa_endpoint: 'http://127.0.0.1:9/auth/o2/token'}\n"
    )
    for name in (
        "LISTINGSYNC_LWA_CLIENT_ID",
        "LISTINGSYNC_LWA_CLIENT_SECRET",
        "LISTINGSYNC_LWA_REFRESH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LISTINGSYNC_KEYRING", "off")
    monkeypatch.setenv("LISTINGSYNC_SECRETS_FILE", str(file))
    return config


def _check(config: Path, *options: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, [*options, "check", "--json", "-c", str(config)], env=env)
    return result.stderr


def test_warnings_go_to_stderr_once_by_default(config_with_file_secrets: Path) -> None:
    err = _check(config_with_file_secrets)
    assert err.count("warning: read LISTINGSYNC_LWA_") == 3, err
    assert "s3cret-x" not in err


def test_quiet_and_the_environment_variable_silence_warnings(
    config_with_file_secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import listingsync.credentials as credentials

    assert "warning" not in _check(config_with_file_secrets, "-q")
    monkeypatch.setattr(credentials, "_warned", set())
    assert "warning" not in _check(config_with_file_secrets, env={"LISTINGSYNC_LOG_LEVEL": "error"})
    monkeypatch.setattr(credentials, "_warned", set())
    assert "warning" not in _check(config_with_file_secrets, "--log-level", "error")


def test_json_log_lines(config_with_file_secrets: Path) -> None:
    err = _check(config_with_file_secrets, "--log-format", "json")
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert len(records) == 3
    assert {r["level"] for r in records} == {"WARNING"}
    assert all(r["logger"] == "listingsync.credentials" and r["time"].endswith("+00:00") for r in records)


def test_a_bad_level_is_a_usage_error() -> None:
    result = runner.invoke(app, ["--log-level", "loud", "check"])
    assert result.exit_code == 2 and "--log-level" in result.output


def test_library_users_get_none_of_our_log_lines_on_stderr() -> None:
    code = (
        "import logging, listingsync.credentials\n"
        "logging.getLogger('listingsync.credentials').warning('should not be printed')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
