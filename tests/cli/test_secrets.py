"""Secrets never leak: canary credentials swept through every command, good runs and failing ones.

The emulator is given an account whose client secret and refresh token are canaries (formats that
no redaction pattern knows, so only the registry of loaded secrets can hide them), and the fake
Sales Layer a canary private key. Every command's stdout and stderr (``--json`` included), every log
record at DEBUG, every exception repr and every file the commands write must be free of them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from listingsync.amazon import marketplaces as mp
from listingsync.cli import app
from listingsync.emulator import EmulatorServer, EmulatorSettings, default_accounts, run_in_thread
from listingsync.emulator.saleslayer import load_catalog
from listingsync.emulator.saleslayer import run_in_thread as run_saleslayer
from listingsync.emulator.settings import DEMO_CLIENT_ID

CLIENT_SECRET = "CANARY-client-secret-5f3a9e17"
REFRESH_TOKEN = "CANARY-refresh-token-b0d9e2c4"
SALESLAYER_SECRET = "CANARYsl0123456789abcdef01234567"
WRONG_SECRET = "CANARY-wrong-secret-7c1d04aa"
WRONG_TOKEN = "CANARY-wrong-refresh-31e8f5b6"
CANARIES = (CLIENT_SECRET, REFRESH_TOKEN, SALESLAYER_SECRET, WRONG_SECRET, WRONG_TOKEN)

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "listingsync" / "data" / "sample"
SL_DATA = Path(__file__).parents[1] / "catalog" / "data" / "saleslayer.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def canary_emulator() -> Iterator[EmulatorServer]:
    vendor = dataclasses.replace(
        default_accounts()[0],
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        marketplace_ids=tuple(mp.get(c).marketplace_id for c in ("FR", "DE")),
    )
    settings = EmulatorSettings(accounts=[vendor], demo_accounts=False, rate_scale=1000.0)
    with run_in_thread(settings) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path, canary_emulator: EmulatorServer) -> Path:
    shutil.copy(SAMPLE / "products.csv", tmp_path / "products.csv")
    text = (SAMPLE / "listingsync.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", canary_emulator.endpoint("eu")
    ).replace("${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", canary_emulator.lwa_url)
    (tmp_path / "listingsync.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _env(tmp_path: Path, *, secret: str = CLIENT_SECRET, token: str = REFRESH_TOKEN) -> dict[str, str]:
    return {
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": secret,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": token,
        "LISTINGSYNC_SALESLAYER_SECRET": SALESLAYER_SECRET,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_SECRETS_FILE": str(tmp_path / "secrets.json"),
        "LISTINGSYNC_CONFIG": str(tmp_path / "listingsync.yaml"),
        "COLUMNS": "200",
    }


def _assert_clean(where: str, text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"{where} shows a secret ({canary[:14]}…)"


LOGGED: list[str] = []  # names of the loggers seen, so a sweep that captured no log at all shows up


def _sweep(commands: list[list[str]], environ: dict[str, str], caplog: pytest.LogCaptureFixture) -> set[int]:
    codes: set[int] = set()
    for args in commands:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            # --log-level debug: the CLI's own handler writes every record to stderr, swept below too.
            result = runner.invoke(app, ["--log-level", "debug", *args], env=environ)
        name = " ".join(args)
        assert result.exit_code in (0, 1, 2), f"{name}: {result.exception!r}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{name} raised {result.exception!r}"
        )
        codes.add(result.exit_code)
        _assert_clean(f"{name}: stdout/stderr", result.output + result.stderr)
        _assert_clean(f"{name}: exception", repr(result.exception))
        for record in caplog.records:
            LOGGED.append(record.name)
            _assert_clean(f"{name}: log record {record.name}", record.getMessage() + (record.exc_text or ""))
    return codes


def _assert_files_clean(root: Path) -> list[Path]:
    written = [p for p in root.rglob("*") if p.is_file() and p.name != "secrets.json"]
    for path in written:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{path.relative_to(root)} holds a secret ({canary[:14]}…)"
    return written


def test_no_command_shows_or_writes_a_secret(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    report = str(workdir / "report.csv")
    suggestion = str(workdir / "mapping.yaml")
    good = [
        ["check"],
        ["check", "--json"],
        ["catalog", "inspect"],
        ["catalog", "inspect", "--json"],
        ["product-types", "search", "home"],
        ["product-types", "search", "home", "--json"],
        ["product-types", "show", "HOME"],
        ["product-types", "show", "HOME", "--json"],
        ["product-types", "show", "NOPE"],
        ["mapping", "suggest", "HOME"],
        ["mapping", "suggest", "HOME", "-o", suggestion],
        ["preview", "MD-CUSH-001"],
        ["preview", "MD-CUSH-001", "--json"],
        ["preview", "MD-VASE-007"],
        ["preview", "NO-SUCH-SKU"],
        ["validate", "--report", report],
        ["validate", "--json"],
        ["validate", "--offline"],
    ]
    codes = _sweep(good, _env(workdir), caplog)
    assert codes == {0, 1, 2}  # the sweep covered successes, problems and unusable runs
    assert (workdir / "report.csv").exists() and (workdir / ".listingsync" / "schemas").is_dir()

    # Wrong credentials: the rejected values must not be echoed back either.
    failing = [
        ["check"],
        ["check", "--json"],
        ["validate"],
        ["preview", "MD-CUSH-001"],
        ["mapping", "suggest", "HOME"],
    ]
    _sweep(failing, _env(workdir, secret=WRONG_SECRET), caplog)
    _sweep(failing, _env(workdir, token=WRONG_TOKEN), caplog)

    assert "httpx" in LOGGED  # requests were logged (token exchange included) and swept
    written = _assert_files_clean(workdir)
    assert any(p.suffix == ".json" for p in written)  # the cached schemas were among the files checked


def test_connect_wizard_keeps_secrets_off_screen_and_out_of_the_config(
    canary_emulator: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {
        **_env(tmp_path),
        "LISTINGSYNC_LWA_CLIENT_ID": "",
        "LISTINGSYNC_LWA_CLIENT_SECRET": "",
        "LISTINGSYNC_LWA_REFRESH_TOKEN": "",
    }
    config = tmp_path / "listingsync.yaml"
    args = ["connect", "--config", str(config), "--type", "vendor", "--region", "eu"]
    args += ["--endpoint", canary_emulator.endpoint("eu"), "--lwa-endpoint", canary_emulator.lwa_url]
    for secret, expected in ((WRONG_SECRET, 2), (CLIENT_SECRET, 0)):
        answers = [DEMO_CLIENT_ID, secret, REFRESH_TOKEN, "DEMOV", "FR"]
        with caplog.at_level(logging.DEBUG):
            result = runner.invoke(
                app, ["--log-level", "debug", *args], input="\n".join(answers) + "\n", env=environ
            )
        assert result.exit_code == expected, result.output
        _assert_clean("connect output", result.output + result.stderr)
        _assert_clean("connect logs", caplog.text)
    _assert_clean("the written config", config.read_text(encoding="utf-8"))
    # The secrets file is where they belong (keyring off), readable by the user only.
    assert REFRESH_TOKEN in (tmp_path / "secrets.json").read_text(encoding="utf-8")
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_saleslayer_secret_stays_hidden(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = load_catalog(SL_DATA)
    fake.secret = SALESLAYER_SECRET
    with run_saleslayer(fake) as server:
        config = tmp_path / "listingsync.yaml"
        config.write_text(
            "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [FR]}\n"
            f"source: {{type: saleslayer, connector_id: {fake.code}, api_url: '{server.url}'}}\n",
            encoding="utf-8",
        )
        environ = _env(tmp_path)
        commands = [["catalog", "inspect"], ["catalog", "inspect", "--json"], ["validate", "--bundled"]]
        assert 0 in _sweep(commands, environ, caplog)
        bad = {**environ, "LISTINGSYNC_SALESLAYER_SECRET": WRONG_SECRET}
        assert _sweep([["catalog", "inspect"], ["catalog", "inspect", "--json"]], bad, caplog) == {2}
    _assert_files_clean(tmp_path)


def _state_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("LISTINGSYNC_TEST_POSTGRES") or os.environ.get("LISTINGSYNC_REQUIRE_POSTGRES") == "1":
        urls.append("postgresql")
    return urls


@pytest.fixture(params=_state_urls())
def state_db(request: pytest.FixtureRequest, workdir: Path) -> Iterator[str]:
    """The sync sweep's state database: SQLite beside the config, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{workdir / '.listingsync' / 'state.db'}"
        return
    yield request.getfixturevalue("postgres_schema")("ls_secrets")


def _database_text(url: str) -> str:
    """Every row of every state table, as text: what a leaked secret would be found in."""
    from listingsync.sync.tables import metadata

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [
                repr(tuple(r)) for table in metadata.sorted_tables for r in conn.execute(sa.select(table))
            ]
    finally:
        engine.dispose()
    assert rows, "the sweep wrote nothing to the state database"
    return "\n".join(rows)


def test_sync_status_issues_and_demo_keep_secrets_hidden(
    workdir: Path, state_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = workdir / "listingsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("sync:\n", f"state: '{state_db}'\nsync:\n"),
        encoding="utf-8",
    )
    products = workdir / "products.csv"
    environ = {**_env(workdir), "LISTINGSYNC_RATE_SCALE": "1000"}
    good = [
        ["sync", "--dry-run"],
        ["sync", "--dry-run", "--json"],
        ["sync", "--json"],
        ["sync"],
        ["sync", "--preview", "--force"],
        ["sync", "--preview", "--json"],
        ["status"],
        ["status", "--json"],
        ["status", "--csv"],
        ["issues"],
        ["issues", "--json"],
        ["issues", "--csv"],
    ]
    codes = _sweep(good, environ, caplog)
    assert codes == {0, 1}
    # A change sent by feed, then refused credentials on every sending mode.
    products.write_text(
        products.read_text(encoding="utf-8").replace("Lin Ocre", "Lin Ocre (v2)"), encoding="utf-8"
    )
    # Nothing new broke (the sample's invalid records are known from the runs above): exit 0.
    assert _sweep([["sync", "--via", "feed", "--json"]], environ, caplog) == {0}
    failing = [["sync"], ["sync", "--json"], ["sync", "--preview"], ["sync", "--dry-run"]]
    assert 2 in _sweep(failing, {**environ, "LISTINGSYNC_LWA_CLIENT_SECRET": WRONG_SECRET}, caplog)
    assert 2 in _sweep(failing, {**environ, "LISTINGSYNC_LWA_REFRESH_TOKEN": WRONG_TOKEN}, caplog)
    # The demo brings its own public credentials; the user's (canaries here) must not show either.
    assert _sweep([["demo", "--dir", str(workdir / "demo")]], environ, caplog) == {0}

    _assert_clean("the state database", _database_text(state_db))
    _assert_files_clean(workdir)
    demo_db = workdir / "demo" / ".listingsync" / "state.db"
    assert demo_db.exists()
    _assert_clean("the demo's state database", _database_text(f"sqlite:///{demo_db}"))
