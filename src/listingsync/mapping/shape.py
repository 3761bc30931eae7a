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
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from listingsync.mapping.numbers import AmbiguousNumber, parse_number
from listingsync.schema.issues import Issue, Severity

__all__ = [
    "UNITS",
    "AttributeShaper",
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


# -- the compiled fast path ------------------------------------------------------------------------
#
# Shaping walks the same schema nodes for every record, and almost every value takes the same road:
# a text becomes ``[{"value": text, "language_tag": …, "marketplace_id": …}]``, a plain number a
# number with its unit. ``AttributeShaper`` compiles that road once per attribute and marketplace
# into nested closures with the context values, unit choice and conversion factors bound, and
# without building issue paths. Whenever a value is anything but plain (an issue may be due: not a
# number, an unknown sub-property, a locale-dependent number, a unit to ask for), the closure gives
# up with ``_SLOW`` and the generic ``_Shaper`` above shapes the whole attribute again: the fast
# path only ever returns what the generic one would (tests/mapping/test_golden.py pins that).


class _Slow:
    """The fast path cannot vouch for this value: the generic shaper decides."""


_SLOW = _Slow()
_Fast = Callable[[Any], Any]
#: Values that cannot change after they were shaped (see ``AttributeShaper._last``).
_IMMUTABLE = frozenset({str, int, float, bool})
#: Numbers written plainly: digits, an optional minus and fraction (no separators, no spaces, no
#: exponent, ASCII digits only). 18 digits at most before the point: always within ±2**63.
_PLAIN_NUMBER = re.compile(r"(-?)([0-9]{1,18})(?:\.([0-9]+))?")
_MAX_INT = 2**63
_EXACT_FLOAT = 2**53


def _fast_number(value: Any, integer: bool) -> Any:
    """``_Shaper.scalar`` for a number or integer node, or _SLOW where it could raise an issue."""
    kind = type(value)
    if kind is str:
        match = _PLAIN_NUMBER.fullmatch(value)
        if match is None:
            return _SLOW
        sign, whole, fraction = match.groups()
        if fraction is None:
            return int(value)
        if len(fraction) == 3 and len(whole) <= 3 and whole[0] != "0":
            return _SLOW  # 1.234: a thousand or one-and-a-bit, by the locale (numbers.parse_number)
        if not fraction.strip("0"):
            return int(sign + whole)  # Decimal("12.0") is integral: the generic path gives int 12
        # Decimal → float goes through the same text, so this is the generic path's float.
        return _SLOW if integer else float(value)
    if kind is int:
        return value if -_MAX_INT < value < _MAX_INT else _SLOW
    if kind is float:
        # The generic path reads a float through its shortest text (Decimal(str(value))), which is
        # the float's exact value only below 2**53: larger ones take the generic path.
        if not math.isfinite(value) or not -_EXACT_FLOAT < value < _EXACT_FLOAT:
            return _SLOW
        if value.is_integer():
            return int(value)
        return _SLOW if integer else value
    return _SLOW


def _fast_scalar(node: _Node) -> _Fast:
    """``_Shaper.scalar`` for ``node`` (no blank check: callers do it where the generic path does)."""
    kind = node.kind or "string"
    if kind == "number" or kind == "integer":
        integer = kind == "integer"

        def number(value: Any) -> Any:
            return _fast_number(value, integer)

        return number
    if kind == "boolean":

        def boolean(value: Any) -> Any:
            if isinstance(value, bool):
                return value
            if isinstance(value, dict | list | tuple):
                return _SLOW
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            return _SLOW

        return boolean
    enum = node.enum

    def string(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
        elif isinstance(value, dict | list | tuple):
            return _SLOW
        else:
            text = _to_text(value)
        if not text:
            return _SKIP
        return enum.match(text) if enum is not None else text

    return string


def _fast_fill(node: _Node, ctx: ShapeContext) -> Callable[[dict[str, Any]], Any]:
    """``_Shaper.fill_context`` for ``node`` in ``ctx``, the unit choice worked out once."""
    context = tuple((key, getattr(ctx, key)) for key in node.context)
    audience = node.audience
    defaults = node.defaults
    units = node.units
    # unit: None (no unit key), "set" (a fixed unit), "convert" (factors below) or _SLOW (an issue).
    unit_mode: Any = None
    unit_value = ""
    factors = (1.0, 1.0)
    if units is not None:
        source = ctx.units.get(node.dimension) if node.dimension else None
        if source is None and len(units) != 1:
            unit_mode = _SLOW
        elif source is None or source in units:
            unit_mode, unit_value = "set", source or units[0]
        else:
            unit_mode = _SLOW
            for target in units:
                a, b = UNITS.get(source), UNITS.get(target)
                if a is not None and b is not None and a[0] == b[0]:
                    unit_mode, unit_value, factors = "convert", target, (a[1], b[1])
                    break
    a_size, b_size = factors

    def fill(obj: dict[str, Any]) -> Any:
        for key, value in context:
            if key not in obj:
                obj[key] = value
        if audience and "audience" not in obj:
            obj["audience"] = audience[0]
        if unit_mode is not None and "unit" not in obj and "value" in obj:
            if unit_mode is _SLOW:
                return _SLOW
            if unit_mode == "set":
                obj["unit"] = unit_value
            else:
                number = obj["value"]
                if not isinstance(number, int | float):
                    return _SLOW
                obj["value"] = round(number * a_size / b_size, 4)  # convert_unit's very expression
                obj["unit"] = unit_value
        for key, default in defaults:
            if key not in obj:
                obj[key] = default
        return obj

    return fill


def _fast_object(node: _Node, ctx: ShapeContext) -> _Fast:
    """``_Shaper.shape_object`` for ``node`` (after the blank check)."""
    props = {key: _fast(sub, ctx) for key, sub in node.props.items()}
    key = node.value_key or ""
    single: _Fast | None = None
    if node.value_key is not None:
        sub_node = node.props[key]
        single = props[key] if sub_node.kind in ("array", "object") else _fast_scalar(sub_node)
    fill = _fast_fill(node, ctx)

    def shape_object(value: Any) -> Any:
        if isinstance(value, dict):
            obj: dict[str, Any] = {}
            for part, sub in value.items():
                shape = props.get(part)
                if shape is None:
                    return _SLOW  # an unknown sub-property: an issue with suggestions
                shaped = shape(sub)
                if shaped is _SLOW:
                    return _SLOW
                if shaped is not _SKIP:
                    obj[part] = shaped
        else:
            if single is None:
                return _SLOW  # a structure given a single value: an issue
            shaped = single(value)
            if shaped is _SLOW or shaped is _SKIP:
                return shaped
            obj = {key: shaped}
        if not obj:
            return _SKIP
        return fill(obj)

    return shape_object


def _fast_one_entry(node: _Node, ctx: ShapeContext, general: _Fast) -> _Fast:
    """``general`` (an array of objects with a value key) with the commonest value shaped in one
    step: a single text or number, one entry ``{value, language_tag, marketplace_id, …}``.

    What ``fill`` adds to an entry that holds only its value does not depend on the value (context,
    audience, a set unit, defaults), so it is worked out once. A unit to convert, a unit to ask
    for, or any other value takes ``general``.
    """
    entry = node.items
    if entry is None or entry.kind != "object" or entry.value_key is None:
        return general
    key = entry.value_key
    leaf = entry.props[key]
    if leaf.kind in ("array", "object", "boolean"):
        return general
    marker = object()
    filled = _fast_fill(entry, ctx)({key: marker})
    if filled is _SLOW or filled[key] is not marker:  # a unit to ask for or to convert
        return general
    extras = {k: v for k, v in filled.items() if k != key}
    enum = leaf.enum
    numeric = leaf.kind in ("number", "integer")
    integer = leaf.kind == "integer"

    def one_entry(value: Any) -> Any:
        kind = type(value)
        if kind is str and not numeric:
            text = value.strip()
            if not text:
                return _SKIP
            shaped: Any = enum.match(text) if enum is not None else text
        elif numeric and (kind is str or kind is int or kind is float):
            if kind is str and (not value or value.isspace()):
                return _SKIP
            shaped = _fast_number(value, integer)
            if shaped is _SLOW:
                return _SLOW
        else:
            return general(value)
        return [{key: shaped, **extras}]  # one dict display: half the time of a dict and update()

    return one_entry


def _fast(node: _Node, ctx: ShapeContext) -> _Fast:
    """``_Shaper.shape`` for ``node`` in ``ctx``: shaped value, _SKIP, or _SLOW."""
    if node.kind == "array":
        return _fast_one_entry(node, ctx, _fast_array(node, ctx))
    inner = _fast_object(node, ctx) if node.kind == "object" else _fast_scalar(node)

    def other(value: Any) -> Any:
        if value is None or value == [] or (type(value) is str and not value.strip()):
            return _SKIP  # the blank test of _Shaper.shape
        return inner(value)

    return other


def _fast_array(node: _Node, ctx: ShapeContext) -> _Fast:
    """``_Shaper.shape`` for an array ``node``."""
    assert node.items is not None
    item = _fast(node.items, ctx)

    def array(value: Any) -> Any:
        # The blank test of _Shaper.shape, inlined: this runs for every attribute of every record.
        if value is None or value == [] or (type(value) is str and not value.strip()):
            return _SKIP
        out: list[Any] = []
        for entry in value if isinstance(value, list | tuple) else (value,):
            shaped = item(entry)
            if shaped is _SLOW:
                return _SLOW
            if shaped is not _SKIP:
                out.append(shaped)
        return out if out else _SKIP

    return array


class AttributeShaper:
    """:func:`shape_attribute` for one attribute in one marketplace, compiled once for every record:

        shaper = AttributeShaper("item_name", compile_shape(prop_schema), ctx)
        entries, issues = shaper(value)      # what shape_attribute("item_name", …, value, ctx) gives

    ``ctx`` is read when compiled: it must not change afterwards.
    """

    __slots__ = ("_fast", "_got", "_value", "ctx", "name", "node")

    def __init__(self, name: str, node: _Node, ctx: ShapeContext) -> None:
        self.name = name
        self.node = node
        self.ctx = ctx
        self._fast = _fast(node, ctx)
        #: The last plain value shaped and what it gave. A mapping's constants (``number_of_items:
        #: 1``, ``power_plug_type: no_plug``) hand every record the very same object: shaped once
        #: per marketplace, not once per listing. Entries are never changed once built, so the
        #: listings share them. Held here, the value cannot be freed and its identity reused.
        self._value: Any = _SKIP
        self._got: tuple[list[Any] | None, list[Issue]] = (None, [])

    def __call__(self, value: Any) -> tuple[list[Any] | None, list[Issue]]:
        if value is self._value:
            return self._got
        shaped = self._fast(value)
        if shaped.__class__ is list:
            got: tuple[list[Any] | None, list[Issue]] = shaped, []
        elif shaped is _SLOW:
            got = shape_attribute(self.name, self.node, value, self.ctx)
        elif shaped is _SKIP:
            got = None, []
        else:
            got = [shaped], []
        if value.__class__ in _IMMUTABLE:
            self._value, self._got = value, got
        return got
