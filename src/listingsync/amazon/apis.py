"""One class per SP-API section; methods are Amazon's operationIds in snake_case.

Arguments are the operation's parameters in snake_case (lists for Amazon's csv arrays; a single
string is accepted where one value is the usual case); the return value is the decoded JSON body.
The rate limit of each operation lives beside its path in :mod:`.operations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from listingsync.amazon.operations import operation

if TYPE_CHECKING:
    from listingsync.amazon.client import SPAPIClient

__all__ = ["CatalogAPI", "DefinitionsAPI", "FeedsAPI", "ListingsAPI", "SellersAPI"]

Ids = Sequence[str] | str
When = datetime | str
JSON = dict[str, Any]

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
PREVIEW = "VALIDATION_PREVIEW"


def _ids(value: Ids | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class _API:
    def __init__(self, client: SPAPIClient) -> None:
        self._client = client


class SellersAPI(_API):
    async def get_marketplace_participations(self) -> JSON:
        """``{"payload":[{marketplace, storeName, participation}]}`` (includes non-Amazon stores)."""
        return await self._client.call(operation("getMarketplaceParticipations"))


class ListingsAPI(_API):
    async def get_listings_item(
        self,
        seller_id: str,
        sku: str,
        *,
        marketplace_ids: Ids,
        issue_locale: str | None = None,
        included_data: Ids | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("getListingsItem"),
            path={"sellerId": seller_id, "sku": sku},
            query={
                "marketplaceIds": _ids(marketplace_ids),
                "issueLocale": issue_locale,
                "includedData": _ids(included_data),
            },
        )

    async def _write(
        self,
        operation_id: str,
        seller_id: str,
        sku: str,
        body: JSON,
        marketplace_ids: Ids,
        included_data: Ids | None,
        mode: str | None,
        issue_locale: str | None,
    ) -> JSON:
        """PUT and PATCH take the same parameters; a preview draws on its own rate bucket."""
        return await self._client.call(
            operation(operation_id, "validationPreview" if mode == PREVIEW else ""),
            path={"sellerId": seller_id, "sku": sku},
            query={
                "marketplaceIds": _ids(marketplace_ids),
                "includedData": _ids(included_data),
                "mode": mode,
                "issueLocale": issue_locale,
            },
            body=body,
        )

    async def put_listings_item(
        self,
        seller_id: str,
        sku: str,
        body: JSON,
        *,
        marketplace_ids: Ids,
        included_data: Ids | None = None,
        mode: str | None = None,
        issue_locale: str | None = None,
    ) -> JSON:
        """``body`` is a ListingsItemPutRequest: ``{productType, requirements?, attributes}``."""
        return await self._write(
            "putListingsItem", seller_id, sku, body, marketplace_ids, included_data, mode, issue_locale
        )

    async def patch_listings_item(
        self,
        seller_id: str,
        sku: str,
        body: JSON,
        *,
        marketplace_ids: Ids,
        included_data: Ids | None = None,
        mode: str | None = None,
        issue_locale: str | None = None,
    ) -> JSON:
        """``body`` is a ListingsItemPatchRequest: ``{productType, patches:[{op, path, value}]}``."""
        return await self._write(
            "patchListingsItem", seller_id, sku, body, marketplace_ids, included_data, mode, issue_locale
        )

    async def delete_listings_item(
        self, seller_id: str, sku: str, *, marketplace_ids: Ids, issue_locale: str | None = None
    ) -> JSON:
        return await self._client.call(
            operation("deleteListingsItem"),
            path={"sellerId": seller_id, "sku": sku},
            query={"marketplaceIds": _ids(marketplace_ids), "issueLocale": issue_locale},
        )

    async def search_listings_items(
        self,
        seller_id: str,
        *,
        marketplace_ids: Ids,
        issue_locale: str | None = None,
        included_data: Ids | None = None,
        identifiers: Ids | None = None,
        identifiers_type: str | None = None,
        variation_parent_sku: str | None = None,
        package_hierarchy_sku: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        last_updated_after: When | None = None,
        last_updated_before: When | None = None,
        with_issue_severity: Ids | None = None,
        with_status: Ids | None = None,
        without_status: Ids | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("searchListingsItems"),
            path={"sellerId": seller_id},
            query={
                "marketplaceIds": _ids(marketplace_ids),
                "issueLocale": issue_locale,
                "includedData": _ids(included_data),
                "identifiers": _ids(identifiers),
                "identifiersType": identifiers_type,
                "variationParentSku": variation_parent_sku,
                "packageHierarchySku": package_hierarchy_sku,
                "createdAfter": created_after,
                "createdBefore": created_before,
                "lastUpdatedAfter": last_updated_after,
                "lastUpdatedBefore": last_updated_before,
                "withIssueSeverity": _ids(with_issue_severity),
                "withStatus": _ids(with_status),
                "withoutStatus": _ids(without_status),
                "sortBy": sort_by,
                "sortOrder": sort_order,
                "pageSize": page_size,
                "pageToken": page_token,
            },
        )


class DefinitionsAPI(_API):
    async def search_definitions_product_types(
        self,
        *,
        marketplace_ids: Ids,
        keywords: Ids | None = None,
        item_name: str | None = None,
        locale: str | None = None,
        search_locale: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("searchDefinitionsProductTypes"),
            query={
                "keywords": _ids(keywords),
                "marketplaceIds": _ids(marketplace_ids),
                "itemName": item_name,
                "locale": locale,
                "searchLocale": search_locale,
            },
        )

    async def get_definitions_product_type(
        self,
        product_type: str,
        *,
        marketplace_ids: Ids,
        seller_id: str | None = None,
        product_type_version: str | None = None,
        requirements: str | None = None,
        requirements_enforced: str | None = None,
        locale: str | None = None,
        parentage_level: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("getDefinitionsProductType"),
            path={"productType": product_type},
            query={
                "sellerId": seller_id,
                "marketplaceIds": _ids(marketplace_ids),
                "productTypeVersion": product_type_version,
                "requirements": requirements,
                "requirementsEnforced": requirements_enforced,
                "locale": locale,
                "parentageLevel": parentage_level,
            },
        )


class FeedsAPI(_API):
    async def create_feed_document(self, content_type: str = JSON_CONTENT_TYPE) -> JSON:
        """``{feedDocumentId, url}``; upload to ``url`` within 5 minutes with the same content type."""
        return await self._client.call(operation("createFeedDocument"), body={"contentType": content_type})

    async def upload_feed_document(
        self, url: str, data: bytes | Path, content_type: str = JSON_CONTENT_TYPE
    ) -> None:
        """Plain PUT to the pre-signed URL from :meth:`create_feed_document` (no SP-API headers);
        a ``Path`` is streamed from the file."""
        await self._client.upload_document(url, data, content_type)

    async def create_feed(
        self,
        feed_type: str,
        marketplace_ids: Ids,
        input_feed_document_id: str,
        feed_options: dict[str, str] | None = None,
    ) -> JSON:
        body: JSON = {
            "feedType": feed_type,
            "marketplaceIds": _ids(marketplace_ids),
            "inputFeedDocumentId": input_feed_document_id,
        }
        if feed_options:
            body["feedOptions"] = feed_options
        bucket = "createFeed:JSON_LISTINGS_FEED" if feed_type == "JSON_LISTINGS_FEED" else ""
        return await self._client.call(operation("createFeed", bucket), body=body)

    async def get_feed(self, feed_id: str) -> JSON:
        return await self._client.call(operation("getFeed"), path={"feedId": feed_id})

    async def get_feeds(
        self,
        *,
        feed_types: Ids | None = None,
        marketplace_ids: Ids | None = None,
        page_size: int | None = None,
        processing_statuses: Ids | None = None,
        created_since: When | None = None,
        created_until: When | None = None,
        next_token: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("getFeeds"),
            query={
                "feedTypes": _ids(feed_types),
                "marketplaceIds": _ids(marketplace_ids),
                "pageSize": page_size,
                "processingStatuses": _ids(processing_statuses),
                "createdSince": created_since,
                "createdUntil": created_until,
                "nextToken": next_token,
            },
        )

    async def cancel_feed(self, feed_id: str) -> JSON:
        return await self._client.call(operation("cancelFeed"), path={"feedId": feed_id})

    async def get_feed_document(
        self, feed_document_id: str, *, enable_content_encoding_url_header: bool | None = None
    ) -> JSON:
        """``{feedDocumentId, url, compressionAlgorithm?}``; fetch with :meth:`download_document`."""
        return await self._client.call(
            operation("getFeedDocument"),
            path={"feedDocumentId": feed_document_id},
            query={"enableContentEncodingUrlHeader": enable_content_encoding_url_header},
        )

    async def download_document(self, url: str, compression_algorithm: str | None = None) -> bytes:
        """The document's bytes, gunzipped when ``compression_algorithm`` is ``GZIP``."""
        return await self._client.download_document(url, compression_algorithm)


class CatalogAPI(_API):
    async def search_catalog_items(
        self,
        *,
        marketplace_ids: Ids,
        identifiers: Ids | None = None,
        identifiers_type: str | None = None,
        included_data: Ids | None = None,
        locale: str | None = None,
        seller_id: str | None = None,
        keywords: Ids | None = None,
        brand_names: Ids | None = None,
        classification_ids: Ids | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        keywords_locale: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("searchCatalogItems"),
            query={
                "identifiers": _ids(identifiers),
                "identifiersType": identifiers_type,
                "marketplaceIds": _ids(marketplace_ids),
                "includedData": _ids(included_data),
                "locale": locale,
                "sellerId": seller_id,
                "keywords": _ids(keywords),
                "brandNames": _ids(brand_names),
                "classificationIds": _ids(classification_ids),
                "pageSize": page_size,
                "pageToken": page_token,
                "keywordsLocale": keywords_locale,
            },
        )

    async def get_catalog_item(
        self,
        asin: str,
        *,
        marketplace_ids: Ids,
        included_data: Ids | None = None,
        locale: str | None = None,
    ) -> JSON:
        return await self._client.call(
            operation("getCatalogItem"),
            path={"asin": asin},
            query={
                "marketplaceIds": _ids(marketplace_ids),
                "includedData": _ids(included_data),
                "locale": locale,
            },
        )
