"""``listingsync sync / status / issues`` through the real CLI against the emulator on loopback."""

from __future__ import annotations

import csv
import io
import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"


def sample_dir(tmp: Path, server: EmulatorServer) -> Path:
    sample = resources.files("listingsync") / "data" / "sample"
    text = (sample / "listingsync.yaml").read_text(encoding="utf-8")
    text = text.replace("${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", server.endpoint("eu"))
    text = text.replace("${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url)
    (tmp / "listingsync.yaml").write_text(text, encoding="utf-8")
    (tmp / "products.csv").write_bytes((sample / "products.csv").read_bytes())
    return tmp / "listingsync.yaml"


def demo_env(scale: float) -> dict[str, str]:
    return {
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": VENDOR_TOKEN,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_RATE_SCALE": str(scale),
    }


@pytest.fixture
def cli(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, Path]:
    for key, value in demo_env(1000).items():
        monkeypatch.setenv(key, value)
    return CliRunner(), sample_dir(tmp_path, emulator)


def _run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_dry_run_writes_nothing(cli: tuple[CliRunner, Path], emulator: EmulatorServer) -> None:
    runner, cfg = cli
    code, out = _run(runner, "sync", "--config", str(cfg), "--dry-run", "--json")
    data = json.loads(out)
    assert code == 1  # the sample's broken records would fail
    assert data["mode"] == "dry-run" and data["plan"]["create"] > 50
    assert {r["op"] for r in data["results"]} == {"create", "invalid"}
    assert emulator.state.write_log == []
    assert not (cfg.parent / ".listingsync" / "state.db").exists()


def test_sync_status_issues_and_diff(cli: tuple[CliRunner, Path], emulator: EmulatorServer) -> None:
    runner, cfg = cli
    code, out = _run(runner, "sync", "--config", str(cfg), "--json")
    data = json.loads(out)
    assert code == 1 and data["via"] == "items"
    invalid = {(r["sku"], r["marketplace_id"]) for r in data["results"] if r["status"] == "invalid"}
    assert invalid and all(r["issues"] for r in data["results"] if r["status"] == "invalid")
    for secret in (DEMO_CLIENT_SECRET, VENDOR_TOKEN):
        assert secret not in out

    code, out = _run(runner, "status", "--config", str(cfg), "--json")
    listings = json.loads(out)["listings"]
    assert code == 0
    assert {(row["sku"], row["marketplace_id"]) for row in listings if row["status"] == "invalid"} == invalid
    assert {row["status"] for row in listings} <= {"live", "accepted", "invalid"}

    code, out = _run(runner, "issues", "--config", str(cfg), "--csv", "--severity", "ERROR")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {(r["sku"], r["marketplace_id"]) for r in rows} == invalid
    assert all(r["message"] for r in rows)

    # A dry run after a change shows a per-attribute diff.
    text = (cfg.parent / "products.csv").read_text(encoding="utf-8")
    (cfg.parent / "products.csv").write_text(
        text.replace("Maison Demo Housse de coussin Lin Ocre", "Housse Lin Ocre (nouvelle)"), encoding="utf-8"
    )
    code, out = _run(runner, "sync", "--config", str(cfg), "--dry-run")
    assert "~ update   MD-CUSH-001 (FR)" in out
    assert "item_name:" in out and "Housse Lin Ocre (nouvelle)" in out
    assert len(emulator.state.write_log) == len([r for r in data["results"] if r["status"] != "invalid"])


def test_preview_stores_nothing(cli: tuple[CliRunner, Path], emulator: EmulatorServer) -> None:
    runner, cfg = cli
    code, out = _run(runner, "sync", "--config", str(cfg), "--preview", "--json", "--force")
    data = json.loads(out)
    assert data["mode"] == "preview"
    statuses = {p["status"] for p in data["preview"]}
    assert "VALID" in statuses and "INVALID" in statuses  # forced broken records are refused
    assert code == 1
    assert emulator.state.listings == {}
    assert not (cfg.parent / ".listingsync" / "state.db").exists()


def test_unusable_config_exits_2(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("on_removed: ignore", "on_removed: maybe"), encoding="utf-8"
    )
    result = runner.invoke(app, ["sync", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "on_removed" in result.output


def test_bad_via_exits_2(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    result = runner.invoke(app, ["sync", "--config", str(cfg), "--via", "pigeon"])
    assert result.exit_code == 2 and "pigeon" in result.output


def test_sync_section_keys_are_checked(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    text = cfg.read_text(encoding="utf-8").replace(
        "via: auto", "via: auto\n  concurrency: 0\n  feed_threshold: 500"
    )
    cfg.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["sync", "--config", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert "sync.concurrency" in result.output
