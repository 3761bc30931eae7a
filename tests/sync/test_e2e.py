"""End to end against the emulator over loopback: the sample catalogue, items and feed paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorServer
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.store import StateStore

from .helpers import FR, amazon_listings, built_listings, edit_csv, sample_dir, sync

CHANGED = ("MD-CUSH-001", "MD-CUSH-002", "MD-CUSH-003")


@pytest.mark.parametrize("via", ["items", "feed"])
def test_first_second_change_delete(emulator: EmulatorServer, tmp_path: Path, via: str) -> None:
    cfg = sample_dir(tmp_path, emulator, on_removed="delete", via=via)
    fast = FeedLimits().scaled(1000)

    # 1. First sync: every valid listing is created, the broken records are invalid, nothing else.
    report, catalog = sync(cfg, emulator, via=via, on_removed="delete", feed_limits=fast)
    built = built_listings(cfg)
    valid = {(c.listing.sku, c.listing.marketplace_id) for c in built if not c.errors}
    broken = {(c.listing.sku, c.listing.marketplace_id) for c in built if c.errors}
    assert catalog.listings == len(built)
    assert valid and broken
    assert set(amazon_listings(emulator)) == valid
    created = [w for w in emulator.state.write_log if w["created"]]
    assert len(created) == len(valid)
    assert report.via == via
    by_status = {(r.sku, r.marketplace_id): r.status for r in report.results}
    assert all(by_status[k] == "invalid" for k in broken)
    assert all(by_status[k] in ("accepted", "live") for k in valid)
    refusals = {(r.sku, r.marketplace_id): r.issues for r in report.results if r.status == "invalid"}
    assert report.exit_code == 1  # the broken records failed

    # 2. Second sync: nothing to send; every record is skipped before parsing (a fingerprint of
    #    its row and a lookup); the broken ones are reported again from the state, not rebuilt.
    log_len = len(emulator.state.write_log)
    report, again = sync(cfg, emulator, via=via, on_removed="delete", feed_limits=fast)
    assert report.plan["create"] == report.plan["update"] == report.plan["delete"] == 0
    assert len(emulator.state.write_log) == log_len
    assert again.listings == 0  # nothing built
    results = {(r.sku, r.marketplace_id): r for r in report.results}
    assert set(results) == broken and report.plan["invalid"] == len(broken)
    assert all(r.status == "invalid" and r.was_invalid for r in results.values())
    assert {k: r.issues for k, r in results.items()} == refusals  # the same issues, from the state
    assert again.skipped == len(valid)
    # The broken records are known invalid from run 1: reported, but nothing new broke (exit 0).
    assert report.plan["unchanged"] >= again.skipped and report.exit_code == 0
    assert report.known_invalid == len(broken) and report.run_status == "succeeded"

    # 3. Three products change their French title: three PATCHes, item_name only.
    edit_csv(tmp_path / "products.csv", {sku: {"title_fr": f"Nouveau titre {sku}"} for sku in CHANGED})
    report, changed = sync(cfg, emulator, via=via, on_removed="delete", feed_limits=fast)
    assert changed.listings == 2 * len(CHANGED)  # only these built
    patches = [r for r in report.results if r.op == "update"]
    assert sorted((r.sku, r.marketplace_id) for r in patches) == [(s, FR) for s in CHANGED]
    assert all(r.changed == ["item_name"] and not r.removed for r in patches)
    new_writes = emulator.state.write_log[log_len:]
    assert sorted(w["sku"] for w in new_writes) == sorted(CHANGED)
    assert {w["op"] for w in new_writes} == {"PATCH"} and not any(w["created"] for w in new_writes)
    assert (
        amazon_listings(emulator)[("MD-CUSH-001", FR)]["item_name"][0]["value"] == "Nouveau titre MD-CUSH-001"
    )

    # 4. One product removed with on_removed: delete → deleted in both marketplaces.
    edit_csv(tmp_path / "products.csv", {}, drop={"MD-CUSH-004"})
    report, _ = sync(cfg, emulator, via=via, on_removed="delete", feed_limits=fast)
    assert sorted(r.op for r in report.results if r.sku == "MD-CUSH-004") == ["delete", "delete"]
    assert not [k for k in amazon_listings(emulator) if k[0] == "MD-CUSH-004"]
    with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
        assert {s.status for s in store.listings(skus=["MD-CUSH-004"])} == {"deleted"}


@pytest.mark.parametrize("via", ["items", "feed"])
def test_forced_broken_records_get_amazons_issues(emulator: EmulatorServer, tmp_path: Path, via: str) -> None:
    cfg = sample_dir(tmp_path, emulator, via=via)
    report, _ = sync(cfg, emulator, via=via, force=True, feed_limits=FeedLimits().scaled(1000))
    broken = {(c.listing.sku, c.listing.marketplace_id) for c in built_listings(cfg) if c.errors}
    results = {(r.sku, r.marketplace_id): r for r in report.results}
    refused = [k for k in broken if results[k].status == "invalid"]
    assert refused, "Amazon (the emulator) refuses at least some of the broken records"
    for key in refused:
        issues = results[key].issues
        assert issues and all(i["source"] == "amazon" for i in issues)
        assert any(i["severity"] == "ERROR" for i in issues)
    assert not set(refused) & set(amazon_listings(emulator))


def test_state_on_each_database(emulator: EmulatorServer, tmp_path: Path, state_url: str) -> None:
    """The same engine on SQLite and PostgreSQL (``state:`` in the config)."""
    cfg = sample_dir(tmp_path, emulator)
    text = cfg.read_text(encoding="utf-8")
    # Point the config's state URL (the sample may or may not name one) at this database.
    line = f"state: {state_url!r}"
    text = re.sub(r"(?m)^state: .*$", line, text) if re.search(r"(?m)^state: ", text) else f"{line}\n{text}"
    cfg.write_text(text, encoding="utf-8")
    sync(cfg, emulator, via="items")
    valid = {(c.listing.sku, c.listing.marketplace_id) for c in built_listings(cfg) if not c.errors}
    assert set(amazon_listings(emulator)) == valid
    again, _ = sync(cfg, emulator, via="items")
    assert again.plan["create"] == again.plan["update"] == 0
    with StateStore.open(state_url) as store:
        assert sum(n for s, n in store.counts().items() if s in ("accepted", "live")) == len(valid)
