"""Sales Layer as a catalogue source: the connector API's tables → :class:`Product` records.

* ``products`` rows become products, ``product_formats`` rows their variants (child SKUs whose
  parent is the product's SKU), ``catalogue`` rows the category paths (``ID_PARENT`` tree).
* Columns are read by ``data_schema``, never by position; ``<basename>_<lang>`` columns (or the
  ``basename``/``language_code`` of ``data_schema_info``) become ``Product.localized``.
* Image fields give one URL per image: ``ORG``, else the largest size. ``["U"]`` or an empty value
  means unchanged (``Product.images_unchanged``), never "remove the images".
* ``D`` rows become deletions. They carry only the Sales Layer ID, so the SKU comes from this
  export or from the ID cache (``source.id_cache``, SQLite) that remembers the SKU of every ID seen.
* Incremental runs: ``records(since=checkpoint)`` sends ``last_update``; ``next_checkpoint`` is the
  first page's ``time``, set only once every page was read. ``complete`` is True on a ``refresh``.
* Variants inherit the product's fields, texts and images where theirs are empty
  (``source.inherit_parent_fields``), as Sales Layer's own Amazon channel merges them.

The private key comes from ``LISTINGSYNC_SALESLAYER_SECRET`` or the keyring
(:func:`listingsync.credentials.load_secret`, scoped by connector ID).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from listingsync.catalog.model import CatalogProblem, Origin, Product, ProductStatus
from listingsync.catalog.rows import SKU_NAMES, VARIANT_SKU_NAMES, normalize_name
from listingsync.catalog.saleslayer_client import KEY_WHERE, SalesLayerClient, SalesLayerError
from listingsync.catalog.source import CatalogError, CatalogSource, Record
from listingsync.config import Config
from listingsync.config.source import SourceConfig

__all__ = ["IdCache", "SalesLayerSource", "load_saleslayer_secret"]

SECRET_NAME = "LISTINGSYNC_SALESLAYER_SECRET"
_KEY_COLUMNS = frozenset({"STATUS", "ID"})
_MISSING = object()


def load_saleslayer_secret(connector_id: str) -> str:
    """The connector's private key from the environment or the keyring; never from the YAML."""
    from listingsync.credentials import load_secret

    value = load_secret(SECRET_NAME, connector_id)
    if not value:
        raise CatalogError(
            f"no private key for Sales Layer connector {connector_id!r}",
            fix=f"store the key shown in {KEY_WHERE} with 'listingsync connect saleslayer', "
            f"or export {SECRET_NAME}=<that key>",
        )
    return value


class IdCache:
    """Sales Layer ID → SKU (and category ID → name and parent), kept between runs in SQLite."""

    def __init__(self, path: Path | None, connector: str) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Without a path (no config file) the cache lives as long as the source object.
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False)
        self._connector = connector
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ids (connector TEXT, tbl TEXT, id TEXT, value TEXT, parent TEXT,"
            " PRIMARY KEY (connector, tbl, id))"
        )
        self._pending: list[tuple[str, str, str, str, str | None]] = []

    def get(self, table: str, record_id: Any) -> tuple[str, str | None] | None:
        row = self._db.execute(
            "SELECT value, parent FROM ids WHERE connector = ? AND tbl = ? AND id = ?",
            (self._connector, table, str(record_id)),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def put(self, table: str, record_id: Any, value: str, parent: Any = None) -> None:
        parent_text = None if parent in (None, "", 0, "0") else str(parent)
        self._pending.append((self._connector, table, str(record_id), value, parent_text))

    def flush(self) -> None:
        if self._pending:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._db.close()


@dataclass
class _Column:
    name: str
    kind: str  # plain | image | file | key
    sizes: tuple[str, ...] = ()
    base: str | None = None
    lang: str | None = None
    #: Image/file: positions in each value to take the URL from, best first (ORG, then largest).
    order: tuple[int, ...] = ()


@dataclass
class _Table:
    columns: list[_Column]
    by_name: dict[str, int] = field(default_factory=dict)


def _largest_first(sizes: Sequence[str], info: dict[str, Any]) -> list[int]:
    """Positions (within an image value, after STATUS and ID) to try: ORG, then the largest."""
    declared = info.get("sizes") if isinstance(info.get("sizes"), dict) else {}

    def area(size: str) -> int:
        spec = declared.get(size) if declared else None
        if isinstance(spec, dict):
            return int(spec.get("width") or 0) * int(spec.get("height") or 0)
        return {"ORG": 10**9, "IMD": 2, "THM": 1, "TH": 0}.get(size, 0)

    order = sorted(range(len(sizes)), key=lambda i: (sizes[i] != "ORG", -area(sizes[i])))
    return [i + 2 for i in order]


class SalesLayerSource(CatalogSource):
    incremental = True

    def __init__(
        self,
        settings: SourceConfig,
        secret: str,
        *,
        id_cache: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
        sleep: Any = None,
        clock: Any = None,
    ) -> None:
        super().__init__()
        assert settings.connector_id is not None
        self.settings = settings
        self.name = f"Sales Layer connector {settings.connector_id}"
        extra: dict[str, Any] = {}
        if sleep is not None:
            extra["sleep"] = sleep
        if clock is not None:
            extra["clock"] = clock
        self.client = SalesLayerClient(
            settings.connector_id,
            secret,
            settings.api_url,
            pagination=settings.pagination,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            backoff=backoff,
            transport=transport,
            **extra,
        )
        self._id_cache_path = id_cache
        self._cache: IdCache | None = None
        self._columns: list[str] = []
        self._roles: dict[str, Any] = {}
        #: What the last export said: "refresh" or "update".
        self.action: str | None = None

    def __repr__(self) -> str:
        return f"SalesLayerSource(connector_id={self.settings.connector_id!r})"

    @classmethod
    def from_config(cls, settings: SourceConfig, config: Config | None = None) -> SalesLayerSource:
        assert settings.connector_id is not None
        secret = load_saleslayer_secret(settings.connector_id)
        cache = config.resolve_path(settings.id_cache) if config is not None else None
        return cls(settings, secret, id_cache=cache)

    def columns(self) -> list[str]:
        return list(self._columns)

    def roles(self) -> dict[str, Any]:
        return dict(self._roles)

    def close(self) -> None:
        self.client.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def _read(self, since: str | None) -> Iterator[Record]:
        last_update: int | None = None
        if since:
            if not since.isdigit():
                raise CatalogError(
                    f"the stored checkpoint {since!r} is not a Sales Layer time",
                    fix="run once without a checkpoint (a full export) to start again",
                )
            last_update = int(since)
        if self._cache is None:
            self._cache = IdCache(self._id_cache_path, self.settings.connector_id or "")
        reader = _ExportReader(self.settings, self._cache)
        first_time: str | None = None
        try:
            for number, page in enumerate(self.client.export(last_update), start=1):
                if number == 1:
                    first_time = str(page.get("time") or "")
                    self.action = str(page.get("action") or "")
                    self.complete = self.action == "refresh"
                yield from reader.page(page, number)
                self._columns = reader.column_names()
                self._roles = {
                    "sku": reader.sku_column.get("products"),
                    "variant_sku": reader.sku_column.get("product_formats"),
                    "languages": reader.languages,
                }
                self._cache.flush()
        finally:
            # IDs learnt from the pages that did arrive stay true even if a later page failed.
            self._cache.flush()
        # Every page was read: the first page's time is the next last_update (reference §1.9).
        self.next_checkpoint = first_time or None


class _ExportReader:
    """Turns the pages of one export into records; keeps what later pages refer back to."""

    def __init__(self, settings: SourceConfig, cache: IdCache) -> None:
        self.settings = settings
        self.cache = cache
        self.tables: dict[str, _Table] = {}
        self.languages: list[str] = []
        self.default_language: str = ""
        self.categories: dict[int, tuple[str, int]] = {}  # ID → (name, parent ID)
        self.products: dict[int, Product] = {}  # this export's products, for variants
        self.sku_column: dict[str, str] = {}

    def column_names(self) -> list[str]:
        return [
            c.name
            for t in ("products", "product_formats")
            if t in self.tables
            for c in self.tables[t].columns
        ]

    # --- schema ------------------------------------------------------------------------------

    def _schema(self, doc: dict[str, Any]) -> None:
        schema = doc.get("schema")
        if isinstance(schema, dict):
            self.languages = [str(lang) for lang in schema.get("languages") or []]
            self.default_language = str(schema.get("default_language") or "")
        data_schema = doc.get("data_schema")
        if not isinstance(data_schema, dict):
            return  # later pages may leave the schema out: keep page 1's
        info_all = _dict(doc.get("data_schema_info"))
        for table, columns in data_schema.items():
            info = _dict(info_all.get(table))
            parsed = [self._column(entry, info) for entry in columns]
            self.tables[table] = _Table(parsed, {c.name: i for i, c in enumerate(parsed)})

    def _column(self, entry: Any, info: dict[str, Any]) -> _Column:
        if isinstance(entry, dict):
            if "field" in entry:  # the SDK also accepts {"field": name}
                return self._column(entry["field"], info)
            name, slots = next(iter(entry.items()))
            field_info = _dict(info.get(name))
            kind = "file" if field_info.get("type") == "file" or slots[2:] == ["FILE"] else "image"
            sizes = tuple(str(s) for s in slots[2:])
            order = tuple(_largest_first(sizes, field_info)) if kind == "image" else (2,)
            return _Column(name, kind, sizes, order=order)
        name = str(entry)
        if name in _KEY_COLUMNS or name.startswith("ID_"):
            return _Column(name, "key")
        field_info = _dict(info.get(name))
        base, lang = field_info.get("basename"), field_info.get("language_code")
        if not (base and lang):
            for candidate in self.languages:
                if name.endswith(f"_{candidate}"):
                    base, lang = name[: -len(candidate) - 1], candidate
                    break
        return _Column(name, "plain", base=base or None, lang=lang or None)

    def _sku_column(self, table: str) -> str:
        if table in self.sku_column:
            return self.sku_column[table]
        configured = (
            self.settings.variant_sku_field if table == "product_formats" else self.settings.sku_field
        )
        names = [c.name for c in self.tables[table].columns if c.kind == "plain" and c.lang is None]
        key = "variant_sku_field" if table == "product_formats" else "sku_field"
        if configured is not None:
            if configured not in names:
                raise CatalogError(
                    f"source.{key} {configured!r} is not a column of Sales Layer's {table} table",
                    fix=f"use one of: {', '.join(names)}",
                )
            chosen = configured
        else:
            candidates = (*VARIANT_SKU_NAMES, *SKU_NAMES) if table == "product_formats" else SKU_NAMES
            by_norm = {normalize_name(n): n for n in names}
            found = next((by_norm[c] for c in candidates if c in by_norm), None)
            if found is None:  # Sales Layer prefixes names: product_reference, format_sku, frmt_ref …
                found = next(
                    (n for n in names if normalize_name(n).endswith(("_sku", "_reference", "_ref"))), None
                )
            if found is None:
                raise CatalogError(
                    f"no SKU column found in Sales Layer's {table} table",
                    fix=f"set source.{key} to the column holding the SKU; columns are: {', '.join(names)}",
                )
            chosen = found
        self.sku_column[table] = chosen
        return chosen

    # --- rows --------------------------------------------------------------------------------

    def page(self, doc: dict[str, Any], number: int) -> Iterator[Record]:
        self._schema(doc)
        data = self._page_data(doc, number)
        for row in data.get("catalogue", []):
            self._category(row)
        for table in ("products", "product_formats"):
            for row in data.get(table, []):
                yield self._record(table, row)

    def _page_data(self, doc: dict[str, Any], number: int) -> dict[str, list[Any]]:
        """The page's ``data``: per table, a list of rows. Anything else stops the export, for a
        page read as "no rows" would move the checkpoint past records never seen."""
        data: Any = doc.get("data", _MISSING)
        if data == []:  # PHP's json_encode writes an empty array as []: a page without rows
            return {}
        problem = ""
        if data is _MISSING:
            problem = "has no 'data'"
        elif not isinstance(data, dict):
            problem = f"has 'data' as {_json_type(data)}, not an object of tables"
        else:
            for table, rows in data.items():
                if not isinstance(rows, list):
                    problem = f"has data.{table} as {_json_type(rows)}, not a list of rows"
                elif rows and table in ("products", "product_formats") and table not in self.tables:
                    problem = f"has {table} rows but no data_schema for {table} (on this page or page 1)"
                if problem:
                    break
        if not problem:
            return dict(data)
        raise SalesLayerError(
            101,
            f"Sales Layer's page {number} is malformed: it {problem}",
            fix="the checkpoint was not moved, so nothing is lost; run again, and if it persists "
            "report the answer to Sales Layer support",
            page=number,
        )

    def _values(self, table: str, row: list[Any]) -> dict[str, Any]:
        columns = self.tables[table].columns
        return {c.name: (row[i] if i < len(row) else None) for i, c in enumerate(columns)}

    def _category(self, row: Any) -> None:
        if not isinstance(row, list) or len(row) < 2 or "catalogue" not in self.tables or row[0] == "D":
            return
        values = self._values("catalogue", row)
        plain = [c for c in self.tables["catalogue"].columns if c.kind == "plain"]
        named = [c for c in plain if any(w in (c.base or c.name).lower() for w in ("name", "title"))]
        chosen = [c for c in named if c.lang in (self.default_language, None)] or named or plain
        name = next(
            (str(values[c.name]) for c in chosen if values.get(c.name) not in (None, "")), str(row[1])
        )
        parent = int(values.get("ID_PARENT") or 0)
        self.categories[int(row[1])] = (name, parent)
        self.cache.put("catalogue", row[1], name, parent)

    def _category_path(self, ids: Any) -> tuple[str, ...]:
        if isinstance(ids, str):
            ids = [p for p in ids.replace(",", "\n").splitlines() if p.strip()]
        first = ids[0] if isinstance(ids, list) and ids else ids
        if first in (None, "", 0, "0"):
            return ()
        path: list[str] = []
        current = int(first)
        seen: set[int] = set()
        while current and current not in seen:
            seen.add(current)
            known = self.categories.get(current)
            if known is None:
                cached = self.cache.get("catalogue", current)
                if cached is None:
                    break
                known = (cached[0], int(cached[1] or 0))
            path.append(known[0])
            current = known[1]
        return tuple(reversed(path))

    def _record(self, table: str, row: Any) -> Record:
        if not isinstance(row, list) or len(row) < 2:
            return CatalogProblem(Origin(f"saleslayer {table}"), f"malformed row {str(row)[:80]!r}; skipped")
        record_id = row[1]
        origin = Origin(f"saleslayer {table}", record_id=str(record_id))
        source_id = f"{table}/{record_id}"
        if row[0] == "D":
            return self._deletion(table, record_id, origin, source_id)
        values = self._values(table, row)
        sku_column = self._sku_column(table)
        sku = values.get(sku_column)
        if sku in (None, ""):
            return CatalogProblem(
                origin,
                f"the SKU field {sku_column!r} is empty; fill it in Sales Layer (the record is skipped)",
            )
        sku = str(sku).strip()
        parent: str | None = None
        parent_product: Product | None = None
        if table == "product_formats":
            product_id = values.get("ID_products")
            parent_product = self.products.get(int(product_id or 0))
            if parent_product is not None:
                parent = parent_product.sku
            else:
                cached = self.cache.get("products", product_id)
                if cached is None:
                    return CatalogProblem(
                        origin,
                        f"variant {sku!r} belongs to product ID {product_id}, which is neither in this export "
                        "nor known from an earlier one; the variant is skipped — run a full export "
                        "(without a checkpoint) to learn it",
                        sku=sku,
                    )
                parent = cached[0]
        fields: dict[str, Any] = {}
        localized: dict[str, dict[str, Any]] = {}
        images: list[str] = []
        unchanged = False
        info = self.tables[table]
        for column in info.columns:
            value = values.get(column.name)
            if column.kind == "key":
                continue
            if column.kind in ("image", "file"):
                urls, same = self._media(column, value)
                if column.kind == "image":
                    images.extend(urls)
                    unchanged = unchanged or same
                elif urls:
                    fields[column.name] = urls
                continue
            if value is None or value == "" or value == []:
                continue
            if column.lang is not None and column.base is not None:
                localized.setdefault(column.base, {})[column.lang] = value
            else:
                fields[column.name] = value
        category = self._category_path(values.get("ID_catalogue")) if table == "products" else ()
        product = Product(
            sku=sku,
            origin=origin,
            source_id=source_id,
            parent_sku=parent,
            category_path=category,
            fields=fields,
            localized=localized,
            images=images,
            images_unchanged=unchanged and not images,
            status=ProductStatus.ACTIVE,
            raw=values,
        )
        if table == "products":
            self.products[int(record_id)] = product
            self.cache.put("products", record_id, sku)
        else:
            self.cache.put("product_formats", record_id, sku, values.get("ID_products"))
            if parent_product is not None and self.settings.inherit_parent_fields:
                _inherit(product, parent_product)
        return product

    def _media(self, column: _Column, value: Any) -> tuple[list[str], bool]:
        """(URLs, unchanged?) of an image or file value."""
        if value in (None, "", []) or (isinstance(value, list) and value and value[0] == "U"):
            return [], True
        if not isinstance(value, list):
            return ([str(value)] if column.kind == "file" or "://" in str(value) else []), False
        positions = column.order
        urls: list[str] = []
        for entry in value:
            if not isinstance(entry, list) or len(entry) < 3 or entry[0] == "D":
                continue
            url = next((entry[i] for i in positions if i < len(entry) and entry[i]), None)
            if url:
                urls.append(str(url))
        return urls, False

    def _deletion(self, table: str, record_id: Any, origin: Origin, source_id: str) -> Record:
        if table == "products" and int(record_id) in self.products:
            sku: str | None = self.products[int(record_id)].sku
            parent: str | None = None
        else:
            cached = self.cache.get(table, record_id)
            sku = cached[0] if cached else None
            parent = None
            if cached and table == "product_formats" and cached[1] is not None:
                product = self.cache.get("products", cached[1])
                parent = product[0] if product else None
        if sku is None:
            return CatalogProblem(
                origin,
                "deleted in Sales Layer, but this connector never saw the record, so its SKU is unknown; "
                "nothing to delete",
                severity="warning",
            )
        return Product(
            sku=sku, origin=origin, source_id=source_id, parent_sku=parent, status=ProductStatus.DELETED
        )


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), "a number")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _inherit(variant: Product, product: Product) -> None:
    """The product's fields, texts and images where the variant has none (the variant wins)."""
    variant.fields = {**product.fields, **variant.fields}
    for base, texts in product.localized.items():
        variant.localized[base] = {**texts, **variant.localized.get(base, {})}
    if not variant.images:
        variant.images = list(product.images)
        variant.images_unchanged = product.images_unchanged if not product.images else False
    if not variant.category_path:
        variant.category_path = product.category_path
