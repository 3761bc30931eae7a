"""Fingerprints of what produced a listing: the source record, and the mapping that applied to it.

A listing is a function of two inputs, each with a fingerprint stored on its state row:

- ``source_fp`` = :func:`record_fingerprint` of the catalogue record (and of its parent record, which a
  variant inherits fields and its variation theme from);
- ``mapping_fp`` = :class:`MappingFingerprints` ``(product_type, marketplace_id, requirements)``: the
  part of ``listings:`` that applies to that product type and marketplace (defaults, rules,
  ``product_types.<TYPE>``, ``marketplaces.<MP>``, units, offer, images …), the account type, the
  product type schema's version and checksum as Amazon served them, and :data:`MAPPING_VERSION`.

When both match what a listing row recorded (:func:`is_current`), building that record again would
give the same listing: a sync may skip it before mapping. When only ``mapping_fp`` differs (a
template, a rule or a schema changed), the record is rebuilt from the catalogue mirror
(:mod:`listingsync.sync.mirror`) without reading the source again.

    fps = MappingFingerprints(config, schemas)          # schemas: the mapping's schema provider
    source = record_fingerprint(product, parent)
    if is_current(store_row, source, fps):  ...         # skip: nothing that produced it changed
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from listingsync.catalog.model import Origin, Product, ProductStatus
from listingsync.config import Config
from listingsync.sync.hashing import canonical

__all__ = [
    "MAPPING_VERSION",
    "UNSETTLED",
    "Built",
    "MappingFingerprints",
    "is_current",
    "product_document",
    "product_from_document",
    "record_fingerprint",
]

#: listingsync's own mapping version: bump it when the same record and mapping would build a
#: different listing (a builder or shape change), so every listing is rebuilt once after an upgrade.
#: 2: vendors build against the vendor's schema view and send cost_price (issue 10).
MAPPING_VERSION = "2"


def _digest(value: Any) -> str:
    # 20 bytes of BLAKE2b, like listing hashes: 40 hex characters in the store.
    return hashlib.blake2b(canonical(value), digest_size=20).hexdigest()


def product_document(product: Product) -> dict[str, Any]:
    """A record as plain JSON: what the mirror stores and what its fingerprint is taken of.

    ``raw`` (the record as read, kept for previews) is left out: a column nobody maps must not make
    a record "changed", and the mirror need not hold it twice.
    """
    return {
        "sku": product.sku,
        "origin": [product.origin.source, product.origin.line, product.origin.record_id],
        "source_id": product.source_id,
        "parent_sku": product.parent_sku,
        "category_path": list(product.category_path),
        "fields": product.fields,
        "localized": product.localized,
        "images": product.images,
        "images_unchanged": product.images_unchanged,
        "status": product.status.value,
    }


def product_from_document(doc: dict[str, Any]) -> Product:
    source, line, record_id = doc["origin"]
    return Product(
        sku=doc["sku"],
        origin=Origin(source, line, record_id),
        source_id=doc.get("source_id"),
        parent_sku=doc.get("parent_sku"),
        category_path=tuple(doc.get("category_path") or ()),
        fields=dict(doc.get("fields") or {}),
        localized={k: dict(v) for k, v in (doc.get("localized") or {}).items()},
        images=list(doc.get("images") or []),
        images_unchanged=bool(doc.get("images_unchanged")),
        status=ProductStatus(doc.get("status", "active")),
    )


def _content(product: Product) -> dict[str, Any]:
    doc = product_document(product)
    del doc["origin"]  # a record moved to another line of the file builds the same listing
    return doc


def record_fingerprint(product: Product, parent: Product | None = None) -> str:
    """What the mapping reads of a record (and of the parent a variant inherits from)."""
    return _digest([_content(product), _content(parent) if parent is not None else None])


class SchemaProvider(Protocol):
    def __call__(self, product_type: str, marketplace_id: str, requirements: Any) -> Any: ...


def schema_fingerprint(schema: Any) -> str:
    """Amazon's ``productTypeVersion`` and checksum when known, else a digest of the document."""
    version = getattr(schema, "version", "") or ""
    checksum = getattr(schema, "checksum", "") or ""
    if version or checksum:
        return f"{version}:{checksum}"
    raw = schema if isinstance(schema, dict) else getattr(schema, "schema", None)
    return _digest(raw) if raw is not None else "unknown"


class MappingFingerprints:
    """``(product_type, marketplace_id, requirements) -> mapping_fp``, computed once per key."""

    def __init__(self, config: Config, schemas: SchemaProvider | Callable[..., Any] | None) -> None:
        self._schemas = schemas
        lc = config.listings
        dumped = lc.model_dump(mode="json")
        self._common = {
            "version": MAPPING_VERSION,
            "account_type": config.account.type.value,
            # Rules decide the product type of every record, so they apply to all.
            **{k: v for k, v in dumped.items() if k not in ("product_types", "marketplaces")},
        }
        self._by_type = dumped["product_types"]
        self._by_marketplace = dumped["marketplaces"]
        self._cache: dict[tuple[str, str, str], str] = {}

    def __call__(self, product_type: str | None, marketplace_id: str, requirements: str | None) -> str:
        key = (product_type or "", marketplace_id, requirements or "")
        found = self._cache.get(key)
        if found is None:
            found = _digest(
                {
                    **self._common,
                    "product_type": self._by_type.get(key[0]),
                    "marketplace": self._by_marketplace.get(marketplace_id),
                    "schema": self._schema(*key),
                }
            )
            self._cache[key] = found
        return found

    def _schema(self, product_type: str, marketplace_id: str, requirements: str) -> str | None:
        if not product_type or self._schemas is None:
            return None
        from listingsync.mapping.listing import Requirements

        try:
            schema = self._schemas(product_type, marketplace_id, Requirements(requirements or "LISTING"))
        except Exception:  # no schema: the listing was built with a schema issue; rebuild once it comes
            return "missing"
        return schema_fingerprint(schema)


class Built(Protocol):
    """What a listing row recorded about what produced it (``ListingState`` and ``BuiltEntry``)."""

    product_type: str | None
    marketplace_id: str
    requirements: str | None
    source_fp: str | None
    mapping_fp: str | None
    status: str
    pending_op: str | None
    drift_kind: str | None


#: Statuses whose listing must be planned again even when nothing that built it changed.
UNSETTLED = frozenset({"error", "pending"})


def is_current(built: Built, source_fp: str | None, mappings: MappingFingerprints) -> bool:
    """True when the record and the mapping that built this listing are unchanged and its last
    write settled: planning it again would find nothing to do (skip it before mapping).
    ``source_fp=None`` asks about the mapping only (a record not read this run)."""
    if built.status in UNSETTLED or built.pending_op is not None or built.drift_kind:
        return False
    return (
        (source_fp is None or built.source_fp == source_fp)
        and built.source_fp is not None
        and built.mapping_fp == mappings(built.product_type, built.marketplace_id, built.requirements)
    )
