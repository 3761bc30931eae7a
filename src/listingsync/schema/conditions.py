"""Amazon's conditional requirements (``allOf`` of ``if``/``then``/``else``), in plain words.

Product type schemas express "``color`` is required for a child" as::

    {"if": {"required": ["parentage_level"],
            "properties": {"parentage_level": {"contains": {"required": ["value"],
                                                            "properties": {"value": {"enum": ["child"]}}}}}},
     "then": {"required": ["color"]}}

:func:`describe` turns such an ``if`` into "parentage_level is child"; :func:`conditional_requirements`
lists every attribute a schema requires only under a condition (``product-types show``), and the
validator uses :func:`condition_for` to say *why* an attribute is required.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ConditionalRequirement", "condition_for", "conditional_requirements", "describe"]

_MAX_VALUES = 6


def _values(values: Sequence[Any]) -> str:
    shown = [str(v).lower() if isinstance(v, bool) else str(v) for v in values[:_MAX_VALUES]]
    more = f" (or {len(values) - _MAX_VALUES} more)" if len(values) > _MAX_VALUES else ""
    if len(shown) == 1:
        return shown[0] + more
    return "one of " + ", ".join(shown) + more


def _value_enum(node: Any) -> tuple[str, list[Any]] | None:
    """The values an attribute's field is tested against, with the field's name: ``{"required":
    ["value"], "properties": {"value": {"enum": [...]}}}`` (inside ``contains``/``items``) or a bare
    ``{"enum": [...]}`` (field name "")."""
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("enum"), list):
        return "", list(node["enum"])
    if isinstance(node.get("const"), str | int | float | bool):
        return "", [node["const"]]
    props = node.get("properties")
    if isinstance(props, dict) and len(props) == 1:
        ((field, inner),) = props.items()
        if isinstance(inner, dict) and isinstance(inner.get("enum"), list):
            return str(field), list(inner["enum"])
    return None


def _property_clause(name: str, constraint: Any, negate: bool) -> str:
    if isinstance(constraint, dict):
        for found in (
            _value_enum(constraint.get("contains")),
            _value_enum(constraint.get("items")),
            _value_enum(constraint),
        ):
            if found is not None:
                field, values = found
                # "value" is the usual field and goes without saying; others are named.
                subject = f"{name}.{field}" if field and field != "value" else name
                return f"{subject} is {'not ' if negate else ''}{_values(values)}"
    return f"{name} is {'not given' if negate else 'given'}"


def _clause_implies(a: str, b: str) -> bool:
    """Whether clause ``a`` ("x is not given", "x is child" …) makes clause ``b`` true."""
    if a == b:
        return True
    name, _, rest = a.partition(" is ")
    other, _, rest_b = b.partition(" is ")
    if name != other or not rest or not rest_b:
        return False
    if rest == "not given":  # absent: not any value
        return rest_b.startswith("not ")
    if rest_b == "given":  # any value: given
        return not rest.startswith("not ")
    return False


def _conjuncts(part: str) -> list[str] | None:
    """The clauses of a plain conjunction ("(a and b)" or "a"); None for anything nested."""
    inner = part[1:-1] if part.startswith("(") and part.endswith(")") else part
    if "(" in inner or " or " in inner:
        return None
    return inner.split(" and ")


def _implies(a: str, b: str) -> bool:
    """Whether conjunction ``a`` makes conjunction ``b`` true (each clause of b follows from a)."""
    ca, cb = _conjuncts(a), _conjuncts(b)
    if ca is None or cb is None:
        return a == b
    return all(any(_clause_implies(x, y) for x in ca) for y in cb)


def _join(parts: list[str], word: str) -> str:
    parts = list(dict.fromkeys(p for p in parts if p))
    # Drop what adds nothing: in "a and b", a b that a already implies ("x is child and x is
    # given"); in "a or b", an a that implies b ("x is not given or x is not parent" is "x is not
    # parent": an absent value is not parent either).
    kept: list[str] = []
    for i, part in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i]
        if word == "and" and any(_implies(q, part) for q in others):
            continue
        if word == "or" and any(
            _implies(part, q) and not (_implies(q, part) and j < i) for j, q in enumerate(parts) if j != i
        ):
            continue
        kept.append(part)
    parts = kept or parts[:1]
    if len(parts) > 1:
        parts = [f"({p})" if (" and " in p or " or " in p) else p for p in parts]
    return f" {word} ".join(parts)


def describe(schema: Any, negate: bool = False) -> str:
    """Plain words for an ``if`` subschema: ``parentage_level is child``, ``brand is not given`` …"""
    if not isinstance(schema, Mapping):
        return "never" if (schema is False) != negate else "always"
    parts: list[str] = []
    required = [n for n in schema.get("required", []) if isinstance(n, str)]
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    assert isinstance(props, dict)
    for name in required:
        parts.append(_property_clause(name, props.get(name), negate))
    for name, constraint in props.items():
        if name not in required:
            # A property constraint without "required" holds when the property is absent too.
            clause = _property_clause(name, constraint, negate)
            parts.append(f"{clause} (when given)" if not negate else clause)
    if "not" in schema:
        parts.append(describe(schema["not"], not negate))
    for key, word in (("allOf", "and"), ("anyOf", "or"), ("oneOf", "or")):
        subs = schema.get(key)
        if isinstance(subs, list):
            # De Morgan: not(a and b) = not a or not b.
            joiner = word if not negate else ("or" if word == "and" else "and")
            parts.append(_join([describe(s, negate) for s in subs], joiner))
    if not parts:
        return "a condition of the schema holds" if not negate else "a condition of the schema fails"
    return _join(parts, "and" if not negate else "or")


def condition_for(root: Mapping[str, Any], schema_path: Sequence[str | int]) -> str | None:
    """For an error inside ``then``/``else`` branches, their conditions in plain words.

    ``schema_path`` is the keyword path of the failing keyword (``allOf/6/then/required``); every
    ``then``/``else`` on the way counts (an ``else`` holding another ``if`` chains conditions).
    """
    node: Any = root
    found: list[str] = []
    for key in schema_path[:256]:
        if key in ("then", "else") and isinstance(node, dict) and "if" in node:
            found.append(describe(node["if"], negate=(key == "else")))
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return _join(found, "and") if found else None


@dataclass(frozen=True, slots=True)
class ConditionalRequirement:
    attribute: str
    condition: str


def _walk_conditionals(node: Any, outer: list[str]) -> Iterator[ConditionalRequirement]:
    """Root-level conditional requirements: ``if``/``then``/``else`` of ``node`` and of its ``allOf``."""
    if not isinstance(node, dict):
        return
    if "if" in node:
        for branch, negate in (("then", False), ("else", True)):
            target = node.get(branch)
            if isinstance(target, dict):
                conditions = [*outer, describe(node["if"], negate)]
                condition = _join(conditions, "and")
                for name in target.get("required", []):
                    yield ConditionalRequirement(str(name), condition)
                yield from _walk_conditionals(target, conditions)
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        yield from _walk_conditionals(sub, outer)


def conditional_requirements(schema: Mapping[str, Any]) -> list[ConditionalRequirement]:
    """Every top-level attribute the schema requires only under a condition, in schema order."""
    seen: set[tuple[str, str]] = set()
    out: list[ConditionalRequirement] = []
    for req in _walk_conditionals(schema, []):
        if (req.attribute, req.condition) not in seen:
            seen.add((req.attribute, req.condition))
            out.append(req)
    return out
