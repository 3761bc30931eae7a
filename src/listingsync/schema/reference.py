"""The reference validator: python ``jsonschema`` (Draft 2019-09) + Amazon's vocabulary.

Written independently of the connector's fast validator (``schema/validator.py``, jsonschema-rs)
so that each can check the other (differential tests), and used by the emulator to judge
submissions as Amazon would. It follows the JSON Schema 2019-09 spec as ``jsonschema`` implements
it; Amazon's meta-schema is registered from the bundled copy under its ``$id`` (an identifier, never
fetched) in a ``referencing`` registry, so nothing goes to the network.

Amazon's vocabulary (spapi.md §4.2-4.3), added with ``jsonschema.validators.extend``:

- ``maxUniqueItems`` (integer) with sibling ``selectors``: in an array, each combination of the
  selector values of its object items may occur at most N times (all properties when there are no
  selectors). Selector values are compared as canonical JSON, so nested values stay distinct
  (unlike Amazon's Java reference, which reads them as text). Non-array instances and non-object
  items are skipped, as in Amazon's references.
- ``minUniqueItems``: each combination of selector values that occurs must occur at least N times,
  the mirror of ``maxUniqueItems`` as the meta-schema's own ``$comment`` words it ("the minimum
  number of items with the same combination of selector properties"). Amazon ships no reference
  implementation; every schema seen uses 1, which any array meets.
- ``maxUtf8ByteLength`` / ``minUtf8ByteLength``: UTF-8 byte length of **strings** (like
  ``maxLength``, other types are not constrained; Amazon's Java reference also measures the text
  of numbers, which no schema seen relies on).

Also as Amazon's Java reference does: ``multipleOf`` uses decimal arithmetic (19.99 is a multiple
of 0.01), and the formats the schemas use are asserted: ``date``, ``date-time`` (RFC 3339) and
``uri`` (absolute), so Amazon's ``oneOf [{format: date-time}, {format: date}]`` tells them apart.

Issues (``schema/issues.py``): one per failed keyword at the place it failed, sorted by path, with
the instance location as a JSON pointer (``/item_name/0/value``); its first segment is the
attribute (``issue.attribute``). Conventions shared with the fast validator:

- ``required`` / ``dependentRequired``: one issue per missing property, at the missing property's
  path (``/brand``, ``/item_name/0/value``), code ``90220`` (Amazon's own), message as Amazon's:
  "'brand' is required but not supplied."
- ``additionalProperties`` / ``unevaluatedProperties``: one issue per unexpected property, at its
  path, code ``LS-UNKNOWN-ATTRIBUTE``.
- vocabulary keywords: at the array or string they constrain.
- an ``anyOf`` / ``oneOf`` / ``not`` failure is one issue at its instance location (its branches'
  errors are not reported separately).

Values listed in ``$lifecycle.enumDeprecated`` give a WARNING (``LS-ENUM-DEPRECATED``), never an
ERROR. Codes other than 90220 are **ours (invented, ``LS-`` prefix)**; :data:`CODES` lists them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from fractions import Fraction
from typing import Any

import orjson
from jsonschema import Draft201909Validator, FormatChecker, ValidationError
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT201909

from listingsync.schema.issues import CODE_MISSING, KEYWORD_CODES, Issue, Severity, one_per_cause

__all__ = [
    "CODES",
    "CODE_DEPRECATED",
    "CODE_MISSING",
    "META_SCHEMA_ID",
    "ReferenceValidator",
    "reference_registry",
]

META_SCHEMA_ID = "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"

#: Issue code per failed keyword (one table with the fast validator). All but 90220 are invented.
CODES = KEYWORD_CODES
_FALLBACK_CODE = "LS-INVALID"
#: WARNING for a value in ``$lifecycle.enumDeprecated`` (invented code).
CODE_DEPRECATED = "LS-ENUM-DEPRECATED"


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _selector_key(item: Mapping[str, Any], selectors: Sequence[str] | None) -> bytes:
    if not selectors:
        return _canonical(item)
    # Absent selectors are left out, so {} and {"x": null} stay distinct.
    return _canonical({name: item[name] for name in selectors if name in item})


def _selector_counts(instance: list[Any], schema: Mapping[str, Any]) -> Counter[bytes]:
    selectors = schema.get("selectors")
    if not isinstance(selectors, list):
        selectors = None
    return Counter(_selector_key(item, selectors) for item in instance if isinstance(item, dict))


def _describe(schema: Mapping[str, Any]) -> str:
    selectors = schema.get("selectors")
    return "+".join(selectors) if isinstance(selectors, list) and selectors else "value"


def _max_unique_items(
    validator: Any, limit: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not _is_count(limit) or not isinstance(instance, list):
        return
    for key, count in _selector_counts(instance, schema).items():
        if count > limit:
            yield ValidationError(
                f"each combination of {_describe(schema)} may occur at most {limit} time"
                f"{'s' if limit != 1 else ''}, but {key.decode()} occurs {count} times"
            )


def _min_unique_items(
    validator: Any, limit: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not _is_count(limit) or not isinstance(instance, list):
        return
    for key, count in _selector_counts(instance, schema).items():
        if count < limit:
            yield ValidationError(
                f"each combination of {_describe(schema)} must occur at least {limit} times, "
                f"but {key.decode()} occurs {count} time{'s' if count != 1 else ''}"
            )


def _max_utf8(
    validator: Any, limit: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if _is_count(limit) and isinstance(instance, str):
        size = len(instance.encode("utf-8"))
        if size > limit:
            yield ValidationError(f"is {size} bytes long in UTF-8; at most {limit} bytes are allowed")


def _min_utf8(
    validator: Any, limit: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if _is_count(limit) and isinstance(instance, str):
        size = len(instance.encode("utf-8"))
        if size < limit:
            yield ValidationError(f"is {size} bytes long in UTF-8; at least {limit} bytes are required")


def _required(
    validator: Any, required: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    # As Draft 2019-09's ``required``, but the error points at the missing property itself, so
    # that the issue names the attribute (Amazon's attributeNames) and the field.
    if not isinstance(instance, dict) or not isinstance(required, list):
        return
    for name in required:
        if name not in instance:
            yield ValidationError(f"'{name}' is required but not supplied.", path=[name])


def _dependent_required(
    validator: Any, dependent: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict) or not isinstance(dependent, dict):
        return
    for trigger, names in dependent.items():
        if trigger not in instance:
            continue
        for name in names:
            if name not in instance:
                yield ValidationError(
                    f"'{name}' is required but not supplied (required when '{trigger}' is present).",
                    path=[name],
                )


def _multiple_of(
    validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    # Exact decimal arithmetic on the numbers as written, as Amazon's Java validator (BigDecimal) does:
    # in binary floating point 19.99 / 0.01 is 1998.9999999999998 and a price would fail.
    if (
        not validator.is_type(instance, "number")
        or not isinstance(step, int | float)
        or isinstance(step, bool)
    ):
        return
    # Exact rationals from the decimal text of each number (no precision limit, unlike Decimal).
    try:
        quotient = Fraction(repr(instance)) / Fraction(repr(step))
    except (ValueError, ZeroDivisionError):  # inf/nan or a zero step: not a JSON Schema question
        return
    if quotient.denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    """RFC 3339 full-date."""
    if not isinstance(value, str):
        return True
    return bool(_DATE.match(value)) and date.fromisoformat(value) is not None


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time (offset required)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.upper().replace(" ", "T").replace("Z", "+00:00"))
    return True


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986): a scheme, then no spaces or control characters."""
    if not isinstance(value, str):
        return True
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$", value))


_AmazonValidator = extend(  # type: ignore[no-untyped-call]
    Draft201909Validator,
    validators={
        "maxUniqueItems": _max_unique_items,
        "minUniqueItems": _min_unique_items,
        "maxUtf8ByteLength": _max_utf8,
        "minUtf8ByteLength": _min_utf8,
        "required": _required,
        "dependentRequired": _dependent_required,
        "multipleOf": _multiple_of,
    },
)

_REGISTRY: Registry[Any] | None = None
_REGISTRY_LOCK = threading.Lock()


def reference_registry() -> Registry[Any]:
    """A registry holding Amazon's meta-schema under its ``$id`` (bundled copy, no network)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        if _REGISTRY is None:
            from importlib import resources

            text = resources.files("listingsync.data").joinpath("schemas/meta-schema.json").read_bytes()
            meta = orjson.loads(text)
            _REGISTRY = Registry().with_resource(META_SCHEMA_ID, DRAFT201909.create_resource(meta))
        return _REGISTRY


def _pointer(parts: Sequence[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return "this value"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…'"


def _choices(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values[:12]) + (" …" if len(values) > 12 else "")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _split(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []


def _extras(error: ValidationError) -> list[str]:
    """The unexpected property names of an additional/unevaluatedProperties error."""
    instance, schema = error.instance, error.schema
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return []
    if error.validator == "unevaluatedProperties":
        found = re.findall(r"'((?:[^'\\]|\\.)*)'", error.message)
        return [name for name in found if name in instance] or sorted(instance)
    properties = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [name for name in instance if name not in properties and not any(p.search(name) for p in patterns)]


class ReferenceValidator:
    """``ReferenceValidator(schema).issues(attributes) -> list[Issue]``; build once, reuse (thread-safe)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._validator = _AmazonValidator(schema, registry=reference_registry(), format_checker=_FORMATS)
        # Most schemas (and pieces of schemas) carry no $lifecycle: skip the walk for them.
        self._has_lifecycle = b'"$lifecycle"' in orjson.dumps(schema)

    def is_valid(self, attributes: Any) -> bool:
        return bool(self._validator.is_valid(attributes))

    def issues(self, attributes: Any) -> list[Issue]:
        """Every issue of the attribute document, sorted by path, then code."""
        found: dict[tuple[str, str, str], Issue] = {}
        for error in self._validator.iter_errors(attributes):
            for issue in self._to_issues(error):
                found.setdefault((issue.path, issue.code, issue.message), issue)
        deprecations = self._deprecations(self.schema, attributes, "", 0) if self._has_lifecycle else ()
        for issue in deprecations:
            found.setdefault((issue.path, issue.code, issue.message), issue)
        return sorted(one_per_cause(list(found.values())), key=lambda i: (i.path, i.code, i.message))

    def _deprecations(self, schema: Any, instance: Any, path: str, depth: int) -> Iterator[Issue]:
        """WARNINGs for values listed in ``$lifecycle.enumDeprecated`` (informational: never INVALID).

        Walks the schema's structure only (``properties``, ``items``, local ``$ref``), where Amazon
        places ``$lifecycle``; conditionals are not entered, so a warning never depends on them.
        """
        if not isinstance(schema, dict) or depth > 32:
            return
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.schema
            for part in ref[2:].split("/"):
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"))
                    if isinstance(target, dict)
                    else None
                )
            yield from self._deprecations(target, instance, path, depth + 1)
        lifecycle = schema.get("$lifecycle")
        if isinstance(lifecycle, dict) and isinstance(instance, str | int | float | bool):
            deprecated = lifecycle.get("enumDeprecated")
            if isinstance(deprecated, list) and instance in deprecated:
                yield Issue(
                    path,
                    Severity.WARNING,
                    CODE_DEPRECATED,
                    f"{instance!r} is deprecated by Amazon and will stop being accepted; choose another value.",
                )
        properties = schema.get("properties")
        if isinstance(instance, dict) and isinstance(properties, dict):
            for name, value in instance.items():
                if name in properties:
                    yield from self._deprecations(
                        properties[name], value, _pointer([*_split(path), name]), depth + 1
                    )
        items = schema.get("items")
        if isinstance(instance, list) and isinstance(items, dict):
            for index, value in enumerate(instance):
                yield from self._deprecations(items, value, f"{path}/{index}", depth + 1)

    def _to_issues(self, error: ValidationError) -> Iterator[Issue]:
        keyword = str(error.validator)
        code = CODES.get(keyword, _FALLBACK_CODE)
        path = _pointer(list(error.absolute_path))
        if keyword in ("additionalProperties", "unevaluatedProperties"):
            # The message names no path (the issue carries it), so it reads the same wherever the
            # document is validated from.
            what = "an attribute of this product type" if not error.absolute_path else "a field allowed here"
            for name in _extras(error):
                yield Issue(
                    f"{path}/{name}",
                    Severity.ERROR,
                    code,
                    f"'{name}' is not {what}; remove it or check its spelling.",
                )
            return
        value, instance = error.validator_value, error.instance
        if (
            keyword == "not"
            and isinstance(value, dict)
            and set(value) == {"required"}
            and isinstance(instance, dict)
        ):
            # A rule forbidding attributes: one issue per forbidden one supplied, at its own path.
            names = [str(n) for n in value["required"] if n in instance] or [
                str(n) for n in value["required"]
            ]
            for name in names:
                yield Issue(f"{path}/{name}", Severity.ERROR, code, f"'{name}' must not be supplied here.")
            return
        # Messages never repeat a whole object or array (jsonschema's do): the issue's path says
        # where, and a message must read the same for every document that fails the same way.
        if keyword == "enum" and isinstance(value, list):
            message = f"{_show(instance)} is not an allowed value; use one of {_choices(value)}"
        elif keyword in ("maxLength", "minLength") and isinstance(instance, str):
            bound = "at most" if keyword == "maxLength" else "at least"
            message = f"is {len(instance)} characters long; {bound} {value} are allowed"
        elif keyword in ("anyOf", "oneOf") and isinstance(value, list):
            enums = [v for branch in value if isinstance(branch, dict) for v in branch.get("enum", [])]
            formats = [b.get("format") for b in value if isinstance(b, dict)]
            if formats and all(isinstance(f, str) for f in formats):
                # Amazon's dates: oneOf [{format: date-time}, {format: date}]
                code = CODES["format"]
                message = f"{_show(instance)} is not a valid {' or '.join(str(f) for f in formats)}"
            elif enums:
                message = f"{_show(instance)} is not an allowed value; use one of {_choices(enums)}"
            elif keyword == "oneOf":
                message = f"{_show(instance)} must match exactly one of the allowed forms"
            else:
                message = f"{_show(instance)} matches none of the allowed forms"
        elif keyword == "not":
            message = f"{_show(instance)} is not allowed here"
        elif keyword == "contains":
            message = "has no entry with what is required here"
        elif keyword == "type":
            wanted = " or ".join(value) if isinstance(value, list) else str(value)
            message = f"must be {wanted}, not {_json_type(instance)}"
        elif keyword in ("minItems", "maxItems") and isinstance(instance, list):
            bound = "at least" if keyword == "minItems" else "at most"
            message = f"has {len(instance)} entries; {bound} {value} are allowed"
        elif keyword in ("minProperties", "maxProperties") and isinstance(instance, dict):
            bound = "at least" if keyword == "minProperties" else "at most"
            message = f"has {len(instance)} fields; {bound} {value} are allowed"
        elif keyword == "uniqueItems":
            message = "has duplicate entries"
        elif keyword == "const":
            message = f"{_show(instance)} must be {value!r}"
        else:
            message = error.message
        yield Issue(path, Severity.ERROR, code, message)
