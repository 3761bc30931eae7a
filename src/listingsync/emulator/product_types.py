"""The product type schemas the emulator serves and validates with.

Sources: the bundled schemas (``listingsync/data/product-types``: HOME US, HOME FR, PRODUCT US) and
any ``--product-types DIR`` files, read exactly as Amazon serves them. Each file says what it is:
the product type is the last segment of ``$id``, the marketplace is ``$defs.marketplace_id.default``.

**Emulator convenience (not Amazon behaviour):** a marketplace with no schema of its own for a
product type borrows another marketplace's schema of that type (same region first, then any), with
the ``marketplace_id`` and ``language_tag`` defaults and enums rewritten to the target
marketplace, so that e.g. vendor DEMOV can list HOME in DE and IT.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from listingsync.amazon import marketplaces as mp
from listingsync.errors import ListingSyncError
from listingsync.schema.retarget import retarget

__all__ = ["ProductTypeRegistry", "SchemaInfo", "bundled_dir", "meta_schema"]

_ID_PREFIX = "https://schemas.amazon.com/selling-partners/definitions/product-types/schema/v1/"


def bundled_dir() -> Path:
    return Path(str(resources.files("listingsync") / "data" / "product-types"))


_META: dict[str, Any] | None = None


def meta_schema() -> dict[str, Any]:
    """Amazon's product type meta-schema v1 (bundled)."""
    global _META
    if _META is None:
        path = Path(str(resources.files("listingsync") / "data" / "schemas" / "meta-schema.json"))
        _META = orjson.loads(path.read_bytes())
    return _META


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    product_type: str
    marketplace_id: str
    path: Path
    #: Set when served for another marketplace than the file's own (see module docstring).
    borrowed_from: str | None = None


def _sniff(path: Path) -> tuple[str, str]:
    """(product type, marketplace id) of a schema file, read from ``$id`` and ``$defs``."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ListingSyncError(f"cannot read product type schema: {exc}", where=str(path)) from None
    schema_id = data.get("$id", "") if isinstance(data, dict) else ""
    if not isinstance(schema_id, str) or "/" not in schema_id:
        raise ListingSyncError(
            "not a product type schema: no $id",
            where=str(path),
            fix="save the schema exactly as getDefinitionsProductType's schema link serves it",
        )
    marketplace_id = (data.get("$defs", {}).get("marketplace_id", {}) or {}).get("default")
    if not isinstance(marketplace_id, str):
        raise ListingSyncError("the schema has no $defs.marketplace_id.default", where=str(path))
    return schema_id.rstrip("/").rsplit("/", 1)[-1], marketplace_id


class ProductTypeRegistry:
    """Index of schema files by (product type, marketplace id); schemas load on first use."""

    def __init__(self, extra: Iterable[Path] = (), *, include_bundled: bool = True) -> None:
        self._files: dict[tuple[str, str], Path] = {}
        self._loaded: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.RLock()
        paths: list[Path] = []
        if include_bundled:
            paths.extend(sorted(bundled_dir().glob("*.json")))
        for entry in extra:
            if entry.is_dir():
                paths.extend(sorted(entry.glob("*.json")))
            elif entry.exists():
                paths.append(entry)
            else:
                raise ListingSyncError(
                    "no such product type schema file or directory",
                    where=str(entry),
                    fix="pass a directory of schema JSON files to --product-types",
                )
        for path in paths:  # later files (the user's) override bundled ones
            self._files[_sniff(path)] = path

    def product_types(self) -> list[str]:
        return sorted({pt for pt, _ in self._files})

    def native_marketplaces(self, product_type: str) -> list[str]:
        return sorted(m for pt, m in self._files if pt == product_type)

    def info(self, product_type: str, marketplace_id: str) -> SchemaInfo | None:
        """Where the schema of (type, marketplace) comes from, or None for an unknown type."""
        own = self._files.get((product_type, marketplace_id))
        if own is not None:
            return SchemaInfo(product_type, marketplace_id, own)
        natives = self.native_marketplaces(product_type)
        if not natives:
            return None
        target = mp.find(marketplace_id)
        same_region = [
            m for m in natives if target is not None and (f := mp.find(m)) and f.region is target.region
        ]
        source = (same_region or natives)[0]
        return SchemaInfo(product_type, marketplace_id, self._files[(product_type, source)], source)

    def get(self, product_type: str, marketplace_id: str) -> dict[str, Any] | None:
        """The LISTING schema of ``product_type`` for ``marketplace_id`` (shared: do not mutate)."""
        key = (product_type, marketplace_id)
        cached = self._loaded.get(key)
        if cached is not None:
            return cached
        info = self.info(product_type, marketplace_id)
        if info is None:
            return None
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            schema: dict[str, Any]
            if info.borrowed_from is None:
                schema = orjson.loads(info.path.read_bytes())
            else:
                base = self.get(product_type, info.borrowed_from)
                target = mp.find(marketplace_id)
                if base is None or target is None:
                    return None
                schema = retarget(base, target)
            self._loaded[key] = schema
            return schema
