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

Issue codes the mapping adds (ours, invented: Amazon has no such codes), beside the validator's:

========================  ========  ==========================================================
``LS-MAP-TEMPLATE``       ERROR     a template failed: names the SKU, the attribute and the missing field
``LS-MAP-RULE``           ERROR     a product type rule failed, or no rule matched and no default is set
``LS-MAP-SCHEMA``         ERROR     no schema for the product type and marketplace (not fetched yet)
``LS-MAP-TYPE``           ERROR     a value is not of the schema's type (number, whole number, yes/no)
``LS-MAP-UNIT``           ERROR     a measurement needs ``listings.units.<dimension>`` or cannot convert
``LS-MAP-STRUCTURE``      ERROR     a structure mapped as a single value, or an unknown sub-property
``LS-MAP-BARCODE``        ERROR     an EAN/UPC/GTIN with a wrong length, non-digits or a bad check digit
``LS-MAP-VENDOR-OFFER``   WARNING   an offer attribute mapped for a vendor account (not sent)
``LS-MAP-IMAGES``         WARNING   more than 9 images (Amazon takes a main image and 8 others)
========================  ========  ==========================================================
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
