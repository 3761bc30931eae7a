"""Flat records (a CSV row, a spreadsheet row, a JSON object) → :class:`Product`.

Column names are the user's. Roles are detected from common names and can all be set in the
``source:`` config:

* **SKU**: ``source.sku_field``, else the first of sku, seller_sku, item_sku, reference, ref,
  product_reference, article_number, code, id … (case, spaces and hyphens ignored).
* **Variations**: a row whose ``parent_sku`` (``source.parent_field``; also parent,
  parent_reference …) is filled is a variant of that SKU. Alternatively variants may sit in rows
  that repeat the product's SKU and carry their own in ``variant_sku`` (``source.variant_sku_field``;
  also format_sku, child_sku …): such a row is the variant ``variant_sku`` of product ``sku``.
* **Per-language fields**: ``title_de`` / ``title_fr``, ``title_de_DE``, ``title[de_DE]``, or in
  JSON an object ``{"de": …, "fr": …}``. A two-letter suffix (or JSON key) counts as a language
  when it is in ``source.languages``, or (when that is not set) when it is one of the languages of
  Amazon's stores (:data:`STORE_LANGUAGES`) and appears on two columns or more (so ``weight_kg``,
  ``net_weight_kg`` and ``volume_ml`` stay plain fields: units, not Kongo or Malayalam). Other
  languages are read when listed in ``source.languages``; the bracket and region forms always are.
* **Images**: ``source.image_fields`` in order, else columns named image, main_image, image_1 …
  image_9, image_url_2, picture_3, images … (unnumbered first, then by number). A cell may hold
  several URLs separated by ``source.list_separator`` (``|``); JSON may give a list.
* **Category**: ``source.category_field``, else category_path, category, categories …; the path is
  split on ``source.category_separator``, else on ``>`` or ``/`` when present; JSON may give a list.
* **Deleted**: a ``deleted`` column that is true (1, true, yes, x), or a ``status`` of deleted,
  removed or D.

Empty cells are absent from ``Product.fields``; every other column (the SKU and parent columns
included, so templates can use them) is kept under its own name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.catalog.model import CatalogProblem, Origin, Product, ProductStatus
from listingsync.catalog.source import CatalogError
from listingsync.config.source import SourceConfig

__all__ = ["STORE_LANGUAGES", "ColumnRoles", "RowMapper", "language_base", "normalize_name"]

SKU_NAMES = (
    "sku",
    "seller_sku",
    "item_sku",
    "merchant_sku",
    "product_sku",
    "sku_id",
    "reference",
    "ref",
    "product_reference",
    "product_ref",
    "article_number",
    "article_no",
    "item_number",
    "artikelnummer",
    "referencia",
    "product_code",
    "code",
    "id",
    "product_id",
)
VARIANT_SKU_NAMES = (
    "variant_sku",
    "format_sku",
    "child_sku",
    "variation_sku",
    "variant_reference",
    "format_reference",
)
PARENT_NAMES = (
    "parent_sku",
    "parent",
    "parent_reference",
    "parent_ref",
    "parent_item_sku",
    "parentsku",
    "parent_id",
)
CATEGORY_NAMES = (
    "category_path",
    "category",
    "categories",
    "product_category",
    "category_name",
    "categoria",
    "kategorie",
)
_IMAGE_NAME = re.compile(
    r"^(?:main_|other_|additional_|alt_)?(?:image|img|picture|photo|foto|bild)s?"
    r"(?:_?(?:url|link)s?)?(?:_?(\d+))?$"
)
_BRACKET_LANG = re.compile(r"^(.+?)\s*\[([A-Za-z]{2,3}(?:[-_][A-Za-z]{2})?)\]$")
_REGION_LANG = re.compile(r"^(.+?)[_.-]([a-z]{2}[_-][A-Z]{2})$")
_SUFFIX_LANG = re.compile(r"^(.+?)[_.-]([A-Za-z]{2})$")

#: Languages taken without ``source.languages``: those of Amazon's stores (each marketplace's own,
#: the bilingual stores' second, the product type schema locales; amazon/marketplaces.py, which
#: catalog/ does not import). A wider list (ISO 639-1) read unit suffixes as languages: ``_kg``
#: Kongo, ``_ml`` Malayalam, ``_lb`` Luxembourgish.
STORE_LANGUAGES = frozenset(
    {"ar", "de", "en", "es", "fr", "hi", "it", "ja", "nl", "pl", "pt", "sv", "tr", "zh"}
)
_TRUE = frozenset({"1", "true", "yes", "y", "x", "t"})
_DELETED_STATUS = frozenset({"deleted", "delete", "removed", "d"})


# Column kinds: plain field, image column, or (field name, language) of a per-language column.
_PLAIN = "plain"
_IMAGE = "image"
_Kind = str | tuple[str, str]


def normalize_name(name: str) -> str:
    """``"Seller SKU"`` → ``"seller_sku"``: how column names are compared with the known names."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _find(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalize_name(col), col)
    for candidate in candidates:
        if candidate in by_norm:
            return by_norm[candidate]
    return None


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which part; shown by ``catalog inspect``."""

    sku: str
    variant_sku: str | None = None
    parent: str | None = None
    category: str | None = None
    images: tuple[str, ...] = ()
    #: column → (field name, language)
    localized: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    deleted: str | None = None
    status: str | None = None


def detect_roles(columns: Sequence[str], config: SourceConfig, where: str) -> ColumnRoles:
    """The column roles from the header and the config; :class:`CatalogError` when no SKU column."""
    present = set(columns)

    def configured(key: str, value: str | None) -> str | None:
        if value is not None and value not in present:
            raise CatalogError(
                f"source.{key} names the column {value!r}, which {where} does not have",
                where=where,
                fix=f"use one of its columns: {', '.join(columns[:30])}",
            )
        return value

    sku = configured("sku_field", config.sku_field) or _find(columns, SKU_NAMES)
    if sku is None:
        raise CatalogError(
            "no SKU column found (looked for sku, seller_sku, reference, article_number, id …)",
            where=where,
            fix=f"set source.sku_field to the column holding the SKU; columns are: {', '.join(columns[:30])}",
        )
    variant_sku = configured("variant_sku_field", config.variant_sku_field) or _find(
        columns, VARIANT_SKU_NAMES
    )
    parent = configured("parent_field", config.parent_field) or _find(columns, PARENT_NAMES)
    if parent == sku:
        parent = None
    category = configured("category_field", config.category_field) or _find(columns, CATEGORY_NAMES)
    taken = {c for c in (sku, variant_sku, parent, category) if c}

    if config.image_fields is not None:
        for name in config.image_fields:
            configured("image_fields", name)
        images = tuple(config.image_fields)
    else:
        found: list[tuple[int, int, str]] = []
        for position, col in enumerate(columns):
            match = _IMAGE_NAME.match(normalize_name(col))
            if match and col not in taken:
                number = int(match.group(1)) if match.group(1) else 0
                found.append((number, position, col))
        images = tuple(col for _, _, col in sorted(found))
    taken.update(images)

    localized = _detect_languages([c for c in columns if c not in taken], config.languages)
    deleted = _find(columns, ("deleted", "is_deleted"))
    status = _find(columns, ("status",))
    return ColumnRoles(sku, variant_sku, parent, category, images, localized, deleted, status)


def _detect_languages(columns: Sequence[str], languages: Sequence[str] | None) -> dict[str, tuple[str, str]]:
    wanted = {lang.lower().replace("-", "_") for lang in languages} if languages is not None else None
    out: dict[str, tuple[str, str]] = {}
    candidates: dict[str, tuple[str, str]] = {}
    for col in columns:
        match = _BRACKET_LANG.match(col) or _REGION_LANG.match(col)
        if match:
            lang = match.group(2)
            if wanted is None or lang.lower().replace("-", "_") in wanted or lang[:2].lower() in wanted:
                out[col] = (match.group(1), lang)
            continue
        match = _SUFFIX_LANG.match(col)
        if match:
            candidates[col] = (match.group(1), match.group(2))
    if wanted is not None:
        out.update({c: bl for c, bl in candidates.items() if bl[1].lower() in wanted})
        return out
    # Without a configured list, a suffix is a language when it is a store language and shows up
    # on two columns or more (title_de + description_de, or title_de + title_fr).
    plausible = {c: (base, lang) for c, (base, lang) in candidates.items() if lang in STORE_LANGUAGES}
    per_lang = Counter(lang for _, lang in plausible.values())
    per_base = Counter(base for base, _ in plausible.values())
    for col, (base, lang) in plausible.items():
        if per_lang[lang] >= 2 or per_base[base] >= 2:
            out[col] = (base, lang)
    return out


def language_base(column: str) -> str | None:
    """The field a per-language column belongs to, as far as its name alone tells (no
    ``source.languages``, no second column): ``title`` for ``title[de_DE]``, ``title_de_DE`` or
    ``title_de``; None for ``product_weight_kg`` and every other column."""
    match = _BRACKET_LANG.match(column) or _REGION_LANG.match(column)
    if match is None:
        match = _SUFFIX_LANG.match(column)
        if match is None or match.group(2).lower() not in STORE_LANGUAGES:
            return None
    return match.group(1)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean(value: Any) -> str | None:
    """A role value (SKU, parent, status) as stripped text; None when empty."""
    if value.__class__ is str:
        return value.strip() or None
    if value is None or value == []:
        return None
    return _text(value) or None


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets store 12345 as 12345.0
    return str(value).strip()


class RowMapper:
    """Maps one source's records to products, with the roles detected once from its columns."""

    def __init__(self, config: SourceConfig, columns: Sequence[str], where: str) -> None:
        self.config = config
        self.where = where
        self.roles = detect_roles(columns, config, where)
        self._separator = config.category_separator
        self._list_sep = config.list_separator
        self._languages = (
            {lang.lower() for lang in config.languages}
            if config.languages is not None
            else {lang for _, lang in self.roles.localized.values()}
        )
        self._image_set = frozenset(self.roles.images)
        self._categories: dict[Any, tuple[str, ...]] = {}
        # Header columns are classified once; keys first seen later (JSON) are classified on sight.
        self._kinds: dict[str, _Kind] = {}
        for column in columns:
            if column in self._image_set:
                self._kinds[column] = _IMAGE
            else:
                self._kinds[column] = self.roles.localized.get(column) or _PLAIN
        #: Positions of the identity roles' columns (sku, variant, parent, deleted, status), or None.
        self._identity_at: tuple[int | None, ...] | None = None
        #: Per header column: (name, 0 field | 1 image | 2 per-language, (field, language) or None).
        self._plan: list[tuple[str, int, tuple[str, str] | None]] = [
            (
                c,
                1 if c in self._image_set else 2 if c in self.roles.localized else 0,
                self.roles.localized.get(c),
            )
            for c in columns
        ]

    def _classify(self, column: str) -> _Kind:
        """The kind of a column not in the header (a later JSON object's new key), cached."""
        match = _BRACKET_LANG.match(column) or _REGION_LANG.match(column) or _SUFFIX_LANG.match(column)
        kind: _Kind = _PLAIN
        if column in self._image_set:
            kind = _IMAGE
        elif match and (match.group(2).lower() in self._languages or match.re is not _SUFFIX_LANG):
            kind = (match.group(1), match.group(2))
        self._kinds[column] = kind
        return kind

    def product(
        self, row: Mapping[str, Any], origin: Origin, cells: Sequence[str] | None = None
    ) -> Product | CatalogProblem:
        """The product of one record; ``cells`` (optional) are the same values as a list in header
        order, all text (CSV), which lets the per-cell loop skip the dict lookups."""
        roles = self.roles
        get = row.get
        sku = _clean(get(roles.sku))
        parent: str | None = None
        if roles.variant_sku is not None:
            variant_sku = _clean(get(roles.variant_sku))
            if variant_sku is not None:
                if sku is None:
                    return CatalogProblem(
                        origin,
                        f"variant {variant_sku!r} has no product SKU in column {roles.sku!r}; fill it "
                        "with the SKU of the product it belongs to",
                        sku=variant_sku,
                    )
                parent, sku = sku, variant_sku
        if sku is None:
            return CatalogProblem(
                origin,
                f"no SKU: column {roles.sku!r} is empty; fill it (or set source.sku_field "
                "to the column that holds the SKU)",
            )
        if parent is None and roles.parent is not None:
            parent = _clean(get(roles.parent))

        fields: dict[str, Any] = {}
        localized: dict[str, dict[str, Any]] = {}
        images: list[str] = []
        if cells is not None:
            for (column, code, lang_of), cell in zip(self._plan, cells, strict=True):
                if not cell or cell.isspace() or code == 1:
                    continue
                if lang_of is None:
                    fields[column] = cell
                else:
                    texts = localized.get(lang_of[0])
                    if texts is None:
                        localized[lang_of[0]] = {lang_of[1]: cell}
                    else:
                        texts[lang_of[1]] = cell
        kinds = self._kinds
        # The hot loop of every file source: one dict lookup per cell, no calls for empty cells.
        for column, value in row.items() if cells is None else ():
            if value.__class__ is str:
                if not value or value.isspace():
                    continue
            elif value is None or value == []:
                continue
            kind = kinds.get(column)
            if kind is None:
                kind = self._classify(column)
            if kind is _PLAIN:
                if value.__class__ is dict and value and all(self._is_language_key(k) for k in value):
                    localized[column] = {k: v for k, v in value.items() if not _empty(v)}
                else:
                    fields[column] = value
            elif isinstance(kind, tuple):
                base, lang = kind
                texts = localized.get(base)
                if texts is None:
                    localized[base] = {lang: value}
                else:
                    texts[lang] = value
        separator = self._list_sep
        for column in roles.images:
            value = get(column)
            if value.__class__ is str:
                if separator not in value:
                    value = value.strip()
                    if value:
                        images.append(value)
                    continue
                images.extend(part.strip() for part in value.split(separator) if part.strip())
            elif isinstance(value, list):
                images.extend(_text(v) for v in value if not _empty(v))
            elif value is not None:
                images.append(_text(value))

        category: tuple[str, ...] = ()
        if roles.category is not None:
            value = get(roles.category)
            if not _empty(value):
                category = self._category(value)

        status = ProductStatus.ACTIVE
        if roles.deleted is not None and (_clean(get(roles.deleted)) or "").lower() in _TRUE:
            status = ProductStatus.DELETED
        if roles.status is not None and (_clean(get(roles.status)) or "").lower() in _DELETED_STATUS:
            status = ProductStatus.DELETED
        return Product(
            sku=sku,
            origin=origin,
            parent_sku=parent,
            category_path=category,
            fields=fields,
            localized=localized,
            images=images,
            status=status,
            raw=row if type(row) is dict else dict(row),  # each source hands over a fresh dict
        )

    def identity(self, cells: Sequence[str]) -> tuple[str, str | None, bool] | tuple[None, str, str | None]:
        """What :meth:`product` reads of a CSV row to know which record it is, without the rest:
        ``(sku, parent_sku, deleted)``, or ``(None, message, sku)`` for the problem ``product``
        would report. A no-change sync asks only this of the rows it skips (see
        :mod:`listingsync.sync.rawskip`), so it must decide exactly as :meth:`product` does."""
        at = self._identity_at
        if at is None:
            index = {c: i for i, (c, _code, _lang) in enumerate(self._plan)}
            roles = self.roles
            columns = (roles.sku, roles.variant_sku, roles.parent, roles.deleted, roles.status)
            at = self._identity_at = tuple(index[c] if c is not None else None for c in columns)
        sku_at, variant_at, parent_at, deleted_at, status_at = at
        sku = _clean(cells[sku_at]) if sku_at is not None else None
        parent: str | None = None
        if variant_at is not None:
            variant_sku = _clean(cells[variant_at])
            if variant_sku is not None:
                if sku is None:
                    return (
                        None,
                        f"variant {variant_sku!r} has no product SKU in column {self.roles.sku!r}; fill it "
                        "with the SKU of the product it belongs to",
                        variant_sku,
                    )
                parent, sku = sku, variant_sku
        if sku is None:
            return (
                None,
                f"no SKU: column {self.roles.sku!r} is empty; fill it (or set source.sku_field "
                "to the column that holds the SKU)",
                None,
            )
        if parent is None and parent_at is not None:
            parent = _clean(cells[parent_at])
        deleted = (deleted_at is not None and (_clean(cells[deleted_at]) or "").lower() in _TRUE) or (
            status_at is not None and (_clean(cells[status_at]) or "").lower() in _DELETED_STATUS
        )
        return sku, parent, deleted

    def _is_language_key(self, key: Any) -> bool:
        if not isinstance(key, str):
            return False
        base = key[:2].lower()
        if self._languages:
            return key.lower().replace("-", "_") in self._languages or base in self._languages
        return len(key) in (2, 5) and base in STORE_LANGUAGES and (len(key) == 2 or key[2] in "_-")

    def _category(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, list):
            return tuple(_text(v) for v in value if not _empty(v))
        # Catalogues repeat a few category paths many times: split each distinct one once.
        cache = self._categories
        found = cache.get(value)
        if found is None:
            if len(cache) >= 10_000:
                cache.clear()
            found = cache[value] = self._split_category(value)
        return found

    def _split_category(self, value: Any) -> tuple[str, ...]:
        text = _text(value)
        separator = self._separator
        if separator is None:
            separator = ">" if ">" in text else "/" if "/" in text else None
        if separator is None:
            return (text,)
        return tuple(part.strip() for part in text.split(separator) if part.strip())
