"""JSON_LISTINGS_FEED benchmarks, each figure beside a baseline measured in the same run.

- build: 100,000 listings → documents (our pre-encoded orjson assembly vs. the obvious
  ``json.dumps`` of each whole document).
- submit: 100,000 SKUs built, recorded (write-ahead) and submitted to the emulator (in its own
  process, ``rate_scale`` 100, so the 5-feeds-per-5-minutes window is 3 s), within 60 s.
- sizing: the all-done time computed at Amazon's limits (and the realistic emulator's processing
  model) for 100,000 SKUs with documents cut at the 10 MiB best-practice figure (before) and at
  the feed type's 25,000-message limit (after).
- all-done: the same run followed to the last processed report, measured on the scaled clock, beside
  the time Amazon's limits and the realistic emulator's processing model give on that clock (the
  lag is the client's and the emulator's CPU); the same model at real limits; and the items path
  (5 requests/s) for the same SKUs as the baseline.

``LISTINGSYNC_BENCH_FEED_SUBMIT_N`` (default 100,000) sizes the submit and all-done parts alone: the
emulator validates and applies every message, which takes many minutes of CPU on a shared machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.bench_sync import DE, SELLER, TOKEN, emulator_process
from listingsync.amazon import SPAPIClient, TokenBucketLimiter
from listingsync.amazon.lwa import Credentials
from listingsync.emulator.feeds import (
    AMAZON_PER_MESSAGE_SECONDS,
    AMAZON_PROCESS_SECONDS,
    AMAZON_QUEUE_SECONDS,
)
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.schemas import BundledSchemas
from listingsync.schema.samples import sample_listing
from listingsync.sync.engine import SyncEngine, SyncOptions
from listingsync.sync.feeddoc import GUIDANCE_BYTES, MAX_BYTES, build_documents
from listingsync.sync.feeds import FeedLimits
from listingsync.sync.plan import Action, Candidate, Op
from listingsync.sync.store import StateStore

N = 100_000
SUBMIT_N = int(os.environ.get("LISTINGSYNC_BENCH_FEED_SUBMIT_N", str(N)))
SCALE = 100.0
ITEMS_RATE = 5.0


def lean_candidates(n: int) -> list[Candidate]:
    """Valid HOME listings with only the required attributes (~2.2 KB each, as a feed carries)."""
    schema = BundledSchemas()("HOME", DE, Requirements.LISTING_PRODUCT_ONLY)
    base = sample_listing(schema, random.Random(3), DE, "de_DE", optional=0.0)
    out = []
    for i in range(n):
        attrs = dict(base)
        attrs["item_name"] = [{"value": f"Feed item {i}", "language_tag": "de_DE", "marketplace_id": DE}]
        out.append(Candidate(Listing(f"FEED-{i:06d}", DE, "HOME", Requirements.LISTING_PRODUCT_ONLY, attrs)))
    return out


def bench_build(cands: list[Candidate]) -> None:
    actions = [
        Action(Op.CREATE, c.listing.sku, DE, "HOME", "LISTING_PRODUCT_ONLY", "h", c.listing.attributes)
        for c in cands
    ]
    ours, theirs = [], []
    docs = []
    for _ in range(3):
        started = time.perf_counter()
        docs = list(build_documents(actions, SELLER))
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        for doc in docs:
            msgs = [
                {
                    "messageId": m,
                    "sku": a.sku,
                    "operationType": "UPDATE",
                    "productType": "HOME",
                    "requirements": "LISTING_PRODUCT_ONLY",
                    "attributes": a.attributes,
                }
                for (m, _, _), a in zip(doc.messages, doc.actions, strict=True)
            ]
            json.dumps({"header": {"sellerId": SELLER, "version": "2.0"}, "messages": msgs}).encode()
        theirs.append(time.perf_counter() - started)
    size = sum(len(d.body) for d in docs)
    print(
        f"feed build: {len(actions)} messages → {len(docs)} documents, {size / 2**20:.0f} MiB, "
        f"median {statistics.median(ours):.2f} s; baseline json.dumps per document {statistics.median(theirs):.2f} s "
        f"→ {statistics.median(theirs) / statistics.median(ours):.1f}x faster"
    )


def computed_all_done(messages: list[int], scale: float = 1.0) -> float:
    """Seconds until the last of the feeds (``messages``: each feed's message count, in submission
    order) is processed, on a clock ``scale`` times faster than Amazon's: createFeed at 5 feeds per
    5-minute window (each window's feeds sent at its start), then the realistic emulator's
    Amazon-like processing model (one selling partner's feeds one after another, each waiting
    ``AMAZON_QUEUE_SECONDS`` IN_QUEUE, then ``AMAZON_PROCESS_SECONDS`` plus a per-message time;
    Amazon publishes no figure: "can take up to 15 minutes or more"), then the first getFeed poll."""
    limits = FeedLimits().scaled(scale)
    end = 0.0
    for i, count in enumerate(messages):
        submitted = (i // limits.per_window) * limits.window
        start = max(submitted + AMAZON_QUEUE_SECONDS / scale, end)
        end = start + (AMAZON_PROCESS_SECONDS + AMAZON_PER_MESSAGE_SECONDS * count) / scale
    return end + limits.poll_initial


def bench_sizing(cands: list[Candidate]) -> None:
    """All-done time at real limits when documents are cut at Amazon's 10 MiB best-practice figure
    (before) and by the feed type's real limits, 25,000 messages (after), for the same listings."""
    for label, factory in (("lean (required attributes)", None), ("realistic widths", _realistic)):
        attrs = [factory(c) if factory else c.listing.attributes for c in cands]
        actions = [
            Action(Op.CREATE, c.listing.sku, DE, "HOME", "LISTING_PRODUCT_ONLY", "h", a)
            for c, a in zip(cands, attrs, strict=True)
        ]
        before_docs = [len(d.messages) for d in build_documents(actions, SELLER, max_bytes=GUIDANCE_BYTES)]
        after_docs = [
            (len(d.messages), len(d.body)) for d in build_documents(actions, SELLER, max_bytes=MAX_BYTES)
        ]
        before, after = len(before_docs), len(after_docs)
        b, a = computed_all_done(before_docs), computed_all_done([m for m, _ in after_docs])
        print(
            f"feed sizing, {len(actions)} SKUs, {label} (largest document {max(b for _, b in after_docs) / 2**20:.0f} MiB): "
            f"cut at 10 MiB {before} feeds → all-done ≈ {b / 60:.1f} min; "
            f"cut at 25,000 messages {after} feeds → ≈ {a / 60:.1f} min ({b / a:.1f}x sooner)"
        )
        # The createFeed limit alone (what the sizing changes for sure; the processing model is ours).
        waits = [(math.ceil(k / 5) - 1) * 5 for k in (before, after)]
        print(f"  createFeed windows alone (5 per 5 min): {waits[0]} min before, {waits[1]} min after")


def _realistic(cand: Candidate) -> dict[str, object]:
    """A listing as a catalogue fills it: the lean one plus description, five bullet points and
    keywords (≈ 3.5 KB, the width the 10 MiB cut turned into 29 feeds per 100,000)."""
    text = "Solid oak, oiled finish, hand-made in small batches; assembly takes ten minutes. "
    attrs: dict[str, object] = dict(cand.listing.attributes)
    attrs["product_description"] = [{"value": text * 6, "language_tag": "de_DE", "marketplace_id": DE}]
    attrs["bullet_point"] = [{"value": text, "language_tag": "de_DE", "marketplace_id": DE} for _ in range(5)]
    attrs["generic_keyword"] = [
        {"value": "oak table kitchen dining wood", "language_tag": "de_DE", "marketplace_id": DE}
    ]
    return attrs


def bench_submit_and_done(cands: list[Candidate]) -> None:
    limits = FeedLimits().scaled(SCALE)
    with emulator_process(SCALE) as server, tempfile.TemporaryDirectory() as tmp:
        store = StateStore.open(f"sqlite:///{Path(tmp) / 'state.db'}")

        async def go() -> tuple[float, float, int, dict[str, int]]:
            client = SPAPIClient(
                Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TOKEN),
                "eu",
                endpoint=server.endpoint("eu"),
                lwa_endpoint=server.lwa_url,
                rate_limiter=TokenBucketLimiter(scale=SCALE),
                selling_partner_id=SELLER,
            )
            async with client:
                engine = SyncEngine(
                    store, client, SELLER, options=SyncOptions(via="feed", feed_limits=limits)
                )
                started = time.perf_counter()
                submitted_at: list[float] = []
                original = client.feeds.create_feed

                async def timed_create_feed(*args: object, **kwargs: object) -> dict[str, object]:
                    result = await original(*args, **kwargs)  # type: ignore[arg-type]
                    submitted_at.append(time.perf_counter() - started)
                    return result

                client.feeds.create_feed = timed_create_feed  # type: ignore[method-assign]
                report = await engine.run(cands)
                done = time.perf_counter() - started
                for note in report.notes:
                    print(f"feed note: {note}")
                return max(submitted_at), done, len(report.feeds), report.statuses

        submit, done, feeds, statuses = asyncio.run(go())
        store.close()
    n = len(cands)
    print(
        f"feed submit: {n} SKUs built, recorded and submitted as {feeds} feeds in {submit:.1f} s "
        f"(emulator x{SCALE:g}: the 5-per-5-minutes window is {300 / SCALE:g} s)"
    )
    print(f"feed statuses at the end: {statuses}")
    # The scaled run beside the model on the same scaled clock: how far the client (building,
    # recording, polling) and the emulator's own CPU lag behind Amazon's modelled times.
    sizes = [n // feeds + (1 if i < n % feeds else 0) for i in range(feeds)]
    modelled = computed_all_done(sizes, SCALE)
    real = computed_all_done(sizes)
    print(
        f"feed all-done on the scaled clock: measured {done:.1f} s; the limits and the emulator's "
        f"processing model alone at x{SCALE:g}: {modelled:.1f} s ({done / modelled:.2f}x the model)"
    )
    print(
        f"feed all-done at real limits, computed for these {feeds} feeds: ≈ {real / 60:.1f} min "
        "(5 feeds per 5 minutes, the emulator's Amazon-like processing model, first poll)"
    )
    print(
        f"feed baseline: the items path at {ITEMS_RATE:g} requests/s needs {n / ITEMS_RATE / 3600:.1f} h "
        f"for {n} SKUs → the feed path is ≈ {n / ITEMS_RATE / real:.0f}x faster end to end"
    )


def main() -> None:
    cands = lean_candidates(N)
    bench_sizing(cands)
    bench_build(cands)
    bench_submit_and_done(cands[:SUBMIT_N])


if __name__ == "__main__":
    main()
