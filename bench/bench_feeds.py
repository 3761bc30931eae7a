"""JSON_LISTINGS_FEED in the emulator: how fast messages are applied, and what parsing costs.

1. Feed throughput: N UPDATE messages (valid HOME listings, distinct SKUs) submitted as one feed,
   timed from createFeed to DONE (queue/processing clock scaled away), against the baseline of the
   same N listings sent one by one with putListingsItem over loopback in the same run. Both go
   through the same listings handlers and validation; the ratio is the HTTP round-trip saving.
2. Document parsing: ``parse_feed_document`` (UTF-8, JSON, envelope + per-message schema checks) of
   a 25,000-message document, against ``json.loads`` of the same bytes.

Medians of a few rounds; no assertion on time.
"""

from __future__ import annotations

import copy
import json
import random
import statistics
import time
from typing import Any

import httpx

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.feed_document import parse_feed_document
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

US = "ATVPDKIKX0DER"
SELLER = "A3DEMOSELLER01"
MESSAGES = 200
ROUNDS = 3


def _listing() -> dict[str, Any]:
    schema = ProductTypeRegistry().get("HOME", US)
    assert schema is not None
    return sample_listing(derive(schema, "LISTING"), random.Random(9), US, "en_US", optional=0.0)


def _titled(base: dict[str, Any], title: str) -> dict[str, Any]:
    attributes = copy.deepcopy(base)
    attributes["item_name"] = [{"value": title, "language_tag": "en_US", "marketplace_id": US}]
    return attributes


def _feed_seconds(client: httpx.Client, base: dict[str, Any], tag: str) -> float:
    messages = [
        {
            "messageId": i + 1,
            "sku": f"F{tag}-{i}",
            "operationType": "UPDATE",
            "productType": "HOME",
            "attributes": _titled(base, f"Feed item {tag} {i}"),
        }
        for i in range(MESSAGES)
    ]
    document = {"header": {"sellerId": SELLER, "version": "2.0"}, "messages": messages}
    created = client.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
    httpx.put(created["url"], content=json.dumps(document), headers={"content-type": "application/json"})
    started = time.perf_counter()
    feed_id = client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [US],
            "inputFeedDocumentId": created["feedDocumentId"],
        },
    ).json()["feedId"]
    while client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] not in (
        "DONE",
        "FATAL",
    ):
        time.sleep(0.005)
    return time.perf_counter() - started


def _items_seconds(client: httpx.Client, base: dict[str, Any], tag: str, flush_url: str) -> float:
    started = time.perf_counter()
    for i in range(MESSAGES):
        answer = client.put(
            f"/listings/2021-08-01/items/{SELLER}/I{tag}-{i}",
            params={"marketplaceIds": US},
            json={"productType": "HOME", "attributes": _titled(base, f"Item {tag} {i}")},
        )
        assert answer.json()["status"] == "ACCEPTED", answer.text
    # ACCEPTED only queues a write (realistic mode); the feed's figure ends once its messages are
    # applied (DONE), so the baseline ends once these are applied too (the queue is due at once at
    # this rate_scale: the flush is the applying, not a wait).
    client.post(flush_url).raise_for_status()
    return time.perf_counter() - started


def _parse_figures() -> tuple[float, float]:
    messages = [{"messageId": i, "sku": f"SKU-{i}", "operationType": "DELETE"} for i in range(1, 25_001)]
    data = json.dumps({"header": {"sellerId": SELLER, "version": "2.0"}, "messages": messages}).encode()
    parse, load = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        json.loads(data)
        load.append(time.perf_counter() - started)
        started = time.perf_counter()
        parse_feed_document(data)
        parse.append(time.perf_counter() - started)
    return statistics.median(parse), statistics.median(load)


def main() -> None:
    base = _listing()
    settings = EmulatorSettings(limits=False, rate_scale=1_000_000.0)
    with run_in_thread(settings) as server:
        token = httpx.post(
            server.lwa_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|listingsync-demo-seller-na",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
        ).json()["access_token"]
        with httpx.Client(
            base_url=server.endpoint("na"), headers={"x-amz-access-token": token}, timeout=600
        ) as client:
            feed = statistics.median(_feed_seconds(client, base, str(r)) for r in range(ROUNDS))
            flush = f"{server.url}/_emulator/processing/flush"
            items = statistics.median(_items_seconds(client, base, str(r), flush) for r in range(ROUNDS))
    print(f"feed apply:  {MESSAGES / feed:8.0f} messages/s  ({feed:.2f} s for {MESSAGES}, createFeed → DONE)")
    print(
        f"baseline:    {MESSAGES / items:8.0f} putListingsItem/s  ({items:.2f} s, one by one over loopback)"
    )
    print(f"ratio:       {items / feed:8.2f}x  (feed vs item calls, same listings and validation)")
    parse, load = _parse_figures()
    print(f"parse 25k:   {parse * 1000:8.1f} ms  (decode + envelope + per-message schema checks)")
    print(f"baseline:    {load * 1000:8.1f} ms  (json.loads of the same bytes)")
    print(f"ratio:       {parse / load:8.1f}x  slower than bare JSON decoding")


if __name__ == "__main__":
    main()
