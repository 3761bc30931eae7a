"""Alerts: what a failing or partial run posts to the connection's webhook, and the retries."""

from __future__ import annotations

from pathlib import Path

import httpx
from service_helpers import GOOD_SKUS, credentials_of, sample_document, write_catalogue

from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, add_connection, create_run, execute_run, get_connection
from listingsync.service.alerts import ATTEMPTS, payload, post


def test_partial_run_alert_names_the_skus_and_the_fix(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    write_catalogue(tmp_path / "vendor.csv", skus=(*GOOD_SKUS, "MD-CUSH-009"))  # 009's title is too long
    add_connection(
        workspace,
        "vendor-eu",
        sample_document("vendor", emulator),
        base_dir=tmp_path,
        secrets=credentials_of("vendor"),
    )
    run = execute_run(workspace, create_run(workspace, "vendor-eu", trigger="manual").id)
    assert run.status == "partial" and "MD-CUSH-009" in (run.error or "")
    body = payload(workspace, get_connection(workspace, "vendor-eu"), run)
    assert body is not None and body["event"] == "listings_with_errors"
    assert body["skus_with_errors"] == 2  # FR and DE
    assert {s["sku"] for s in body["skus"]} == {"MD-CUSH-009"}
    assert body["skus"][0]["issues"][0]["code"] == "LS-MAX-LENGTH"
    assert "issues --connection vendor-eu" in body["fix"]
    # The next run sends nothing new and fails nothing new: no alert.
    again = execute_run(workspace, create_run(workspace, "vendor-eu", trigger="manual").id)
    assert (
        payload(workspace, get_connection(workspace, "vendor-eu"), again) is None
        or again.status == "succeeded"
    )


def test_webhook_delivery_is_retried() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429), httpx.Response(204)])
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return next(answers)

    waits: list[float] = []
    assert post(
        "http://hooks.invalid/x",
        {"event": "run_failed"},
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
    )
    # Two waits, exponential with full jitter (listingsync.retrying): at most 1 s, then at most 2 s.
    assert len(bodies) == 3 and len(waits) == 2 and 0 <= waits[0] <= 1.0 and 0 <= waits[1] <= 2.0
    refused = httpx.MockTransport(lambda request: httpx.Response(404))
    assert not post("http://hooks.invalid/x", {}, transport=refused, sleep=waits.append)
    down = httpx.MockTransport(lambda request: httpx.Response(500))
    waits.clear()
    assert not post("http://hooks.invalid/x", {}, transport=down, sleep=waits.append)
    assert len(waits) == ATTEMPTS - 1
