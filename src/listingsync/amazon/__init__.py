"""The Amazon SP-API client: LWA auth, regional transport, rate limits, one attribute per API.

    from listingsync.amazon import SPAPIClient, Credentials
    async with SPAPIClient.from_account(config.account, credentials) as client:
        item = await client.listings.get_listings_item(seller_id, sku, marketplace_ids=[...])

Nothing here knows about catalogues, mapping or sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from listingsync.lazy import lazy_exports

if TYPE_CHECKING:
    from listingsync.amazon.apis import CatalogAPI, DefinitionsAPI, FeedsAPI, ListingsAPI, SellersAPI
    from listingsync.amazon.client import ClientStats, RetryPolicy, SPAPIClient, user_agent
    from listingsync.amazon.errors import (
        InvalidInput,
        LWAError,
        NotFound,
        QuotaExceeded,
        ServerError,
        SPAPIConnectionError,
        SPAPIError,
        Unauthorized,
    )
    from listingsync.amazon.lwa import Credentials, LWAClient
    from listingsync.amazon.marketplaces import LWA_TOKEN_URL, Marketplace, Region
    from listingsync.amazon.operations import OPERATIONS, Operation, operation
    from listingsync.amazon.ratelimit import LimiterStats, RateLimiter, TokenBucketLimiter
    from listingsync.amazon.sync import SyncSPAPIClient

__all__ = [
    "LWA_TOKEN_URL",
    "OPERATIONS",
    "CatalogAPI",
    "ClientStats",
    "Credentials",
    "DefinitionsAPI",
    "FeedsAPI",
    "InvalidInput",
    "LWAClient",
    "LWAError",
    "LimiterStats",
    "ListingsAPI",
    "Marketplace",
    "NotFound",
    "Operation",
    "QuotaExceeded",
    "RateLimiter",
    "Region",
    "RetryPolicy",
    "SPAPIClient",
    "SPAPIConnectionError",
    "SPAPIError",
    "SellersAPI",
    "ServerError",
    "SyncSPAPIClient",
    "TokenBucketLimiter",
    "Unauthorized",
    "operation",
    "user_agent",
]


# Imported on first use (PEP 562): `from listingsync.amazon import marketplaces` must not pull in
# httpx and the client, which the CLI's --help and the config models do not need.
_WHERE = {
    "CatalogAPI": "listingsync.amazon.apis",
    "DefinitionsAPI": "listingsync.amazon.apis",
    "FeedsAPI": "listingsync.amazon.apis",
    "ListingsAPI": "listingsync.amazon.apis",
    "SellersAPI": "listingsync.amazon.apis",
    "ClientStats": "listingsync.amazon.client",
    "RetryPolicy": "listingsync.amazon.client",
    "SPAPIClient": "listingsync.amazon.client",
    "user_agent": "listingsync.amazon.client",
    "InvalidInput": "listingsync.amazon.errors",
    "LWAError": "listingsync.amazon.errors",
    "NotFound": "listingsync.amazon.errors",
    "QuotaExceeded": "listingsync.amazon.errors",
    "ServerError": "listingsync.amazon.errors",
    "SPAPIConnectionError": "listingsync.amazon.errors",
    "SPAPIError": "listingsync.amazon.errors",
    "Unauthorized": "listingsync.amazon.errors",
    "Credentials": "listingsync.amazon.lwa",
    "LWAClient": "listingsync.amazon.lwa",
    "LWA_TOKEN_URL": "listingsync.amazon.marketplaces",
    "Marketplace": "listingsync.amazon.marketplaces",
    "Region": "listingsync.amazon.marketplaces",
    "OPERATIONS": "listingsync.amazon.operations",
    "Operation": "listingsync.amazon.operations",
    "operation": "listingsync.amazon.operations",
    "LimiterStats": "listingsync.amazon.ratelimit",
    "RateLimiter": "listingsync.amazon.ratelimit",
    "TokenBucketLimiter": "listingsync.amazon.ratelimit",
    "SyncSPAPIClient": "listingsync.amazon.sync",
}


__getattr__ = lazy_exports(__name__, _WHERE, globals())
