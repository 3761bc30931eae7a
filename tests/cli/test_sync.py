"""``listingsync sync / status / issues`` through the real CLI against the emulator on loopback."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
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
    monkeypatch.setenv("COLUMNS", "250")  # diff lines and tables unwrapped
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
    code, out = _run(runner, "issues", "--config", str(cfg), "--json", "--severity", "error")
    issues = json.loads(out)["issues"]
    assert code == 0 and len(issues) == len(rows)
    assert all(isinstance(i["attributes"], list) for i in issues)  # a list for machines, "a,b" in CSV
    assert any(i["attributes"] for i in issues)
    assert runner.invoke(app, ["issues", "--config", str(cfg), "--severity", "ERR"]).exit_code == 2

    # A dry run after a change shows a per-attribute diff.
    text = (cfg.parent / "products.csv").read_text(encoding="utf-8")
    (cfg.parent / "products.csv").write_text(
        text.replace("Maison Demo Housse de coussin Lin Ocre", "Housse Lin Ocre (nouvelle)"), encoding="utf-8"
    )
    code, out = _run(runner, "sync", "--config", str(cfg), "--dry-run")
    assert "~ update   MD-CUSH-001 (FR)" in out
    assert "item_name[0].value: Maison Demo Housse de coussin Lin Ocre → Housse Lin Ocre (nouvelle)" in out
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


def test_catalogue_text_that_looks_like_markup_prints_as_typed(
    cli: tuple[CliRunner, Path], emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[/red]`` in a cell was read as Rich markup: MarkupError traceback in every report table."""
    runner, cfg = cli
    monkeypatch.setenv("COLUMNS", "250")
    products = cfg.parent / "products.csv"
    lines = products.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("MD-CUSH-001,") and ",PT," in lines[1]
    lines[1] = lines[1].replace(",PT,", ",[/red],", 1)  # country_of_origin: refused locally
    width = len(lines[0].split(","))
    lines.append(",".join(["[b]MD-ODD[/b]", "", "Cushions"] + [""] * (width - 3)) + "\n")
    products.write_text("".join(lines), encoding="utf-8")
    for args in (["sync", "--dry-run"], ["sync"], ["status"], ["issues"]):
        result = runner.invoke(app, [*args, "--config", str(cfg)])
        name = " ".join(args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{name}: {result.exception!r}"
        )
        assert result.exit_code in (0, 1), f"{name}: {result.output}"
        assert "[b]MD-ODD[/b]" in result.output, name  # a SKU, as typed
        if args[0] != "status":  # status shows no values or messages
            assert "[/red]" in result.output, name


def test_mass_deletion_is_refused_with_the_numbers_and_the_flag(
    cli: tuple[CliRunner, Path], emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cfg = cli
    monkeypatch.setenv("COLUMNS", "250")
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("on_removed: ignore", "on_removed: delete"), encoding="utf-8"
    )
    assert runner.invoke(app, ["sync", "--config", str(cfg), "--no-reconcile", "--json"]).exit_code == 1
    emulator.flush()  # Amazon processes what it accepted
    live = len(emulator.state.listings)
    products = cfg.parent / "products.csv"
    products.write_text(products.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")

    result = runner.invoke(app, ["sync", "--config", str(cfg)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"all {live} listing(s)" in result.output and "--allow-mass-delete" in result.output
    assert "Traceback" not in result.output
    assert len(emulator.state.listings) == live

    code, out = _run(runner, "sync", "--config", str(cfg), "--dry-run", "--json")
    data = json.loads(out)
    assert code == 1 and "would be refused" in data["refused"] and data["plan"]["delete"] == live
    assert data["catalog"]["problems"][0]["message"].startswith("the catalogue has no records")

    # Allowed: everything goes (exit 1 all the same: an empty catalogue is a problem worth a CI's notice).
    code, out = _run(runner, "sync", "--config", str(cfg), "--allow-mass-delete", "--json")
    assert code == 1 and json.loads(out)["plan"]["delete"] == live
    emulator.flush()
    assert emulator.state.listings == {}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("not a url", "'not a url' is not a database URL"),
        ("sqlite:///{tmp}/products.csv/state.db", "products.csv is a file, not a directory"),
        ("postgresql+psycopg://nobody@127.0.0.1:9/nothing", "cannot open the state database"),
    ],
)
def test_unusable_state_database_is_named_with_exit_2(
    cli: tuple[CliRunner, Path], state: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cfg = cli
    monkeypatch.setenv("COLUMNS", "250")
    state = state.format(tmp=cfg.parent)
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("sync:\n", f"state: '{state}'\nsync:\n"), encoding="utf-8"
    )
    commands = [["sync"], ["status"], ["issues", "--json"]]
    if not state.startswith("sqlite"):  # a dry run reads a missing SQLite file as an empty store
        commands.append(["sync", "--dry-run"])
    for args in commands:
        result = runner.invoke(app, [*args, "--config", str(cfg)])
        name = " ".join(args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{name}: {result.exception!r}"
        )
        if args[0] != "sync" and state.startswith("sqlite"):
            assert result.exit_code == 0, name  # reading never creates a state database
            continue
        assert result.exit_code == 2, f"{name}: {result.output}"
        assert "state:" in result.output and expected in result.output and "fix:" in result.output, name


def test_refused_credentials_stop_sync_with_exit_2_even_with_nothing_to_send(
    cli: tuple[CliRunner, Path], emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cfg = cli
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_SECRET", "not-the-secret")
    for args in (["sync"], ["sync", "--preview"], ["sync", "--json"]):
        result = runner.invoke(app, [*args, "--config", str(cfg)])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
        assert "invalid_client" in result.output and "LISTINGSYNC_LWA_CLIENT_SECRET" in result.output
        assert "not-the-secret" not in result.output
    assert emulator.state.write_log == []


def test_unreachable_amazon_stops_sending_after_the_first_failure(
    cli: tuple[CliRunner, Path], emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cfg = cli
    assert _run(runner, "sync", "--config", str(cfg), "--dry-run", "--json")[0] == 1  # caches the schemas
    text = cfg.read_text(encoding="utf-8").replace(emulator.endpoint("eu"), "http://127.0.0.1:9/eu")
    cfg.write_text(text, encoding="utf-8")
    code, out = _run(runner, "sync", "--config", str(cfg), "--json", "--via", "items")
    data = json.loads(out)
    assert code == 1
    errors = [r for r in data["results"] if r["status"] == "error"]
    assert len(errors) > 50  # every write failed, ...
    assert data["stats"]["requests"] < len(errors)  # ... but only those in flight when it broke were tried
    assert any("could not be reached" in n for n in data["notes"])


def test_large_dry_run_prints_a_summary_and_diff_gives_every_sku(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    code, summary = _run(runner, "sync", "--config", str(cfg), "--dry-run")
    assert code == 1
    assert "Plan: " in summary and "listingsync sync --dry-run --diff" in summary
    assert "+ create" not in summary  # no per-SKU lines in the summary
    creates = next(line for line in summary.splitlines() if line.strip().startswith("create"))
    assert "… and " in creates
    code, detail = _run(runner, "sync", "--config", str(cfg), "--dry-run", "--diff")
    assert detail.count("+ create") > 50 and "Plan: " not in detail
    assert len(detail.splitlines()) > 2 * len(summary.splitlines())


def test_an_incremental_run_with_nothing_to_do_prints_one_line(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    assert _run(runner, "sync", "--config", str(cfg), "--sku", "MD-CUSH-001")[0] == 0
    code, out = _run(runner, "sync", "--config", str(cfg), "--sku", "MD-CUSH-001")
    assert code == 0
    assert out.strip().splitlines() == ["Nothing to send: 2 listing(s) unchanged since the last run."]


def test_status_times_carry_their_timezone(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    _run(runner, "sync", "--config", str(cfg), "--sku", "MD-CUSH-001")
    code, out = _run(runner, "status", "--config", str(cfg), "--sku", "MD-CUSH-001")
    assert code == 0 and " UTC" in out
    data = json.loads(_run(runner, "status", "--config", str(cfg), "--json")[1])
    assert all(row["updated_at"].endswith("+00:00") for row in data["listings"])


def test_an_issue_without_attributes_has_no_stray_space() -> None:
    from listingsync.cli.sync import issue_line

    assert issue_line({"code": "QuotaExceeded", "message": "You exceeded your quota"}) == (
        "QuotaExceeded: You exceeded your quota"
    )
    assert (
        issue_line({"code": "90220", "attributeNames": ["brand"], "message": "required"})
        == "90220 brand: required"
    )
    assert issue_line({"message": "only a message"}) == "only a message"


def test_status_and_issues_csv_neutralise_formula_cells(capsys: pytest.CaptureFixture[str]) -> None:
    from listingsync.cli.sync import _write_csv

    _write_csv([{"sku": "=1+1", "attributes": ["@a", "b"], "message": "-2+3", "quantity": "-5"}])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"sku": "'=1+1", "attributes": "'@a,b", "message": "'-2+3", "quantity": "-5"}]


def _make_read_only(*paths: Path) -> Callable[[], None]:
    """Make files and directories read-only even for root (``chattr +i``); returns the undo."""
    import os
    import subprocess

    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return lambda: [p.chmod(m) for p, m in modes.items()] and None
    if subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True).returncode != 0:
        pytest.skip("root here cannot make a file read-only (no chattr +i)")
    return lambda: subprocess.run(["chattr", "-i", *map(str, paths)], check=True) and None


@pytest.mark.parametrize("directory_too", [False, True])
def test_a_read_only_state_database_refuses_sync_clearly_and_status_still_reads(
    cli: tuple[CliRunner, Path], directory_too: bool
) -> None:
    runner, cfg = cli
    code, _ = _run(runner, "sync", "--config", str(cfg))
    assert code == 1  # the sample's broken records
    db = cfg.parent / ".listingsync" / "state.db"
    assert db.exists() and not db.with_name("state.db-wal").exists()
    undo = _make_read_only(db, *([db.parent] if directory_too else []))
    try:
        result = runner.invoke(app, ["sync", "--config", str(cfg)])
        assert result.exit_code == 2
        assert "state:" in result.output and "Traceback" not in result.output
        assert ("the state database is read-only" in result.output and "writable" in result.output) or (
            directory_too and "cannot open the state database" in result.output
        )
        code, out = _run(runner, "status", "--config", str(cfg), "--json")
        assert code == 0 and json.loads(out)["listings"]
        code, out = _run(runner, "issues", "--config", str(cfg), "--csv")
        assert code == 0 and out.startswith("sku,")
    finally:
        undo()


def test_a_misspelt_field_stops_sync_once_with_exit_2(cli: tuple[CliRunner, Path]) -> None:
    runner, cfg = cli
    cfg.write_text(cfg.read_text().replace('item_name: "{{ title }}"', 'item_name: "{{ Title }}"'))
    result = runner.invoke(app, ["sync", "--config", str(cfg), "--dry-run"])
    assert result.exit_code == 2
    assert result.output.count("uses 'Title'") == 1 and "did you mean 'title'?" in result.output
