"""A stable fingerprint of what a listing would send: equal documents, equal hashes.

Also the JSON encoding the state store and the feed builder use (:func:`json_bytes`): orjson, and
where orjson refuses a value (an integer beyond 64 bits, e.g. ``99999999999999999999`` or the
``1e309`` a spreadsheet exports), the standard library, which writes any integer exactly. One
oversized number in one listing must never abort a whole sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

__all__ = ["canonical", "json_bytes", "json_loads", "listing_hash"]

#: 19+ digits in a row: maybe an integer beyond 64 bits, which orjson would read back as a float.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON bytes of ``value`` (orjson; the standard library for what orjson cannot encode)."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, option=option)
    except (TypeError, orjson.JSONEncodeError):
        # allow_nan=False: NaN/Infinity are not JSON (and Amazon would refuse them).
        text = json.dumps(
            value,
            sort_keys=sort_keys,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )
        return text.encode()


def json_loads(text: str | bytes) -> Any:
    """The inverse of :func:`json_bytes`: integers beyond 64 bits come back exact, not as floats."""
    raw = text if isinstance(text, str) else text.decode()
    return json.loads(raw) if _LONG_DIGITS.search(raw) else orjson.loads(raw)


def canonical(value: Any) -> bytes:
    """Key-order independent JSON bytes (list order is meaningful to Amazon and kept)."""
    try:
        return json_bytes(value, sort_keys=True)
    except ValueError:  # NaN or infinity: hash its text rather than fail
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def listing_hash(product_type: str | None, requirements: str | None, attributes: dict[str, Any]) -> str:
    # 20 bytes of BLAKE2b: collision-safe for any catalogue size, 40 hex chars in the store.
    doc = {"productType": product_type, "requirements": requirements, "attributes": attributes}
    return hashlib.blake2b(canonical(doc), digest_size=20).hexdigest()
