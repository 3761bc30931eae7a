"""Generate listings from a product type schema: valid ones, and mutations that break one rule.

Used by the differential test of the validator and by benchmarks that need realistic payloads::

    rng = random.Random(7)
    attributes = sample_listing(schema, rng)                 # valid for the schema
    broken, kind = mutate_listing(schema, attributes, rng)   # invalid in one way, named by ``kind``

The generator walks the schema (types, enums, lengths, ``required``, selectors and their defaults)
and then repairs what the walk cannot foresee (``allOf``/``if``/``then`` conditionals) by asking the
fast validator which attributes are missing or forbidden, a few rounds at most.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema_rs

from listingsync.schema.issues import Severity
from listingsync.schema.validator import CODE_MISSING, Validator

__all__ = ["MUTATIONS", "SampleError", "mutate_listing", "sample_listing"]

#: Every kind of mutation :func:`mutate_listing` knows.
MUTATIONS = (
    "missing",
    "wrong_type",
    "wrong_enum",
    "too_long_utf8",
    "duplicate_selector",
    "broken_conditional",
)

_WORDS = ("Home", "steel", "Kaffee", "café", "Größe", "blue", "oak", "set", "déco", "lamp", "Nord", "ø")
_LOCALE_KEYS = ("marketplace_id", "language_tag")


class SampleError(RuntimeError):
    """The generator could not produce a valid listing for this schema within its repair budget."""


_validators: dict[int, tuple[Mapping[str, Any], Validator]] = {}


def _validator_for(schema: Mapping[str, Any]) -> Validator:
    """One compiled validator per schema object, kept for the process (schemas are few and reused)."""
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = Validator(schema)
    _validators[id(schema)] = (schema, validator)
    return validator


def _resolve(root: Mapping[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 16:
        ref = node["$ref"]
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
            target = target.get(part) if isinstance(target, dict) else None
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**(target if isinstance(target, dict) else {}), **merged}
        seen += 1
    return node


def _default_of(root: Mapping[str, Any], name: str) -> Any:
    defs = root.get("$defs")
    if isinstance(defs, dict) and isinstance(defs.get(name), dict):
        return defs[name].get("default")
    return None


class _Generator:
    def __init__(
        self,
        root: Mapping[str, Any],
        rng: random.Random,
        marketplace_id: str | None,
        language_tag: str | None,
        optional: float,
    ) -> None:
        self.root = root
        self.rng = rng
        self.optional = optional
        self.locale = {
            "marketplace_id": marketplace_id or _default_of(root, "marketplace_id"),
            "language_tag": language_tag or _default_of(root, "language_tag"),
        }

    def value(self, schema: Any, depth: int = 0, name: str = "") -> Any:
        rng = self.rng
        schema = _resolve(self.root, schema)
        if not isinstance(schema, dict):
            return "x"
        if name in _LOCALE_KEYS and self.locale.get(name):
            return self.locale[name]
        if schema.get("hidden") and "default" in schema:
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            deprecated = set((schema.get("$lifecycle") or {}).get("enumDeprecated", []))
            choices = [v for v in schema["enum"] if v not in deprecated] or schema["enum"]
            return rng.choice(choices)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                enums = [b for b in branches if isinstance(b, dict) and "enum" in b]
                pick = rng.choice(enums) if enums and rng.random() < 0.8 else rng.choice(branches)
                base = {k: v for k, v in schema.items() if k != key}
                return self.value({**base, **_resolve(self.root, pick)}, depth, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = kind[0] if kind else None
        if kind == "object" or (kind is None and "properties" in schema):
            return self.object(schema, depth)
        if kind == "array" or (kind is None and "items" in schema):
            return self.array(schema, depth, name)
        if kind == "string":
            return self.string(schema, name)
        if kind == "integer":
            return int(self.number(schema, integer=True))
        if kind == "number":
            return self.number(schema, integer=False)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        examples = schema.get("examples")
        return examples[0] if isinstance(examples, list) and examples else "x"

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        assert isinstance(props, dict)
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for prop, sub in props.items():
            wanted = (
                prop in required or prop in _LOCALE_KEYS or (depth < 4 and self.rng.random() < self.optional)
            )
            if wanted:
                out[prop] = self.value(sub, depth + 1, prop)
        return out

    def array(self, schema: Mapping[str, Any], depth: int, name: str) -> list[Any]:
        low = int(schema.get("minItems", 1) or 1)
        high = int(schema.get("maxItems", low + 2))
        unique = schema.get("maxUniqueItems")
        if isinstance(unique, int) and schema.get("selectors"):
            # Identical selectors on every generated item: never exceed the per-combination budget.
            high = min(high, unique)
        count = low if self.rng.random() < 0.75 else self.rng.randint(low, max(low, min(high, low + 2)))
        items = schema.get("items", {})
        return [self.value(items, depth + 1, name) for _ in range(max(count, 0))]

    def string(self, schema: Mapping[str, Any], name: str = "") -> str:
        rng = self.rng
        fmt = schema.get("format")
        if fmt == "date":
            return f"20{rng.randint(24, 29)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        if fmt == "date-time":
            return f"20{rng.randint(24, 29)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z"
        # Image locators and links: a URL even where the schema does not say so (Amazon fetches them).
        if (
            fmt in ("uri", "url")
            or "http" in str(schema.get("pattern", ""))
            or name.endswith(("_location", "_url"))
        ):
            return f"https://cdn.example.com/img/{rng.randint(1, 99999)}.jpg"
        low = max(int(schema.get("minLength", 1) or 1), int(schema.get("minUtf8ByteLength", 1) or 1), 1)
        high = min(int(schema.get("maxLength", 40)), int(schema.get("maxUtf8ByteLength", 40)), 40)
        high = max(high, low)
        words: list[str] = []
        target = rng.randint(low, high)
        while len(" ".join(words).encode()) < target:
            words.append(rng.choice(_WORDS))
        text = " ".join(words)
        # Trim to the byte budget without splitting a character.
        while len(text.encode()) > high or len(text) > high:
            text = text[:-1]
        return text.rstrip() or "x" * low

    def number(self, schema: Mapping[str, Any], integer: bool) -> float | int:
        rng = self.rng
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, 0) + 100))
        if "exclusiveMinimum" in schema:
            low = low + (1 if integer else 0.01)
        if "exclusiveMaximum" in schema:
            high = high - (1 if integer else 0.01)
        step = schema.get("multipleOf")
        if integer or step == 1:
            return rng.randint(int(-(-low // 1)), int(max(high, low) // 1))
        if isinstance(step, int | float) and step > 0:
            return round(step * rng.randint(int(-(-low // step)), int(max(high, low) // step)), 6)
        return round(rng.uniform(low, high), 2)


def _schema_at(root: Mapping[str, Any], parts: list[str]) -> Any:
    """The subschema for an instance path (property names and array indexes)."""
    node: Any = root
    for part in parts:
        node = _resolve(root, node)
        if not isinstance(node, dict):
            return None
        if part.isdigit() and "items" in node:
            node = node["items"]
        else:
            props = node.get("properties")
            node = props.get(part) if isinstance(props, dict) else None
    return _resolve(root, node)


def _container(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _split(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/") if p]


def sample_listing(
    schema: Mapping[str, Any],
    rng: random.Random,
    marketplace_id: str | None = None,
    language_tag: str | None = None,
    *,
    optional: float = 0.15,
    parentage: str | None = None,
    rounds: int = 12,
) -> dict[str, Any]:
    """A valid attribute document for ``schema``, drawn with ``rng`` (deterministic for a seed).

    ``optional`` is the chance each optional attribute (and nested optional property) is filled in;
    ``parentage`` (``parent``/``child``) sets ``parentage_level`` where the schema has it.
    Raises :class:`SampleError` when no valid document was found within the repair budget.
    """
    validator = _validator_for(schema)
    gen = _Generator(schema, rng, marketplace_id, language_tag, optional)
    root_required = set(schema.get("required", []))
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    assert isinstance(props, dict)
    for _attempt in range(4):
        doc: dict[str, Any] = {}
        for name, sub in props.items():
            if name in root_required or rng.random() < optional:
                doc[name] = gen.value(sub, 1, name)
        if parentage and "parentage_level" in props:
            doc["parentage_level"] = [{"value": parentage, "marketplace_id": gen.locale["marketplace_id"]}]
        dropped: set[str] = set()
        for _ in range(rounds):
            errors = [i for i in validator.issues(doc) if i.severity is Severity.ERROR]
            if not errors:
                _real_gtins(doc, rng)
                if not any(i.severity is Severity.ERROR for i in validator.issues(doc)):
                    return doc
                continue
            # One fix per object per round: alternatives ("quantity" or "is_inventory_available")
            # are each reported missing, and adding both is as wrong as adding neither.
            touched: set[tuple[str, bool]] = set()
            for issue in errors:
                key = (issue.path.rsplit("/", 1)[0], issue.code == CODE_MISSING)
                if key[0] and key in touched:
                    continue
                touched.add(key)
                _repair(doc, issue.path, issue.code, schema, gen, root_required, dropped)
    raise SampleError(f"no valid listing for {schema.get('$id', 'the schema')} after {rounds} repair rounds")


#: Digits of each product identifier type (the schema only says "string"; Amazon checks more).
_GTIN_DIGITS = {"ean": 13, "upc": 12, "gtin": 14, "jan": 13, "isbn": 13}


def _real_gtins(doc: dict[str, Any], rng: random.Random) -> None:
    """Give product identifiers a real GTIN of their type (length and check digit), as Amazon wants."""
    for entry in doc.get("externally_assigned_product_identifier") or ():
        if not isinstance(entry, dict):
            continue
        digits = _GTIN_DIGITS.get(str(entry.get("type", "")).lower())
        if digits is None:
            continue
        body = "".join(str(rng.randrange(10)) for _ in range(digits - 1))
        total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
        entry["value"] = body + str((10 - total % 10) % 10)


def _repair(
    doc: dict[str, Any],
    path: str,
    code: str,
    schema: Mapping[str, Any],
    gen: _Generator,
    root_required: set[str],
    dropped: set[str],
) -> None:
    parts = _split(path)
    if not parts:
        return
    top = parts[0]
    parent = _container(doc, parts[:-1])
    if code == CODE_MISSING:
        if top in dropped and len(parts) == 1:
            return
        sub = _schema_at(schema, parts)
        if isinstance(parent, dict) and parts[-1] not in parent and sub is not None:
            parent[parts[-1]] = gen.value(sub, len(parts), parts[-1])
        return
    if code == "LS-NOT-ALLOWED":
        if isinstance(parent, dict):
            parent.pop(parts[-1], None)
        return
    # Anything else: an optional attribute goes; a required one is drawn again (a different draw
    # usually satisfies the conditional that rejected it).
    if top not in root_required and top in doc:
        doc.pop(top)
        dropped.add(top)
    elif top in doc:
        doc[top] = gen.value(schema["properties"][top], 1, top)


# --- mutations ----------------------------------------------------------------------------------


def _walk_instance(
    schema: Mapping[str, Any], node: Any, doc: Any, parts: list[str]
) -> Iterator[tuple[list[str], Mapping[str, Any], Any]]:
    """(path, subschema, value) for every value in ``doc`` that the schema describes by properties/items."""
    node = _resolve(schema, node)
    if not isinstance(node, dict):
        return
    yield parts, node, doc
    if isinstance(doc, dict) and isinstance(node.get("properties"), dict):
        for key, value in doc.items():
            if key in node["properties"]:
                yield from _walk_instance(schema, node["properties"][key], value, [*parts, key])
    elif isinstance(doc, list) and isinstance(node.get("items"), dict):
        for index, value in enumerate(doc):
            yield from _walk_instance(schema, node["items"], value, [*parts, str(index)])


def _set(doc: Any, parts: list[str], value: Any) -> None:
    parent = _container(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        parent[int(last)] = value
    elif isinstance(parent, dict):
        parent[last] = value


def _spots(
    schema: Mapping[str, Any], doc: dict[str, Any], test: Callable[[Mapping[str, Any], Any], bool]
) -> list[list[str]]:
    return [p for p, sub, value in _walk_instance(schema, schema, doc, []) if p and test(sub, value)]


_conditions: dict[int, tuple[Any, jsonschema_rs.Validator]] = {}


def _condition_holds(schema: Mapping[str, Any], condition: Any, doc: Mapping[str, Any]) -> bool:
    """Whether an ``if`` subschema holds for ``doc`` (compiled once per condition object)."""
    hit = _conditions.get(id(condition))
    if hit is None or hit[0] is not condition:
        wrapped = {"$defs": schema.get("$defs", {}), "allOf": [condition]}
        hit = (condition, jsonschema_rs.Draft201909Validator(wrapped))
        _conditions[id(condition)] = hit
    return bool(hit[1].is_valid(doc))


def mutate_listing(
    schema: Mapping[str, Any],
    attributes: Mapping[str, Any],
    rng: random.Random,
    kind: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A copy of a valid ``attributes`` broken in one way; returns it with the mutation's kind.

    ``kind`` is one of :data:`MUTATIONS` (random when None). When the listing offers no spot for the
    asked kind (no enum value present …), another kind that applies is used and returned.
    """
    kinds = [kind] if kind else list(MUTATIONS)
    rng.shuffle(kinds)
    fallbacks = [k for k in MUTATIONS if k not in kinds]
    rng.shuffle(fallbacks)
    for candidate in [*kinds, *fallbacks]:
        doc = copy.deepcopy(dict(attributes))
        if _MUTATORS[candidate](schema, doc, rng):
            return doc, candidate
    raise SampleError("the listing offers nothing to mutate")


def _missing(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    present = [n for n in schema.get("required", []) if n in doc]
    if not present:
        return False
    doc.pop(rng.choice(present))
    return True


def _wrong_type(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    spots = _spots(
        schema, doc, lambda sub, value: sub.get("type") in ("array", "number", "integer", "boolean", "object")
    )
    if not spots:
        return False
    parts = rng.choice(spots)
    sub = _schema_at(schema, parts)
    wrong: Any = "not-a-" + str(sub.get("type") if isinstance(sub, dict) else "value")
    _set(doc, parts, wrong)
    return True


def _wrong_enum(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    spots = _spots(
        schema, doc, lambda sub, value: isinstance(sub.get("enum"), list) and not sub.get("hidden")
    )
    if not spots:
        return False
    _set(doc, rng.choice(spots), "NOT_AN_ALLOWED_VALUE")
    return True


def _mentions(node: Any, keyword: str) -> bool:
    if isinstance(node, dict):
        return keyword in node or any(_mentions(v, keyword) for k, v in node.items() if k != "enum")
    return isinstance(node, list) and any(_mentions(v, keyword) for v in node)


def _too_long(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    def limited(sub: Mapping[str, Any], value: Any) -> bool:
        return isinstance(sub.get("maxUtf8ByteLength"), int) and isinstance(value, str)

    spots = _spots(schema, doc, limited)
    if not spots:
        # Add an attribute that carries a byte limit, then break it.
        props = schema.get("properties", {})
        names = [n for n, sub in props.items() if n not in doc and _mentions(sub, "maxUtf8ByteLength")]
        rng.shuffle(names)
        gen = _Generator(schema, rng, None, None, 1.0)
        for name in names:
            doc[name] = gen.value(props[name], 1, name)
            spots = _spots(schema, doc, limited)
            if spots:
                break
            doc.pop(name)
        if not spots:
            return False
    parts = rng.choice(spots)
    sub = _schema_at(schema, parts)
    assert isinstance(sub, dict)
    limit = int(sub["maxUtf8ByteLength"])
    # Two-byte letters: over the byte budget while (where possible) within maxLength in characters.
    _set(doc, parts, "é" * (limit // 2 + 1))
    return True


def _duplicate_selector(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    spots = _spots(
        schema,
        doc,
        lambda sub, value: (
            isinstance(sub.get("maxUniqueItems"), int)
            and isinstance(value, list)
            and bool(value)
            and isinstance(value[0], dict)
            and int(sub.get("maxItems", 10**6)) > int(sub["maxUniqueItems"])
        ),
    )
    if not spots:
        return False
    parts = rng.choice(spots)
    sub = _schema_at(schema, parts)
    assert isinstance(sub, dict)
    value = _container(doc, parts)
    assert isinstance(value, list)
    copies = int(sub["maxUniqueItems"]) + 1 - len(value)
    value.extend(copy.deepcopy(value[0]) for _ in range(max(copies, 1)))
    return True


def _broken_conditional(schema: Mapping[str, Any], doc: dict[str, Any], rng: random.Random) -> bool:
    root_required = set(schema.get("required", []))
    options: list[str] = []
    for sub in schema.get("allOf", []):
        if not isinstance(sub, dict) or "if" not in sub or not isinstance(sub.get("then"), dict):
            continue
        needed = [n for n in sub["then"].get("required", []) if n in doc and n not in root_required]
        if needed and _condition_holds(schema, sub["if"], doc):
            options += needed
    if not options:
        return False
    doc.pop(rng.choice(options))
    return True


_MUTATORS: dict[str, Callable[[Mapping[str, Any], dict[str, Any], random.Random], bool]] = {
    "missing": _missing,
    "wrong_type": _wrong_type,
    "wrong_enum": _wrong_enum,
    "too_long_utf8": _too_long,
    "duplicate_selector": _duplicate_selector,
    "broken_conditional": _broken_conditional,
}
