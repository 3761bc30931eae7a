"""``validate`` on the bundled sample catalogue: summary, --json, --report CSV, exit codes."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "listingsync" / "data" / "sample"
BROKEN = {"MD-VASE-007", "MD-CNDL-004", "MD-CUSH-009", "MD-KTCH-005"}
runner = CliRunner()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for name in ("products.csv", "listingsync.yaml", "listingsync-seller.yaml"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return tmp_path


def test_validate_prints_a_summary_and_exits_1_on_errors(sample: Path) -> None:
    result = runner.invoke(app, ["validate", "-c", str(sample / "listingsync-seller.yaml"), "--bundled"])
    assert result.exit_code == 1, result.output
    assert "HOME" in result.output
    for sku in BROKEN:
        assert sku in result.output
    assert "products.csv:36" in result.output  # where MD-VASE-007 is


def test_validate_json_covers_every_sku_and_marketplace(sample: Path) -> None:
    result = runner.invoke(app, ["validate", "-c", str(sample / "listingsync.yaml"), "--bundled", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert len(data["results"]) == 62 * 2
    assert {r["sku"] for r in data["results"] if r["status"] == "invalid"} == BROKEN
    assert {(s["productType"], s["marketplace"]) for s in data["summary"]} == {
        ("HOME", "FR"),
        ("HOME", "DE"),
    }
    assert sum(s["listings"] for s in data["summary"]) == 124


def test_validate_report_csv(sample: Path) -> None:
    report = sample / "report.csv"
    result = runner.invoke(
        app, ["validate", "-c", str(sample / "listingsync-seller.yaml"), "--bundled", "--report", str(report)]
    )
    assert result.exit_code == 1
    with report.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["sku"] for r in rows} >= BROKEN and len({r["sku"] for r in rows}) == 62
    bad = [r for r in rows if r["severity"] == "ERROR"]
    assert {(r["sku"], r["attribute"], r["code"]) for r in bad} == {
        ("MD-VASE-007", "brand", "90220"),
        ("MD-CNDL-004", "country_of_origin", "LS-ENUM"),
        ("MD-CUSH-009", "item_name", "LS-MAX-LENGTH"),
        ("MD-KTCH-005", "externally_assigned_product_identifier", "LS-MAP-BARCODE"),
    }
    assert all(r["origin"].startswith("products.csv:") for r in rows)


def test_validate_exits_0_when_everything_is_valid(sample: Path) -> None:
    csv_path = sample / "products.csv"
    kept = [
        line for line in csv_path.read_text(encoding="utf-8").splitlines() if line.split(",")[0] not in BROKEN
    ]
    csv_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "-c", str(sample / "listingsync-seller.yaml"), "--bundled"])
    assert result.exit_code == 0, result.output


def test_validate_catalogue_problems_are_reported(sample: Path) -> None:
    csv_path = sample / "products.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    csv_path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # a duplicate SKU
    result = runner.invoke(
        app, ["validate", "-c", str(sample / "listingsync-seller.yaml"), "--bundled", "--json"]
    )
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems and problems[0]["sku"] == "MD-CUSH-001" and "products.csv:" in problems[0]["origin"]


def test_validate_unusable_config_exits_2(sample: Path) -> None:
    config = sample / "listingsync.yaml"
    config.write_text(config.read_text().replace("path: products.csv", "path: missing.csv"), encoding="utf-8")
    result = runner.invoke(app, ["validate", "-c", str(config), "--bundled"])
    assert result.exit_code == 2
    assert "missing.csv" in result.output


def test_validate_without_a_source_section_names_the_key_and_the_fix(sample: Path) -> None:
    config = sample / "listingsync.yaml"
    lines = config.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("source:"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith(" "))
    config.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")
    result = runner.invoke(app, ["validate", "-c", str(config), "--bundled"])
    assert result.exit_code == 2
    assert "the config has no 'source:' section" in result.output
    assert "source: {type: csv, path: products.csv}" in result.output


def _online(sample: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The vendor sample config pointed at the running emulator, credentials from the environment."""
    monkeypatch.setenv("LISTINGSYNC_KEYRING", "off")
    monkeypatch.setenv("LISTINGSYNC_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("LISTINGSYNC_LWA_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.setenv("LISTINGSYNC_LWA_REFRESH_TOKEN", "Atzr|listingsync-demo-vendor-eu")
    monkeypatch.setenv("LISTINGSYNC_ENDPOINT", emulator.endpoint("eu"))
    monkeypatch.setenv("LISTINGSYNC_LWA_ENDPOINT", emulator.lwa_url)
    return sample / "listingsync.yaml"


def test_validate_online_fetches_schemas_then_works_offline(
    sample: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _online(sample, emulator, monkeypatch, tmp_path)
    offline_first = runner.invoke(app, ["validate", "-c", str(config), "--offline", "--json"])
    assert offline_first.exit_code == 2  # nothing cached yet: could not validate, says which schema
    assert "HOME" in offline_first.output and "--bundled" in offline_first.output

    online = runner.invoke(app, ["validate", "-c", str(config), "--json"])
    assert online.exit_code == 1, online.output
    data = json.loads(online.stdout)
    assert {r["sku"] for r in data["results"] if r["status"] == "invalid"} == BROKEN
    assert len(data["results"]) == 124

    offline = runner.invoke(app, ["validate", "-c", str(config), "--offline", "--json"])
    assert offline.exit_code == 1
    assert json.loads(offline.stdout)["results"] == data["results"]
    assert list((sample / ".listingsync" / "schemas").rglob("schema-*.json"))  # cached beside the config


def _plant_markup(sample: Path) -> None:
    """Rich markup in catalogue data: a closing tag with no opening one used to crash with MarkupError."""
    csv_path = sample / "products.csv"
    text = csv_path.read_text(encoding="utf-8")
    text = text.replace(",PT,,https://", ",[/red],,https://", 1)  # MD-CUSH-001's country_of_origin
    text = text.replace("MD-CUSH-001,,Cushions", "MD-CUSH-001,,[/bold]Cushions", 1)
    csv_path.write_text(text, encoding="utf-8")


def test_markup_in_catalogue_values_prints_as_typed_without_a_traceback(sample: Path) -> None:
    _plant_markup(sample)
    config = str(sample / "listingsync.yaml")
    result = runner.invoke(app, ["validate", "-c", config, "--bundled"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "'[/red]' is not an allowed value" in result.output
    preview = runner.invoke(app, ["preview", "MD-CUSH-001", "-c", config, "--bundled"])
    assert preview.exit_code == 1, preview.exception
    assert "[/bold]Cushions" in preview.output and "[LS-ENUM]" in preview.output
    missing = runner.invoke(app, ["preview", "[/x]", "-c", config, "--bundled"])
    assert missing.exit_code == 2 and "SKU '[/x]' is not in the catalogue" in missing.output


def test_preview_prints_whole_json_lines_when_piped(sample: Path) -> None:
    """The listing JSON is copied out of `preview > file`: no line may be cropped at 80 columns."""
    result = runner.invoke(
        app, ["preview", "MD-CUSH-001", "-c", str(sample / "listingsync.yaml"), "--bundled"]
    )
    assert result.exit_code == 0, result.output
    assert '"media_location": "https://images.example.com/maison-demo/md-cush-001-3.jpg"' in result.output


def test_validate_an_empty_export_exits_1_naming_it(sample: Path) -> None:
    """An empty export used to validate as ok (exit 0): a CI gate would pass a broken pipeline."""
    (sample / "products.csv").write_text((sample / "products.csv").read_text().splitlines()[0] + "\n")
    result = runner.invoke(app, ["validate", "-c", str(sample / "listingsync.yaml"), "--bundled", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and "the catalogue has no records" in data["problems"][0]["message"]


@pytest.mark.timeout(300)  # a bound: without loop limits this validate runs for hours
def test_a_runaway_template_is_an_issue_naming_sku_and_attribute_not_a_hang(sample: Path) -> None:
    config = sample / "listingsync-seller.yaml"
    runaway = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ title }}"
    text = config.read_text(encoding="utf-8").replace('item_name: "{{ title }}"', f"item_name: '{runaway}'")
    config.write_text(text, encoding="utf-8")
    csv_path = sample / "products.csv"
    csv_path.write_text("\n".join(csv_path.read_text(encoding="utf-8").splitlines()[:3]) + "\n")
    result = runner.invoke(app, ["validate", "-c", str(config), "--bundled", "--json"])
    assert result.exit_code == 1, result.output
    issues = [i for r in json.loads(result.stdout)["results"] for i in r["issues"]]
    messages = [i["message"] for i in issues if i["code"] == "LS-MAP-TEMPLATE"]
    assert len(messages) == 2 and all("attribute item_name" in m for m in messages)
    assert all("its loops ran more than 100,000 times" in m for m in messages)
    assert {m.split(":")[0] for m in messages} == {"SKU MD-CUSH-001", "SKU MD-CUSH-002"}


def test_report_cells_that_would_run_as_formulas_are_neutralised(sample: Path) -> None:
    csv_path = sample / "products.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    hostile = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "+1+cmd", "-2+3"]
    for i, sku in enumerate(hostile, start=1):
        lines[i] = '"' + sku.replace('"', '""') + '"' + lines[i][lines[i].index(",") :]
    csv_path.write_text("\n".join(lines[: len(hostile) + 1]) + "\n", encoding="utf-8")
    report = sample / "report.csv"
    runner.invoke(
        app, ["validate", "-c", str(sample / "listingsync-seller.yaml"), "--bundled", "--report", str(report)]
    )
    with report.open(encoding="utf-8") as handle:
        skus = {row["sku"] for row in csv.DictReader(handle)}
    assert skus == {"'" + sku for sku in hostile}  # shown as text by spreadsheets, never evaluated


def test_safe_cell_follows_owasp() -> None:
    from listingsync.csvsafe import safe_cell

    for value in ("=1+1", "+A1", "-A1", "@SUM(A1)", "\t=1", "\r=1", "-2+3"):
        assert safe_cell(value) == "'" + value
    for value in ("MD-1", "-12.5", "+3", "1e5", "", "plain", 7, None):
        assert safe_cell(value) == value


def test_validate_in_worker_processes_gives_the_same_results_in_the_same_order(sample: Path) -> None:
    """Chunks built in two worker processes (chunks of 7 records, so families and a broken row
    straddle chunk edges) equal the one-process run, line for line, problems in their place."""
    from listingsync.mapping import parallel

    with (sample / "products.csv").open("a", encoding="utf-8") as handle:
        handle.write('"unterminated,\n')  # a broken last row: a catalogue problem among the results
    argv = ["validate", "-c", str(sample / "listingsync.yaml"), "--bundled", "--json"]
    one = runner.invoke(app, [*argv, "--workers", "1"])
    size = parallel.CHUNK_SIZE
    parallel.CHUNK_SIZE = 7
    try:
        two = runner.invoke(app, [*argv, "--workers", "2"])
    finally:
        parallel.CHUNK_SIZE = size
    assert one.exit_code == two.exit_code == 1, two.output
    first, second = json.loads(one.stdout), json.loads(two.stdout)
    assert first["problems"] and second == first
    assert len(first["results"]) == 124


@pytest.mark.parametrize(
    ("copies", "workers", "started"),
    [(48, "0", 2), (1, "0", 0), (48, "1", 0), (1, "2", 2)],
    ids=["large file", "small file", "--workers 1", "--workers 2"],
)
def test_validate_starts_its_workers_before_reading_the_catalogue(
    sample: Path, monkeypatch: pytest.MonkeyPatch, copies: int, workers: str, started: int
) -> None:
    """Workers take most of a second to start: ``validate`` starts them before its first pass over a
    file of 2 MiB or more (surely 2,000 records: built on every core), or when --workers asks for
    several, so that they get ready meanwhile, and builds with them; never for a small file, nor
    with --workers 1."""
    import multiprocessing

    from listingsync.cli import mapping
    from listingsync.mapping import parallel

    rows = (sample / "products.csv").read_text(encoding="utf-8").splitlines()
    with (sample / "products.csv").open("a", encoding="utf-8") as handle:
        for copy in range(1, copies):
            handle.writelines(row.replace("MD-", f"C{copy}-") + "\n" for row in rows[1:])
    assert ((sample / "products.csv").stat().st_size >= mapping.EARLY_WORKERS_BYTES) == (copies > 1)
    running: list[int] = []
    first_pass = mapping._Catalogue.__init__

    def counted(self: object, config: object) -> None:
        running.append(len(multiprocessing.active_children()))
        first_pass(self, config)  # type: ignore[arg-type]

    pools: list[int] = []
    start = parallel.SourceWorkers.__init__

    def started_pool(self: parallel.SourceWorkers, *args: Any, **kwargs: Any) -> None:
        start(self, *args, **kwargs)
        pools.append(self.workers)

    monkeypatch.setattr(mapping._Catalogue, "__init__", counted)
    monkeypatch.setattr(parallel.SourceWorkers, "__init__", started_pool)
    argv = ["validate", "-c", str(sample / "listingsync.yaml"), "--bundled", "--json", "--workers", workers]
    result = runner.invoke(app, argv)
    assert result.exit_code == 1, result.output
    assert running == [started]  # workers running when the first pass began
    assert pools == ([started] if started else [])  # and no other started after it
    assert len(json.loads(result.stdout)["results"]) == 2 * 62 * copies  # FR and DE listings
    assert not multiprocessing.active_children()


def test_a_misspelt_field_stops_validate_once_with_exit_2(sample: Path) -> None:
    config = sample / "listingsync.yaml"
    config.write_text(config.read_text().replace('item_name: "{{ title }}"', 'item_name: "{{ Title }}"'))
    result = runner.invoke(app, ["validate", "-c", str(config), "--bundled"])
    assert result.exit_code == 2
    assert result.output.count("uses 'Title'") == 1 and "did you mean 'title'?" in result.output
    assert "MD-CUSH-001" not in result.output  # no per-record repetition
