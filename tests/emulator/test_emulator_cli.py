"""``listingsync emulator`` as a user runs it: a real process, its banner, its state file."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from listingsync.cli import app

#: Only a safety net against a hung process (never a timing assertion): what the tests wait for
#: are conditions (the banner, the first answer, the exit).
SAFETY = 300


def _start(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "listingsync", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "60", "PATH": "/usr/bin:/bin"},  # narrow: values must not be cut
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            break
    banner = "".join(lines)
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", banner)
    assert match, banner
    return process, match.group(1), lines


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_emulator/counters", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("emulator did not answer")


def test_cli_serves_prints_demo_accounts_and_saves_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    process, url, lines = _start("--state", str(state), "--no-limits")
    try:
        banner = "".join(lines)
        assert "DEMOV" in banner and "A3DEMOSELLER01" in banner
        assert "listingsync-demo-secret" in banner  # public demo values may be shown
        # … whole, to be copied, even on a narrow terminal.
        assert "amzn1.application-oa2-client.listingsync-demo" in banner
        assert "Atzr|listingsync-demo-vendor-eu" in banner
        assert f"{url}/eu" in banner and "/auth/o2/token" in banner
        _wait_ready(url)
        token = httpx.post(
            f"{url}/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|listingsync-demo-vendor-eu",
                "client_id": "amzn1.application-oa2-client.listingsync-demo",
                "client_secret": "listingsync-demo-secret",
            },
        ).json()["access_token"]
        answer = httpx.get(
            f"{url}/eu/listings/2021-08-01/items/DEMOV/NOPE",
            params={"marketplaceIds": "A1PA6795UKMFR9"},
            headers={"x-amz-access-token": token},
        )
        assert answer.status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(SAFETY)
    assert state.exists()
    assert '"getListingsItem":1' in state.read_text()


def test_cli_keeps_user_secrets_unprinted(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        "accounts:\n"
        "  - {type: seller, client_id: my-app, client_secret: s3cr3t-value, refresh_token: 'Atzr|private',"
        " selling_partner_id: A1MYSELLER01, marketplaces: [DE, FR]}\n"
    )
    process, url, lines = _start("--accounts", str(accounts))
    # Ctrl-C once it serves (the condition, not a time): uvicorn then shuts down cleanly. Sent
    # right after the banner, it used to land while the app was still being built.
    _wait_ready(url)
    process.send_signal(signal.SIGINT)
    process.wait(SAFETY)
    banner = "".join(lines)
    assert "A1MYSELLER01" in banner
    assert "s3cr3t-value" not in banner and "Atzr|private" not in banner


def test_cli_rejects_bad_options_with_a_fix(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["emulator", "--faults", "colour=1"])
    assert result.exit_code == 2
    assert "colour" in result.output
    result = runner.invoke(app, ["emulator", "--accounts", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "missing.yaml" in result.output
