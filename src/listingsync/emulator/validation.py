"""Judging a submission as Amazon does: the product type schema for the marketplace and requirements,
checked by the reference validator (``schema/reference.py``).

Python ``jsonschema`` spends ~5-15 ms on one HOME listing (130 attributes, 100 conditional rules),
too slow for 200 validated PUT/s. Listings of one catalogue share most attribute values, so the
schema is split into independent pieces whose verdicts are cached:

- one piece per attribute (``properties.<name>``), keyed by that attribute's value;
- one piece per top-level conditional rule (``allOf[i]``), keyed by the projection of the document
  on what the rule reads: values where its ``properties`` (recursively, through ``items`` and
  ``contains``) reach a constraining keyword, mere presence where it only ``required``s (found by
  walking the rule, :class:`_Read`);
- the rest (``required``, ``additionalProperties``), cheap, always run;
- and, first of all, the whole document: a resent, unchanged listing costs one lookup.

A rule's verdict depends only on what it reads, so validating it on the attributes it looks at
reports exactly what validating the whole document reports for it, for every document with the same
projection; the union of the pieces is the reference validator's answer (tests compare both on
generated variation families and mutations). A rule using keywords that read more (``$ref``,
``type``, ``enum`` …) is keyed on everything they reach; a schema whose root uses keywords that
break the split (``unevaluatedProperties`` …) is validated whole, uncached. Compiled validators
are cached per (product type, marketplace, requirements).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from listingsync.emulator.amazon_checks import CODE_INVALID_PRODUCT_TYPE, message
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.schema.issues import Issue, Severity
from listingsync.schema.reference import ReferenceValidator
from listingsync.schema.requirements import derive
from listingsync.schema.vendor import vendor_view

__all__ = ["CODE_UNKNOWN_PRODUCT_TYPE", "PiecewiseValidator", "SubmissionValidator"]

#: Amazon's code and wording for an unknown product type (amazon_checks.CODE_INVALID_PRODUCT_TYPE).
CODE_UNKNOWN_PRODUCT_TYPE = CODE_INVALID_PRODUCT_TYPE

# Root keywords the split understands; anything else → validate whole.
_ROOT_OK = {
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "title",
    "description",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "allOf",
}


def _canonical(value: Any) -> bytes:
    """A cache key for ``value``: the digest of its canonical JSON. Keys kept whole held 50,000
    listing documents (~3 KB each) per validator; a million-SKU catalogue's unique documents
    filled the emulator's memory with keys that are never asked for again."""
    return hashlib.blake2b(orjson.dumps(value, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


# Keywords whose verdict depends only on what their subschemas read (plus presence for ``required``);
# any other keyword reads its instance in full. Annotations read nothing.
_ANNOTATIONS = {
    "$comment",
    "title",
    "description",
    "examples",
    "editable",
    "hidden",
    "enumNames",
    "default",
    "$lifecycle",
    "selectors",
    "deprecated",
    "readOnly",
    "writeOnly",
}


@dataclass
class _Read:
    """What a subschema reads of its instance: all of it, or some properties (recursively), the mere
    presence of others, and what it reads of array items."""

    full: bool = False
    props: dict[str, _Read] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    items: _Read | None = None

    def merge(self, other: _Read) -> None:
        self.full = self.full or other.full
        for name, sub in other.props.items():
            if name in self.props:
                self.props[name].merge(sub)
            else:
                self.props[name] = sub
        self.present |= other.present
        if other.items is not None:
            if self.items is None:
                self.items = _Read()
            self.items.merge(other.items)

    @classmethod
    def of(cls, schema: Any) -> _Read:
        read = cls()
        if isinstance(schema, bool):
            return read
        if not isinstance(schema, dict):
            read.full = True
            return read
        for key, value in schema.items():
            if key in _ANNOTATIONS:
                continue
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    read.merge(cls(props={name: cls.of(sub)}))
            elif key == "required" and isinstance(value, list):
                read.present |= {str(n) for n in value}
            elif key in ("items", "contains") and isinstance(value, dict | bool):
                read.merge(cls(items=cls.of(value)))
            elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                for sub in value:
                    read.merge(cls.of(sub))
            elif key in ("not", "if", "then", "else"):
                read.merge(cls.of(value))
            else:
                read.full = True
        return read

    def project(self, value: Any) -> Any:
        """The part of ``value`` this read depends on (a JSON-able value: the cache key)."""
        if self.full:
            return ["v", value]
        if isinstance(value, dict):
            fields = {n: sub.project(value[n]) for n, sub in self.props.items() if n in value}
            return ["o", fields, sorted(n for n in self.present if n in value and n not in self.props)]
        if isinstance(value, list):
            return ["a", [self.items.project(v) for v in value]] if self.items is not None else ["a"]
        # Scalars are kept whole: small, and a failing applicator may name them in its message.
        return ["s", value]


class _Cache:
    def __init__(self, capacity: int) -> None:
        self._data: OrderedDict[Any, tuple[Issue, ...]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[Issue, ...] | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: Any, value: tuple[Issue, ...]) -> None:
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._capacity:
                self._data.popitem(last=False)


class PiecewiseValidator:
    """Same answers as ``ReferenceValidator(schema).issues``, from cached per-piece verdicts."""

    def __init__(self, schema: Mapping[str, Any], *, cache_size: int = 50_000) -> None:
        self.whole = ReferenceValidator(schema)
        self._cache = _Cache(cache_size)
        defs = schema.get("$defs")
        with_defs: dict[str, Any] = {"$defs": defs} if defs is not None else {}
        self.split = set(schema) <= _ROOT_OK and isinstance(schema.get("properties", {}), dict)
        self._properties: dict[str, ReferenceValidator] = {}
        # (what the rule reads, the attributes it looks at or None for all, validator)
        self._rules: list[tuple[_Read, tuple[str, ...] | None, ReferenceValidator]] = []
        if not self.split:
            return
        for name, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict):
                self._properties[name] = ReferenceValidator({**with_defs, **sub})
            else:  # a boolean subschema
                self._properties[name] = ReferenceValidator({**with_defs, "allOf": [sub]})
        for rule in schema.get("allOf", []):
            read = _Read.of(rule)
            # The attributes the rule looks at; a rule reading the document whole sees it all.
            names = None if read.full else tuple(sorted(set(read.props) | read.present))
            rule_schema = {**with_defs, **rule} if isinstance(rule, dict) else {**with_defs, "allOf": [rule]}
            self._rules.append((read, names, ReferenceValidator(rule_schema)))
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "properties")}
        rest["properties"] = dict.fromkeys(schema.get("properties", {}), True)
        self._rest = ReferenceValidator(rest)

    def issues(self, attributes: Any) -> list[Issue]:
        if not self.split or not isinstance(attributes, dict):
            return self.whole.issues(attributes)
        # An identical document (a resent, unchanged listing) is answered from one lookup.
        doc_key = ("d", _canonical(attributes))
        known = self._cache.get(doc_key)
        if known is not None:
            return list(known)
        found: dict[tuple[str, str, str], Issue] = {}

        def add(issues: tuple[Issue, ...] | list[Issue]) -> None:
            for issue in issues:
                found.setdefault((issue.path, issue.code, issue.message), issue)

        add(self._rest.issues(attributes))
        for name, value in attributes.items():
            validator = self._properties.get(name)
            if validator is None:
                continue  # an unknown attribute: the rest reports it
            key: tuple[Any, ...] = ("p", name, _canonical(value))
            cached = self._cache.get(key)
            if cached is None:
                prefix = "/" + name.replace("~", "~0").replace("/", "~1")
                cached = tuple(
                    Issue(prefix + i.path, i.severity, i.code, i.message) for i in validator.issues(value)
                )
                self._cache.put(key, cached)
            add(cached)
        for index, (read, names, validator) in enumerate(self._rules):
            # Keyed by what the rule reads (values where it reads them, presence where it only
            # requires): its verdict holds for every document with the same projection.
            key = ("r", index, _canonical(read.project(attributes)))
            part = attributes if names is None else {n: attributes[n] for n in names if n in attributes}
            cached = self._cache.get(key)
            if cached is None:
                cached = tuple(validator.issues(part))
                self._cache.put(key, cached)
            add(cached)
        result = sorted(found.values(), key=lambda i: (i.path, i.code, i.message))
        self._cache.put(doc_key, tuple(result))
        return result


class SubmissionValidator:
    def __init__(self, registry: ProductTypeRegistry) -> None:
        self.registry = registry
        self._validators: dict[tuple[str, str, str, bool], PiecewiseValidator] = {}
        self._lock = threading.Lock()

    def validator(
        self, product_type: str, marketplace_id: str, requirements: str, *, vendor: bool = False
    ) -> PiecewiseValidator | None:
        """``vendor``: judge with the vendor's view of the schema (``schema/vendor.py``: cost_price
        declared, seller offers forbidden), as Amazon serves vendors their own definitions."""
        key = (product_type, marketplace_id, requirements, vendor)
        found = self._validators.get(key)
        if found is None:
            schema = self.registry.get(product_type, marketplace_id)
            if schema is None:
                return None
            with self._lock:
                found = self._validators.get(key)
                if found is None:
                    derived = derive(schema, requirements)
                    found = PiecewiseValidator(vendor_view(derived) if vendor else derived)
                    self._validators[key] = found
        return found

    def issues(
        self,
        product_type: str,
        marketplace_id: str,
        requirements: str,
        attributes: dict[str, Any],
        *,
        vendor: bool = False,
    ) -> list[Issue]:
        """Every issue of ``attributes`` as a ``product_type`` listing in ``marketplace_id`` (sent by
        a vendor when ``vendor``)."""
        validator = self.validator(product_type, marketplace_id, requirements, vendor=vendor)
        if validator is None:
            known = ", ".join(self.registry.product_types())
            # Amazon's wording, then which types this emulator knows (it bundles only a few).
            text = f"{message(CODE_UNKNOWN_PRODUCT_TYPE, 'en')} (this emulator knows: {known})"
            return [Issue("", Severity.ERROR, CODE_UNKNOWN_PRODUCT_TYPE, text)]
        return validator.issues(attributes)
