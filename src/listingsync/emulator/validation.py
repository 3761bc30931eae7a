"""Judging a submission as Amazon does: the product type schema for the marketplace and requirements,
checked by the reference validator (``schema/reference.py``).

Compiled validators are cached per (product type, marketplace, requirements), and results per
identical attribute document (canonical JSON), because syncs resend unchanged documents often and
python ``jsonschema`` spends milliseconds on a HOME listing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson

from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.schema.issues import Issue, Severity
from listingsync.schema.reference import ReferenceValidator
from listingsync.schema.requirements import derive

__all__ = ["CODE_UNKNOWN_PRODUCT_TYPE", "SubmissionValidator"]

#: Invented (Amazon's code for an unknown product type is not documented).
CODE_UNKNOWN_PRODUCT_TYPE = "LS-UNKNOWN-PRODUCT-TYPE"


class SubmissionValidator:
    def __init__(self, registry: ProductTypeRegistry, *, result_cache: int = 4096) -> None:
        self.registry = registry
        self._validators: dict[tuple[str, str, str], ReferenceValidator] = {}
        self._results: OrderedDict[bytes, tuple[Issue, ...]] = OrderedDict()
        self._capacity = result_cache
        self._lock = threading.Lock()

    def validator(
        self, product_type: str, marketplace_id: str, requirements: str
    ) -> ReferenceValidator | None:
        key = (product_type, marketplace_id, requirements)
        found = self._validators.get(key)
        if found is None:
            schema = self.registry.get(product_type, marketplace_id)
            if schema is None:
                return None
            found = ReferenceValidator(derive(schema, requirements))
            self._validators[key] = found
        return found

    def issues(
        self, product_type: str, marketplace_id: str, requirements: str, attributes: dict[str, Any]
    ) -> list[Issue]:
        """Every issue of ``attributes`` as a ``product_type`` listing in ``marketplace_id``."""
        validator = self.validator(product_type, marketplace_id, requirements)
        if validator is None:
            known = ", ".join(self.registry.product_types())
            return [
                Issue(
                    "",
                    Severity.ERROR,
                    CODE_UNKNOWN_PRODUCT_TYPE,
                    f"The product type '{product_type}' is not known in marketplace {marketplace_id}"
                    f" (known: {known}).",
                )
            ]
        key = b"\x00".join(
            (product_type.encode(), marketplace_id.encode(), requirements.encode(), _canonical(attributes))
        )
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return list(cached)
        result = tuple(validator.issues(attributes))
        with self._lock:
            self._results[key] = result
            if len(self._results) > self._capacity:
                self._results.popitem(last=False)
        return list(result)


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
