"""Schema providers for the builder: the schema store (online once, then cached) or the bundled files.

The builder asks ``schemas(product_type, marketplace_id, requirements)`` and must not wait on the
network per record, so the commands first :func:`preload` every schema the mapping can need through
``SchemaStore.get`` (which caches on disk) and then build with ``store.get_cached``.

:class:`BundledSchemas` answers from the schemas shipped in ``listingsync/data/product-types`` (HOME
US, HOME FR, PRODUCT US) without any store: for tests, benchmarks and offline previews. Like the
emulator, it serves a marketplace that has no schema of its own with another marketplace's schema of
the same type (same region first), its marketplace_id/language_tag rewritten, and narrows LISTING
schemas for LISTING_PRODUCT_ONLY with ``listingsync.schema.requirements.derive``.

:func:`for_account` gives a vendor account the vendor's view of whatever a provider returns
(``listingsync.schema.vendor``: ``cost_price`` declared, seller offers forbidden), so that building,
``validate`` and ``sync`` treat a vendor's cost price as Amazon's vendor schemas do; the builder and
the pipeline apply it themselves, every provider (bundled, cached, online) is covered.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from listingsync.amazon import marketplaces as mp
from listingsync.amazon.errors import LWAError, SPAPIConnectionError
from listingsync.config import Config
from listingsync.config.account import AccountConfig
from listingsync.errors import ListingSyncError
from listingsync.mapping.listing import Requirements
from listingsync.schema.product_type import ProductTypeSchema
from listingsync.schema.requirements import derive
from listingsync.schema.retarget import retarget
from listingsync.schema.vendor import vendor_view

__all__ = ["BundledSchemas", "VendorSchemas", "for_account", "needed_schemas", "preload"]


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


class VendorSchemas:
    """A provider answering with the vendor's view of what ``inner`` answers (same type: a dict or a
    ``ProductTypeSchema`` with the view as its ``schema``, keeping Amazon's version and checksum)."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        # Per object the inner provider returned (held, so its id stays its own): providers keep
        # their schemas, so each view is made once, not per record.
        self._views: dict[int, tuple[Any, Any]] = {}

    def __call__(self, product_type: str, marketplace_id: str, requirements: Requirements) -> Any:
        found = self.inner(product_type, marketplace_id, requirements)
        seen = self._views.get(id(found))
        if seen is not None and seen[0] is found:
            return seen[1]
        if isinstance(found, ProductTypeSchema):
            view: Any = dataclasses.replace(
                found, schema=vendor_view(found.schema), _validator=None, _conditionals=None
            )
        elif isinstance(found, Mapping):
            view = vendor_view(found)
        else:
            return found  # not a schema we can read: the builder reports it
        self._views[id(found)] = (found, view)
        return view


def for_account(schemas: Callable[..., Any], account: AccountConfig) -> Callable[..., Any]:
    """``schemas`` as ``account`` must see them: the vendor's view for vendors, unchanged for sellers."""
    if not account.is_vendor or isinstance(schemas, VendorSchemas):
        return schemas
    return VendorSchemas(schemas)


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
