"""Secrets sweep: canary secrets never appear in API responses, exports, logs or the database dump."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from service_helpers import credentials_of, sample_document, write_catalogue
from typer.testing import CliRunner

from listingsync.cli import app as cli
from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, add_connection, create_run, execute_run, get_connection
from listingsync.service import tables as service_tables
from listingsync.service.executor import InProcessExecutor
from listingsync.service.tokens import create_token
from listingsync.sync import tables as state_tables
from listingsync.web import create_app

CANARY_TOKEN = "Atzr|canary-refresh-token-0123456789-never-print-me"
CANARY_SL = "sl-canary-private-key-0123456789"
CANARY_HOOK = "http://127.0.0.1:9/hooks/canary-webhook-secret-0123456789"


def test_no_secret_leaves_the_workspace(
    workspace: Workspace,
    emulator: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = credentials_of("vendor")
    canaries = [good["lwa_client_secret"], good["lwa_refresh_token"], CANARY_TOKEN, CANARY_SL, CANARY_HOOK]
    write_catalogue(tmp_path / "vendor.csv")
    add_connection(
        workspace,
        "vendor-eu",
        sample_document("vendor", emulator),
        base_dir=tmp_path,
        secrets={**good, "saleslayer_secret": CANARY_SL, "alert_webhook": CANARY_HOOK},
    )
    refused = {**good, "lwa_refresh_token": CANARY_TOKEN}
    add_connection(
        workspace, "refused", sample_document("vendor", emulator), base_dir=tmp_path, secrets=refused
    )
    executor = InProcessExecutor(workspace, max_workers=1)
    seen: list[str] = []
    with TestClient(create_app(workspace, executor=executor)) as client:
        _, token = create_token(workspace, "sweep")
        canaries.append(token)
        client.headers["Authorization"] = f"Bearer {token}"
        for name in ("vendor-eu", "refused"):
            run = client.post(f"/api/v1/connections/{name}/runs").json()
            executor.futures[run["id"]].result(timeout=120)
            seen.append(client.get(f"/api/v1/runs/{run['id']}").text)
            seen.append(client.post(f"/api/v1/connections/{name}/check").text)
        # A failed run alerts the webhook (a URL nobody listens on: retried, then logged).
        patched = client.patch(
            "/api/v1/connections/refused", json={"secrets": {"alert_webhook": CANARY_HOOK}}
        )
        seen.append(patched.text)
        failing = execute_run(workspace, create_run(workspace, "refused", trigger="manual").id)
        assert failing.status == "failed" and "invalid_grant" in (failing.error or "")
        assert any("alert webhook did not take the alert" in r.getMessage() for r in caplog.records)
        for path in (
            "/api/v1/connections",
            "/api/v1/connections/vendor-eu",
            "/api/v1/connections/refused",
            "/api/v1/runs",
            "/api/v1/connections/vendor-eu/listings",
            "/api/v1/connections/vendor-eu/issues",
            "/api/v1/connections/vendor-eu/preview?sku=MD-CUSH-001",
            "/api/v1/metrics",
            "/api/v1/openapi.json",
        ):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            seen.append(answer.text)
        seen.append(
            client.patch("/api/v1/connections/refused", json={"secrets": {"alert_webhook": CANARY_HOOK}}).text
        )
    executor.shutdown()
    assert get_connection(workspace, "vendor-eu").secrets == [
        "alert_webhook",
        "lwa_client_id",
        "lwa_client_secret",
        "lwa_refresh_token",
        "saleslayer_secret",
    ]

    # Exports and listings from the command line.
    db = workspace.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LISTINGSYNC_DB", db)
    for args in (
        ["connections", "export", "vendor-eu"],
        ["connections", "show", "vendor-eu", "--json"],
        ["connections", "list", "--json"],
        ["runs", "--json"],
        ["tokens", "list", "--json"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        seen.append(result.output)
    assert yaml.safe_load(seen[-5].split("\n", 1)[1])["account"]["selling_partner_id"] == "DEMOV"

    # Logs, and every row of every table of the workspace database.
    seen.extend(r.getMessage() for r in caplog.records)
    seen.extend(str(r.exc_info) for r in caplog.records if r.exc_info)
    with workspace.connect() as conn:
        for table in [*service_tables.metadata.sorted_tables, *state_tables.metadata.sorted_tables]:
            seen.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    if workspace.dialect == "sqlite":
        assert workspace.engine.url.database
        seen.append(Path(workspace.engine.url.database).read_bytes().decode("latin-1"))

    text = "\n".join(seen)
    assert "ls_listings" in text or "MD-CUSH-001" in text  # the sweep looked at real content
    for canary in canaries:
        assert canary not in text, f"a secret leaked: {canary[:8]}…"
