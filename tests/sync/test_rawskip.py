"""Unchanged CSV rows are skipped before parsing (``sync.rawskip``): what is built, and what is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from listingsync.emulator import EmulatorServer
from listingsync.mapping.pipeline import MappingPipeline
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.store import StateStore

from .helpers import FR, amazon_listings, edit_csv, sample_dir, sync

FAST = FeedLimits().scaled(1000)
PARENT = "MD-THRW-KNIT"
VARIANTS = {"MD-THRW-KNIT-GREY", "MD-THRW-KNIT-OCHRE", "MD-THRW-KNIT-SAGE"}


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """SKUs of the records a run builds (every build goes through MappingPipeline.result)."""
    skus: list[str] = []
    real = MappingPipeline.result

    def counting(self: MappingPipeline, product: object, **kw: object) -> object:
        skus.append(product.sku)  # type: ignore[attr-defined]
        return real(self, product, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MappingPipeline, "result", counting)
    return skus


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per walk of every key: the state's by the removal pass (StateStore.removal_keys),
    the catalogue mirror's by the pass that drops absent records (CatalogMirror._absent)."""
    calls: list[str] = []

    def counting(cls: type, name: str) -> None:
        real = getattr(cls, name)

        def spy(self: object, *args: object, **kw: object) -> object:
            calls.append(name)
            return real(self, *args, **kw)

        monkeypatch.setattr(cls, name, spy)

    counting(StateStore, "removal_keys")
    counting(CatalogMirror, "_absent")
    return calls


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The SKUs of each batched state lookup of the raw pass (rows not found current in its index)."""
    from listingsync.sync.rawskip import _Lookup

    calls: list[list[str]] = []
    real = _Lookup.__call__

    def spy(self: _Lookup, skus: list[str]) -> list[Any]:
        calls.append(list(skus))
        return real(self, skus)

    monkeypatch.setattr(_Lookup, "__call__", spy)
    return calls


@pytest.fixture(params=["index late", "index early", "split read"])
def index_timing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The state's index is read on another thread while the file is scanned: ready only once
    the scan has ended (every row waits to be judged), or before the scan's first row (each row
    judged as it passes; checked for at every row). Or the file, small as it is, is read on two
    cores (catalog/csv_split.py), its tail by a helper process."""
    import threading

    from listingsync.catalog import csv_split
    from listingsync.catalog.csv_source import CsvSource
    from listingsync.sync import rawskip

    scanned, indexed = threading.Event(), threading.Event()
    run, digests = rawskip.CurrentIndex.read, CsvSource.digests
    handovers: list[csv_split.Handover] = []

    def timed_run(*args: Any) -> Any:
        if request.param == "index late":
            assert scanned.wait(30)
        try:
            return run(*args)
        finally:
            indexed.set()

    def timed_digests(self: CsvSource, key_of: Any) -> Any:
        if request.param == "index early":
            assert indexed.wait(30)
        if request.param == "split read":
            real_watch = csv_split.Handover.watch

            def watch(handover: csv_split.Handover, end: int) -> int:
                handovers.append(handover)
                return real_watch(handover, end)

            monkeypatch.setattr(csv_split.Handover, "watch", watch)
            yield from digests(self, key_of, split_from=1)
            assert handovers and handovers[-1].reached  # the helper read the tail
        else:
            yield from digests(self, key_of)
        scanned.set()

    def reset(*args: Any, **kw: Any) -> Any:
        scanned.clear()
        indexed.clear()
        return real_records(*args, **kw)

    real_records = rawskip.RawPass.records
    monkeypatch.setattr(rawskip.CurrentIndex, "read", staticmethod(timed_run))
    monkeypatch.setattr(CsvSource, "digests", timed_digests)
    monkeypatch.setattr(csv_split.Handover, "patient", True)
    monkeypatch.setattr(rawskip.RawPass, "records", reset)
    monkeypatch.setattr(rawskip, "BATCH", 1)
    return str(request.param)


def _settled(cfg: Path, emulator: EmulatorServer, **opts: Any) -> Any:
    """One sync, then Amazon applies what it accepted: a scheduled sync's next run comes minutes
    later, not milliseconds (else its read-back could see values Amazon has not applied yet)."""
    out = sync(cfg, emulator, **opts)
    emulator.flush()
    return out


def _writes(emulator: EmulatorServer) -> int:
    emulator.flush()
    return len(emulator.state.write_log)


def test_only_changed_rows_are_built_and_sent(
    emulator: EmulatorServer,
    tmp_path: Path,
    built: list[str],
    walks: list[str],
    lookups: list[list[str]],
    index_timing: str,
) -> None:
    cfg = sample_dir(tmp_path, emulator, on_removed="delete", via="items")
    _settled(cfg, emulator, via="items", on_removed="delete")
    first = len(built)
    assert first > 0
    built.clear()

    # Nothing changed: no record built, nothing written, and (every listing on Amazon and every
    # mirrored record having its row, as the lookups counted) no key is walked for removals.
    # Every row is found current in the index read before the scan: no lookup either.
    log = _writes(emulator)
    walks.clear()
    lookups.clear()
    report, read = _settled(cfg, emulator, via="items", on_removed="delete")
    assert built == [] and read.listings == 0 and _writes(emulator) == log
    assert walks == [] and lookups == []
    assert report.plan["create"] == report.plan["update"] == report.plan["delete"] == 0
    # The sample's broken records are reported again, from the state (read during the scan).
    known_invalid = {(r.sku, r.marketplace_id) for r in report.results if r.op == "invalid"}
    assert known_invalid and all(r.was_invalid for r in report.results if r.op == "invalid")

    # One row changed: that record alone is looked up and built, its change sent, and (its old
    # listings counted once, in the index) still no key walked; the known-invalid listings are
    # reported as before, each once.
    edit_csv(tmp_path / "products.csv", {"MD-CUSH-001": {"title_fr": "Housse neuve"}})
    report, _ = _settled(cfg, emulator, via="items", on_removed="delete")
    reported = [(r.sku, r.marketplace_id) for r in report.results if r.op == "invalid"]
    assert sorted(reported) == sorted(known_invalid)
    assert built == ["MD-CUSH-001"]
    assert lookups == [["MD-CUSH-001"]] and walks == []
    assert [(r.sku, r.marketplace_id, r.op) for r in report.results if r.op == "update"] == [
        ("MD-CUSH-001", FR, "update")
    ]
    assert amazon_listings(emulator)[("MD-CUSH-001", FR)]["item_name"][0]["value"] == "Housse neuve"
    built.clear()

    # A parent changed: it and its variants (which inherit from it) are built, nothing else.
    edit_csv(tmp_path / "products.csv", {PARENT: {"brand": "Maison Demo Nouvelle"}})
    _settled(cfg, emulator, via="items", on_removed="delete")
    assert set(built) == {PARENT, *VARIANTS}
    built.clear()

    # A variant changed: it and its parent (whose parentage depends on its variants), not its siblings.
    edit_csv(tmp_path / "products.csv", {"MD-THRW-KNIT-GREY": {"size": "140 x 180 cm"}})
    _settled(cfg, emulator, via="items", on_removed="delete")
    assert set(built) == {PARENT, "MD-THRW-KNIT-GREY"}
    built.clear()

    # A row removed: nothing built, its listings deleted and its record dropped from the mirror
    # (the counts differ: the keys are walked).
    edit_csv(tmp_path / "products.csv", {}, drop={"MD-CUSH-004"})
    report, _ = _settled(cfg, emulator, via="items", on_removed="delete")
    assert built == [] and set(walks) == {"removal_keys", "_absent"}
    with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
        assert (
            "MD-CUSH-004" not in CatalogMirror(store).skus() and "MD-CUSH-005" in CatalogMirror(store).skus()
        )
    assert sorted(r.op for r in report.results if r.sku == "MD-CUSH-004") == ["delete", "delete"]


def test_mapping_change_rebuilds_every_record(
    emulator: EmulatorServer, tmp_path: Path, built: list[str]
) -> None:
    cfg = sample_dir(tmp_path, emulator, via="items")
    sync(cfg, emulator, via="items")
    first = sorted(built)
    built.clear()
    # The same output from another template: every record is built again, nothing is sent.
    text = cfg.read_text(encoding="utf-8")
    assert 'brand: "{{ brand }}"' in text
    cfg.write_text(text.replace('brand: "{{ brand }}"', 'brand: "{{ brand | trim }}"'), encoding="utf-8")
    log = _writes(emulator)
    sync(cfg, emulator, via="items")
    assert sorted(built) == first and _writes(emulator) == log
    built.clear()
    sync(cfg, emulator, via="items")
    assert built == []


def test_unsettled_listing_is_built_again(
    emulator: EmulatorServer, tmp_path: Path, built: list[str], walks: list[str]
) -> None:
    """A listing whose last write failed (or that drifted) is planned again although its row did
    not change. Its SKU is not current by the state, so the index does not count its listings on
    Amazon (the lookup does): every row still has its listings, and no key is walked."""
    cfg = sample_dir(tmp_path, emulator, via="items", on_removed="delete")
    sync(cfg, emulator, via="items", on_removed="delete")
    built.clear()
    with (
        StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store,
        store.engine.begin() as conn,
    ):
        conn.exec_driver_sql("UPDATE ls_listings SET status = 'error' WHERE sku = 'MD-CUSH-002'")
        conn.exec_driver_sql(
            "UPDATE ls_listings SET drift = '{\"kind\": \"gone\"}' WHERE sku = 'MD-CUSH-003' AND marketplace_id = ?",
            (FR,),
        )
    walks.clear()
    sync(cfg, emulator, via="items", on_removed="delete")
    assert sorted(built) == ["MD-CUSH-002", "MD-CUSH-003"]
    assert walks == []
