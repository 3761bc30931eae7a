"""The JSON API over a real workspace and the emulator: tokens, connections, runs, listings, preview."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import GOOD_SKUS, credentials_of, sample_document, write_catalogue

from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, get_run
from listingsync.service.executor import InProcessExecutor
from listingsync.service.tokens import create_token, revoke_token
from listingsync.web import create_app


@pytest.fixture
def api(workspace: Workspace) -> Iterator[tuple[TestClient, InProcessExecutor]]:
    executor = InProcessExecutor(workspace, max_workers=2)
    with TestClient(create_app(workspace, executor=executor)) as client:
        _, token = create_token(workspace, "tests")
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, executor
    executor.shutdown()


def _metric(text: str, name: str) -> float:
    found = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(found[0]) if found else 0.0


def _wait(executor: InProcessExecutor, run_id: int) -> None:
    executor.futures[run_id].result(timeout=120)


def test_connection_run_and_listings_through_the_api(
    api: tuple[TestClient, InProcessExecutor], workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    client, executor = api
    succeeded = 'listingsync_runs_total{connection="vendor-eu",status="succeeded"}'
    # The counters are the process's: earlier tests of this process may have counted runs too.
    before = _metric(client.get("/api/v1/metrics").text, succeeded)
    write_catalogue(tmp_path / "vendor.csv")
    body = {
        "name": "vendor-eu",
        "config": sample_document("vendor", emulator),
        "secrets": credentials_of("vendor"),
        "base_dir": str(tmp_path),
    }
    created = client.post("/api/v1/connections", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["secrets_set"] == ["lwa_client_id", "lwa_client_secret", "lwa_refresh_token"]
    assert "listingsync-demo-secret" not in created.text
    assert client.post("/api/v1/connections", json=body).status_code == 409

    check = client.post("/api/v1/connections/vendor-eu/check").json()
    assert check["ok"], check

    run = client.post("/api/v1/connections/vendor-eu/runs", json={"mode": "dry-run"}).json()
    _wait(executor, run["id"])
    dry = client.get(f"/api/v1/runs/{run['id']}").json()
    assert dry["status"] == "succeeded" and dry["result"]["plan"]["create"] == 6
    assert not emulator.state.listings

    run = client.post("/api/v1/connections/vendor-eu/runs").json()
    assert run["status"] == "queued" and run["trigger"] == "api"
    _wait(executor, run["id"])
    assert get_run(workspace, run["id"]).status == "succeeded"
    emulator.flush()  # Amazon processes what it accepted
    assert len(emulator.state.listings) == 6

    page = client.get("/api/v1/connections/vendor-eu/listings", params={"limit": 4}).json()
    assert [i["sku"] for i in page["items"]] == ["MD-CUSH-001", "MD-CUSH-001", "MD-CUSH-002", "MD-CUSH-002"]
    rest = client.get(
        "/api/v1/connections/vendor-eu/listings", params={"limit": 4, "after": page["next"]}
    ).json()
    assert [i["sku"] for i in rest["items"]] == ["MD-CUSH-003", "MD-CUSH-003"] and rest["next"] is None
    only_de = client.get(
        "/api/v1/connections/vendor-eu/listings", params={"marketplace": "DE", "q": "cush-002"}
    )
    assert [(i["sku"], i["country"]) for i in only_de.json()["items"]] == [("MD-CUSH-002", "DE")]

    preview = client.get("/api/v1/connections/vendor-eu/preview", params={"sku": GOOD_SKUS[0]}).json()
    assert {lst["country"] for lst in preview["listings"]} == {"FR", "DE"}
    missing = client.get("/api/v1/connections/vendor-eu/preview", params={"sku": "MD-CUSH-00"})
    assert missing.status_code == 400 and "did you mean" in missing.json()["fix"]

    runs = client.get("/api/v1/runs", params={"connection": "vendor-eu"}).json()
    assert [r["mode"] for r in runs["items"]] == ["send", "dry-run"]
    metrics = client.get("/api/v1/metrics").text
    assert _metric(metrics, succeeded) == before + 2
    assert "listingsync_queue_depth 0.0" in metrics


def test_every_endpoint_but_health_needs_a_valid_token(
    api: tuple[TestClient, InProcessExecutor], workspace: Workspace
) -> None:
    client, _ = api
    token = client.headers.pop("Authorization")
    assert client.get("/api/v1/health").json()["status"] == "ok"
    schema = client.get("/api/v1/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method in methods:
            url = path.replace("{name}", "x").replace("{run_id}", "1")
            for headers in ({}, {"Authorization": "Bearer lst_wrong"}, {"Authorization": "Basic abc"}):
                answer = client.request(method, url, headers=headers)
                if path.endswith("/health"):
                    assert answer.status_code == 200
                else:
                    assert answer.status_code == 401, (method, path, headers, answer.status_code)
                    assert answer.headers["www-authenticate"] == "Bearer"
    revoke_token(workspace, "tests")
    assert client.get("/api/v1/connections", headers={"Authorization": token}).status_code == 401


def test_bad_config_is_refused_with_every_problem(api: tuple[TestClient, InProcessExecutor]) -> None:
    client, _ = api
    answer = client.post(
        "/api/v1/connections",
        json={
            "name": "bad",
            "config": {"account": {"type": "vendor", "selling_partner_id": "x"}, "sauce": 1},
        },
    )
    assert answer.status_code == 400
    keys = {p["key"] for p in answer.json()["problems"]}
    assert {"account.marketplaces", "sauce"} <= keys
    assert client.get("/api/v1/connections/bad").status_code == 404
