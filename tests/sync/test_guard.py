"""The mass-deletion guard and the catalogue problems that must never read as "removed"."""

from __future__ import annotations

from pathlib import Path

import pytest

from listingsync.emulator import EmulatorServer
from listingsync.sync.guard import ALLOW_FLAG, DeleteGuard, MassDeleteError
from listingsync.sync.store import StateStore, StateStoreError

from .helpers import amazon_listings, edit_csv, sample_dir, sync


def test_guard_thresholds() -> None:
    guard = DeleteGuard(max_share=0.2, min_count=10)
    assert guard.refusal(0, 100, empty_catalogue=True) is None  # nothing to delete: nothing to refuse
    assert guard.refusal(10, 20, empty_catalogue=False) is None  # half, but only ten: ordinary churn
    assert guard.refusal(15, 100, empty_catalogue=False) is None  # more than ten, but 15%
    reason = guard.refusal(30, 100, empty_catalogue=False)
    assert (
        reason is not None and "30 of 100" in reason and "30%" in reason and "sync.max_delete_share" in reason
    )
    empty = guard.refusal(3, 3, empty_catalogue=True)
    assert empty is not None and "no products" in empty and "all 3" in empty
    error = guard.error(empty)
    assert ALLOW_FLAG in (error.fix or "") and "nothing was sent" in error.message


def _header_only(csv_path: Path) -> None:
    csv_path.write_text(csv_path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def test_empty_or_shrunken_catalogue_is_refused_until_allowed(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    cfg = sample_dir(tmp_path, emulator, on_removed="delete", via="items")
    sync(cfg, emulator, on_removed="delete", reconcile=False)
    on_amazon = set(amazon_listings(emulator))
    assert len(on_amazon) > 50
    products = tmp_path / "products.csv"
    original = products.read_text(encoding="utf-8")

    # An export with only its header: refused, nothing deleted, the run recorded as refused.
    _header_only(products)
    with pytest.raises(MassDeleteError) as caught:
        sync(cfg, emulator, on_removed="delete", reconcile=False)
    assert f"all {len(on_amazon)} listing(s)" in caught.value.message
    assert set(amazon_listings(emulator)) == on_amazon
    with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
        assert store.runs(limit=1)[0]["status"] == "refused"

    # A dry run shows the plan and says the real run would be refused.
    report, catalog = sync(cfg, emulator, mode="dry-run", on_removed="delete")
    assert report.refused and "would be refused" in report.refused and report.exit_code == 1
    assert any("no records" in p.message for p in catalog.problems)

    # A third of the catalogue gone (more than 20% and more than 10 listings): refused too.
    products.write_text(original, encoding="utf-8")
    skus = sorted({sku for sku, _ in on_amazon})
    dropped = set(skus[: len(skus) // 3])
    edit_csv(products, {}, drop=dropped)
    with pytest.raises(MassDeleteError, match=r"would delete \d+ of \d+ listing"):
        sync(cfg, emulator, on_removed="delete", reconcile=False)
    assert set(amazon_listings(emulator)) == on_amazon

    # ... and goes through when the user says so.
    report, _ = sync(cfg, emulator, on_removed="delete", reconcile=False, allow_mass_delete=True)
    assert {r.sku for r in report.results if r.op == "delete"} == dropped
    assert not {sku for sku, _ in amazon_listings(emulator)} & dropped


def test_unreadable_records_are_never_deleted(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = sample_dir(tmp_path, emulator, on_removed="delete", via="items")
    sync(cfg, emulator, on_removed="delete", reconcile=False)
    on_amazon = set(amazon_listings(emulator))
    products = tmp_path / "products.csv"
    lines = products.read_text(encoding="utf-8").splitlines(keepends=True)
    # Row 2 (MD-CUSH-001) gets an extra value: the reader skips it without knowing its SKU.
    assert lines[1].startswith("MD-CUSH-001,")
    lines[1] = lines[1].rstrip("\n") + ",extra\n"
    # MD-CUSH-002 loses its SKU: a problem with no SKU either.
    assert lines[2].startswith("MD-CUSH-002,")
    lines[2] = lines[2][len("MD-CUSH-002") :]
    # MD-CUSH-003 is really gone: it would be deleted, but the unreadable rows hold every deletion.
    assert lines[3].startswith("MD-CUSH-003,")
    del lines[3]
    products.write_text("".join(lines), encoding="utf-8")

    report, catalog = sync(cfg, emulator, on_removed="delete", reconcile=False)
    assert len(catalog.unattributed_problems) == 2
    assert report.plan["delete"] == 0
    assert set(amazon_listings(emulator)) == on_amazon
    assert any("could not be read" in n and "products.csv:2" in n for n in report.notes)

    # Once the rows are fixed, the product that really went is deleted; the others stay.
    lines[1] = lines[1].removesuffix(",extra\n") + "\n"
    lines[2] = "MD-CUSH-002" + lines[2]
    products.write_text("".join(lines), encoding="utf-8")
    report, _ = sync(cfg, emulator, on_removed="delete", reconcile=False)
    assert {r.sku for r in report.results if r.op == "delete"} == {"MD-CUSH-003"}
    assert {k for k in on_amazon if k[0] != "MD-CUSH-003"} == set(amazon_listings(emulator))


def test_a_state_database_serves_one_account_per_region(emulator: EmulatorServer, tmp_path: Path) -> None:
    cfg = sample_dir(tmp_path, emulator, via="items")
    sync(cfg, emulator, reconcile=False)
    writes = len(emulator.state.write_log)
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("selling_partner_id: DEMOV", "selling_partner_id: OTHERV"),
        encoding="utf-8",
    )
    for mode in ("send", "dry-run"):
        with pytest.raises(StateStoreError, match="holds what account DEMOV sent in region EU") as caught:
            sync(cfg, emulator, mode=mode)
        assert caught.value.where == "state" and "OTHERV.db" in (caught.value.fix or "")
    assert len(emulator.state.write_log) == writes
