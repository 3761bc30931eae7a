"""The schema store: product type schemas from Amazon, cached on disk, usable offline.

    store = SchemaStore(client, cache_dir=None, seller_id="C96QA")
    home = await store.get("HOME", "A1PA6795UKMFR9", "LISTING_PRODUCT_ONLY")   # network at most once
    home = store.get_cached("HOME", "A1PA6795UKMFR9", "LISTING_PRODUCT_ONLY")  # memory/disk only

``get`` asks getDefinitionsProductType (marketplace, sellerId, requirements, locale = the
marketplace's language) once per run and key; when Amazon's ``productTypeVersion`` and checksum
match the cached copy, nothing is downloaded. Otherwise the schema (and meta-schema) links are
fetched with ``client.fetch_url`` (the links are pre-signed and valid 7 days, so they are never
stored), the checksum is verified, and the copy is written atomically to the cache. When Amazon
cannot be reached, the cached copy is used. ``get_cached`` never does I/O beyond reading the cache:
the mapping calls it per record after a preload.

Cache layout (default: the user cache dir, ``platformdirs.user_cache_dir("listingsync")/schemas``)::

    <dir>/<PRODUCT_TYPE>/<marketplaceId>/<requirements>-<enforced>-<locale>-<sellerId>.json  index entry
    <dir>/<PRODUCT_TYPE>/<marketplaceId>/schema-<digest of version+checksum>.json           the schema
    <dir>/meta-schema-<digest of checksum>.json                                            meta-schema
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from listingsync.amazon import marketplaces as mp
from listingsync.errors import ListingSyncError
from listingsync.schema.product_type import ProductTypeSchema

__all__ = ["DefinitionsClient", "SchemaStore", "default_cache_dir", "locale_for"]

log = logging.getLogger(__name__)


class _DefinitionsAPI(Protocol):
    """The two Product Type Definitions operations, with the keywords the store passes."""

    async def get_definitions_product_type(
        self,
        product_type: str,
        *,
        marketplace_ids: Sequence[str] | str,
        seller_id: str | None = None,
        requirements: str | None = None,
        requirements_enforced: str | None = None,
        locale: str | None = None,
    ) -> Any: ...

    async def search_definitions_product_types(
        self,
        *,
        marketplace_ids: Sequence[str] | str,
        keywords: Sequence[str] | str | None = None,
        item_name: str | None = None,
        locale: str | None = None,
    ) -> Any: ...


class DefinitionsClient(Protocol):
    """What the store needs of :class:`listingsync.amazon.SPAPIClient`."""

    @property
    def definitions(self) -> _DefinitionsAPI: ...

    async def fetch_url(self, url: str) -> bytes: ...


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("listingsync")) / "schemas"


_LOCALES = frozenset(mp.PTD_LOCALES)


def locale_for(language_tag: str) -> str:
    """The schema locale for a marketplace language: the tag itself when Amazon lists it (de_DE),
    else its language (fr_BE → fr, en_IE → en), else DEFAULT."""
    if language_tag in _LOCALES:
        return language_tag
    language = language_tag.split("_", 1)[0]
    return language if language in _LOCALES else "DEFAULT"


def _safe(part: str) -> str:
    """A file-name-safe rendering of a key part (product types and ids are [A-Z0-9_] already)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part) or "_"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:20]


def _checksum_ok(data: bytes, checksum: str) -> bool | None:
    """True/False when ``checksum`` is an MD5 we recognise (Base64 per the model, hex per its example);
    None when it is in some other form we cannot check."""
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    if re.fullmatch(r"[0-9a-fA-F]{32}", checksum):
        return md5.hex() == checksum.lower()
    if re.fullmatch(r"[A-Za-z0-9+/]{22}==", checksum):
        return base64.b64encode(md5).decode() == checksum
    return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class _Key:
    product_type: str
    marketplace_id: str
    requirements: str
    enforced: str
    locale: str
    seller_id: str

    def describe(self) -> str:
        market = mp.find(self.marketplace_id)
        where = f"{market.country} ({self.marketplace_id})" if market else self.marketplace_id
        return f"product type {self.product_type} in marketplace {where}, requirements {self.requirements}"


class SchemaStore:
    """Product type schemas by (type, marketplace, requirements), fetched once and cached on disk.

    ``client`` may be None: the store then answers from its cache only (``get`` acts as
    ``get_cached``). ``cache_dir`` None means the user cache dir.
    """

    def __init__(
        self,
        client: DefinitionsClient | None,
        cache_dir: str | Path | None = None,
        seller_id: str | None = None,
        *,
        requirements_enforced: str = "ENFORCED",
    ) -> None:
        self.client = client
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.seller_id = seller_id
        self.requirements_enforced = requirements_enforced
        self._memory: dict[_Key, ProductTypeSchema] = {}
        self._checked: set[_Key] = set()
        self._locks: dict[_Key, asyncio.Lock] = {}
        #: Downloads made by this store (schema documents), for tests and ``--verbose`` output.
        self.downloads = 0

    def __repr__(self) -> str:
        return f"SchemaStore(cache_dir={str(self.cache_dir)!r}, seller_id={self.seller_id!r})"

    # -- keys and paths ----------------------------------------------------------------------------

    def _key(self, product_type: str, marketplace_id: str, requirements: str) -> _Key:
        market = mp.find(marketplace_id)
        if market is None:
            raise ListingSyncError(
                f"unknown marketplace '{marketplace_id}' for product type {product_type}",
                fix="use a marketplace id or country code from `listingsync check`",
            )
        return _Key(
            product_type=product_type.strip().upper(),
            marketplace_id=market.marketplace_id,
            requirements=str(getattr(requirements, "value", requirements)),
            enforced=self.requirements_enforced,
            locale=locale_for(market.language_tag),
            seller_id=self.seller_id or "",
        )

    def _dir(self, key: _Key) -> Path:
        return self.cache_dir / _safe(key.product_type) / _safe(key.marketplace_id)

    def _index_path(self, key: _Key) -> Path:
        name = f"{key.requirements}-{key.enforced}-{key.locale}-{_safe(key.seller_id or 'any')}.json"
        return self._dir(key) / name

    def _schema_path(self, key: _Key, version: str, checksum: str) -> Path:
        return self._dir(key) / f"schema-{_digest(version, checksum)}.json"

    # -- offline ---------------------------------------------------------------------------------

    def get_cached(
        self, product_type: str, marketplace_id: str, requirements: str = "LISTING"
    ) -> ProductTypeSchema:
        """The schema from memory or the disk cache; never the network.

        Raises :class:`ListingSyncError` naming the product type and marketplace when it was never
        fetched (or the cache copy is unreadable), with the command that fetches it.
        """
        key = self._key(product_type, marketplace_id, requirements)
        found = self._memory.get(key)
        if found is not None:
            return found
        found = self._load_disk(key)
        if found is None:
            market = mp.find(key.marketplace_id)
            country = market.country if market else key.marketplace_id
            raise ListingSyncError(
                f"the {key.describe()} has not been downloaded yet",
                where=str(self.cache_dir),
                fix=f"fetch it while online: `listingsync product-types show {key.product_type} "
                f"--marketplace {country}` (or run `listingsync sync`, which preloads schemas)",
            )
        self._memory[key] = found
        return found

    def _load_disk(self, key: _Key) -> ProductTypeSchema | None:
        index_path = self._index_path(key)
        try:
            entry = json.loads(index_path.read_text("utf-8"))
            schema_path = self._dir(key) / str(entry["schema_file"])
            schema = json.loads(schema_path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable schema cache entry %s: %s", index_path, exc)
            return None
        if not isinstance(schema, dict):
            return None
        return self._build(key, entry, schema)

    def _build(self, key: _Key, entry: dict[str, Any], schema: dict[str, Any]) -> ProductTypeSchema:
        definition = entry.get("definition") or {}
        return ProductTypeSchema(
            product_type=key.product_type,
            marketplace_id=key.marketplace_id,
            requirements=key.requirements,
            version=str(entry.get("version", "")),
            checksum=str(entry.get("checksum", "")),
            schema=schema,
            property_groups=dict(definition.get("propertyGroups") or {}),
            display_name=str(definition.get("displayName") or key.product_type),
            locale=str(definition.get("locale") or key.locale),
            requirements_enforced=key.enforced,
        )

    # -- online ----------------------------------------------------------------------------------

    async def get(
        self, product_type: str, marketplace_id: str, requirements: str = "LISTING"
    ) -> ProductTypeSchema:
        """The schema, asking Amazon at most once per run (and store) whether it changed."""
        key = self._key(product_type, marketplace_id, requirements)
        if self.client is None:
            return self.get_cached(product_type, marketplace_id, requirements)
        if key in self._checked and key in self._memory:
            return self._memory[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._checked and key in self._memory:
                return self._memory[key]
            found = await self._refresh(key)
            self._memory[key] = found
            self._checked.add(key)
            return found

    async def _refresh(self, key: _Key) -> ProductTypeSchema:
        assert self.client is not None
        from listingsync.amazon.errors import LWAError, SPAPIConnectionError

        cached = await asyncio.to_thread(self._load_disk, key)
        try:
            definition = await self.client.definitions.get_definitions_product_type(
                key.product_type,
                marketplace_ids=[key.marketplace_id],
                seller_id=key.seller_id or None,
                requirements=key.requirements,
                requirements_enforced=key.enforced,
                locale=key.locale,
            )
        except (SPAPIConnectionError, LWAError) as exc:
            if isinstance(exc, LWAError) and exc.refused:
                raise  # a refused credential is the user's to fix (exit 2), not "unreachable"
            if cached is not None:
                log.warning("Amazon unreachable (%s); using the cached %s", exc, key.describe())
                return cached
            raise ListingSyncError(
                f"cannot fetch the {key.describe()}: {exc.message}",
                fix="check the connection and credentials (`listingsync check`); once fetched, "
                "schemas are cached and work offline",
            ) from exc
        except ListingSyncError as exc:
            raise ListingSyncError(
                f"Amazon refused the {key.describe()}: {exc.message}",
                fix="check the product type name with `listingsync product-types search WORDS`",
            ) from exc
        if not isinstance(definition, dict):
            raise ListingSyncError(
                f"getDefinitionsProductType returned no definition for the {key.describe()}"
            )
        version = str((definition.get("productTypeVersion") or {}).get("version", ""))
        checksum = str((definition.get("schema") or {}).get("checksum", ""))
        if cached is not None and cached.version == version and cached.checksum == checksum:
            return cached
        return await self._download(key, definition, version, checksum)

    async def _download(
        self, key: _Key, definition: dict[str, Any], version: str, checksum: str
    ) -> ProductTypeSchema:
        assert self.client is not None
        link = ((definition.get("schema") or {}).get("link") or {}).get("resource")
        if not isinstance(link, str) or not link:
            raise ListingSyncError(f"the definition of the {key.describe()} has no schema link")
        data = await self.client.fetch_url(link)
        self.downloads += 1
        if _checksum_ok(data, checksum) is False:
            raise ListingSyncError(
                f"the downloaded schema of the {key.describe()} does not match Amazon's checksum",
                fix="run the command again (the download may have been cut short)",
            )
        try:
            schema = json.loads(data)
        except ValueError as exc:
            raise ListingSyncError(f"the schema of the {key.describe()} is not JSON: {exc}") from exc
        if not isinstance(schema, dict):
            raise ListingSyncError(f"the schema of the {key.describe()} is not a JSON object")
        meta_file = await self._meta_schema(definition)
        schema_path = self._schema_path(key, version, checksum)
        await asyncio.to_thread(_write_atomic, schema_path, data)
        # Pre-signed links expire (7 days) and are not ours to keep: the entry stores no link.
        kept = {k: v for k, v in definition.items() if k not in ("schema", "metaSchema")}
        entry = {
            "version": version,
            "checksum": checksum,
            "schema_file": schema_path.name,
            "meta_schema_file": meta_file,
            "definition": kept,
        }
        index = json.dumps(entry, indent=1, ensure_ascii=False).encode("utf-8")
        await asyncio.to_thread(_write_atomic, self._index_path(key), index)
        return self._build(key, entry, schema)

    async def _meta_schema(self, definition: dict[str, Any]) -> str | None:
        """Download the meta-schema once per checksum (validation uses the bundled copy, which is the
        same v1 document; the download is kept for inspection and future versions)."""
        assert self.client is not None
        meta = definition.get("metaSchema") or {}
        link = (meta.get("link") or {}).get("resource")
        checksum = str(meta.get("checksum", ""))
        if not isinstance(link, str) or not link:
            return None
        path = self.cache_dir / f"meta-schema-{_digest(checksum)}.json"
        if await asyncio.to_thread(path.exists):
            return path.name
        data = await self.client.fetch_url(link)
        if _checksum_ok(data, checksum) is False:
            log.warning("the downloaded meta-schema does not match its checksum; not cached")
            return None
        await asyncio.to_thread(_write_atomic, path, data)
        return path.name

    async def search(
        self, marketplace_id: str, keywords: list[str] | None = None, item_name: str | None = None
    ) -> list[dict[str, Any]]:
        """``searchDefinitionsProductTypes``: ``[{name, displayName, marketplaceIds}]``."""
        if self.client is None:
            raise ListingSyncError(
                "searching product types needs Amazon", fix="run it online with a working config"
            )
        market = mp.get(marketplace_id)
        body = await self.client.definitions.search_definitions_product_types(
            marketplace_ids=[market.marketplace_id],
            keywords=keywords or None,
            item_name=item_name,
            locale=locale_for(market.language_tag),
        )
        found = body.get("productTypes", []) if isinstance(body, dict) else []
        return [p for p in found if isinstance(p, dict)]
