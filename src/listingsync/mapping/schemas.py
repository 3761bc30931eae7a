"""Schema providers for the builder: the schema store (online once, then cached) or the bundled files.

The builder asks ``schemas(product_type, marketplace_id, requirements)`` and must not wait on the
network per record, so the commands first :func:`preload` every schema the mapping can need through
``SchemaStore.get`` (which caches on disk) and then build with ``store.get_cached``.

:class:`BundledSchemas` answers from the schemas shipped in ``listingsync/data/product-types`` (HOME
US, HOME FR, PRODUCT US) without any store: for tests, benchmarks and offline previews. Like the
emulator, it serves a marketplace that has no schema of its own with another marketplace's schema of
the same type (same region first), its marketplace_id/language_tag rewritten, and narrows LISTING
schemas for LISTING_PRODUCT_ONLY with ``listingsync.schema.requirements.derive``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from listingsync.amazon import marketplaces as mp
from listingsync.amazon.errors import LWAError, SPAPIConnectionError
from listingsync.config import Config
from listingsync.errors import ListingSyncError
from listingsync.mapping.listing import Requirements
from listingsync.schema.requirements import derive
from listingsync.schema.retarget import retarget

__all__ = ["BundledSchemas", "needed_schemas", "preload"]


def needed_schemas(config: Config) -> list[tuple[str, str, Requirements]]:
    """Every (product type, marketplace id, requirements) the mapping of ``config`` can ask for."""
    lc = config.listings
    types = list(dict.fromkeys([*lc.product_type_names, *lc.product_types]))
    requirements = [Requirements.LISTING_PRODUCT_ONLY]
    if not config.account.is_vendor:
        requirements.insert(0, Requirements.LISTING)
    return [(t, m, r) for t in types for m in config.account.marketplaces for r in requirements]


async def preload(config: Config, store: Any) -> list[ListingSyncError]:
    """Fetch (or refresh) every needed schema into ``store``; returns the failures, if any.

    A failure is not fatal: records of that product type and marketplace then carry an issue that
    names the schema, and the others are built. Once Amazon (or Login with Amazon) proved
    unreachable, the remaining schemas come from the cache only, instead of each waiting out the
    same retries.
    """
    failures: list[ListingSyncError] = []
    offline = False
    for product_type, marketplace_id, requirements in needed_schemas(config):
        try:
            if offline:
                store.get_cached(product_type, marketplace_id, requirements)
            else:
                await store.get(product_type, marketplace_id, requirements)
        except ListingSyncError as exc:
            if isinstance(exc, LWAError) and exc.refused:
                raise  # every schema would fail the same way: the credential needs fixing
            failures.append(exc)
            offline = offline or isinstance(exc.__cause__, LWAError | SPAPIConnectionError)
        except Exception as exc:  # the store's own error types are its business; report them here
            failures.append(
                ListingSyncError(
                    f"could not fetch the {product_type} schema for {mp.by_id(marketplace_id).country}: {exc}"
                )
            )
    return failures


def _bundled_dir() -> Path:
    return Path(str(resources.files("listingsync") / "data" / "product-types"))


class BundledSchemas:
    """``(product_type, marketplace_id, requirements) -> schema dict`` from bundled or given files."""

    def __init__(self, extra: Iterable[Path] = ()) -> None:
        self._files: dict[tuple[str, str], Path] = {}
        for path in [*sorted(_bundled_dir().glob("*.json")), *extra]:
            product_type, marketplace_id = _sniff(path)
            self._files[(product_type, marketplace_id)] = path
        self._cache: dict[tuple[str, str, Requirements], dict[str, Any]] = {}

    @property
    def product_types(self) -> list[str]:
        return sorted({t for t, _ in self._files})

    def __call__(self, product_type: str, marketplace_id: str, requirements: Requirements) -> dict[str, Any]:
        key = (product_type, marketplace_id, Requirements(requirements))
        found = self._cache.get(key)
        if found is None:
            found = self._load(*key)
            self._cache[key] = found
        return found

    def _load(self, product_type: str, marketplace_id: str, requirements: Requirements) -> dict[str, Any]:
        natives = sorted(m for t, m in self._files if t == product_type)
        if not natives:
            raise ListingSyncError(
                f"no bundled schema for product type {product_type} (bundled: {', '.join(self.product_types)})",
                fix="fetch it online with 'listingsync product-types show TYPE' or choose a bundled type",
            )
        target = mp.by_id(marketplace_id)
        if marketplace_id in natives:
            schema = _load_json(self._files[(product_type, marketplace_id)])
        else:
            same_region = [m for m in natives if mp.by_id(m).region is target.region]
            base = _load_json(self._files[(product_type, (same_region or natives)[0])])
            schema = retarget(base, target)
        if requirements is not Requirements.LISTING:
            schema = dict(derive(schema, requirements.value))
        return schema


@lru_cache(maxsize=16)
def _load_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ListingSyncError("not a product type schema", where=str(path))
    return data


def _sniff(path: Path) -> tuple[str, str]:
    data = _load_json(path)
    schema_id = str(data.get("$id", ""))
    marketplace_id = ((data.get("$defs") or {}).get("marketplace_id") or {}).get("default")
    if "/" not in schema_id or not isinstance(marketplace_id, str):
        raise ListingSyncError(
            "not a product type schema (no $id or $defs.marketplace_id.default)", where=str(path)
        )
    return schema_id.rstrip("/").rsplit("/", 1)[-1], marketplace_id
