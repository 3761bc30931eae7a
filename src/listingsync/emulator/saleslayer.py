"""A fake Sales Layer connector API (export direction, API 1.17/1.18) serving a catalogue file.

Follows ../shared/reference/saleslayer.md §1 and its checklist (§5): GET and POST on ``/`` with
parameters from the query string or the urlencoded body; ``key256`` = SHA-256 of
code + secret + time + unique (legacy ``key`` = SHA-1 accepted); ``last_update`` incremental
exports (``action: update``, changed rows plus ``D`` rows) versus full ones (``action: refresh``);
``pagination`` with absolute ``next_page`` URLs on the same host that repeat ``schema``,
``data_schema`` and ``data_schema_info``; image fields with sizes, ``["U"]`` for images unchanged
since ``last_update``; cascade options ``first_parent_level``, ``same_parent_variants`` and
``parents_category_tree``; gzip when asked; an optional leading BOM; fault injection per page.

Mounted by the emulator at ``/saleslayer`` (``listingsync emulator --saleslayer FILE``); for tests
:func:`run_in_thread` serves it alone on a free loopback port.

The catalogue file (YAML or JSON)::

    connector:
      code: CN9999H9999C999                # the connector ID clients send as ``code``
      secret: 0123456789abcdef…            # the connector's private key
      default_language: en
      languages: [en, es]
      clock: 1717171717     # optional: the catalogue's "now" (response ``time``); default: wall clock
      check_time: true      # error 13 when ``time`` is more than max_skew s from the wall clock
      max_skew: 900         # invented: Sales Layer's real tolerance is not documented
      exact_pagination: false  # true: pages hold exactly ``pagination`` rows; false: Sales Layer's ranges
      bom: false            # start each body with a UTF-8 BOM (clients must cope)
      image_host: https://img.example-sl-cdn.test
    image_sizes: {ORG: [2000, 2000], IMD: [600, 600], THM: [150, 150]}
    tables:
      catalogue:
        fields: {section_reference: string, section_name: {type: string, multilingual: true}}
        records:
          - {ID: 11, ID_PARENT: 0, modified: 1717000000, section_reference: K,
             section_name: {en: Kitchen, es: Cocina}}
      products:
        fields: {product_reference: string, product_name: {type: string, multilingual: true},
                 product_image: image, product_manual: file}
        records:
          - {ID: 501, ID_catalogue: [12], modified: 1717000000, product_reference: PRD-1,
             product_name: {en: Mug, es: Taza}, product_image: [mug-front, mug-side]}
          - {ID: 488, deleted: 1717100000}          # a deletion (D row in later incremental runs)
      product_formats:
        fields: {format_sku: string, format_image: image}
        records:
          - {ID: 7001, ID_products: 501, modified: 1717000000, format_sku: MUG-WHT}
    faults:
      - {page: 2, error: 11, times: 1}   # answer error 11 once on page 2 (page 1 = the first call)
      - {page: 1, malformed: true}       # a body that is not JSON
      - {page: 2, bad_data: "null"}      # the page's data is null ("missing", "list", "string")
      - {page: 3, next_page_to: 2}       # page 3's next_page leads back to page 2 (a cycle)

A record exists from its ``modified`` time on (so a file can script a timeline against ``clock``);
``images_modified`` (default ``modified``) dates its image fields. An image value is a list of names
(``{image_host}/{company_id}/{name}_{SIZE}.jpg``) or of URLs (``{size}`` in a URL is replaced).

Invented where Sales Layer's behaviour is undocumented (marked UNCONFIRMED in the
reference): the ``next_page`` query format, ``page_count`` as the total number of pages,
``error_message`` texts, the HTTP status (200 for errors, as the SDK expects), the skew limit.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = [
    "ERROR_MESSAGES",
    "FakeSalesLayer",
    "FakeSalesLayerServer",
    "create_app",
    "key256",
    "load_catalog",
    "run_in_thread",
]

API_VERSIONS = ("1.17", "1.18")
STANDARD_TABLES = ("catalogue", "products", "product_formats")
_PARENT_KEY = {"catalogue": "ID_PARENT", "products": "ID_catalogue", "product_formats": "ID_products"}

#: Error texts; the numbers are Sales Layer's (SDK error list), the wording is invented.
ERROR_MESSAGES: dict[int, str] = {
    1: "Validation error",
    2: "Invalid connector code",
    3: "Wrong unique key",
    4: "Invalid codification key",
    5: "Incorrect last update date",
    6: "API version does not exist",
    9: "Invalid private key",
    10: "Service temporarily blocked",
    11: "Service temporarily unavailable",
    12: "Incorrect date-code",
    13: "Date code has expired",
    14: "Updating data, try later",
}


def key256(code: str, secret: str, time_: str | int, unique: str | int) -> str:
    """Lower-case hex SHA-256 of ``code + secret + time + unique`` (no separators)."""
    return hashlib.sha256(f"{code}{secret}{time_}{unique}".encode()).hexdigest()


def _key_sha1(code: str, secret: str, time_: str, unique: str) -> str:
    return hashlib.sha1(f"{code}{secret}{time_}{unique}".encode(), usedforsecurity=False).hexdigest()


@dataclass
class _Field:
    name: str
    type: str = "string"
    multilingual: bool = False


@dataclass
class _Table:
    name: str
    fields: list[_Field]
    records: dict[int, dict[str, Any]]


@dataclass
class _Fault:
    page: int
    error: int | None = None
    malformed: bool = False
    times: int = 1
    #: The page's ``data`` replaced: ``null``, ``missing`` (no key), ``list`` or ``string``.
    bad_data: str | None = None
    #: ``next_page`` points at this page number instead (a pagination cycle; itself for a loop).
    next_page_to: int | None = None

    @property
    def rewrites_page(self) -> bool:
        return self.bad_data is not None or self.next_page_to is not None


@dataclass
class _Cursor:
    code: str
    time: int
    action: str
    pages: list[dict[str, list[list[Any]]]]
    page_length: int


@dataclass
class FakeSalesLayer:
    """The catalogue and connector behind the fake API; tests change it while the server runs."""

    code: str
    secret: str = field(repr=False)
    tables: dict[str, _Table] = field(repr=False)
    default_language: str = "en"
    languages: list[str] = field(default_factory=lambda: ["en"])
    company_id: int = 40123
    company_name: str = "Example Homeware S.L."
    connector_type: str = "CN_CUSTOM"
    clock: int | None = None
    check_time: bool = True
    max_skew: int = 900
    exact_pagination: bool = False
    bom: bool = False
    image_host: str = "https://img.example-sl-cdn.test"
    image_sizes: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"ORG": (2000, 2000), "IMD": (600, 600), "THM": (150, 150)}
    )
    faults: list[_Fault] = field(default_factory=list)
    #: Every request as (page, params without key256): what tests assert on the client's calls.
    requests: list[tuple[int, dict[str, str]]] = field(default_factory=list, repr=False)
    wall_clock: Callable[[], float] = field(default=time.time, repr=False)
    connector_changed: bool = False
    _cursors: dict[str, _Cursor] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- changes made by tests ---------------------------------------------------------------

    def now(self) -> int:
        return self.clock if self.clock is not None else int(self.wall_clock())

    def set_clock(self, value: int) -> None:
        self.clock = value

    def upsert(self, table: str, record: dict[str, Any], modified: int | None = None) -> None:
        """Add or replace a record, modified now (or at ``modified``)."""
        record = {**record, "modified": self.now() if modified is None else modified}
        with self._lock:
            self.tables[table].records[int(record["ID"])] = record

    def delete(self, table: str, record_id: int, at: int | None = None) -> None:
        with self._lock:
            record = self.tables[table].records.setdefault(record_id, {"ID": record_id, "modified": 0})
            record["deleted"] = self.now() if at is None else at

    def change_connector(self) -> None:
        """Any change to the connector's settings resets ``last_update``: the next export is a
        full ``refresh`` whatever the client sends (reference §1.3)."""
        self.connector_changed = True

    def add_fault(
        self,
        page: int,
        *,
        error: int | None = None,
        malformed: bool = False,
        times: int = 1,
        bad_data: str | None = None,
        next_page_to: int | None = None,
    ) -> None:
        with self._lock:
            self.faults.append(_Fault(page, error, malformed, times, bad_data, next_page_to))

    # --- the export --------------------------------------------------------------------------

    def _languages_of(self, f: _Field) -> list[str | None]:
        return list(self.languages) if f.multilingual else [None]

    def _data_schema(self, table: _Table) -> list[Any]:
        columns: list[Any] = ["STATUS", "ID"]
        if table.name in _PARENT_KEY:
            columns.append(_PARENT_KEY[table.name])
        for f in table.fields:
            if f.type == "image":
                columns.append({f.name: ["STATUS", "ID", *self.image_sizes]})
            elif f.type == "file":
                columns.append({f.name: ["STATUS", "ID", "FILE"]})
            else:
                columns.extend(f"{f.name}_{lang}" if lang else f.name for lang in self._languages_of(f))
        return columns

    def _data_schema_info(self, table: _Table) -> dict[str, Any]:
        info: dict[str, Any] = {"ID": {"type": "numeric", "title": "ID"}}
        if table.name in _PARENT_KEY:
            key = _PARENT_KEY[table.name]
            info[key] = {"type": "list" if key == "ID_catalogue" else "numeric", "title": key}
        for f in table.fields:
            for lang in self._languages_of(f):
                name = f"{f.name}_{lang}" if lang else f.name
                entry: dict[str, Any] = {"type": f.type, "origin": "database", "sanitized": name}
                if lang:
                    entry.update(basename=f.name, language_code=lang, title=f.name)
                else:
                    entry["titles"] = dict.fromkeys(self.languages, f.name)
                if f.type == "image":
                    entry["sizes"] = {s: {"width": w, "height": h} for s, (w, h) in self.image_sizes.items()}
                info[name] = entry
        return info

    def _media(self, f: _Field, value: Any, record_id: int) -> list[Any]:
        entries: list[Any] = []
        for position, item in enumerate(value or []):
            name = str(item)
            file_id = zlib.crc32(f"{record_id}/{f.name}/{position}/{name}".encode()) % 10_000_000
            if f.type == "file":
                url = name if "://" in name else f"{self.image_host}/{self.company_id}/{name}"
                entries.append(["M", file_id, url])
                continue
            urls = []
            for size in self.image_sizes:
                if "://" in name:
                    urls.append(name.replace("{size}", size))
                else:
                    urls.append(f"{self.image_host}/{self.company_id}/{name}_{size}.jpg")
            entries.append(["M", file_id, *urls])
        return entries

    def _row(self, table: _Table, record: dict[str, Any], last_update: int | None) -> list[Any]:
        row: list[Any] = ["M", record["ID"]]
        if table.name in _PARENT_KEY:
            row.append(record.get(_PARENT_KEY[table.name], 0))
        images_modified = int(record.get("images_modified", record.get("modified", 0)))
        for f in table.fields:
            value = record.get(f.name)
            if f.type in ("image", "file"):
                unchanged = last_update is not None and images_modified <= last_update
                row.append(["U"] if unchanged else self._media(f, value, record["ID"]))
            elif f.multilingual:
                texts = value if isinstance(value, dict) else {}
                row.extend(texts.get(lang, "") for lang in self.languages)
            else:
                row.append("" if value is None else value)
        return row

    def _rows(self, last_update: int | None, now: int, params: dict[str, str]) -> dict[str, list[list[Any]]]:
        """The rows of one export, per table, standard tables first."""
        full = last_update is None
        chosen: dict[str, dict[int, str]] = {name: {} for name in self.tables}  # ID → "M" | "D"
        for table in self.tables.values():
            for record_id, record in table.records.items():
                modified = int(record.get("modified", 0))
                deleted = self._deleted_at(table.name, record)
                if modified > now:
                    continue  # not created yet on the catalogue's clock
                if deleted is not None and int(deleted) <= now:
                    if not full and int(deleted) > int(last_update or 0):
                        chosen[table.name][record_id] = "D"
                    continue
                if full or modified > int(last_update or 0):
                    chosen[table.name][record_id] = "M"
        if not full:
            self._cascade(chosen, params, now)
        out: dict[str, list[list[Any]]] = {}
        order = [t for t in STANDARD_TABLES if t in self.tables] + [
            t for t in self.tables if t not in STANDARD_TABLES
        ]
        for name in order:
            table = self.tables[name]
            rows: list[list[Any]] = []
            for record_id in sorted(chosen[name]):
                if chosen[name][record_id] == "D":
                    rows.append(["D", record_id])
                else:
                    rows.append(self._row(table, table.records[record_id], None if full else last_update))
            out[name] = rows
        return out

    def _deleted_at(self, table: str, record: dict[str, Any]) -> int | None:
        """When the record went, its own deletion or (cascade, reference §1.8) its product's."""
        times = [int(record["deleted"])] if record.get("deleted") is not None else []
        if table == "product_formats" and "products" in self.tables:
            product = self.tables["products"].records.get(int(record.get("ID_products") or 0))
            if product is not None and product.get("deleted") is not None:
                times.append(int(product["deleted"]))
        return min(times) if times else None

    def _alive(self, table: str, record_id: Any, now: int) -> bool:
        record = self.tables.get(table, _Table(table, [], {})).records.get(int(record_id or 0))
        if record is None or int(record.get("modified", 0)) > now:
            return False
        deleted = self._deleted_at(table, record)
        return deleted is None or deleted > now

    def _cascade(self, chosen: dict[str, dict[int, str]], params: dict[str, str], now: int) -> None:
        """Rows that options add to an incremental export (reference §1.3)."""
        formats = self.tables.get("product_formats")
        products = self.tables.get("products")
        if params.get("same_parent_variants") == "1" and formats is not None:
            parents = {
                formats.records[i].get("ID_products")
                for i, s in chosen["product_formats"].items()
                if s == "M"
            }
            for record_id, record in formats.records.items():
                if record.get("ID_products") in parents and self._alive("product_formats", record_id, now):
                    chosen["product_formats"].setdefault(record_id, "M")
        if params.get("first_parent_level") == "1":
            if formats is not None and products is not None:
                for record_id, status in list(chosen["product_formats"].items()):
                    parent = formats.records[record_id].get("ID_products")
                    if status == "M" and self._alive("products", parent, now):
                        chosen["products"].setdefault(int(parent or 0), "M")
            if products is not None and "catalogue" in chosen:
                for record_id, status in list(chosen["products"].items()):
                    categories = products.records[record_id].get("ID_catalogue")
                    ids = categories if isinstance(categories, list) else [categories]
                    for category in ids:
                        if status == "M" and self._alive("catalogue", category, now):
                            chosen["catalogue"].setdefault(int(category or 0), "M")
        if params.get("parents_category_tree") == "1" and "catalogue" in self.tables:
            catalogue = self.tables["catalogue"]
            for record_id, status in list(chosen["catalogue"].items()):
                seen = {record_id}
                parent = catalogue.records[record_id].get("ID_PARENT") if status == "M" else None
                while parent and int(parent) not in seen and self._alive("catalogue", parent, now):
                    seen.add(int(parent))
                    chosen["catalogue"].setdefault(int(parent), "M")
                    parent = catalogue.records[int(parent)].get("ID_PARENT")

    def _page_length(self, asked: int) -> int:
        if self.exact_pagination:
            return max(asked, 1)
        # Sales Layer rounds to ranges: under 1000 → 500, 1001–1500 → 1000, and so on (reference
        # §1.3; the exact edges are UNCONFIRMED).
        return 500 if asked <= 1000 else (asked - 1) // 500 * 500

    def _header(self, now: int, action: str, version: str) -> dict[str, Any]:
        return {
            "version": version,
            "time": now,
            "action": action,
            "error": 0,
            "schema": {
                "connector_type": self.connector_type,
                "connector_ID": self.code,
                "company_ID": self.company_id,
                "company_name": self.company_name,
                "default_language": self.default_language,
                "languages": list(self.languages),
                "offline_mode": 0,
                "correct_language": 0,
                "sanitized_table_names": {t: t for t in self.tables},
                "language_table_names": {t: dict.fromkeys(self.languages, t) for t in self.tables},
            },
            "data_schema_info": {t.name: self._data_schema_info(t) for t in self.tables.values()},
            "data_schema": {t.name: self._data_schema(t) for t in self.tables.values()},
        }

    def _check_auth(self, p: dict[str, str]) -> int:
        if p.get("code") != self.code:
            return 2
        unique, time_ = p.get("unique", ""), p.get("time", "")
        if not unique.isdigit():
            return 3
        if not time_.isdigit():
            return 12
        if self.check_time and abs(int(time_) - int(self.wall_clock())) > self.max_skew:
            return 13
        if "key256" in p:
            good = hmac.compare_digest(p["key256"], key256(self.code, self.secret, time_, unique))
        else:
            good = hmac.compare_digest(p.get("key", ""), _key_sha1(self.code, self.secret, time_, unique))
        return 0 if good else 4

    def _fault(self, page: int) -> _Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.page == page and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def answer(self, params: dict[str, str], base_url: str) -> Any:
        """The JSON document (or a ``bytes`` body for a malformed-answer fault) for a request."""
        page = int(params["page"]) if params.get("page", "").isdigit() else 1
        self.requests.append((page, {k: v for k, v in params.items() if k not in ("key256", "key")}))
        version = params.get("ver") or "1.17"
        now = self.now()
        fault = self._fault(page)
        if fault is not None and fault.rewrites_page:
            return _rewrite(self._answer(params, base_url, page, version, now), fault)
        if fault is not None:
            if fault.malformed:
                return b'{"version": "1.18", "time": ' + str(now).encode() + b', "data": {"produ'
            return self._error(fault.error or 11, version)
        return self._answer(params, base_url, page, version, now)

    def _answer(self, params: dict[str, str], base_url: str, page: int, version: str, now: int) -> Any:
        if "page_token" in params:
            return self._next_page(params, page, base_url)
        error = self._check_auth(params)
        if error:
            return self._error(error, version if version in API_VERSIONS else "1.18")
        informative = 0
        if version not in API_VERSIONS:
            informative, version = 6, "1.18"
        last_update: int | None = None
        raw_last = params.get("last_update", "")
        if raw_last:
            if raw_last.isdigit():
                last_update = int(raw_last) or None  # last_update=0 returns everything
            else:
                informative = 5  # "incorrect last_update date: returns all data"
        if self.connector_changed:
            last_update, self.connector_changed = None, False
        action = "refresh" if last_update is None else "update"
        if params.get("test") == "1":
            doc = self._header(now, "testing", version)
            doc["data"] = {}
            return doc
        rows = self._rows(last_update, now, params)
        if version == "1.17":  # no pagination before 1.18
            doc = self._header(now, action, version)
            doc.update(
                data=rows, error=informative, waiting={"images": {"total": 0, "partial": 0}, "files": 0}
            )
            return doc
        asked = int(params["pagination"]) if params.get("pagination", "").isdigit() else 1000
        length = self._page_length(asked)
        pages = _paginate(rows, length)
        token = secrets.token_urlsafe(8)
        with self._lock:
            self._cursors[token] = _Cursor(self.code, now, action, pages, length)
        doc = self._page_doc(self._cursors[token], 1, token, base_url)
        doc["error"] = informative
        return doc

    def _next_page(self, params: dict[str, str], page: int, base_url: str) -> Any:
        cursor = self._cursors.get(params["page_token"])
        if cursor is None or params.get("code") != cursor.code or not 1 <= page <= len(cursor.pages):
            return self._error(1, "1.18")
        return self._page_doc(cursor, page, params["page_token"], base_url)

    def _page_doc(self, cursor: _Cursor, page: int, token: str, base_url: str) -> dict[str, Any]:
        doc = self._header(cursor.time, cursor.action, "1.18")
        doc["data"] = cursor.pages[page - 1]
        doc["waiting"] = {"images": {"total": 0, "partial": 0}, "files": 0}
        doc["page_count"] = len(cursor.pages)
        doc["page_length"] = cursor.page_length
        more = page < len(cursor.pages)
        doc["next_page"] = (
            f"{base_url}?code={cursor.code}&ver=1.18&page={page + 1}&page_token={token}" if more else ""
        )
        return doc

    def _error(self, code: int, version: str) -> dict[str, Any]:
        return {"version": version, "time": self.now(), "error": code, "error_message": ERROR_MESSAGES[code]}


_BAD_DATA: dict[str, Any] = {"null": None, "list": [["M", 1]], "string": "not rows"}


def _rewrite(doc: Any, fault: _Fault) -> Any:
    """Apply a page-rewriting fault to an answer (an error answer, without ``data``, is left alone)."""
    if not isinstance(doc, dict) or "data" not in doc:
        return doc
    if fault.bad_data == "missing":
        doc.pop("data", None)
    elif fault.bad_data is not None:
        doc["data"] = _BAD_DATA[fault.bad_data]
    if fault.next_page_to is not None and doc.get("next_page"):
        doc["next_page"] = re.sub(r"([?&]page=)\d+", rf"\g<1>{fault.next_page_to}", doc["next_page"])
    return doc


def _paginate(rows: dict[str, list[list[Any]]], length: int) -> list[dict[str, list[list[Any]]]]:
    """Split the rows of all tables, in table order, into pages of ``length`` rows."""
    flat = [(table, row) for table, table_rows in rows.items() for row in table_rows]
    pages: list[dict[str, list[list[Any]]]] = []
    for start in range(0, max(len(flat), 1), length):
        page: dict[str, list[list[Any]]] = {table: [] for table in rows}
        for table, row in flat[start : start + length]:
            page[table].append(row)
        pages.append(page)
    return pages


def _field(name: str, spec: Any) -> _Field:
    if isinstance(spec, str):
        return _Field(name, spec)
    if isinstance(spec, dict):
        return _Field(name, str(spec.get("type", "string")), bool(spec.get("multilingual", False)))
    raise ValueError(f"field {name!r}: expected a type name or {{type:, multilingual:}}, got {spec!r}")


def load_catalog(path: str | Path) -> FakeSalesLayer:
    """A :class:`FakeSalesLayer` from a catalogue file (format in the module docstring)."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) if not str(path).endswith(".json") else json.loads(text)
    if not isinstance(data, dict) or "connector" not in data or "tables" not in data:
        raise ValueError(f"{path}: a Sales Layer catalogue needs 'connector:' and 'tables:' sections")
    conn = data["connector"]
    tables = {
        name: _Table(
            name,
            [_field(n, s) for n, s in (spec.get("fields") or {}).items()],
            {int(r["ID"]): dict(r) for r in spec.get("records") or []},
        )
        for name, spec in data["tables"].items()
    }
    fake = FakeSalesLayer(
        code=str(conn["code"]),
        secret=str(conn["secret"]),
        tables=tables,
        default_language=str(conn.get("default_language", "en")),
        languages=[str(lang) for lang in conn.get("languages", [conn.get("default_language", "en")])],
        company_id=int(conn.get("company_id", 40123)),
        company_name=str(conn.get("company_name", "Example Homeware S.L.")),
        connector_type=str(conn.get("connector_type", "CN_CUSTOM")),
        clock=int(conn["clock"]) if conn.get("clock") is not None else None,
        check_time=bool(conn.get("check_time", True)),
        max_skew=int(conn.get("max_skew", 900)),
        exact_pagination=bool(conn.get("exact_pagination", False)),
        bom=bool(conn.get("bom", False)),
        image_host=str(conn.get("image_host", "https://img.example-sl-cdn.test")),
        faults=[_Fault(**f) for f in data.get("faults") or []],
    )
    if data.get("image_sizes"):
        fake.image_sizes = {str(k): (int(v[0]), int(v[1])) for k, v in data["image_sizes"].items()}
    return fake


def create_app(catalog_file: str | Path | FakeSalesLayer) -> Starlette:
    """The ASGI app serving ``catalog_file``; ``app.state.saleslayer`` is the live catalogue
    (tests may replace it with a fresh :class:`FakeSalesLayer` between requests)."""
    fake = catalog_file if isinstance(catalog_file, FakeSalesLayer) else load_catalog(catalog_file)

    async def endpoint(request: Request) -> Response:
        fake: FakeSalesLayer = app.state.saleslayer
        params = dict(request.query_params)
        if request.method == "POST":
            # The SDK posts application/x-www-form-urlencoded; parsed here without python-multipart.
            form = (await request.body()).decode("utf-8", errors="replace")
            params.update(urllib.parse.parse_qsl(form, keep_blank_values=True))
        base_url = str(request.url.replace(query=""))
        doc = fake.answer(params, base_url)
        body = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
        if fake.bom:
            body = b"\xef\xbb\xbf" + body
        headers = {"content-type": "application/json; charset=utf-8"}
        wants_gzip = "gzip" in request.headers.get("accept-encoding", "")
        if wants_gzip and params.get("compression", "1") != "0":
            body = gzip.compress(body, compresslevel=5)
            headers["content-encoding"] = "gzip"
        return Response(body, headers=headers)

    app = Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])])
    app.state.saleslayer = fake
    return app


@dataclass(frozen=True)
class FakeSalesLayerServer:
    url: str  # http://127.0.0.1:PORT/
    app: Starlette

    @property
    def fake(self) -> FakeSalesLayer:
        """The live catalogue: change it, or replace it with :meth:`reset`."""
        result: FakeSalesLayer = self.app.state.saleslayer
        return result

    def reset(self, fake: FakeSalesLayer) -> None:
        """Serve ``fake`` from now on (cheaper than a new server per test)."""
        self.app.state.saleslayer = fake


@contextlib.contextmanager
def run_in_thread(catalog_file: str | Path | FakeSalesLayer) -> Iterator[FakeSalesLayerServer]:
    """Serve the fake API alone on a free loopback port for the ``with`` block."""
    from listingsync.emulator.server import serve_in_thread  # the emulator's server imports us lazily

    app = create_app(catalog_file)
    with serve_in_thread(app, name="fake Sales Layer server", lifespan="off") as url:
        yield FakeSalesLayerServer(f"{url}/", app)
