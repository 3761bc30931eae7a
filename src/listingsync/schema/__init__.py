"""Product type schemas: the store (download + cache), the fast validator, samples, conditions.

from listingsync.schema import SchemaStore, Validator, ProductTypeSchema
issues = Validator.from_file("HOME.json").issues(listing.attributes)
"""

from listingsync.schema.conditions import ConditionalRequirement, conditional_requirements, describe
from listingsync.schema.issues import Issue, Severity
from listingsync.schema.product_type import AttributeInfo, ProductTypeSchema, bundled_schema_files
from listingsync.schema.samples import MUTATIONS, SampleError, mutate_listing, sample_listing
from listingsync.schema.store import SchemaStore, default_cache_dir
from listingsync.schema.validator import CODE_MISSING, Validator

__all__ = [
    "CODE_MISSING",
    "MUTATIONS",
    "AttributeInfo",
    "ConditionalRequirement",
    "Issue",
    "ProductTypeSchema",
    "SampleError",
    "SchemaStore",
    "Severity",
    "Validator",
    "bundled_schema_files",
    "conditional_requirements",
    "default_cache_dir",
    "describe",
    "mutate_listing",
    "sample_listing",
]
