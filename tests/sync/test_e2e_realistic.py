"""End to end against the emulator in realistic mode: Amazon processes accepted writes later.

The sample catalogue is synced to an emulator that applies writes after a processing delay (scaled
x1000) and holds a catalogue where one sample product's EAN belongs to another brand (a PRODUCT
listing, which the sample no longer has, would get 4000004). Reconciliation waits for Amazon's
verdicts within its budget, so the run ends with every accepted listing ``live`` and every
conflicting one ``invalid`` with Amazon's code (8541 for the GTIN conflict).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.sync.feeds import FeedLimits

from .helpers import amazon_listings, built_listings, sample_dir, sync


def _sample_rows() -> list[dict[str, str]]:
    text = (resources.files("listingsync") / "data" / "sample" / "products.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def realistic(tmp_path: Path) -> Iterator[tuple[EmulatorServer, Path, str, str]]:
    """The emulator, the sample config, the SKU whose EAN conflicts, the SKU whose EAN matches."""
    rows = [r for r in _sample_rows() if r["category"] == "Cushions" and r["ean"]]
    conflicting, matching = rows[0], rows[1]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "items": [
                    {
                        "asin": "B0CONFLICT",
                        "gtins": [conflicting["ean"]],
                        "brand": "Another Brand",
                        "title": "Another Brand cushion",
                        "product_type": "HOME",
                    },
                    {
                        "asin": "B0MATCHING",
                        "gtins": [matching["ean"]],
                        "brand": matching["brand"],
                        "title": matching["brand"],
                        "product_type": "HOME",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    settings = EmulatorSettings(instant=False, rate_scale=1000.0, catalog_file=catalog, seed=3)
    with run_in_thread(settings) as server:
        (tmp_path / "run").mkdir()
        cfg = sample_dir(tmp_path / "run", server)
        yield server, cfg, conflicting["sku"], matching["sku"]


@pytest.mark.parametrize("via", ["items", "feed"])
def test_statuses_settle_live_or_invalid_with_amazons_code(
    realistic: tuple[EmulatorServer, Path, str, str], via: str
) -> None:
    server, cfg, conflicting, matching = realistic
    report, _ = sync(cfg, server, via=via, reconcile_wait=30.0, feed_limits=FeedLimits().scaled(1000))
    valid = {
        (c.listing.sku, c.listing.marketplace_id): c.listing for c in built_listings(cfg) if not c.errors
    }
    results = {(r.sku, r.marketplace_id): r for r in report.results}
    refused: dict[tuple[str, str], set[str]] = {}
    for key, listing in valid.items():
        if listing.product_type == "PRODUCT":
            refused[key] = {"4000004"}
        elif key[0] == conflicting:
            refused[key] = {"8541"}
    assert refused and len(refused) < len(valid)
    for key in valid:
        result = results[key]
        if key in refused:
            assert result.status == "invalid", (key, result.status, result.issues)
            assert refused[key] <= {i["code"] for i in result.issues}, result.issues
        else:
            assert result.status == "live", (key, result.status, result.issues)
    held = amazon_listings(server)
    # The vendor's procurement data reached Amazon: each item's cost price, as the vendor schema takes it.
    costed = {k: v.attributes["cost_price"] for k, v in valid.items() if "cost_price" in v.attributes}
    assert len(costed) > len(valid) // 2
    assert {k: held[k]["cost_price"] for k in costed if k in held} == {
        k: c for k, c in costed.items() if k in held
    }
    # Matched to Amazon's product: the listing carries its ASIN, not a new one.
    assert {r.asin for k, r in results.items() if k[0] == matching} == {"B0MATCHING"}
    # The conflicting listing exists on Amazon with its issue, as a suppressed item without ASIN.
    assert all(server.state.listings[("DEMOV", mp, sku)].asin == "" for sku, mp in held if sku == conflicting)
