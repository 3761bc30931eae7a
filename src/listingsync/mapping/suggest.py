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
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from listingsync.mapping.shape import enum_values

__all__ = [
    "AUTOMATIC",
    "Suggestion",
    "core_name",
    "data_fields",
    "render_suggestion",
    "suggest_attributes",
    "suggest_identifier",
    "unit_of",
]

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
#: Catalogue field names (after :func:`core_name`) that mean an attribute, in the languages of
#: Amazon's marketplaces (en, de, fr, es, it, nl, pl, sv, pt, tr): a German PIM says ``marke``,
#: a Spanish one ``marca``.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "item_name": (
        "title",
        "name",
        "product_name",
        "product_title",
        "titre",
        "titel",
        "titolo",
        "titulo",
        "nombre",
        "nom",
        "naam",
        "nazwa",
        "tytul",
        "nome",
        "benaming",
        "bezeichnung",
        "artikelname",
        "produktname",
        "designation",
        "denominazione",
        "denominacion",
    ),
    "product_description": (
        "description",
        "long_description",
        "desc",
        "beschreibung",
        "descripcion",
        "descrizione",
        "beschrijving",
        "opis",
        "beskrivning",
        "descricao",
        "aciklama",
        "langbeschreibung",
        "description_longue",
        "descripcion_larga",
    ),
    "bullet_point": (
        "bullet",
        "bullets",
        "bullet_points",
        "feature",
        "features",
        "highlights",
        "key_features",
        "merkmale",
        "eigenschaften",
        "caracteristiques",
        "puntos",
        "puntos_clave",
        "caracteristicas",
        "caratteristiche",
        "punti_elenco",
        "kenmerken",
        "cechy",
        "egenskaper",
    ),
    "generic_keyword": ("keywords", "search_terms", "tags", "schlagworte", "mots_cles", "palabras_clave"),
    "brand": ("brand", "brand_name", "marque", "marke", "marca", "merk", "marka", "varumarke"),
    "country_of_origin": ("origin", "country", "made_in", "herkunftsland", "pays_origine", "pais_origen"),
    "item_type_keyword": ("item_type", "type", "product_type_keyword"),
    "list_price": (
        "list_price",
        "price",
        "rrp",
        "msrp",
        "retail_price",
        "pvp",
        "uvp",
        "preis",
        "prix",
        "precio",
        "prezzo",
        "prijs",
        "cena",
        "pris",
        "preco",
        "fiyat",
        "price_with_tax",
        "gross_price",
    ),
    "item_weight": ("weight", "net_weight", "poids", "gewicht", "peso", "waga", "vikt", "agirlik"),
    "model_number": ("model", "model_number", "mpn", "modell", "modele", "modelo", "modello"),
    "part_number": ("mpn", "part_number", "model_number"),
    "manufacturer": (
        "manufacturer",
        "maker",
        "hersteller",
        "fabricant",
        "fabricante",
        "produttore",
        "fabrikant",
    ),
    "color": (
        "colour",
        "color",
        "couleur",
        "farbe",
        "colore",
        "kleur",
        "kolor",
        "farg",
        "cor",
        "renk",
    ),
    "material": ("material", "materiau", "materiale", "materiaal", "werkstoff"),
    "size": ("size", "groesse", "grosse", "taille", "talla", "taglia", "maat", "rozmiar", "storlek"),
    "recommended_browse_nodes": ("browse_node", "node"),
}
#: Names of a barcode field (EAN/UPC/GTIN), for ``listings.identifier``.
_BARCODE_NAMES = (
    "ean",
    "ean13",
    "ean_13",
    "gtin",
    "gtin13",
    "gtin14",
    "upc",
    "upc_a",
    "barcode",
    "bar_code",
    "isbn",
    "isbn13",
    "jan",
    "strichcode",
    "code_barre",
    "code_barres",
    "codigo_barras",
    "codice_a_barre",
    "streepjescode",
    "kod_kreskowy",
)
#: Table prefixes of Sales Layer's connectors (products, formats/variants, catalogue sections) and of
#: other PIM exports; the field means what follows them (``format_color`` is a colour).
_TABLE_PREFIXES = (
    "products_",
    "product_",
    "prod_",
    "formats_",
    "format_",
    "frmt_",
    "variants_",
    "variant_",
    "var_",
    "section_",
    "article_",
    "artikel_",
    "articulo_",
)
#: Unit and currency suffixes (``product_weight_kg``, ``format_price_eur``): what the number is in.
_CURRENCIES = frozenset({"eur", "usd", "gbp", "sek", "pln", "jpy", "cad", "mxn", "try", "aud", "brl", "chf"})
_UNIT_NAMES = {
    "kg": "kilograms",
    "g": "grams",
    "gr": "grams",
    "lb": "pounds",
    "lbs": "pounds",
    "oz": "ounces",
    "cm": "centimeters",
    "mm": "millimeters",
    "m": "meters",
    "in": "inches",
    "inch": "inches",
}
#: Bookkeeping fields of a Sales Layer export (keys, parent links, status, timestamps): never data.
_BOOKKEEPING = re.compile(r"^(id|id_.*|.*_id|status|modified|created|updated|last_update|sku|reference)$")
_CUTOFF = 0.8
_UNIT_WORDS = frozenset({"cm", "mm", "m", "in", "inch", "inches", "kg", "g", "lb", "lbs"})


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
    #: For a structure (``item_dimensions``): sub-property → field, e.g. (("length", "length_cm"), …).
    parts: tuple[tuple[str, str], ...] = ()


def _norm(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def _split_suffixes(field: str) -> tuple[str, list[str]]:
    """``format_price_eur`` → (``price``, [``eur``]): the name without table prefix and unit suffixes."""
    name = _norm(re.sub(r"\s*\[[^\]]*\]$", "", field))  # title[de] → title
    for prefix in _TABLE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    words = name.split("_")
    units: list[str] = []
    while len(words) > 1 and (words[-1] in _CURRENCIES or words[-1] in _UNIT_NAMES):
        units.insert(0, words.pop())
    return "_".join(words), units


def core_name(field: str) -> str:
    """What a catalogue field is about, for matching: table prefix, units and accents removed."""
    return _split_suffixes(field)[0]


def unit_of(field: str) -> str | None:
    """The unit a field's name declares (``product_weight_kg`` → ``kilograms``), if any."""
    units = [u for u in _split_suffixes(field)[1] if u in _UNIT_NAMES]
    return _UNIT_NAMES[units[-1]] if units else None


def data_fields(fields: Iterable[str]) -> list[str]:
    """The fields worth matching: bookkeeping columns (``ID``, ``ID_catalogue``, ``STATUS``) dropped."""
    return sorted(f for f in dict.fromkeys(fields) if not _BOOKKEEPING.match(_norm(f)))


def suggest_identifier(fields: Iterable[str]) -> str | None:
    """The barcode field (EAN/UPC/GTIN/ISBN) among ``fields``, for ``listings.identifier``."""
    for field in data_fields(fields):
        core = core_name(field)
        if core in _BARCODE_NAMES or any(w in _BARCODE_NAMES for w in core.split("_")):
            return field
    return None


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, _norm(a), _norm(b)).ratio()


#: Attributes whose conditions apply to most items (parent/child, offer or not); conditionals on
#: anything else (a variation theme naming RING_SIZE, a battery type …) are too specific to suggest.
_GENERAL_CONDITIONS = frozenset(
    {"parentage_level", "skip_offer", "fulfillment_availability", "child_parent_sku_relationship"}
)


def _mentioned(node: Any) -> set[str]:
    """Attribute names a condition looks at (``required`` lists and ``properties`` keys)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        found.update(str(n) for n in node.get("required") or ())
        found.update(str(n) for n in (node.get("properties") or {}))
        for key in ("allOf", "anyOf", "oneOf", "not"):
            sub = node.get(key)
            for item in sub if isinstance(sub, list) else [sub] if sub is not None else []:
                found |= _mentioned(item)
    return found


def _conditional(schema: Mapping[str, Any]) -> list[str]:
    """Attributes required by the schema's top-level conditionals on parentage or the offer."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            then = node.get("then")
            if isinstance(then, Mapping) and _mentioned(node.get("if")) <= _GENERAL_CONDITIONS:
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
    words = {w for label in labels for w in _norm(label).split("_") if len(w) > 2}
    best, best_score = "", 0.0
    for field in fields:
        core = core_name(field)
        score = max(_similarity(label, name) for label in labels if label for name in (field, core))
        # Similar spelling alone misleads (band/brand): below 0.92 a whole word must be shared.
        if score < 0.92 and not words & (set(_norm(field).split("_")) | set(core.split("_"))):
            score = min(score, _CUTOFF - 0.01)
        if core == attribute or _norm(field) == attribute:
            score = max(score, 0.95)
        elif core in synonyms or _norm(field) in synonyms:
            # The full name beats the stripped one: product_name over format_name for item_name.
            score = max(score, 0.9 if _norm(field) in synonyms else 0.88)
        if score > best_score:
            best, best_score = field, score
    if attribute == "bullet_point":
        numbered = sorted(
            (f for f in fields if re.match(r"^(bullet|feature|highlight)[_ ]?\d+$", core_name(f))),
            key=lambda f: int(re.sub(r"\D", "", f) or 0),
        )
        if numbered:
            return tuple(numbered), 0.9
    if best_score >= _CUTOFF:
        return (best,), round(best_score, 2)
    return (), round(best_score, 2)


def _match_parts(attribute: str, prop: Mapping[str, Any], fields: list[str]) -> tuple[tuple[str, str], ...]:
    """Sub-properties of a structure matched to fields: ``package_length`` for
    ``item_package_dimensions.length`` (a field sharing a word with the attribute wins)."""
    props = (prop.get("items") or {}).get("properties") or {}
    parts = [k for k, v in props.items() if isinstance(v, Mapping) and v.get("type") == "object"]
    if not parts:
        return ()
    words = set(_norm(attribute).split("_")) - {"item"}
    out: list[tuple[str, str]] = []
    for part in parts:
        # The field's other words must belong to the attribute (or be a unit): package_length fits
        # item_package_dimensions, not item_dimensions.
        candidates = [
            f
            for f in fields
            if part in _norm(f).split("_") and set(_norm(f).split("_")) - {part} <= words | _UNIT_WORDS
        ]
        if not candidates:
            return ()
        candidates.sort(key=lambda f: (-len(words & set(_norm(f).split("_"))), len(f)))
        out.append((part, candidates[0]))
    return tuple(out)


def suggest_attributes(
    schema: Mapping[str, Any], fields: Iterable[str], *, include_recommended: bool = True
) -> list[Suggestion]:
    """What to map for ``schema`` and from which of the catalogue's ``fields``."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    names = data_fields(fields)
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
        parts = _match_parts(name, prop, names) if not matched else ()
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
                parts=parts,
            )
        )
    return out


_LENGTHS = frozenset({"centimeters", "millimeters", "meters", "inches"})


def _units(suggestions: Iterable[Suggestion]) -> dict[str, str]:
    found: dict[str, str] = {}
    for s in suggestions:
        for field in (*s.fields, *(f for _, f in s.parts)):
            unit = unit_of(field)
            if unit:
                found.setdefault("length" if unit in _LENGTHS else "weight", unit)
    return found


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
    identifier: str | None = None,
) -> str:
    """The starter mapping as YAML text with comments (a ``listings:`` section).

    ``identifier`` is the barcode field (:func:`suggest_identifier`); units declared by the matched
    fields' names (``product_weight_kg``) become ``units:``."""
    lines = [
        f"# Starter mapping for {product_type} in {marketplace}"
        + (f", matched against the fields of {source}" if source else "")
        + ".",
        "# Review every line: matches are by name similarity. Commented-out attributes found no field.",
        "listings:",
        f"  product_type: {product_type}",
    ]
    units = _units(suggestions)
    if units:
        shown = ", ".join(f"{dimension}: {unit}" for dimension, unit in units.items())
        lines.append(f"  units: {{{shown}}}  # from the field names")
    if identifier:
        lines.append(f"  identifier: {{field: {identifier}}}  # EAN/UPC/GTIN, check digit verified")
    lines.append("  attributes:")
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
            note += f"; e.g. {s.example[:60]}" + ("…" if len(s.example) > 60 else "")
        if s.fields:
            lines.append(f"    {s.attribute}: {_template(s.fields)}  # {note} (match {s.score})")
        elif s.parts:
            inner = ", ".join(f"{part}: {_template((field,))}" for part, field in s.parts)
            lines.append(f"    {s.attribute}: {{{inner}}}  # {note} (set listings.units for the numbers)")
        else:
            lines.append(f"    # {s.attribute}: ''  # no matching catalogue field: {note}")
    auto = sorted(automatic)
    if auto:
        lines.append("  # Filled automatically from the record (images, barcode, variations, offer):")
        lines.append("  #   " + ", ".join(auto))
    return "\n".join(lines) + "\n"
