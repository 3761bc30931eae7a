"""The workspace commands: connections, sync/status/issues --connection, runs, tokens (SQLite workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from service_helpers import credentials_of, sample_document, write_catalogue
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, list_connections
from listingsync.service.tokens import verify_token


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_connection_lifecycle_from_the_command_line(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'ws.db'}"
    monkeypatch.setenv("LISTINGSYNC_DB", db)
    creds = credentials_of("vendor")
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_ID", creds["lwa_client_id"])
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_SECRET", creds["lwa_client_secret"])
    monkeypatch.setenv("LISTINGSYNC_LWA_REFRESH_TOKEN", creds["lwa_refresh_token"])
    write_catalogue(tmp_path / "vendor.csv")
    config = tmp_path / "listingsync.yaml"
    config.write_text(yaml.safe_dump(sample_document("vendor", emulator)), encoding="utf-8")

    code, out = _run("connections", "add", "vendor-eu", "--config", str(config))
    assert code == 0, out
    assert "lwa_client_id, lwa_client_secret, lwa_refresh_token sealed" in out
    code, out = _run("connections", "add", "vendor-eu", "--config", str(config))
    assert code == 2 and "exists already" in out
    # Nothing secret leaves the workspace again: not in show, list or export.
    for args in (
        ("connections", "show", "vendor-eu"),
        ("connections", "list", "--json"),
        ("connections", "export", "vendor-eu"),
    ):
        code, out = _run(*args)
        assert code == 0, out
        assert creds["lwa_client_secret"] not in out and creds["lwa_refresh_token"] not in out
    code, out = _run("connections", "export", "vendor-eu")
    assert yaml.safe_load(out)["account"]["selling_partner_id"] == "DEMOV"

    code, out = _run("sync", "--connection", "vendor-eu", "--dry-run")
    assert code == 0, out
    assert not emulator.state.listings
    code, out = _run("sync", "--connection", "vendor-eu", "--json")
    assert code == 0, out
    emulator.flush()  # Amazon processes what it accepted
    assert json.loads(out)["status"] == "succeeded" and len(emulator.state.listings) == 6
    code, out = _run("status", "--connection", "vendor-eu", "--json")
    assert code == 0 and len(json.loads(out)["listings"]) == 6
    code, out = _run("issues", "--connection", "vendor-eu", "--json")
    assert code == 0 and json.loads(out)["issues"] == []
    code, out = _run("runs", "--json")
    runs = json.loads(out)
    assert [(r["trigger"], r["mode"], r["status"]) for r in runs] == [
        ("cli", "send", "succeeded"),
        ("cli", "dry-run", "succeeded"),
    ]
    code, out = _run("runs", "show", str(runs[0]["id"]))
    assert code == 0 and "plan: create 6" in out
    code, out = _run("status", "--connection", "nope")
    assert code == 2 and "no connection named 'nope'" in out and "vendor-eu" in out

    code, out = _run("connections", "secret", "vendor-eu", "alert_webhook", stdin="http://127.0.0.1:9/hook\n")
    assert code == 0 and "Sealed alert_webhook" in out
    with Workspace.open(db) as ws:
        assert "alert_webhook" in list_connections(ws)[0].secrets
    code, out = _run("connections", "remove", "vendor-eu")
    assert code == 0
    code, out = _run("connections", "list", "--json")
    assert json.loads(out) == []


def test_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'ws.db'}"
    code, out = _run("tokens", "create", "grafana", "--db", db)
    assert code == 0
    [token] = [line for line in out.splitlines() if line.startswith("lst_")]
    with Workspace.open(db) as ws:
        assert verify_token(ws, token) is not None
    code, out = _run("tokens", "list", "--db", db, "--json")
    listed = json.loads(out)
    assert [t["name"] for t in listed] == ["grafana"] and token not in out
    code, out = _run("tokens", "revoke", "grafana", "--db", db)
    assert code == 0
    with Workspace.open(db) as ws:
        assert verify_token(ws, token) is None
    code, out = _run("tokens", "revoke", "grafana", "--db", db)
    assert code == 2 and "no active token" in out
