"""Secrets: environment → keyring → 0600 file, scoped per account; errors name what is missing."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from listingsync.amazon import Credentials
from listingsync.credentials import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SALESLAYER_SECRET,
    MissingCredentialsError,
    SecretStore,
    load_credentials,
    load_secret,
    save_credentials,
)


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


def test_environment_wins_over_keyring(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    ring.set_password("listingsync", SALESLAYER_SECRET, "from-keyring")
    store = SecretStore(env={SALESLAYER_SECRET: "from-env"}, keyring_backend=ring, file=tmp_path / "s.json")
    assert load_secret(SALESLAYER_SECRET, store=store) == "from-env"
    store = SecretStore(env={}, keyring_backend=ring, file=tmp_path / "s.json")
    assert load_secret(SALESLAYER_SECRET, store=store) == "from-keyring"


def test_scoped_entry_then_unscoped(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    store = SecretStore(env={}, keyring_backend=ring, file=tmp_path / "s.json")
    store.set(SALESLAYER_SECRET, "generic")
    store.set(SALESLAYER_SECRET, "for-CN123", scope="CN123")
    assert load_secret(SALESLAYER_SECRET, "CN123", store=store) == "for-CN123"
    assert load_secret(SALESLAYER_SECRET, "OTHER", store=store) == "generic"
    assert ("listingsync", f"{SALESLAYER_SECRET}:CN123") in ring.entries


def test_two_accounts_on_one_machine_keep_their_own_tokens(tmp_path: Path) -> None:
    store = SecretStore(env={}, keyring_backend=MemoryKeyring(), file=tmp_path / "s.json")
    app = "amzn1.application-oa2-client.app"
    save_credentials(Credentials(app, "secret-one-xx", "Atzr|eu-token"), "DEMOV", "eu", store=store)
    save_credentials(Credentials(app, "secret-one-xx", "Atzr|na-token"), "A3DEMOSELLER01", "na", store=store)
    eu = load_credentials("DEMOV", "eu", store=store)
    na = load_credentials("A3DEMOSELLER01", "na", store=store)
    assert (eu.refresh_token, na.refresh_token) == ("Atzr|eu-token", "Atzr|na-token")
    assert eu.client_secret == na.client_secret == "secret-one-xx"


def test_file_fallback_is_0600_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "cfg" / "secrets.json"
    store = SecretStore(env={}, use_keyring=False, file=file)
    with caplog.at_level(logging.WARNING):
        where = save_credentials(
            Credentials("cid-123456", "sec-abcdef", "Atzr|tok"), "C96QA", "eu", store=store
        )
    assert where == str(file)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "no usable OS keyring" in caplog.text
    assert "sec-abcdef" not in caplog.text
    data = json.loads(file.read_text())
    assert data["secrets"][f"{CLIENT_SECRET}:cid-123456"] == "sec-abcdef"
    assert load_credentials("C96QA", "eu", store=store).refresh_token == "Atzr|tok"


def test_loose_file_permissions_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "secrets.json"
    file.write_text(json.dumps({"version": 1, "secrets": {SALESLAYER_SECRET: "v-123456"}}))
    file.chmod(0o644)
    store = SecretStore(env={}, use_keyring=False, file=file)
    with caplog.at_level(logging.WARNING):
        assert load_secret(SALESLAYER_SECRET, store=store) == "v-123456"
    assert "chmod 600" in caplog.text


def test_missing_credentials_name_each_one_and_where_to_find_it(tmp_path: Path) -> None:
    store = SecretStore(env={CLIENT_ID: "cid-only"}, use_keyring=False, file=tmp_path / "none.json")
    with pytest.raises(MissingCredentialsError) as info:
        load_credentials("C96QA", "eu", store=store)
    err = info.value
    assert err.missing == [CLIENT_SECRET, REFRESH_TOKEN]
    assert "listingsync connect" in (err.fix or "")
    assert "Edit App → Authorize" in (err.fix or "")


def test_environment_credentials_need_no_store(tmp_path: Path) -> None:
    env = {CLIENT_ID: "cid", CLIENT_SECRET: "sec-123456", REFRESH_TOKEN: "Atzr|t"}
    store = SecretStore(env=env, use_keyring=False, file=tmp_path / "none.json")
    creds = load_credentials("C96QA", "eu", store=store)
    assert (creds.client_id, creds.client_secret, creds.refresh_token) == ("cid", "sec-123456", "Atzr|t")


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "secrets.json"
    file.write_text("{not json")
    store = SecretStore(env={}, use_keyring=False, file=file)
    with pytest.raises(Exception) as info:
        load_secret(SALESLAYER_SECRET, store=store)
    assert str(file) in str(info.value) and "connect" in str(info.value)


def test_default_store_honours_environment_knobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGSYNC_SECRETS_FILE", str(tmp_path / "x.json"))
    monkeypatch.setenv("LISTINGSYNC_KEYRING", "off")
    store = SecretStore()
    assert store.file == tmp_path / "x.json" and not store.has_keyring


# -- warnings once, other tools' variable names (issue 15 items 9 and 16) -------------------------------


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    import listingsync.credentials as credentials

    monkeypatch.setattr(credentials, "_warned", set())


def test_plain_file_warning_is_logged_once_per_process_and_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    store = SecretStore(env={}, use_keyring=False, file=tmp_path / "secrets.json")
    with caplog.at_level(logging.WARNING, logger="listingsync.credentials"):
        save_credentials(
            Credentials("amzn1.application-oa2-client.x", "s3cret-1", "Atzr|t0ken-1"),
            "C96QA",
            "eu",
            store=store,
        )
        caplog.clear()
        for _ in range(3):
            load_credentials("C96QA", "eu", store=store)
    plain = [r for r in caplog.records if "a plain file" in r.getMessage()]
    assert len(plain) == 3  # client id, client secret, refresh token: once each, not once per read


def test_python_amazon_sp_api_names_are_read_when_ours_are_absent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    theirs = {
        "LWA_APP_ID": "amzn1.application-oa2-client.theirs",
        "LWA_CLIENT_SECRET": "their-secret",
        "SP_API_REFRESH_TOKEN": "Atzr|their-token",
    }
    store = SecretStore(env=theirs, use_keyring=False, file=tmp_path / "none.json")
    with caplog.at_level(logging.WARNING, logger="listingsync.credentials"):
        creds = load_credentials("C96QA", "eu", store=store)
        load_credentials("C96QA", "eu", store=store)
    assert (creds.client_id, creds.client_secret, creds.refresh_token) == tuple(theirs.values())
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 3 and all("python-amazon-sp-api" in n for n in notes)
    assert any("LWA_APP_ID" in n and "LISTINGSYNC_LWA_CLIENT_ID is not set" in n for n in notes)
    # Ours win when both are set.
    ours = SecretStore(
        env={**theirs, CLIENT_ID: "amzn1.application-oa2-client.ours"},
        use_keyring=False,
        file=tmp_path / "n.json",
    )
    assert load_credentials("C96QA", "eu", store=ours).client_id == "amzn1.application-oa2-client.ours"
