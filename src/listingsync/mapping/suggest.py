"""``mapping suggest``: a starter ``listings:`` section for a product type and a catalogue.

It lists the schema's required attributes, then the conditionally required ones and a few commonly
recommended ones, and matches each to a catalogue field by name and label similarity (difflib over
the attribute name, its title and the value's title, plus a handful of well-known synonyms such as
``title`` → ``item_name``). Matched attributes get a template; unmatched ones are written commented
out with a note, so the file loads and the user sees what is left to do. Attributes the builder fills
by itself (images, barcode, variations, offer) are named in a comment instead.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from listingsync.mapping.shape import enum_values

__all__ = ["AUTOMATIC", "Suggestion", "render_suggestion", "suggest_attributes"]

#: Filled by the builder from the record's images, barcode, parent and offer fields.
AUTOMATIC = frozenset(
    {
        "main_product_image_locator",
        *(f"other_product_image_locator_{i}" for i in range(1, 9)),
        "swatch_product_image_locator",
        "externally_assigned_product_identifier",
        "supplier_declared_has_product_identifier_exemption",
        "parentage_level",
        "child_parent_sku_relationship",
        "variation_theme",
        "purchasable_offer",
        "fulfillment_availability",
        "condition_type",
    }
)
_RECOMMENDED = (
    "list_price",
    "manufacturer",
    "model_number",
    "generic_keyword",
    "color",
    "size",
    "material",
    "item_weight",
    "item_dimensions",
    "number_of_items",
)
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "item_name": ("title", "name", "product_name", "titre", "titel", "nombre"),
    "product_description": ("description", "long_description", "desc", "beschreibung"),
    "bullet_point": ("bullet", "bullets", "feature", "features", "highlights"),
    "generic_keyword": ("keywords", "search_terms", "tags"),
    "brand": ("brand", "brand_name", "marque", "marke"),
    "country_of_origin": ("origin", "country", "made_in"),
    "item_type_keyword": ("item_type", "type", "product_type_keyword"),
    "list_price": ("list_price", "rrp", "msrp", "retail_price"),
    "item_weight": ("weight", "weight_kg", "poids", "gewicht"),
    "model_number": ("model", "model_number", "mpn"),
    "part_number": ("mpn", "part_number", "model_number"),
    "manufacturer": ("manufacturer", "maker", "hersteller"),
    "color": ("colour", "color", "couleur", "farbe"),
    "recommended_browse_nodes": ("browse_node", "node"),
}
_CUTOFF = 0.72


@dataclass(frozen=True, slots=True)
class Suggestion:
    attribute: str
    title: str
    #: ``required``, ``conditional`` or ``recommended``.
    kind: str
    #: The matched catalogue field (or fields, for a list like bullet points), empty when none.
    fields: tuple[str, ...]
    score: float
    allowed: tuple[str, ...] = ()
    example: str = ""


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _norm(a), _norm(b)).ratio()


def _conditional(schema: Mapping[str, Any]) -> list[str]:
    """Attributes named in any ``then.required`` of the schema's top-level conditionals."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            then = node.get("then")
            if isinstance(then, Mapping):
                for name in then.get("required") or ():
                    if name not in found:
                        found.append(str(name))
            for key in ("allOf", "anyOf", "oneOf"):
                for sub in node.get(key) or ():
                    walk(sub)

    walk(schema)
    return found


def _value_node(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    props = (prop.get("items") or {}).get("properties") or {}
    for key in ("value", "value_with_tax", "media_location", "name"):
        if key in props:
            return props[key]  # type: ignore[no-any-return]
    return {}


def _match(attribute: str, prop: Mapping[str, Any], fields: list[str]) -> tuple[tuple[str, ...], float]:
    value = _value_node(prop)
    labels = [attribute, str(prop.get("title") or ""), str(value.get("title") or "")]
    synonyms = _SYNONYMS.get(attribute, ())
    best, best_score = "", 0.0
    for field in fields:
        score = max(_similarity(label, field) for label in labels if label)
        if _norm(field) in synonyms or _norm(field) == attribute:
            score = max(score, 0.95 if _norm(field) == attribute else 0.9)
        if score > best_score:
            best, best_score = field, score
    if attribute == "bullet_point":
        numbered = sorted(
            (f for f in fields if re.match(r"^(bullet|feature|highlight)[_ ]?\d+$", _norm(f))),
            key=lambda f: int(re.sub(r"\D", "", f) or 0),
        )
        if numbered:
            return tuple(numbered), 0.9
    if best_score >= _CUTOFF:
        return (best,), round(best_score, 2)
    return (), round(best_score, 2)


def suggest_attributes(
    schema: Mapping[str, Any], fields: Iterable[str], *, include_recommended: bool = True
) -> list[Suggestion]:
    """What to map for ``schema`` and from which of the catalogue's ``fields``."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    names = sorted(dict.fromkeys(fields))
    order: list[tuple[str, str]] = [(n, "required") for n in schema.get("required") or () if n in props]
    seen = {n for n, _ in order}
    for name in _conditional(schema):
        if name in props and name not in seen:
            order.append((name, "conditional"))
            seen.add(name)
    if include_recommended:
        for name in _RECOMMENDED:
            if name in props and name not in seen:
                order.append((name, "recommended"))
                seen.add(name)
    out: list[Suggestion] = []
    for name, kind in order:
        if name in AUTOMATIC:
            continue
        prop = props[name]
        matched, score = _match(name, prop, names)
        allowed, labels = enum_values(_value_node(prop))
        examples = prop.get("examples") or _value_node(prop).get("examples") or []
        out.append(
            Suggestion(
                attribute=name,
                title=str(prop.get("title") or name),
                kind=kind,
                fields=matched,
                score=score,
                allowed=tuple(
                    f"{v} ({label})" if label and label != v else str(v)
                    for v, label in zip(allowed, labels or [""] * len(allowed), strict=False)
                ),
                example=str(examples[0]) if examples else "",
            )
        )
    return out


def _template(fields: tuple[str, ...]) -> str:
    if len(fields) == 1:
        return json.dumps("{{ " + fields[0] + " }}")
    return "[" + ", ".join(json.dumps("{{ " + f + " }}") for f in fields) + "]"


def render_suggestion(
    product_type: str,
    marketplace: str,
    suggestions: list[Suggestion],
    *,
    source: str = "",
    automatic: Iterable[str] = (),
) -> str:
    """The starter mapping as YAML text with comments (a ``listings:`` section)."""
    lines = [
        f"# Starter mapping for {product_type} in {marketplace}"
        + (f", matched against the fields of {source}" if source else "")
        + ".",
        "# Review every line: matches are by name similarity. Commented-out attributes found no field.",
        "listings:",
        f"  product_type: {product_type}",
        "  attributes:",
    ]
    current = ""
    headings = {
        "required": "required",
        "conditional": "required in some cases (e.g. for non-parent items)",
        "recommended": "recommended",
    }
    for s in suggestions:
        if s.kind != current:
            lines.append(f"    # --- {headings[s.kind]} ---")
            current = s.kind
        note = s.title
        if s.allowed:
            shown = ", ".join(s.allowed[:8]) + (f" … ({len(s.allowed)} values)" if len(s.allowed) > 8 else "")
            note += f"; allowed: {shown}"
        elif s.example:
            note += f"; e.g. {s.example}"
        if s.fields:
            lines.append(f"    {s.attribute}: {_template(s.fields)}  # {note} (match {s.score})")
        else:
            lines.append(f"    # {s.attribute}: ''  # no matching catalogue field: {note}")
    auto = sorted(automatic)
    if auto:
        lines.append("  # Filled automatically from the record (images, barcode, variations, offer):")
        lines.append("  #   " + ", ".join(auto))
    return "\n".join(lines) + "\n"
