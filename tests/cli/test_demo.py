"""``listingsync demo``: emulator in-process + sample catalogue → check, validate, sync, status."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app


def test_demo_runs_end_to_end_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo sets its own (public, emulator-only) credentials in the environment: keep them scoped.
    for key in (
        "LISTINGSYNC_ENDPOINT",
        "LISTINGSYNC_LWA_ENDPOINT",
        "LISTINGSYNC_LWA_CLIENT_ID",
        "LISTINGSYNC_LWA_CLIENT_SECRET",
        "LISTINGSYNC_LWA_REFRESH_TOKEN",
        "LISTINGSYNC_KEYRING",
        "LISTINGSYNC_RATE_SCALE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("1. check", "2. validate", "3. sync", "4. status", "next"):
        assert step in out
    assert "Listings by status:" in out and "live" in out
    assert "listingsync issues --config" in out
    assert (tmp_path / ".listingsync" / "state.db").exists()
    assert elapsed < 60
