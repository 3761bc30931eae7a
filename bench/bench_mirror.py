"""Adoption and remapping benchmarks (issue 9), each figure beside a baseline from the same run.

1. adoption: the emulator holds 10,000 listings a fresh state does not know, at Amazon's real read
   limits (searchListingsItems 5/s, burst 5, 20 SKUs a call). Figure: requests and wall time of
   the look-up, beside the bound those limits allow (500 calls: 5 at once, then 5 a second). Baseline:
   one getListingsItem per SKU (same 5/s), measured on 100 SKUs and extrapolated to 10,000.
2. remap: a Sales Layer catalogue of ``REMAP_N`` products (100,000 by default; ``BENCH_REMAP_N``)
   already mirrored in the state; a mapping template changes. Figure: the run's catalogue phase when
   every record is rebuilt from the mirror (the incremental read brings nothing). Baseline: the
   same phase with a full source re-read (``sync --full``: every record from the fake Sales Layer
   API over loopback), in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from listingsync.amazon import NotFound, SPAPIClient, TokenBucketLimiter
from listingsync.amazon.lwa import Credentials
from listingsync.config import load_config
from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.saleslayer import load_catalog
from listingsync.emulator.saleslayer import run_in_thread as saleslayer_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.emulator.state import ListingRecord
from listingsync.mapping.schemas import BundledSchemas
from listingsync.sync.adopt import look_up
from listingsync.sync.mirror import CatalogMirror
from listingsync.sync.pipeline import CatalogStream, Selection, open_store, read_candidates

from .bench_sync import DE, SELLER, TOKEN, synthetic

ADOPT_N = 10_000
SEARCH_RATE, SEARCH_BURST, SEARCH_BATCH = 5.0, 5, 20
GET_SAMPLE = 100
REMAP_N = int(os.environ.get("BENCH_REMAP_N", "100000"))
SL_CODE, SL_SECRET = "CNBENCH0001", "0123456789abcdef0123456789abcdef"


def _client(server: Any) -> SPAPIClient:
    return SPAPIClient(
        Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TOKEN),
        "eu",
        endpoint=server.endpoint("eu"),
        lwa_endpoint=server.lwa_url,
        rate_limiter=TokenBucketLimiter(scale=1.0),
        selling_partner_id=SELLER,
    )


def bench_adoption() -> None:
    candidates = synthetic(ADOPT_N, prefix="ADOPT")
    with run_in_thread(EmulatorSettings(rate_scale=1.0)) as server:
        now = time.time()
        for i, cand in enumerate(candidates):  # listings another machine created
            listing = cand.listing
            server.state.put_listing(
                ListingRecord(
                    SELLER,
                    listing.sku,
                    DE,
                    "HOME",
                    "LISTING_PRODUCT_ONLY",
                    listing.attributes,
                    f"B0{i:08d}",
                    now,
                    now,
                )
            )

        async def adopt() -> tuple[int, float, int]:
            async with _client(server) as client:
                started = time.perf_counter()
                held, failed = await look_up(client, SELLER, candidates)
                elapsed = time.perf_counter() - started
                assert not failed and len(held) == ADOPT_N
                return client.stats.as_dict()["requests"], elapsed, len(held)

        async def gets() -> float:
            async with _client(server) as client:
                started = time.perf_counter()
                for cand in candidates[:GET_SAMPLE]:
                    with contextlib.suppress(NotFound):
                        await client.listings.get_listings_item(
                            SELLER, cand.listing.sku, marketplace_ids=[DE], included_data=["attributes"]
                        )
                return time.perf_counter() - started

        requests, elapsed, found = asyncio.run(adopt())
        get_elapsed = asyncio.run(gets())
    calls = -(-ADOPT_N // SEARCH_BATCH)
    bound = (calls - SEARCH_BURST) / SEARCH_RATE
    per_get = get_elapsed / GET_SAMPLE
    print(
        f"adoption of {ADOPT_N:,} existing listings at Amazon's read limits (searchListingsItems 5/s, burst 5)"
    )
    print(
        f"  look-up:  {requests:,} requests (minimum {calls:,}), {elapsed:.1f} s; bound the limits allow "
        f"{bound:.1f} s ({elapsed / bound:.2f}x the bound); {found:,} found"
    )
    print(
        f"  baseline: getListingsItem per SKU, {per_get * 1000:.0f} ms each over {GET_SAMPLE} SKUs -> "
        f"{ADOPT_N:,} requests, ~{per_get * ADOPT_N:.0f} s ({per_get * ADOPT_N / elapsed:.1f}x slower)"
    )


def _saleslayer_catalogue(path: Path, n: int) -> None:
    records = [
        {
            "ID": i + 1,
            "modified": 1717000000,
            "sku": f"REMAP-{i:06d}",
            "title": {"en": f"Remap item {i}", "de": f"Artikel {i}"},
            "brand": "Bench",
            "color": "Blue" if i % 2 else "Red",
        }
        for i in range(n)
    ]
    doc = {
        "connector": {
            "code": SL_CODE,
            "secret": SL_SECRET,
            "default_language": "en",
            "languages": ["en", "de"],
            "clock": 1717171717,
            "check_time": False,
        },
        "tables": {
            "products": {
                "fields": {
                    "sku": "string",
                    "title": {"type": "string", "multilingual": True},
                    "brand": "string",
                    "color": "string",
                },
                "records": records,
            }
        },
    }
    # JSON (load_catalog reads .json as such): YAML's pure-Python emitter and parser spent minutes
    # of the benchmark writing and reading 100,000 records, none of it measured.
    path.write_text(json.dumps(doc), encoding="utf-8")


def _config(work: Path, url: str, template: str) -> Path:
    path = work / "listingsync.yaml"
    path.write_text(
        "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [DE]}\n"
        f"source: {{type: saleslayer, connector_id: {SL_CODE}, api_url: '{url}', pagination: 5000}}\n"
        "listings:\n  product_type: HOME\n  fallback_language: en\n  attributes:\n"
        f"    item_name: '{template}'\n    brand: '{{{{ brand }}}}'\n    color: '{{{{ color }}}}'\n",
        encoding="utf-8",
    )
    return path


def bench_remap() -> None:
    os.environ["LISTINGSYNC_SALESLAYER_SECRET"] = SL_SECRET
    schemas = BundledSchemas()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _saleslayer_catalogue(work / "sl.json", REMAP_N)
        with saleslayer_thread(load_catalog(work / "sl.json")) as sl:
            cfg = load_config(_config(work, sl.url, "{{ title }}"))
            with open_store(cfg) as store:
                mirror = CatalogMirror(store)
                checkpoint = _first_sync(cfg, schemas, store, mirror)
                # The control: with the same mapping nothing is rebuilt, so what the timed read
                # below rebuilds, it rebuilds because the template changed.
                same = read_candidates(cfg, schemas, since=checkpoint, mirror=mirror)
                assert not same.remapped and not same.candidates, (len(same.remapped), len(same.candidates))
                changed = load_config(_config(work, sl.url, "{{ title }} ({{ brand }})"))
                started = time.perf_counter()
                remapped = read_candidates(changed, schemas, since=checkpoint, mirror=mirror)
                from_mirror = time.perf_counter() - started
                started = time.perf_counter()
                reread = read_candidates(changed, schemas, mirror=mirror, selection=Selection(full=True))
                full_read = time.perf_counter() - started
    assert len(remapped.remapped) == REMAP_N and not remapped.read, (
        len(remapped.remapped),
        len(remapped.read),
    )
    assert len(reread.read) == REMAP_N
    print(f"remapping {REMAP_N:,} SKUs after a mapping template change (build + validate included)")
    print(f"  from the mirror (no source read): {from_mirror:.1f} s ({REMAP_N / from_mirror:,.0f} SKUs/s)")
    print(
        f"  baseline, full Sales Layer re-read (sync --full): {full_read:.1f} s "
        f"({full_read / from_mirror:.2f}x the mirror's time)"
    )


def _first_sync(config: Any, schemas: Any, store: Any, mirror: CatalogMirror) -> str | None:
    """The first (full) sync's catalogue phase as a sending run streams it: each batch's listings
    get a state row, then the stream records what built them (``source_fp``/``mapping_fp``) and
    merges its records into the mirror. Nothing is sent: the rows are local ``invalid`` outcomes
    (a settled status), so the next read rebuilds a record only because its mapping changed."""
    from listingsync.sync.store import Outcome

    stream = CatalogStream(config, schemas, mirror=mirror, store=store, record=True)
    for batch in stream.batches():
        store.record_outcomes(
            None,
            [
                Outcome(
                    c.listing.sku,
                    c.listing.marketplace_id,
                    "invalid",
                    [],
                    product_type=c.listing.product_type,
                    requirements=c.listing.requirements.value if c.listing.requirements else None,
                    local=True,
                )
                for c in batch.candidates
            ],
        )
        if batch.recorded is not None:
            batch.recorded()
    assert stream.out.listings == REMAP_N, stream.out.listings
    return stream.out.checkpoint


def main() -> None:
    bench_remap()
    bench_adoption()


if __name__ == "__main__":
    main()
