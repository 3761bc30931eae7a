"""A stable fingerprint of what a listing would send: equal documents, equal hashes."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["canonical", "listing_hash"]


def canonical(value: Any) -> bytes:
    """Key-order independent JSON bytes (list order is meaningful to Amazon and kept)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def listing_hash(product_type: str | None, requirements: str | None, attributes: dict[str, Any]) -> str:
    # 20 bytes of BLAKE2b: collision-safe for any catalogue size, 40 hex chars in the store.
    doc = {"productType": product_type, "requirements": requirements, "attributes": attributes}
    return hashlib.blake2b(canonical(doc), digest_size=20).hexdigest()
