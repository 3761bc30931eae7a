"""Shared pieces of the sync integration tests: the sample catalogue in a temp dir, a client."""

from __future__ import annotations

import asyncio
import csv
import functools
import os
import random
from importlib import resources
from pathlib import Path
from typing import Any

from listingsync.amazon import SPAPIClient, TokenBucketLimiter
from listingsync.amazon.lwa import Credentials
from listingsync.config import Config, load_config
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.schemas import BundledSchemas
from listingsync.schema.samples import sample_listing
from listingsync.sync.engine import SyncOptions, SyncReport
from listingsync.sync.pipeline import CatalogRead, run_sync
from listingsync.sync.plan import Candidate

VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"
FR = "A13V1IB3VIYZZH"
DE = "A1PA6795UKMFR9"


def sample_dir(tmp: Path, server: EmulatorServer, *, on_removed: str = "ignore", via: str = "auto") -> Path:
    sample = resources.files("listingsync") / "data" / "sample"
    text = (sample / "listingsync.yaml").read_text(encoding="utf-8")
    text = text.replace("${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", server.endpoint("eu"))
    text = text.replace("${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url)
    text = text.replace("on_removed: ignore", f"on_removed: {on_removed}").replace("via: auto", f"via: {via}")
    (tmp / "listingsync.yaml").write_text(text, encoding="utf-8")
    (tmp / "products.csv").write_bytes((sample / "products.csv").read_bytes())
    return tmp / "listingsync.yaml"


def demo_env(server: EmulatorServer, scale: float) -> dict[str, str]:
    return {
        **os.environ,
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": VENDOR_TOKEN,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_RATE_SCALE": str(scale),
    }


@functools.cache
def _home_base() -> dict[str, Any]:
    schema = BundledSchemas()("HOME", DE, Requirements.LISTING_PRODUCT_ONLY)
    return sample_listing(schema, random.Random(5), DE, "de_DE", optional=0.0)


def home_attributes(name: str) -> dict[str, Any]:
    """A valid HOME listing's attributes for DE (product data only), named ``name``."""
    return {**_home_base(), "item_name": [{"value": name, "language_tag": "de_DE", "marketplace_id": DE}]}


def home_candidate(sku: str, name: str) -> Candidate:
    return Candidate(Listing(sku, DE, "HOME", Requirements.LISTING_PRODUCT_ONLY, home_attributes(name)))


def client_for(server: EmulatorServer, scale: float, token: str = VENDOR_TOKEN) -> SPAPIClient:
    return SPAPIClient(
        Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, token),
        "eu",
        endpoint=server.endpoint("eu"),
        lwa_endpoint=server.lwa_url,
        rate_limiter=TokenBucketLimiter(scale=scale),
        selling_partner_id="DEMOV",
    )


#: Reconciliation's budget in the tests: Amazon (the emulator, x1000) processes a write in 0.03 to
#: 0.3 s; the engine reads again until every verdict is in, so this is a ceiling, never a wait.
RECONCILE_WAIT = 30.0


def sync(
    config: Config | Path, server: EmulatorServer, scale: float = 1000.0, **opts: Any
) -> tuple[SyncReport, CatalogRead]:
    cfg = config if isinstance(config, Config) else load_config(config)
    opts.setdefault("reconcile_wait", RECONCILE_WAIT)

    async def go() -> tuple[SyncReport, CatalogRead]:
        async with client_for(server, scale) as client:
            return await run_sync(cfg, SyncOptions(**opts), client=client)

    return asyncio.run(go())


def edit_csv(path: Path, changes: dict[str, dict[str, str]], drop: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    out = []
    for row in rows:
        if row["sku"] in drop:
            continue
        row.update(changes.get(row["sku"], {}))
        out.append(row)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(out)


def amazon_listings(server: EmulatorServer, seller: str = "DEMOV") -> dict[tuple[str, str], dict[str, Any]]:
    """What Amazon holds once it has processed everything it accepted (the emulator's clock is
    moved on, nothing waits)."""
    server.flush()
    return {(sku, mp): rec.attributes for (s, mp, sku), rec in server.state.listings.items() if s == seller}


def built_listings(config: Path | Config) -> list[Candidate]:
    """The catalogue's listings as a run builds them (a sending run streams them and keeps none)."""
    from listingsync.mapping.schemas import BundledSchemas
    from listingsync.sync.pipeline import read_candidates

    cfg = config if isinstance(config, Config) else load_config(config)
    return read_candidates(cfg, BundledSchemas()).candidates


def assert_amazon_holds_the_catalogue(config: Path, server: EmulatorServer) -> dict[tuple[str, str], Any]:
    """Amazon (the emulator) holds exactly the catalogue's valid listings, attribute for attribute."""
    from listingsync.mapping.schemas import BundledSchemas
    from listingsync.sync.hashing import canonical
    from listingsync.sync.pipeline import read_candidates

    catalog = read_candidates(load_config(config), BundledSchemas())
    expected = {
        (c.listing.sku, c.listing.marketplace_id): c.listing.attributes
        for c in catalog.candidates
        if not c.errors
    }
    held = amazon_listings(server)
    assert set(held) == set(expected)
    assert all(canonical(held[k]) == canonical(v) for k, v in expected.items())
    return held
