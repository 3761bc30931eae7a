"""Issue 9: a Sales Layer source reads only what changed in the PIM, yet a changed mapping template
or product type schema re-plans every listing it applies to (and only those), from the catalogue
mirror, with no record read from Sales Layer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.saleslayer import FakeSalesLayerServer, load_catalog
from listingsync.emulator.saleslayer import run_in_thread as saleslayer_thread

from . import saleslayer_sample
from .helpers import DE, sync


@pytest.fixture
def saleslayer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesLayerServer]:
    monkeypatch.setenv("LISTINGSYNC_SALESLAYER_SECRET", saleslayer_sample.SECRET)
    with saleslayer_thread(load_catalog(saleslayer_sample.catalogue(tmp_path / "sl.yaml"))) as server:
        yield server


def _writes(server: object, since: int = 0) -> list[dict[str, object]]:
    return [e for e in server.state.write_log[since:]]  # type: ignore[attr-defined]


def _types(cfg: Path) -> dict[str, str]:
    """SKU → product type as the state holds it (the sample maps everything to HOME)."""
    from listingsync.config import load_config
    from listingsync.sync.pipeline import open_store

    with open_store(load_config(cfg)) as store:
        return {s.sku: s.product_type or "" for s in store.listings()}


def test_changed_template_patches_exactly_the_listings_it_applies_to(
    tmp_path: Path, emulator: object, saleslayer: FakeSalesLayerServer
) -> None:
    cfg = saleslayer_sample.config(tmp_path, emulator, saleslayer.url)  # type: ignore[arg-type]
    first, read = sync(cfg, emulator)  # type: ignore[arg-type]
    assert read.complete and first.plan["create"] > 0 and not first.failed - first.plan["invalid"]
    again, read = sync(cfg, emulator)  # type: ignore[arg-type]
    assert not read.complete and read.read == [] and not read.remapped  # incremental, nothing changed
    assert again.plan["update"] == again.plan["create"] == 0

    # Only the German listings get a new template (a marketplace override); the French stay.
    text = cfg.read_text(encoding="utf-8").replace(
        "  units: {weight:",
        '  marketplaces:\n    DE: {attributes: {item_name: "{{ title }} - {{ brand }}"}}\n  units: {weight:',
    )
    assert text != cfg.read_text(encoding="utf-8")
    cfg.write_text(text, encoding="utf-8")
    before = len(emulator.state.write_log)  # type: ignore[attr-defined]
    report, read = sync(cfg, emulator)  # type: ignore[arg-type]
    assert not read.complete and read.read == []  # Sales Layer brought no record
    assert read.remapped == set(_types(cfg))  # every record has a German listing
    emulator.flush()  # type: ignore[attr-defined]  # Amazon processes the PATCHes later
    writes = _writes(emulator, before)
    valid_de = {(r.sku, r.marketplace_id) for r in report.results if r.op == "update"}
    assert {(w["sku"], w["marketplace_id"]) for w in writes} == valid_de
    assert valid_de and {mp for _, mp in valid_de} == {DE}
    assert {w["op"] for w in writes} == {"PATCH"}
    assert report.plan["create"] == report.plan["replace"] == 0
    held = {(sku, mp): rec.attributes for (_, mp, sku), rec in emulator.state.listings.items()}  # type: ignore[attr-defined]
    sku, mp = next(iter(valid_de))
    assert held[(sku, mp)]["item_name"][0]["value"].endswith(" - Maison Demo")


def _schema_dir(tmp_path: Path, *, drop_unit: str | None) -> Path:
    folder = tmp_path / "schemas"
    folder.mkdir(exist_ok=True)
    source = resources.files("listingsync") / "data" / "product-types" / "HOME-fr.json"
    schema = json.loads(source.read_text(encoding="utf-8"))
    if drop_unit is not None:  # Amazon stops taking kilograms for item_weight: a new schema version
        unit = schema["properties"]["item_weight"]["items"]["properties"]["unit"]
        index = unit["enum"].index(drop_unit)
        del unit["enum"][index], unit["enumNames"][index]
    (folder / "HOME-fr.json").write_text(json.dumps(schema), encoding="utf-8")
    return folder


def test_new_schema_version_replans_the_listings_of_that_type_only(
    tmp_path: Path, saleslayer: FakeSalesLayerServer
) -> None:
    state_file = tmp_path / "emulator-state.json"
    settings = {"rate_scale": 1000.0, "state_file": state_file}
    work = tmp_path / "work"
    work.mkdir()
    with run_in_thread(
        EmulatorSettings(product_type_dirs=[_schema_dir(tmp_path, drop_unit=None)], **settings)
    ) as server:
        cfg = saleslayer_sample.config(work, server, saleslayer.url)
        first, _ = sync(cfg, server)
        assert first.plan["create"] > 0
    # Same Amazon account (state file), HOME's schema changed on Amazon's side.
    with run_in_thread(
        EmulatorSettings(product_type_dirs=[_schema_dir(tmp_path, drop_unit="kilograms")], **settings)
    ) as server:
        cfg = saleslayer_sample.config(work, server, saleslayer.url)  # the emulator's new port
        before = len(server.state.write_log)
        report, read = sync(cfg, server)
        assert read.read == []  # nothing read from Sales Layer
        types = _types(cfg)
        home = {sku for sku, t in types.items() if t == "HOME"}
        assert read.remapped == home
        server.flush()  # Amazon processes the PATCHes later
        writes = _writes(server, before)
        assert writes and {w["op"] for w in writes} == {"PATCH"}
        assert {w["sku"] for w in writes} <= home
        patched = {(r.sku, r.marketplace_id): r.changed for r in report.results if r.op == "update"}
        assert {(w["sku"], w["marketplace_id"]) for w in writes} == set(patched)
        assert all("item_weight" in changed for changed in patched.values())
        held = {(sku, mp): rec.attributes for (_, mp, sku), rec in server.state.listings.items()}
        assert all(held[key]["item_weight"][0]["unit"] != "kilograms" for key in patched)


def test_full_sku_and_limit_restrict_or_widen_the_read(
    tmp_path: Path, emulator: object, saleslayer: FakeSalesLayerServer
) -> None:
    import asyncio

    from listingsync.config import load_config
    from listingsync.sync.engine import SyncOptions
    from listingsync.sync.pipeline import Selection, run_sync

    from .helpers import client_for

    cfg = load_config(saleslayer_sample.config(tmp_path, emulator, saleslayer.url))  # type: ignore[arg-type]

    def run(selection: Selection, mode: str = "send") -> tuple[object, object]:
        async def go() -> tuple[object, object]:
            async with client_for(emulator, 1000.0) as client:  # type: ignore[arg-type]
                return await run_sync(cfg, SyncOptions(mode=mode), client=client, selection=selection)  # type: ignore[arg-type]

        return asyncio.run(go())

    # --limit 3: the first three products only; nothing else planned, nothing taken for removed.
    report, read = run(Selection(limit=3))
    assert read.products == 3 and not read.complete and read.checkpoint is None  # type: ignore[attr-defined]
    skus = sorted({r.sku for r in report.results})  # type: ignore[attr-defined]
    assert len(skus) == 3
    # A full sync, then --sku on an incremental source: the SKU comes from the mirror, alone.
    run(Selection())
    report, read = run(Selection(skus=frozenset({"MD-VASE-001"})), mode="dry-run")
    assert read.read == [] and read.remapped == {"MD-VASE-001"}  # type: ignore[attr-defined]
    # Nothing built it changed: planned as unchanged (skipped before mapping), in both marketplaces only.
    assert {c.listing.sku for c in read.candidates} <= {"MD-VASE-001"}  # type: ignore[attr-defined]
    assert sum(report.plan.values()) == 2 and report.plan["unchanged"] == 2  # type: ignore[attr-defined]
    # --full reads everything again although nothing changed in Sales Layer.
    _, read = run(Selection(full=True), mode="dry-run")
    # (records whose listings are current are read and skipped before mapping: 2 listings each)
    products = len(saleslayer.fake.tables["products"].records)
    assert read.complete and len(read.read) + read.skipped // 2 == products  # type: ignore[attr-defined]
