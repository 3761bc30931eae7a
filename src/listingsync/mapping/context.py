"""What a template sees: a record's fields, with per-language fields resolved to one language.

``title`` in a template is the record's ``localized["title"]`` value for the marketplace's language
(``fr_FR`` matches a source key ``fr_FR``, ``fr-FR`` or ``fr``), or the plain field ``title`` when the
record has no localized one. Besides the record's own fields a template sees ``sku``, ``parent_sku``,
``category`` (the last category of the path, unless the record has a ``category`` field),
``category_path``, ``images``, ``marketplace`` (country code), ``marketplace_id``, ``language_tag``,
``currency``, and for a variant ``parent`` (its parent's context).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from listingsync.amazon.marketplaces import Marketplace
from listingsync.catalog.model import Product

__all__ = ["pick_language", "record_context", "record_fields"]


#: Normalised language keys: a catalogue has a handful (``en``, ``fr-FR`` …), read for every record.
_NORMS: dict[str, str] = {}


def _norm(tag: str) -> str:
    found = _NORMS.get(tag)
    if found is None:
        found = tag.strip().replace("-", "_").casefold()
        if len(_NORMS) < 4096:  # bounded: keys are language tags, not data
            _NORMS[tag] = found
    return found


def pick_language(values: Mapping[str, Any], languages: Iterable[str]) -> tuple[bool, Any]:
    """The value for the first of ``languages`` the record has (exact tag, then language part)."""
    for key in _search_order(tuple(values), tuple(languages)):
        value = values[key]
        if value is not None and value != "":
            return True, value
    return False, None


#: Search orders by (the record's language keys, the wanted languages): a catalogue has a few.
_ORDERS: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}


def _search_order(keys: tuple[str, ...], languages: tuple[str, ...]) -> tuple[str, ...]:
    """The keys to try, in order: per wanted language its exact tag, its language part, then every
    key of that language (``fr_CA`` for ``fr_FR``). Keys that normalise alike: the last one counts."""
    found = _ORDERS.get((keys, languages))
    if found is not None:
        return found
    by_norm = {_norm(k): k for k in keys}
    order: list[str] = []
    for lang in languages:
        tag = _norm(lang)
        base = tag.split("_", 1)[0]
        for norm in (tag, base, *(n for n in by_norm if n.split("_", 1)[0] == base)):
            key = by_norm.get(norm)
            if key is not None and key not in order:
                order.append(key)
    found = tuple(order)
    if len(_ORDERS) < 4096:  # bounded: keys are language tags, not data
        _ORDERS[(keys, languages)] = found
    return found


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


#: Names every record's context has besides its fields (see :func:`record_context`).
PROVIDED = frozenset(
    {
        "sku",
        "parent_sku",
        "category",
        "category_path",
        "images",
        "marketplace",
        "marketplace_id",
        "language_tag",
        "currency",
        "parent",
    }
)
#: Of those, the ones about the marketplace rather than the record: usable in templates, but never
#: offered as "did you mean" for a catalogue field.
INTERNAL = frozenset({"marketplace", "marketplace_id", "language_tag", "currency", "parent"})


def record_fields(product: Product, defaults: Iterable[str] = ()) -> dict[str, Any]:
    """The part of :func:`record_context` without a parent that no marketplace changes: ``defaults``
    as empty cells, then the record's plain fields."""
    ctx: dict[str, Any] = dict.fromkeys(defaults, "")
    _add_fields(ctx, product)
    return ctx


def _add_fields(ctx: dict[str, Any], product: Product) -> None:
    for key, value in product.fields.items():
        if not _empty(value) or key not in ctx:
            ctx[key] = value


def record_context(
    product: Product,
    marketplace: Marketplace,
    language_tag: str,
    *,
    languages: Iterable[str] = (),
    parent: Mapping[str, Any] | None = None,
    defaults: Iterable[str] = (),
    own: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context of ``product`` in ``marketplace``; ``parent``'s values fill empty fields.

    ``defaults`` are field names the catalogue has elsewhere: absent here, they are "" (an empty cell),
    so only a name no record has makes a template fail. ``own``: :func:`record_fields` of the
    product and ``defaults``, the same in every marketplace (without a ``parent``), made once.
    """
    wanted = (language_tag, *languages)  # a tuple: pick_language keys its cache by it
    if parent is None:
        ctx = dict(own) if own is not None else record_fields(product, defaults)
    else:
        ctx = dict.fromkeys(defaults, "")
        ctx.update({k: v for k, v in parent.items() if k != "parent"})
        _add_fields(ctx, product)
    for key, per_language in product.localized.items():
        found, value = pick_language(per_language, wanted)
        if found:
            ctx[key] = value
        elif key not in ctx or _empty(ctx[key]):
            ctx[key] = ""
    if "category" not in ctx or _empty(ctx.get("category")):
        ctx["category"] = product.category_path[-1] if product.category_path else ctx.get("category", "")
    ctx.update(
        sku=product.sku,
        parent_sku=product.parent_sku,
        category_path=list(product.category_path),
        images=list(product.images) or list((parent or {}).get("images") or []),
        marketplace=marketplace.country,
        marketplace_id=marketplace.marketplace_id,
        language_tag=language_tag,
        currency=marketplace.currency,
    )
    if parent is not None:
        ctx["parent"] = dict(parent)
    return ctx
