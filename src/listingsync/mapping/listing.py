"""A listing: what listingsync wants Amazon to hold for one SKU in one marketplace."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Requirements(StrEnum):
    LISTING = "LISTING"
    LISTING_PRODUCT_ONLY = "LISTING_PRODUCT_ONLY"
    LISTING_OFFER_ONLY = "LISTING_OFFER_ONLY"


@dataclass(slots=True)
class Listing:
    sku: str
    marketplace_id: str
    product_type: str
    requirements: Requirements
    #: Amazon's attribute document: ``{"item_name": [{"value": …, "language_tag": …, "marketplace_id": …}]}``.
    attributes: dict[str, list[Any]]
    parent_sku: str | None = None
    #: ``parent`` / ``child`` / None: parents are written before their children.
    parentage: str | None = None
    #: Where the source record came from (``products.csv:12``), for messages.
    origin: str | None = None
    #: Problems met while building (a template error, a missing field): reported like validation issues.
    build_issues: list[Any] = field(default_factory=list)
