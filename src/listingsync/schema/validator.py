"""The connector's fast validator: JSON Schema 2019-09 (jsonschema-rs) plus Amazon's vocabulary.

    >>> v = Validator.from_file("src/listingsync/data/product-types/HOME.json")
    >>> for issue in v.issues(listing.attributes): print(issue)
    ERROR /brand: 'brand' is required but not supplied [90220]

The schema is compiled once by the Rust engine, with Amazon's meta-schema registered from the bundled
copy (it is an identifier, not a URL: nothing is ever fetched). Amazon's vocabulary keywords are
checked in Python at the few spots where the schema places them (:mod:`.vocabulary`), which keeps the
Rust engine free of Python callbacks; a schema that hides a keyword in a conditional falls back to
Rust-side custom keywords (``vocabulary="rust"``; ``bench/bench_validator.py`` compares the two).

Every issue of a listing is returned, sorted by path, each with a plain message: allowed values with
their labels (``enumNames``), a conditional requirement with its condition ("required because
parentage_level is child"). Codes: 90220 is Amazon's own for a missing required attribute; the
``LS-…`` codes are ours (invented; listed in the README).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema_rs

from listingsync.errors import ListingSyncError
from listingsync.schema.conditions import condition_for
from listingsync.schema.issues import CODE_MISSING, KEYWORD_CODES, Issue, Severity, one_per_cause
from listingsync.schema.vocabulary import (
    CODE_DEPRECATED,
    RUST_KEYWORDS,
    VOCABULARY_URI,
    Visitor,
    check_vocabulary,
    compile_plan,
    plan_vocabulary,
    screen_schema,
)

__all__ = ["CODE_MISSING", "META_SCHEMA_ID", "Validator", "load_meta_schema", "read_schema_file"]

META_SCHEMA_ID = "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1"

_MAX_SHOWN = 12
#: Bound of the per-validator memo of worded missing-attribute issues (paths inside arrays vary).
_MAX_REMEMBERED = 65_536


@cache
def load_meta_schema() -> dict[str, Any]:
    """Amazon's product type meta-schema, from the copy bundled in ``listingsync/data/schemas``."""
    text = resources.files("listingsync.data").joinpath("schemas/meta-schema.json").read_text("utf-8")
    meta: dict[str, Any] = json.loads(text)
    return meta


# The stub types custom keywords as a Protocol that exists only for type checkers.
_RUST_KEYWORDS = cast("dict[str, type[jsonschema_rs.KeywordValidator]]", RUST_KEYWORDS)


def _no_network(uri: str) -> Any:
    raise ValueError(
        f"schema reference {uri!r} is not bundled and listingsync never fetches schemas while validating"
    )


@cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(META_SCHEMA_ID, load_meta_schema())], retriever=_no_network)


def _pointer(parts: Sequence[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _lookup(root: Mapping[str, Any], location: str | None, schema_path: Sequence[str | int]) -> Any:
    """The schema object at an error's keyword location (minus the keyword itself)."""
    parts: list[str | int]
    if location and "#" in location:
        pointer = location.split("#", 1)[1]
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    else:
        parts = list(schema_path)
    node: Any = root
    for part in parts[:-1]:
        if isinstance(node, dict):
            node = node.get(str(part))
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return node


def _allowed(enum: Sequence[Any], names: Any) -> str:
    labels = names if isinstance(names, list) and len(names) == len(enum) else None
    shown = []
    for i, value in enumerate(enum[:_MAX_SHOWN]):
        label = labels[i] if labels else None
        shown.append(f"{_show(value)} ({label})" if label and label != value else _show(value))
    more = f" … and {len(enum) - _MAX_SHOWN} more" if len(enum) > _MAX_SHOWN else ""
    return ", ".join(shown) + more


def read_schema_file(path: str | Path) -> dict[str, Any]:
    """A product type schema file's JSON object, or an error naming the file and how to get one."""
    path = Path(path)
    try:
        schema = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ListingSyncError(
            f"cannot read the product type schema: {exc}",
            where=str(path),
            fix="give the path of a JSON schema downloaded through getDefinitionsProductType",
        ) from exc
    if not isinstance(schema, dict):
        raise ListingSyncError("a product type schema must be a JSON object", where=str(path))
    return schema


class Validator:
    """A compiled product type schema. ``issues(attributes)`` returns every issue of a listing."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        vocabulary: Literal["auto", "python", "rust"] = "auto",
        validate_formats: bool = True,
        source: str | None = None,
    ) -> None:
        self.schema: dict[str, Any] = dict(schema)
        self.source = source or str(schema.get("$id", "product type schema"))
        #: Plain-words conditions by evaluation path: bounded by the schema's size, not the listings'.
        self._conditions: dict[tuple[str | int, ...], str | None] = {}
        #: Missing-attribute issues by (instance path, evaluation path, property); see ``_convert``.
        self._missing: dict[tuple[tuple[str | int, ...], tuple[str | int, ...], str], Issue] = {}
        plan = plan_vocabulary(self.schema) if vocabulary != "rust" else None
        if vocabulary == "python" and plan is None:
            raise ValueError("the schema places vocabulary keywords in conditionals; use vocabulary='rust'")
        self._plan: Visitor | None = compile_plan(plan) if plan is not None else None
        #: ``python``: vocabulary checked in Python at precomputed spots; ``rust``: custom keywords.
        self.vocabulary_mode: Literal["python", "rust"] = "python" if plan is not None else "rust"
        self._rs = self._compile(
            self.schema, validate_formats, keywords=_RUST_KEYWORDS if plan is None else None
        )
        #: The schema with the vocabulary's screen (:func:`screen_schema`): a listing it passes is
        #: valid and clear of the vocabulary in one call to the engine (most listings are).
        self._screened: jsonschema_rs.Validator | None = None
        conditions = self.schema.get("allOf", [])
        screen = screen_schema(plan) if plan is not None and isinstance(conditions, list) else None
        if screen:  # else nothing to screen for: the engine's own call says all
            self._screened = self._compile({**self.schema, "allOf": [*conditions, screen]}, validate_formats)

    def _compile(
        self,
        schema: dict[str, Any],
        validate_formats: bool,
        keywords: dict[str, type[jsonschema_rs.KeywordValidator]] | None = None,
    ) -> jsonschema_rs.Validator:
        try:
            return jsonschema_rs.Draft201909Validator(
                schema,
                registry=_registry(),
                retriever=_no_network,
                vocabularies=[VOCABULARY_URI],
                validate_formats=validate_formats,
                keywords=keywords,
            )
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
            raise ListingSyncError(
                f"the product type schema cannot be compiled: {str(exc).splitlines()[0]}",
                where=self.source,
                fix="fetch the schema again (`listingsync product-types show TYPE`) or report the file",
            ) from exc

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> Validator:
        """Compile a schema file (a product type schema as Amazon serves it)."""
        return cls(read_schema_file(path), source=str(path), **options)

    def is_valid(self, attributes: Mapping[str, Any]) -> bool:
        """True when the listing has no ERROR issue (warnings allowed). Faster than ``issues``."""
        if self._screened is not None and self._screened.is_valid(attributes):
            return True
        if self._plan is not None:
            if not self._rs.is_valid(attributes):
                return False
            return not any(i.severity is Severity.ERROR for i in check_vocabulary(self._plan, attributes))
        return not any(i.severity is Severity.ERROR for i in self.issues(attributes))

    def issues(self, attributes: Mapping[str, Any]) -> list[Issue]:
        """Every issue of the attribute document, sorted by path (errors first at the same path)."""
        # Most listings are valid, and the engine says so several times faster than it lists errors.
        if self._screened is not None and self._screened.is_valid(attributes):
            return []
        out: list[Issue] = []
        if self._plan is None or not self._rs.is_valid(attributes):
            for error in self._rs.iter_errors(attributes):
                out.extend(self._convert(error, attributes))
        if self._plan is not None:
            out.extend(check_vocabulary(self._plan, attributes))
        unique = one_per_cause(list(dict.fromkeys(out)))
        unique.sort(key=lambda i: (i.path, i.severity is not Severity.ERROR, i.code))
        return unique

    # -- error conversion ------------------------------------------------------------------------

    def _because(self, evaluation_path: Sequence[str | int]) -> str | None:
        """The conditions of the ``then``/``else`` branches on the path, described once per path."""
        key = tuple(evaluation_path)
        try:
            return self._conditions[key]
        except KeyError:
            found = self._conditions[key] = condition_for(self.schema, evaluation_path)
            return found

    def _missing_issue(
        self, instance_path: Sequence[str | int], evaluation_path: Sequence[str | int], prop: str
    ) -> Issue:
        because = self._because(evaluation_path)
        reason = f"because {because}, " if because else ""
        return Issue(
            f"{_pointer(instance_path)}/{prop}",
            Severity.ERROR,
            CODE_MISSING,
            f"'{prop}' is required {reason}but not supplied",
        )

    def _convert(self, error: jsonschema_rs.ValidationError, document: Mapping[str, Any]) -> list[Issue]:
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            # The commonest error (a listing missing attributes): the same few per schema, so each
            # is worded once and then shared (issues are immutable).
            key = (tuple(error.instance_path), tuple(error.evaluation_path), kind.property)
            found = self._missing.get(key)
            if found is None:
                if len(self._missing) >= _MAX_REMEMBERED:
                    self._missing.clear()
                found = self._missing[key] = self._missing_issue(key[0], key[1], kind.property)
            return [found]
        path = _pointer(error.instance_path)
        # The evaluation path keeps the if/then/else the error went through (the schema path is
        # where the keyword is written, after following $ref).
        because = self._because(error.evaluation_path)
        name = kind.name
        schema_path = error.schema_path
        suffix = f" (because {because})" if because else ""
        code = KEYWORD_CODES.get(name, f"LS-{name.upper()}")
        instance = error.instance

        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Custom):
            ours, _, message = kind.message.partition("|")
            severity = Severity.WARNING if ours == CODE_DEPRECATED else Severity.ERROR
            return [Issue(path, severity, ours, message + suffix)]
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            where = "this product type" if not error.instance_path else "this attribute"
            return [
                Issue(
                    f"{path}/{extra}",
                    Severity.ERROR,
                    code,
                    f"'{extra}' is not a property of {where}; check its spelling against the schema",
                )
                for extra in kind.unexpected
            ]

        node = _lookup(self.schema, error.absolute_keyword_location, schema_path)
        message = error.message
        if name == "enum" and isinstance(node, dict) and isinstance(node.get("enum"), list):
            message = f"'{_show(instance)}' is not an allowed value; allowed: {_allowed(node['enum'], node.get('enumNames'))}"
        elif name in ("anyOf", "oneOf") and isinstance(node, dict):
            enums: list[Any] = []
            names: list[Any] = []
            for branch in node.get(name, []):
                if isinstance(branch, dict) and isinstance(branch.get("enum"), list):
                    enums += branch["enum"]
                    labels = branch.get("enumNames")
                    names += labels if isinstance(labels, list) else branch["enum"]
            if enums:
                message = f"'{_show(instance)}' is not an allowed value; allowed: {_allowed(enums, names)}"
            else:
                code = KEYWORD_CODES.get(name, code) if name != "anyOf" else "LS-ANY-OF"
                branches = [b for b in node.get(name, []) if isinstance(b, dict)]
                formats = [str(b["format"]) for b in branches if "format" in b]
                if formats and len(formats) == len(branches):
                    # Amazon's dates: oneOf [{format: date-time}, {format: date}].
                    code = "LS-FORMAT"
                    message = f"'{_show(instance)}' is not a valid {' or '.join(formats)}"
                else:
                    message = f"'{_show(instance)}' matches none of the shapes this attribute allows"
        elif name == "type" and isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
            message = f"must be {' or '.join(kind.types)}, not {_json_type(instance)}"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MaxLength):
            message = f"is {len(str(instance))} characters long; at most {kind.limit} are allowed"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MinLength):
            message = f"is {len(str(instance))} characters long; at least {kind.limit} are required"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MaxItems):
            message = f"has {len(instance) if isinstance(instance, list) else '?'} entries; at most {kind.limit} are allowed"
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.MinItems):
            message = f"has {len(instance) if isinstance(instance, list) else '?'} entries; at least {kind.limit} are required"
        elif name == "not" and isinstance(node, dict) and isinstance(node.get("not"), dict):
            forbidden = node["not"].get("required")
            if (
                isinstance(forbidden, list)
                and set(node["not"]) == {"required"}
                and isinstance(instance, dict)
            ):
                present = [n for n in forbidden if n in instance] or list(forbidden)
                return [
                    Issue(f"{path}/{n}", Severity.ERROR, code, f"'{n}' must not be supplied{suffix}")
                    for n in present
                ]
            message = f"'{_show(instance)}' is not allowed here"
        elif name == "falseSchema":
            message = "no value is allowed here"
        return [Issue(path, Severity.ERROR, code, message + suffix)]

    def __repr__(self) -> str:
        return f"Validator({self.source!r}, vocabulary={self.vocabulary_mode!r})"
