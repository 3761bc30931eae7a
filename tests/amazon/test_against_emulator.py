"""The client against the real emulator over loopback: auth sharing, pacing, refresh, round trips."""

from __future__ import annotations

import asyncio
import contextlib
import json

from listingsync.amazon import Credentials, NotFound, SPAPIClient, TokenBucketLimiter
from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

VENDOR = Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "Atzr|listingsync-demo-vendor-eu")
DE = "A1PA6795UKMFR9"


def vendor_client(server: EmulatorServer, **kwargs: object) -> SPAPIClient:
    return SPAPIClient(
        VENDOR,
        "eu",
        endpoint=server.endpoint("eu"),
        lwa_endpoint=server.lwa_url,
        selling_partner_id="DEMOV",
        **kwargs,  # type: ignore[arg-type]
    )


async def test_fifty_concurrent_calls_with_a_cold_cache_make_one_lwa_exchange(
    emulator: EmulatorServer,
) -> None:
    async with vendor_client(emulator, rate_limiter=TokenBucketLimiter(scale=1000)) as client:
        results = await asyncio.gather(
            *(
                client.listings.get_listings_item("DEMOV", f"NOPE-{i}", marketplace_ids=[DE])
                for i in range(50)
            ),
            return_exceptions=True,
        )
        assert client.lwa_exchanges == 1
    assert all(isinstance(r, NotFound) for r in results)
    assert emulator.state.requests["lwa.token"] == 1


async def test_pacing_matches_the_emulators_real_buckets() -> None:
    # Real limits (5 rps, burst 5), clock x5 so this takes about a second.
    with run_in_thread(EmulatorSettings(rate_scale=5)) as server:
        async with vendor_client(server, rate_limiter=TokenBucketLimiter(scale=5)) as client:
            await asyncio.gather(
                *(client.listings.search_listings_items("DEMOV", marketplace_ids=[DE]) for _ in range(30))
            )
            assert client.stats.responses[200] == 30
        # Paced sends stay inside the bucket: at most a stray 429 from scheduling jitter, then retried.
        assert server.state.throttled["searchListingsItems"] <= 1


async def test_expired_access_token_is_refreshed_transparently() -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000, faults="expire_every=4")) as server:
        async with vendor_client(server, rate_limiter=TokenBucketLimiter(scale=1000)) as client:
            for i in range(10):
                with contextlib.suppress(NotFound):
                    await client.listings.get_listings_item("DEMOV", f"S{i}", marketplace_ids=[DE])
            assert client.stats.token_refreshes >= 2
            assert client.lwa_exchanges == 1 + client.stats.token_refreshes


async def test_put_get_and_feed_document_round_trip(emulator: EmulatorServer) -> None:
    async with vendor_client(emulator, rate_limiter=TokenBucketLimiter(scale=1000)) as client:
        definition = await client.definitions.get_definitions_product_type(
            "HOME", marketplace_ids=[DE], seller_id="DEMOV", requirements="LISTING_PRODUCT_ONLY"
        )
        schema = json.loads(await client.fetch_url(definition["schema"]["link"]["resource"]))
        assert "properties" in schema
        preview = await client.listings.put_listings_item(
            "DEMOV",
            "RT 1/ä",
            {"productType": "HOME", "requirements": "LISTING_PRODUCT_ONLY", "attributes": {}},
            marketplace_ids=[DE],
            mode="VALIDATION_PREVIEW",
        )
        assert preview["sku"] == "RT 1/ä" and preview["status"] in {"VALID", "INVALID"}
        doc = await client.feeds.create_feed_document()
        payload = b'{"header":{"sellerId":"DEMOV","version":"2.0"},"messages":[]}'
        await client.feeds.upload_feed_document(doc["url"], payload)
        fetched = await client.feeds.get_feed_document(doc["feedDocumentId"])
        data = await client.feeds.download_document(fetched["url"], fetched.get("compressionAlgorithm"))
        assert data == payload


def test_sync_face_against_the_emulator(emulator: EmulatorServer) -> None:
    from listingsync.amazon import SyncSPAPIClient

    with SyncSPAPIClient(
        VENDOR,
        "eu",
        endpoint=emulator.endpoint("eu"),
        lwa_endpoint=emulator.lwa_url,
        selling_partner_id="DEMOV",
    ) as client:
        found = client.definitions.search_definitions_product_types(marketplace_ids=[DE], keywords=["home"])
        assert any(p["name"] == "HOME" for p in found["productTypes"])
        try:
            client.listings.get_listings_item("DEMOV", "NOPE", marketplace_ids=[DE])
        except NotFound as exc:
            assert exc.status == 404 and exc.request_id
        else:
            raise AssertionError("expected NotFound")


async def test_dot_skus_reach_their_own_listing_not_another_resource(emulator: EmulatorServer) -> None:
    body = {"productType": "HOME", "requirements": "LISTING_PRODUCT_ONLY", "attributes": {}}
    async with vendor_client(emulator, rate_limiter=TokenBucketLimiter(scale=1000)) as client:
        for sku in (".", "..", "...", "a/..", "%2E"):
            preview = await client.listings.put_listings_item(
                "DEMOV", sku, body, marketplace_ids=[DE], mode="VALIDATION_PREVIEW"
            )
            assert preview["sku"] == sku  # Amazon's answer names the SKU it received
            try:  # never the seller's search (".") or the collection (".."): this SKU's own 404
                await client.listings.get_listings_item("DEMOV", sku, marketplace_ids=[DE])
            except NotFound as exc:
                assert sku in str(exc)
            else:
                raise AssertionError(f"GET {sku!r} answered as if another resource")


def test_path_segments_encode_dot_only_skus() -> None:
    from listingsync.amazon.client import path_segment

    assert path_segment(".") == "%2E" and path_segment("..") == "%2E%2E"
    assert path_segment("a.b") == "a.b" and path_segment("RT 1/ä") == "RT%201%2F%C3%A4"
