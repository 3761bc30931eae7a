"""The shape builder: plain values → Amazon's attribute structures, read from the product type schema.

A user writes ``list_price: "{{ price }}"``; the schema says ``list_price`` is an array of objects with
``value`` (number), ``currency`` and ``marketplace_id``. The builder walks the property's schema:
arrays take one entry per value (a list of bullet points → several entries), objects get their value
key filled (``value``, ``value_with_tax``, ``media_location``, ``name`` …, or the nested path
``our_price → schedule → value_with_tax``) and their context keys (``marketplace_id``,
``language_tag``, ``currency``, ``unit``, ``audience``) from the marketplace, and scalars are converted
to the schema's type (numbers, integers, booleans; enum values matched case-insensitively or by their
label). Problems become :class:`~listingsync.schema.issues.Issue` values, never exceptions.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from listingsync.mapping.numbers import AmbiguousNumber, parse_number
from listingsync.schema.issues import Issue, Severity

__all__ = [
    "UNITS",
    "ShapeContext",
    "compile_shape",
    "convert_unit",
    "enum_values",
    "shape_attribute",
]

#: Keys that hold an entry's value, in the order they are tried.
VALUE_KEYS = ("value", "value_with_tax", "media_location", "name", "our_price", "schedule")
#: Keys the builder fills from the marketplace and settings, never from the record.
CONTEXT_KEYS = frozenset({"marketplace_id", "language_tag", "currency", "unit", "audience"})

#: unit → (dimension, size in the dimension's base unit); for converting the catalogue's units.
UNITS: dict[str, tuple[str, float]] = {
    "milligrams": ("weight", 0.001),
    "grams": ("weight", 1.0),
    "kilograms": ("weight", 1000.0),
    "ounces": ("weight", 28.349523125),
    "pounds": ("weight", 453.59237),
    "millimeters": ("length", 0.1),
    "centimeters": ("length", 1.0),
    "decimeters": ("length", 10.0),
    "meters": ("length", 100.0),
    "inches": ("length", 2.54),
    "feet": ("length", 30.48),
    "yards": ("length", 91.44),
    "milliliters": ("volume", 1.0),
    "centiliters": ("volume", 10.0),
    "liters": ("volume", 1000.0),
    "fluid_ounces": ("volume", 29.5735295625),
    "gallons": ("volume", 3785.411784),
    "cubic_centimeters": ("volume", 1.0),
    "watts": ("power", 1.0),
    "kilowatts": ("power", 1000.0),
    "volts": ("voltage", 1.0),
}

_TRUE = {"true", "yes", "y", "1", "oui", "ja", "si", "sí", "x", "on"}
_FALSE = {"false", "no", "n", "0", "non", "nein", "off"}


@dataclass(slots=True)
class ShapeContext:
    """What the builder fills in for one marketplace."""

    marketplace_id: str
    language_tag: str
    currency: str
    #: The catalogue's units by dimension (``{"weight": "kilograms"}``).
    units: Mapping[str, str] = field(default_factory=dict)
    #: The catalogue's decimal separator (``source.decimal_separator`` or the marketplaces'), or
    #: None when unknown: then ``1,234`` is refused rather than guessed (see ``numbers``).
    decimal_separator: str | None = None


class _Skip:
    """No value: the entry or attribute is left out."""


_SKIP = _Skip()


def enum_values(node: Mapping[str, Any]) -> tuple[list[Any], list[str]]:
    """Allowed values and their labels of a scalar schema node (``enum`` or an ``anyOf`` branch)."""
    if "enum" in node:
        return list(node["enum"]), list(node.get("enumNames") or [])
    for branch in node.get("anyOf", ()):
        if isinstance(branch, Mapping) and "enum" in branch:
            return list(branch["enum"]), list(branch.get("enumNames") or [])
    return [], []


def convert_unit(value: float, source: str, target: str) -> float | None:
    """``value`` in ``source`` units expressed in ``target``; None when they are not comparable."""
    a, b = UNITS.get(source), UNITS.get(target)
    if a is None or b is None or a[0] != b[0]:
        return None
    return round(value * a[1] / b[1], 4)


class _Enum:
    """A scalar node's allowed values, with the lookups :meth:`match` needs built once."""

    __slots__ = ("by_folded", "by_label", "exact")

    def __init__(self, allowed: list[Any], labels: list[Any]) -> None:
        self.exact = frozenset(v for v in allowed if isinstance(v, str))
        self.by_folded: dict[str, str] = {}
        for value in allowed:
            self.by_folded.setdefault(str(value).casefold(), str(value))
        self.by_label: dict[str, str] = {}
        for value, label in zip(allowed, labels, strict=False):
            self.by_label.setdefault(str(label).casefold(), str(value))

    def match(self, text: str) -> str:
        """The enum value ``text`` means: exact, case-insensitive, by its label (``China`` → ``CN``)
        or snake-cased (``Bath Towel`` → ``bath_towel``); else ``text`` (the validator reports it)."""
        if text in self.exact:
            return text
        folded = text.casefold()
        found = self.by_folded.get(folded)
        if found is None:
            found = self.by_label.get(folded)
        if found is None:
            found = self.by_folded.get(folded.replace(" ", "_").replace("-", "_"))
        return text if found is None else found


class _Node:
    """One schema node with everything the builder reads from it computed once (see :func:`compile_shape`).

    Shaping is per record but the schema is not: the node's kind, its value key, unit choices, enum
    lookups and context keys are the same for every record, so they are worked out here once.
    """

    __slots__ = (
        "audience",
        "context",
        "defaults",
        "dimension",
        "enum",
        "items",
        "kind",
        "props",
        "structure_parts",
        "units",
        "value_key",
    )

    def __init__(self, node: Mapping[str, Any]) -> None:
        self.kind: str = node.get("type") or ""
        items = node.get("items")
        self.items = _Node(items if isinstance(items, Mapping) else {}) if self.kind == "array" else None
        props: Mapping[str, Any] = (node.get("properties") or {}) if self.kind == "object" else {}
        self.props = {k: _Node(v) for k, v in props.items() if isinstance(v, Mapping)}
        self.value_key = _value_key(props)
        self.structure_parts = ", ".join(k for k in props if k not in CONTEXT_KEYS)
        self.context = tuple(k for k in ("marketplace_id", "language_tag", "currency") if k in props)
        self.audience = (props["audience"].get("default", "ALL"),) if "audience" in props else ()
        unit = props.get("unit")
        self.units: list[str] | None = None
        self.dimension: str | None = None
        if isinstance(unit, Mapping):
            self.units = [str(u) for u in enum_values(unit)[0]]
            self.dimension = next((UNITS[u][0] for u in self.units if u in UNITS), None)
        self.defaults = tuple(
            (key, props[key]["default"])
            for key in node.get("required") or ()
            if isinstance(props.get(key), Mapping) and "default" in props[key]
        )
        allowed, labels = enum_values(node)
        self.enum = _Enum(allowed, labels) if allowed else None


def compile_shape(prop_schema: Mapping[str, Any]) -> _Node:
    """A property's schema prepared for :func:`shape_attribute` (compile once, shape many records)."""
    return _Node(prop_schema)


class _Shaper:
    def __init__(self, attribute: str, ctx: ShapeContext) -> None:
        self.attribute = attribute
        self.ctx = ctx
        self.issues: list[Issue] = []

    def issue(self, path: str, code: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.issues.append(Issue(path, severity, code, message))

    def shape(self, node: _Node, value: Any, path: str) -> Any:
        if value is None or value == [] or (type(value) is str and not value.strip()):
            return _SKIP
        kind = node.kind
        if kind == "array":
            items = node.items
            assert items is not None
            values = value if isinstance(value, list | tuple) else [value]
            out: list[Any] = []
            for item in values:
                shaped = self.shape(items, item, f"{path}/{len(out)}")
                if shaped is not _SKIP:
                    out.append(shaped)
            return out if out else _SKIP
        if kind == "object":
            return self.shape_object(node, value, path)
        return self.scalar(node, value, path)

    def shape_object(self, node: _Node, value: Any, path: str) -> Any:
        props = node.props
        obj: dict[str, Any] = {}
        if isinstance(value, dict):
            for key, sub in value.items():
                if key not in props:
                    close = difflib.get_close_matches(key, list(props), n=3, cutoff=0.5)
                    hint = f"; did you mean {', '.join(close)}?" if close else f"; it has {', '.join(props)}"
                    self.issue(
                        f"{path}/{key}",
                        "LS-MAP-STRUCTURE",
                        f"{self.attribute} has no sub-property {key!r}{hint}",
                    )
                    continue
                shaped = self.shape(props[key], sub, f"{path}/{key}")
                if shaped is not _SKIP:
                    obj[key] = shaped
        else:
            key = node.value_key
            if key is None:
                self.issue(
                    path,
                    "LS-MAP-STRUCTURE",
                    f"{self.attribute} is a structure, not a single value: map it as "
                    f"{{{node.structure_parts}}} with a value for each part",
                )
                return _SKIP
            sub_node = props[key]
            # The value was found non-empty on the way in: a scalar part is converted directly.
            if sub_node.kind in ("array", "object"):
                shaped = self.shape(sub_node, value, f"{path}/{key}")
            else:
                shaped = self.scalar(sub_node, value, f"{path}/{key}")
            if shaped is _SKIP:
                return _SKIP
            obj[key] = shaped
        if not obj:
            return _SKIP
        self.fill_context(obj, node, path)
        return obj

    def fill_context(self, obj: dict[str, Any], node: _Node, path: str) -> None:
        ctx = self.ctx
        for key in node.context:
            # A currency the schema does not allow is left to the validator to report (once).
            if key not in obj:
                obj[key] = getattr(ctx, key)
        if node.audience and "audience" not in obj:
            obj["audience"] = node.audience[0]
        if node.units is not None and "unit" not in obj and "value" in obj:
            self.fill_unit(obj, node.units, node.dimension, path)
        for key, default in node.defaults:
            if key not in obj:
                obj[key] = default

    def fill_unit(
        self, obj: dict[str, Any], allowed_units: list[str], dimension: str | None, path: str
    ) -> None:
        source = self.ctx.units.get(dimension) if dimension else None
        if source is None and len(allowed_units) != 1:
            # a catalogue unit given for another spelling (``kg``) is not guessed: say what to set.
            key = dimension or "<dimension>"
            self.issue(
                f"{path}/unit",
                "LS-MAP-UNIT",
                f"{self.attribute} needs a unit: set listings.units.{key} to the catalogue's unit "
                f"(one of {', '.join(allowed_units) or 'the schema units'}), or map "
                f"{{value: ..., unit: ...}} explicitly",
            )
            return
        if source is None or source in allowed_units:
            obj["unit"] = source or allowed_units[0]
            return
        number = obj.get("value")
        for target in allowed_units:
            converted = convert_unit(number, source, target) if isinstance(number, int | float) else None
            if converted is not None:
                obj["value"] = converted
                obj["unit"] = target
                return
        self.issue(
            f"{path}/unit",
            "LS-MAP-UNIT",
            f"{self.attribute}: the catalogue's unit {source!r} cannot be converted to one this schema "
            f"accepts ({', '.join(allowed_units)})",
        )

    def number(self, value: Any, path: str) -> Any:
        """``value`` as a Decimal (None: not a number), or _SKIP with an issue when only the
        catalogue's decimal separator could say which number it is."""
        try:
            return parse_number(value, self.ctx.decimal_separator)
        except AmbiguousNumber as exc:
            as_decimal, as_thousands = exc.readings
            self.issue(
                path,
                "LS-MAP-AMBIGUOUS-NUMBER",  # invented: our code, not Amazon's
                f"{exc.text!r} is {as_decimal} if its separator is the decimal mark, or "
                f"{as_thousands} if it separates thousands, and the catalogue's decimal separator "
                "is unknown (its marketplaces write numbers differently); set "
                "source.decimal_separator: ',' or '.' in the config",
            )
            return _SKIP

    def out_of_range(self, number: Decimal, value: Any, path: str) -> bool:
        """Numbers beyond 64 bits (``99999999999999999999``, ``1e309``): no listing field holds
        them and Amazon's services read 64-bit numbers, so they are refused here, for this SKU."""
        if abs(number) < _MAX_NUMBER:
            return False
        self.issue(
            path,
            "LS-MAP-RANGE",  # invented: our code, not Amazon's
            f"{_show(value)} is too large to send (numbers must lie within ±{_MAX_NUMBER - 1:,}); "
            "correct it in the catalogue",
        )
        return True

    def scalar(self, node: _Node, value: Any, path: str) -> Any:
        kind = node.kind or "string"
        if isinstance(value, dict | list | tuple):
            self.issue(path, "LS-MAP-TYPE", f"expected a single {kind} here, got {_show(value)}")
            return _SKIP
        if kind == "number":
            number = self.number(value, path)
            if number is _SKIP:
                return _SKIP
            if number is None:
                self.issue(path, "LS-MAP-TYPE", f"{_show(value)} is not a number")
                return _SKIP
            if self.out_of_range(number, value, path):
                return _SKIP
            return int(number) if number == number.to_integral_value() else float(number)
        if kind == "integer":
            number = self.number(value, path)
            if number is _SKIP:
                return _SKIP
            if number is None or number != number.to_integral_value():
                self.issue(path, "LS-MAP-TYPE", f"{_show(value)} is not a whole number")
                return _SKIP
            if self.out_of_range(number, value, path):
                return _SKIP
            return int(number)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            self.issue(path, "LS-MAP-TYPE", f"{_show(value)} is not a yes/no value (use true or false)")
            return _SKIP
        text = _to_text(value)
        if not text:
            return _SKIP
        return node.enum.match(text) if node.enum is not None else text


#: Numbers at or beyond this magnitude are refused (signed 64-bit integers; see ``out_of_range``).
_MAX_NUMBER = Decimal(2**63)


def _value_key(props: Mapping[str, Any]) -> str | None:
    for key in VALUE_KEYS:
        if key in props:
            return key
    others = [k for k in props if k not in CONTEXT_KEYS]
    return others[0] if len(others) == 1 else None


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def shape_attribute(
    name: str, prop_schema: Mapping[str, Any] | _Node, value: Any, ctx: ShapeContext
) -> tuple[list[Any] | None, list[Issue]]:
    """Amazon's entries for attribute ``name`` from a plain ``value``; None when nothing is left.

    ``prop_schema`` is the property's schema or, to shape many records, its :func:`compile_shape`."""
    node = prop_schema if isinstance(prop_schema, _Node) else _Node(prop_schema)
    shaper = _Shaper(name, ctx)
    shaped = shaper.shape(node, value, f"/{name}")
    if shaped is _SKIP:
        return None, shaper.issues
    if not isinstance(shaped, list):  # a non-array top-level property (not seen in Amazon's schemas)
        shaped = [shaped]
    return shaped, shaper.issues
