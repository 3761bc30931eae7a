"""Every SP-API operation the connector calls, with its documented rate limit beside it.

Rates and bursts are per selling-partner/application pair, from spapi.md (§3.4 Listings, §4.1
Product Type Definitions, §5.1 Feeds, §6.1 Sellers, §7 Catalog, §10). Where Amazon's OpenAPI model
and the newer DOCS rate-limit pages disagree, the DOCS value is used (e.g. getListingsItem burst 5,
not the model's 10). Adding an operation is one line here and one method on its API class.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OPERATIONS", "Operation", "operation"]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # Amazon's operationId
    method: str
    path: str  # with {placeholders} for path parameters
    rate: float  # requests per second
    burst: int
    #: Rate-limit bucket; operations sharing a budget share a bucket name. Defaults to ``name``.
    bucket: str = ""

    @property
    def bucket_name(self) -> str:
        return self.bucket or self.name


_L = "/listings/2021-08-01/items/{sellerId}"
_D = "/definitions/2020-09-01/productTypes"
_F = "/feeds/2021-06-30"

OPERATIONS: tuple[Operation, ...] = (
    # Sellers API v1 (§6.1): 0.016 rps, burst 15.
    Operation("getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations", 0.016, 15),
    # Listings Items API 2021-08-01 (§3.4, DOCS table: 5 rps, burst 5 per account-app pair).
    Operation("getListingsItem", "GET", _L + "/{sku}", 5, 5),
    Operation("putListingsItem", "PUT", _L + "/{sku}", 5, 5),
    Operation("patchListingsItem", "PATCH", _L + "/{sku}", 5, 5),
    Operation("deleteListingsItem", "DELETE", _L + "/{sku}", 5, 5),
    Operation("searchListingsItems", "GET", _L, 5, 5),  # not on the DOCS page: model value
    # mode=VALIDATION_PREVIEW on put/patch: 1 rps per account (changelog 2024-01-31), one shared budget.
    Operation("putListingsItem", "PUT", _L + "/{sku}", 1, 1, bucket="validationPreview"),
    Operation("patchListingsItem", "PATCH", _L + "/{sku}", 1, 1, bucket="validationPreview"),
    # Product Type Definitions 2020-09-01 (§4.1, DOCS: 5 rps, burst 5).
    Operation("searchDefinitionsProductTypes", "GET", _D, 5, 5),
    Operation("getDefinitionsProductType", "GET", _D + "/{productType}", 5, 5),
    # Feeds 2021-06-30 (§5.1).
    Operation("createFeedDocument", "POST", _F + "/documents", 0.5, 15),
    Operation("createFeed", "POST", _F + "/feeds", 0.0083, 15),
    # JSON_LISTINGS_FEED has its own budget: 5 submissions per 5 minutes (§5.2, since 2025-05-06).
    Operation("createFeed", "POST", _F + "/feeds", 5 / 300, 5, bucket="createFeed:JSON_LISTINGS_FEED"),
    Operation("getFeed", "GET", _F + "/feeds/{feedId}", 2, 15),
    Operation("getFeeds", "GET", _F + "/feeds", 0.0222, 10),
    Operation("cancelFeed", "DELETE", _F + "/feeds/{feedId}", 2, 15),
    Operation("getFeedDocument", "GET", _F + "/documents/{feedDocumentId}", 0.0222, 10),
    # Catalog Items 2022-04-01 (§7: 2 rps, burst 2).
    Operation("searchCatalogItems", "GET", "/catalog/2022-04-01/items", 2, 2),
    Operation("getCatalogItem", "GET", "/catalog/2022-04-01/items/{asin}", 2, 2),
)

_BY_KEY = {(op.name, op.bucket): op for op in OPERATIONS}


def operation(name: str, bucket: str = "") -> Operation:
    """The table entry for an operationId (and a special bucket, when one applies)."""
    return _BY_KEY[(name, bucket)]
