"""Oversized numbers (``99999999999999999999``, ``1e309``) never abort a sync (issue 14 item 4).

Before: ``TypeError: Integer exceeds 64-bit range`` in ``sync/hashing.py``, nothing sent for any
SKU. Now the affected SKU gets a clear issue and the others are sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.sync.hashing import canonical, json_bytes, listing_hash
from listingsync.sync.store import Intent, StateStore

from .helpers import DE, amazon_listings, edit_csv, sample_dir, sync

HUGE = 99999999999999999999


def test_hashing_and_the_store_take_any_integer(store: StateStore) -> None:
    assert canonical({"b": HUGE, "a": 1}) == b'{"a":1,"b":99999999999999999999}'
    assert listing_hash("HOME", None, {"x": HUGE}) != listing_hash("HOME", None, {"x": HUGE + 1})
    assert json_bytes({"x": [HUGE]}) == b'{"x":[99999999999999999999]}'
    store.record_intents(1, [Intent("BIG", DE, "PUT", "h", {"x": [{"value": HUGE}]}, "HOME")])
    state = store.get("BIG", DE)
    assert state is not None and state.pending_attributes == {"x": [{"value": HUGE}]}


@pytest.mark.parametrize("force", [False, True])
def test_one_oversized_number_fails_only_its_sku(tmp_path: Path, force: bool) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000)) as server:
        cfg = sample_dir(tmp_path, server, via="items")
        edit_csv(
            tmp_path / "products.csv",
            {"MD-CUSH-001": {"weight": str(HUGE)}, "MD-CUSH-002": {"package_length": "1e309"}},
        )
        report, _ = sync(cfg, server, via="items", force=force)
        by_sku: dict[str, list[str]] = {}
        for r in report.results:
            by_sku.setdefault(r.sku, []).append(r.status)
            if r.sku in ("MD-CUSH-001", "MD-CUSH-002") and not force:
                assert r.status == "invalid"
                messages = [i["message"] for i in r.issues if i.get("code") == "LS-MAP-RANGE"]
                assert messages and "too large to send" in messages[0]
                assert str(HUGE) in messages[0] or "1e309" in messages[0]
        # Every other listing went through.
        others = [
            s
            for sku, statuses in by_sku.items()
            if sku not in ("MD-CUSH-001", "MD-CUSH-002")
            for s in statuses
        ]
        assert others and all(s in ("accepted", "live", "invalid") for s in others)
        assert sum(s in ("accepted", "live") for s in others) > 100
        held = {sku for sku, _ in amazon_listings(server)}
        assert force or not held & {"MD-CUSH-001", "MD-CUSH-002"}
