"""Catalogue records → Amazon listings: product type rules, templates, the schema-driven shape builder.

::

    from listingsync.mapping import ListingBuilder, MappingPipeline, BundledSchemas

    builder = ListingBuilder(config, schemas=store.get_cached)   # or BundledSchemas() offline
    listings = builder.build(product)              # one Listing per configured marketplace

    pipeline = MappingPipeline(config, schemas=store.get_cached)
    pipeline.check()                               # MappingConfigError: unknown attribute names …
    for result in pipeline.run(source.records(), columns=source.columns()):
        for item in result.listings:               # parents before their children
            item.listing, item.issues              # build issues + validation issues

Vendors get ``LISTING_PRODUCT_ONLY`` listings without offer attributes; a seller's variation parent
too. ``parents_first`` orders anything with a SKU and a parent SKU (the sync engine uses it).
"""

from listingsync.mapping.builder import OFFER_ATTRIBUTES, ListingBuilder, MappingConfigError, raw_schema
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.pipeline import ListingResult, MappingPipeline, ProductResult, parents_first
from listingsync.mapping.schemas import BundledSchemas, needed_schemas, preload
from listingsync.mapping.shape import ShapeContext, shape_attribute
from listingsync.mapping.suggest import render_suggestion, suggest_attributes
from listingsync.mapping.templates import TemplateFailure

__all__ = [
    "OFFER_ATTRIBUTES",
    "BundledSchemas",
    "Listing",
    "ListingBuilder",
    "ListingResult",
    "MappingConfigError",
    "MappingPipeline",
    "ProductResult",
    "Requirements",
    "ShapeContext",
    "TemplateFailure",
    "needed_schemas",
    "order_listings",
    "parents_first",
    "preload",
    "raw_schema",
    "render_suggestion",
    "shape_attribute",
    "suggest_attributes",
]


def order_listings(listings: list[Listing]) -> list[Listing]:
    """``listings`` with every variation parent before its children (stable otherwise)."""
    return parents_first(listings, lambda item: item.sku, lambda item: item.parent_sku)
