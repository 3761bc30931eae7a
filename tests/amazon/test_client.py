"""The SP-API transport against a scripted fake: URLs, headers, errors, retries, token refresh."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from listingsync.amazon import (
    InvalidInput,
    NotFound,
    QuotaExceeded,
    RetryPolicy,
    ServerError,
    SPAPIClient,
    SPAPIConnectionError,
    SPAPIError,
    SyncSPAPIClient,
    TokenBucketLimiter,
    Unauthorized,
    user_agent,
)
from listingsync.amazon.marketplaces import Region
from listingsync.config import parse_config

from .fakes import ENDPOINT, LWA, FakeAmazon, body_of, creds, envelope, make_client

DE = "A1PA6795UKMFR9"


async def test_get_listings_item_url_query_and_headers() -> None:
    fake = FakeAmazon()
    async with make_client(fake) as client:
        await client.listings.get_listings_item(
            "C96QA",
            "BAG 1/2#x",
            marketplace_ids=[DE, "A13V1IB3VIYZZH"],
            included_data=["summaries", "issues"],
        )
    (request,) = fake.requests
    assert request.method == "GET"
    # The SKU is one path segment: space, slash and hash are percent-encoded.
    assert request.url.raw_path.decode().startswith("/eu/listings/2021-08-01/items/C96QA/BAG%201%2F2%23x?")
    assert request.url.params["marketplaceIds"] == f"{DE},A13V1IB3VIYZZH"
    assert request.url.params["includedData"] == "summaries,issues"
    assert "issueLocale" not in request.url.params
    assert request.headers["x-amz-access-token"] == "Atza|token-1"
    assert re.fullmatch(r"\d{8}T\d{6}Z", request.headers["x-amz-date"])
    assert request.headers["user-agent"] == user_agent()


def test_user_agent_is_compliant() -> None:
    ua = user_agent()
    assert re.match(r"^listingsync/[^ ]+ \(Language=Python/3\.\d+\.\d+; Platform=.+\)$", ua)
    assert len(ua) <= 500
    assert "\\(" in user_agent("my(app)") and "\\=" in user_agent("a=b")


async def test_put_and_patch_send_json_bodies_and_mode() -> None:
    fake = FakeAmazon()
    put_body = {
        "productType": "HOME",
        "requirements": "LISTING",
        "attributes": {"item_name": [{"value": "x"}]},
    }
    patch_body = {
        "productType": "HOME",
        "patches": [{"op": "replace", "path": "/attributes/item_name", "value": []}],
    }
    async with make_client(fake) as client:
        await client.listings.put_listings_item(
            "C96QA",
            "S1",
            put_body,
            marketplace_ids=DE,
            mode="VALIDATION_PREVIEW",
            included_data=["identifiers", "issues"],
        )
        await client.listings.patch_listings_item("C96QA", "S1", patch_body, marketplace_ids=[DE])
        await client.listings.delete_listings_item("C96QA", "S1", marketplace_ids=[DE])
    put, patch, delete = fake.requests
    assert (put.method, patch.method, delete.method) == ("PUT", "PATCH", "DELETE")
    assert body_of(put) == put_body and body_of(patch) == patch_body
    assert put.url.params["mode"] == "VALIDATION_PREVIEW"
    assert put.url.params["marketplaceIds"] == DE
    assert put.headers["content-type"] == "application/json"


async def test_search_and_other_operations_build_models_paths() -> None:
    fake = FakeAmazon()
    async with make_client(fake) as client:
        await client.listings.search_listings_items(
            "C96QA", marketplace_ids=[DE], identifiers=["123", "456"], identifiers_type="EAN", page_size=20
        )
        await client.definitions.search_definitions_product_types(
            marketplace_ids=[DE], keywords=["bag", "tote"]
        )
        await client.definitions.get_definitions_product_type(
            "HOME", marketplace_ids=[DE], seller_id="C96QA", requirements="LISTING_PRODUCT_ONLY"
        )
        await client.feeds.create_feed_document()
        await client.feeds.create_feed("JSON_LISTINGS_FEED", [DE], "doc-1")
        await client.feeds.get_feed("f1")
        await client.feeds.get_feeds(feed_types=["JSON_LISTINGS_FEED"], page_size=5)
        await client.feeds.cancel_feed("f1")
        await client.feeds.get_feed_document("doc-9")
        await client.catalog.search_catalog_items(
            marketplace_ids=[DE], identifiers=["4006381333931"], identifiers_type="EAN"
        )
        await client.sellers.get_marketplace_participations()
        await client.catalog.get_catalog_item("B0TEST0001", marketplace_ids=[DE], included_data=["summaries"])
    got = [(r.method, r.url.path, dict(r.url.params)) for r in fake.requests]
    assert got == [
        (
            "GET",
            "/eu/listings/2021-08-01/items/C96QA",
            {"marketplaceIds": DE, "identifiers": "123,456", "identifiersType": "EAN", "pageSize": "20"},
        ),
        ("GET", "/eu/definitions/2020-09-01/productTypes", {"keywords": "bag,tote", "marketplaceIds": DE}),
        (
            "GET",
            "/eu/definitions/2020-09-01/productTypes/HOME",
            {"sellerId": "C96QA", "marketplaceIds": DE, "requirements": "LISTING_PRODUCT_ONLY"},
        ),
        ("POST", "/eu/feeds/2021-06-30/documents", {}),
        ("POST", "/eu/feeds/2021-06-30/feeds", {}),
        ("GET", "/eu/feeds/2021-06-30/feeds/f1", {}),
        ("GET", "/eu/feeds/2021-06-30/feeds", {"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "5"}),
        ("DELETE", "/eu/feeds/2021-06-30/feeds/f1", {}),
        ("GET", "/eu/feeds/2021-06-30/documents/doc-9", {}),
        (
            "GET",
            "/eu/catalog/2022-04-01/items",
            {"marketplaceIds": DE, "identifiers": "4006381333931", "identifiersType": "EAN"},
        ),
        ("GET", "/eu/sellers/v1/marketplaceParticipations", {}),
        (
            "GET",
            "/eu/catalog/2022-04-01/items/B0TEST0001",
            {"marketplaceIds": DE, "includedData": "summaries"},
        ),
    ]
    assert body_of(fake.requests[3]) == {"contentType": "application/json; charset=UTF-8"}
    assert body_of(fake.requests[4]) == {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [DE],
        "inputFeedDocumentId": "doc-1",
    }


async def test_production_host_when_no_endpoint() -> None:
    fake = FakeAmazon()
    client = SPAPIClient(creds(), Region.NA, lwa_endpoint=LWA, transport=fake.transport())
    async with client:
        await client.sellers.get_marketplace_participations()
    assert (
        str(fake.requests[0].url)
        == "https://sellingpartnerapi-na.amazon.com/sellers/v1/marketplaceParticipations"
    )


def test_from_account_uses_region_endpoint_and_partner() -> None:
    cfg = parse_config(
        "account:\n  type: vendor\n  selling_partner_id: C96QA\n  marketplaces: [DE]\n"
        "  endpoint: http://127.0.0.1:9/eu/\n  lwa_endpoint: http://127.0.0.1:9/auth/o2/token\n"
    )
    client = SPAPIClient.from_account(cfg.account, creds())
    assert client.region is Region.EU
    assert client.base_url == "http://127.0.0.1:9/eu"
    assert client.lwa.endpoint == "http://127.0.0.1:9/auth/o2/token"
    assert client.selling_partner_id == "C96QA"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(400, "InvalidInput", InvalidInput), (403, "Unauthorized", Unauthorized), (404, "NOT_FOUND", NotFound)],
)
async def test_client_errors_are_not_retried_and_keep_the_envelope(
    status: int, code: str, cls: type[SPAPIError]
) -> None:
    fake = FakeAmazon(script=[envelope(status, code, "Something is wrong.", "detail here")])
    async with make_client(fake) as client:
        with pytest.raises(cls) as info:
            await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
        assert client.stats.retries == 0
    err = info.value
    assert len(fake.requests) == 1
    assert (err.status, err.code, err.amazon_message, err.details, err.request_id) == (
        status,
        code,
        "Something is wrong.",
        "detail here",
        "req-123",
    )
    assert err.operation == "getListingsItem"
    assert "req-123" in str(err) and code in str(err)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_retried(status: int) -> None:
    fake = FakeAmazon(script=[envelope(status, "X", "try again"), envelope(status, "X", "try again")])
    async with make_client(fake) as client:
        assert await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE]) == {}
        assert client.stats.retries == 2
        assert client.stats.throttled == (2 if status == 429 else 0)
        assert client.stats.responses[status] == 2 and client.stats.responses[200] == 1
    assert len(fake.requests) == 3


async def test_retries_are_bounded() -> None:
    fake = FakeAmazon(script=[envelope(429, "QuotaExceeded", "You exceeded your quota")] * 10)
    async with make_client(fake, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(QuotaExceeded):
            await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert len(fake.requests) == 3


async def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base=1.0, cap=5.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [policy.delay(retry) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the range


async def test_server_error_after_retries_is_a_server_error() -> None:
    fake = FakeAmazon(script=[envelope(503, "ServiceUnavailable", "down")] * 10)
    async with make_client(fake) as client:
        with pytest.raises(ServerError):
            await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])


async def test_expired_token_403_refreshes_once_and_retries() -> None:
    fake = FakeAmazon(
        script=[
            envelope(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            )
        ]
    )
    async with make_client(fake) as client:
        await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
        assert client.stats.token_refreshes == 1
    assert fake.exchanges == 2
    assert [r.headers["x-amz-access-token"] for r in fake.requests] == ["Atza|token-1", "Atza|token-2"]


async def test_expired_token_twice_is_an_error_not_a_loop() -> None:
    expired = envelope(403, "Unauthorized", "The access token you provided has expired.")
    fake = FakeAmazon(script=[expired, expired, expired])
    async with make_client(fake) as client:
        with pytest.raises(Unauthorized):
            await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert len(fake.requests) == 2


async def test_other_403_is_not_retried() -> None:
    fake = FakeAmazon(script=[envelope(403, "Unauthorized", "Access to requested resource is denied.")])
    async with make_client(fake) as client:
        with pytest.raises(Unauthorized):
            await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert fake.exchanges == 1 and len(fake.requests) == 1


async def test_network_errors_are_retried_for_idempotent_calls() -> None:
    failures = 2

    def flaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeAmazon(script=[flaky] * failures)
    async with make_client(fake) as client:
        assert await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE]) == {}
        assert client.stats.network_errors == 2


async def test_a_post_is_not_resent_after_a_read_error() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeAmazon(script=[flaky, flaky])
    async with make_client(fake) as client:
        with pytest.raises(SPAPIConnectionError) as info:
            await client.feeds.create_feed("JSON_LISTINGS_FEED", [DE], "doc-1")
    assert len(fake.requests) == 1  # the feed may exist already: creating it twice would be worse
    assert "sp.test" in str(info.value)


async def test_rate_limit_header_lowers_the_bucket() -> None:
    fake = FakeAmazon(script=[httpx.Response(200, json={}, headers={"x-amzn-RateLimit-Limit": "2.0"})])
    limiter = TokenBucketLimiter(safety=1.0)
    async with make_client(fake, rate_limiter=limiter) as client:
        await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
        await client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
    assert limiter.rate_of("C96QA:getListingsItem") == 2.0


async def test_documents_upload_and_download_without_spapi_headers() -> None:
    payload = b'{"header": {}, "messages": []}'
    seen: list[httpx.Request] = []

    def s3(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT":
            return httpx.Response(200)
        return httpx.Response(200, content=gzip.compress(payload))

    fake = FakeAmazon(script=[s3, s3, s3])
    async with make_client(fake) as client:
        await client.feeds.upload_feed_document(
            "https://s3.test/doc?X-Amz-Signature=abc", payload, "application/json; charset=UTF-8"
        )
        assert await client.feeds.download_document("https://s3.test/rep?sig=1", "GZIP") == payload
        assert await client.fetch_url("https://s3.test/rep?sig=1") == gzip.compress(payload)
    put = seen[0]
    assert put.content == payload and put.headers["content-type"] == "application/json; charset=UTF-8"
    assert all("x-amz-access-token" not in r.headers for r in seen)
    assert fake.exchanges == 0


async def test_expired_presigned_url_error_hides_the_signature() -> None:
    fake = FakeAmazon(script=[httpx.Response(403, text="<Error>Request has expired</Error>")])
    async with make_client(fake) as client:
        with pytest.raises(SPAPIError) as info:
            await client.fetch_url("https://s3.test/doc?X-Amz-Signature=topsecret")
    assert "topsecret" not in str(info.value)
    assert "expire" in (info.value.fix or "")


def test_sync_face_blocks_and_returns_json() -> None:
    fake = FakeAmazon(script=[httpx.Response(200, json={"sku": "S", "summaries": []})])
    with SyncSPAPIClient(
        creds(),
        "eu",
        endpoint=ENDPOINT,
        lwa_endpoint=LWA,
        transport=fake.transport(),
        selling_partner_id="C96QA",
    ) as client:
        item = client.listings.get_listings_item("C96QA", "S", marketplace_ids=[DE])
        assert client.stats.requests == 1
    assert item == {"sku": "S", "summaries": []}


def test_repr_hides_secrets() -> None:
    client = SPAPIClient(creds(), "eu", lwa_endpoint=LWA, transport=FakeAmazon().transport())
    text = repr(client) + repr(client.credentials) + str(client.credentials) + repr(client.lwa)
    assert "canary" not in text
    assert "amzn1.application-oa2-client.unit" in text
