"""The Amazon SP-API client: LWA auth, regional transport, rate limits, one attribute per API.

    from listingsync.amazon import SPAPIClient, Credentials
    async with SPAPIClient.from_account(config.account, credentials) as client:
        item = await client.listings.get_listings_item(seller_id, sku, marketplace_ids=[...])

Nothing here knows about catalogues, mapping or sync.
"""

from __future__ import annotations

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
