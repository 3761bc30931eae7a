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
    # Realistic emulator: the sync waited for Amazon's verdicts, so no listing is left pending; the
    # 4 deliberately broken records are invalid in both marketplaces, the other 58 live.
    assert "Listings by status: invalid 8, live 116" in out
    assert "listingsync issues" in out or "listingsync' issues" in out
    assert (tmp_path / ".listingsync" / "state.db").exists()
    assert elapsed < 60


def test_the_demos_next_steps_work_pasted_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the printed lines in a shell, as a user pasting them would (the emulator of the 'second
    terminal' is started here, and the config's default endpoint pointed at it)."""
    import os
    import re
    import subprocess

    from listingsync.emulator import EmulatorSettings, run_in_thread

    for key in (
        "LISTINGSYNC_ENDPOINT",
        "LISTINGSYNC_LWA_ENDPOINT",
        "LISTINGSYNC_STATE",
        "LISTINGSYNC_RATE_SCALE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in (
        "LISTINGSYNC_LWA_CLIENT_ID",
        "LISTINGSYNC_LWA_CLIENT_SECRET",
        "LISTINGSYNC_LWA_REFRESH_TOKEN",
    ):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    steps = out[out.index("to paste in this order:") :].splitlines()[1:]
    steps = [line.strip() for line in steps if line.startswith("  ")]
    assert steps[0].startswith("cd ") and any(
        s.startswith("export LISTINGSYNC_LWA_CLIENT_ID=") for s in steps
    )
    # Printed one command per line, never wrapped (the output here is not a terminal).
    assert all(len(line) > 0 for line in steps) and any(len(line) > 80 for line in steps)
    emulator_hint = next(s for s in steps if "second terminal" in s)
    assert re.search(r"emulator --port 8765 --rate-scale 10 --processing-delay 3s..30s", emulator_hint)
    # As typed at a prompt: each line runs whatever the previous one returned (sync exits 1 for the
    # SKUs the sample breaks on purpose); a failed cd or export would show in what follows.
    script = "\n".join(s for s in steps if not s.startswith("#")) + "\n"
    # The emulator as the hint starts it: realistic (the default), writes processed 3-30 s / 10 later.
    with run_in_thread(EmulatorSettings(rate_scale=10, processing_delay=(3.0, 30.0))) as server:
        env = {
            **os.environ,
            "LISTINGSYNC_ENDPOINT": server.endpoint("eu"),  # the config's default is 127.0.0.1:8765
            "LISTINGSYNC_LWA_ENDPOINT": server.lwa_url,
        }
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # the last line, sync: the broken SKUs
    assert "all checks passed" in done.stdout and "Traceback" not in done.stderr
    assert "MD-CUSH-001" in done.stdout  # issues and status --csv read the demo's state
    assert "create" in done.stdout and "unchanged since the last run" not in done.stdout
    assert (tmp_path / "demo" / ".listingsync" / "second.db").exists(), done.stdout[-3000:]
    assert len(server.state.listings) > 50
