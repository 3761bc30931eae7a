"""Amazon's product type vocabulary: where its keywords sit in a schema, and how they are checked.

The meta-schema (spapi.md §4.2) adds validation keywords that no stock JSON Schema library knows:
``maxUniqueItems``/``minUniqueItems`` (judged on the sibling ``selectors``), ``maxUtf8ByteLength``
and ``minUtf8ByteLength``; and informational ones (``editable``, ``hidden``, ``enumNames``,
``$lifecycle``). Of the latter only ``$lifecycle.enumDeprecated`` produces anything: a warning.

Checking them by walking the whole instance against the whole schema again would throw away the speed
of the compiled validator, so :func:`plan_vocabulary` precomputes, once per schema, the instance
paths at which a vocabulary keyword applies (a small trie keyed by property names and ``*`` for
array items). :func:`check_vocabulary` then visits only those spots of a listing.

A keyword reachable only through a conditional branch (``if``/``then``, ``anyOf``…) cannot be placed
on a fixed path: :func:`plan_vocabulary` returns ``None`` then, and the validator falls back to
registering the keywords with the Rust engine (:data:`RUST_KEYWORDS`), which evaluates them exactly
where the schema applies them. Every real schema seen keeps them under ``properties``/``items``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.schema.issues import Issue, Severity

__all__ = [
    "RUST_KEYWORDS",
    "VALIDATION_KEYWORDS",
    "VOCABULARY_URI",
    "Check",
    "SpotTree",
    "Visitor",
    "check_vocabulary",
    "compile_plan",
    "plan_vocabulary",
    "screen_schema",
    "utf8_length",
]

VOCABULARY_URI = "https://schemas.amazon.com/selling-partners/definitions/product-types/vocabulary/v1"

#: Keywords that can make a listing invalid (the informational ones never do).
VALIDATION_KEYWORDS = frozenset(
    {"maxUniqueItems", "minUniqueItems", "maxUtf8ByteLength", "minUtf8ByteLength"}
)
_ALL_KEYWORDS = VALIDATION_KEYWORDS | {"$lifecycle"}

# Codes for the vocabulary's issues. Amazon publishes no code for these client-side checks, so the
# codes are ours (invented, ``LS-`` prefix, listed in the README).
CODE_MAX_UNIQUE = "LS-MAX-UNIQUE-ITEMS"
CODE_MIN_UNIQUE = "LS-MIN-UNIQUE-ITEMS"
CODE_MAX_BYTES = "LS-MAX-UTF8-BYTES"
CODE_MIN_BYTES = "LS-MIN-UTF8-BYTES"
CODE_DEPRECATED = "LS-ENUM-DEPRECATED"


def utf8_length(value: str) -> int:
    """Length in UTF-8 bytes; ASCII strings (most of them) skip the encoding."""
    return len(value) if value.isascii() else len(value.encode("utf-8"))


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def _selector_key(item: Mapping[str, Any], selectors: Sequence[str] | None) -> Any:
    """The identity of an array item for (max|min)UniqueItems.

    Amazon's Java reference compares selector values as text and so confuses nested values; we compare
    them as canonical JSON instead (spapi.md §4.3), which keeps distinct objects distinct. Without
    selectors the whole item is its identity, as in the Java reference.
    """
    if not selectors:
        return json.dumps(item, sort_keys=True, ensure_ascii=False)
    key = []
    for name in selectors:
        # An absent selector differs from one given as null, as in the reference validator.
        value = item.get(name, _ABSENT)
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        key.append(value)
    return tuple(key)


def _selector_counts(instance: Sequence[Any], selectors: Sequence[str] | None) -> Counter[Any]:
    return Counter(_selector_key(item, selectors) for item in instance if isinstance(item, dict))


def _describe_key(key: Any, selectors: Sequence[str] | None) -> str:
    if not selectors or not isinstance(key, tuple):
        return "the same value"
    return ", ".join(f"{name}={value}" for name, value in zip(selectors, key, strict=True))


@dataclass(frozen=True, slots=True)
class Check:
    """One vocabulary keyword at one spot: ``keyword`` with its ``value`` (and ``selectors``)."""

    keyword: str
    value: Any
    selectors: tuple[str, ...] | None = None

    def run(self, instance: Any, path: str) -> list[Issue]:
        """The issues of ``instance`` (at ``path``) under this keyword; [] when it passes."""
        out: list[Issue] = []
        self.run_into(instance, path, out)
        return out

    def run_into(self, instance: Any, path: str, out: list[Issue]) -> None:
        # Hot path of every validation: the cheap exits come first (an ASCII string is as long in
        # bytes as in characters; an array no longer than the limit cannot repeat a combination
        # more often than allowed).
        kw = self.keyword
        limit = self.value
        if kw == "maxUtf8ByteLength":
            if isinstance(instance, str) and len(instance) > limit // 4:
                size = utf8_length(instance)
                if size > limit:
                    out.append(
                        Issue(
                            path,
                            Severity.ERROR,
                            CODE_MAX_BYTES,
                            f"is {size} bytes long in UTF-8; at most {limit} bytes are allowed "
                            "(accented and non-Latin letters take 2-4 bytes each)",
                        )
                    )
        elif kw == "maxUniqueItems":
            if isinstance(instance, list) and len(instance) > limit:
                for key, count in _selector_counts(instance, self.selectors).items():
                    if count > limit:
                        out.append(
                            Issue(
                                path,
                                Severity.ERROR,
                                CODE_MAX_UNIQUE,
                                f"has {count} entries for {_describe_key(key, self.selectors)}; each "
                                f"combination of {', '.join(self.selectors or ('values',))} may occur at "
                                f"most {limit} time{'s' if limit != 1 else ''}",
                            )
                        )
        elif kw == "minUniqueItems":
            # As the meta-schema words it (and the reference validator reads it): each combination of
            # selector values that occurs must occur at least N times. N = 1, the only value seen in
            # Amazon's schemas, can never fail.
            if not isinstance(instance, list) or limit <= 1:
                return
            for key, count in _selector_counts(instance, self.selectors).items():
                if count < limit:
                    out.append(
                        Issue(
                            path,
                            Severity.ERROR,
                            CODE_MIN_UNIQUE,
                            f"has {count} entr{'y' if count == 1 else 'ies'} for "
                            f"{_describe_key(key, self.selectors)}; each combination of "
                            f"{', '.join(self.selectors or ('values',))} must occur at least {limit} times",
                        )
                    )
        elif kw == "minUtf8ByteLength":
            if isinstance(instance, str):
                size = utf8_length(instance)
                if size < limit:
                    out.append(
                        Issue(
                            path,
                            Severity.ERROR,
                            CODE_MIN_BYTES,
                            f"is {size} bytes long in UTF-8; at least {limit} bytes are required",
                        )
                    )
        elif kw == "enumDeprecated" and isinstance(instance, str) and instance in limit:
            out.append(
                Issue(
                    path,
                    Severity.WARNING,
                    CODE_DEPRECATED,
                    f"'{instance}' is deprecated by Amazon and will stop being accepted; "
                    "choose another value",
                )
            )


@dataclass(slots=True)
class SpotTree:
    """Checks at this instance location, and the subtrees below it (``*`` = every array item)."""

    checks: list[Check] = field(default_factory=list)
    children: dict[str, SpotTree] = field(default_factory=dict)
    each: SpotTree | None = None

    def child(self, name: str) -> SpotTree:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = SpotTree()
        return node

    def items(self) -> SpotTree:
        if self.each is None:
            self.each = SpotTree()
        return self.each

    def prune(self) -> bool:
        """Drop empty branches; True when this node has nothing left to check."""
        self.children = {k: v for k, v in self.children.items() if not v.prune()}
        if self.each is not None and self.each.prune():
            self.each = None
        return not self.checks and not self.children and self.each is None


def _checks_of(node: Mapping[str, Any]) -> list[Check]:
    checks: list[Check] = []
    selectors = node.get("selectors")
    sel = tuple(selectors) if isinstance(selectors, list) else None
    for kw in ("maxUniqueItems", "minUniqueItems", "maxUtf8ByteLength", "minUtf8ByteLength"):
        value = node.get(kw)
        # Like Amazon's reference validators: a keyword only counts when its value is an integer.
        if isinstance(value, int) and not isinstance(value, bool):
            checks.append(Check(kw, value, sel))
    lifecycle = node.get("$lifecycle")
    if isinstance(lifecycle, dict) and isinstance(lifecycle.get("enumDeprecated"), list):
        checks.append(Check("enumDeprecated", frozenset(map(str, lifecycle["enumDeprecated"]))))
    return checks


def _resolve_local(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _count_keyword_nodes(node: Any, seen: set[int]) -> None:
    """Every schema object (outside ``$defs``) carrying a vocabulary keyword, by identity."""
    if isinstance(node, dict):
        if any(k in node for k in _ALL_KEYWORDS) and _checks_of(node):
            seen.add(id(node))
        for key, value in node.items():
            if key in ("$defs", "definitions", "enum", "const", "examples", "default", "enumNames"):
                continue
            _count_keyword_nodes(value, seen)
    elif isinstance(node, list):
        for value in node:
            _count_keyword_nodes(value, seen)


def plan_vocabulary(schema: Mapping[str, Any]) -> SpotTree | None:
    """Where the vocabulary applies, as a tree of instance paths; None if some spot is conditional."""
    root = SpotTree()
    placed: set[int] = set()

    def walk(node: Any, spot: SpotTree, depth: int) -> None:
        if not isinstance(node, dict) or depth > 64:
            return
        checks = _checks_of(node)
        if checks:
            spot.checks.extend(checks)
            placed.add(id(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            walk(_resolve_local(schema, ref), spot, depth + 1)
        for sub in node.get("allOf", ()) if isinstance(node.get("allOf"), list) else ():
            walk(sub, spot, depth + 1)  # allOf always applies: same spot
        props = node.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                walk(sub, spot.child(name), depth + 1)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, spot.items(), depth + 1)

    walk(schema, root, 0)
    everywhere: set[int] = set()
    _count_keyword_nodes(schema, everywhere)
    if not everywhere <= placed:
        return None
    root.prune()
    return root


def screen_schema(tree: SpotTree) -> dict[str, Any]:
    """A JSON Schema that no instance passes unless the planned checks find nothing in it (no
    error, no warning): added to the product type schema, it lets the Rust engine clear most
    listings of the vocabulary in the call that validates them, and the Python visit
    (:func:`compile_plan`, as long as the engine's own work) runs only for the others.

    Each keyword becomes standard keywords that imply it:

    - ``maxUtf8ByteLength`` L: at most L // 4 characters (a character is 4 bytes at most), or at
      most L characters all ASCII, or at most L // 2 characters all below U+0800 (2 bytes each);
    - ``minUtf8ByteLength`` L: at least L characters (a character is a byte at least);
    - ``maxUniqueItems`` N: at most N entries (no combination can then occur more than N times);
    - ``minUniqueItems`` N > 1: no array at all (nothing cheap implies it: the visit decides);
    - ``enumDeprecated``: none of the deprecated values.

    The converse does not hold: what the screen refuses is only checked by the visit."""
    parts: list[dict[str, Any]] = []
    for check in tree.checks:
        kw, limit = check.keyword, check.value
        if kw == "maxUtf8ByteLength":
            ascii_only = {"maxLength": limit, "pattern": "^[\\u0000-\\u007f]*$"}
            two_bytes = {"maxLength": limit // 2, "pattern": "^[\\u0000-\\u07ff]*$"}
            parts.append({"anyOf": [{"maxLength": limit // 4}, ascii_only, two_bytes]})
        elif kw == "minUtf8ByteLength":
            parts.append({"minLength": limit})
        elif kw == "maxUniqueItems":
            parts.append({"maxItems": limit})
        elif kw == "minUniqueItems" and limit > 1:
            parts.append({"not": {"type": "array"}})
        elif kw == "enumDeprecated":
            parts.append({"not": {"enum": sorted(limit)}})
    screen: dict[str, Any] = {"allOf": parts} if parts else {}
    if tree.children:
        screen["properties"] = {name: screen_schema(sub) for name, sub in tree.children.items()}
    if tree.each is not None:
        screen["items"] = screen_schema(tree.each)
    return screen


Visitor = Callable[[Any, str, list[Issue]], None]
_MISSING = object()


_Leaf = tuple[str, int, Callable[[Any, str, list[Issue]], None]]


def _byte_leaf(tree: SpotTree) -> tuple[int, Callable[[Any, str, list[Issue]], None]] | None:
    """``(shortest length that can fail, check)`` when ``tree`` is only a maxUtf8ByteLength on a leaf."""
    if tree.children or tree.each is not None or len(tree.checks) != 1:
        return None
    check = tree.checks[0]
    if check.keyword != "maxUtf8ByteLength":
        return None
    return check.value // 4, check.run_into


def _only_leaves(tree: SpotTree | None) -> tuple[_Leaf, ...] | None:
    """The leaf checks of an object spot with nothing else to check (an array entry, typically)."""
    if tree is None or tree.checks or tree.each is not None:
        return None
    leaves = []
    for name, sub in tree.children.items():
        leaf = _byte_leaf(sub)
        if leaf is None:
            return None
        leaves.append((name, *leaf))
    return tuple(leaves)


def compile_plan(tree: SpotTree) -> Visitor:
    """Turn a :class:`SpotTree` into nested closures with the cheap exits inlined.

    This is the hot path of every validation, so the closures test the few conditions under which a
    check *can* fail (an array longer than ``maxUniqueItems``; a string long enough to exceed its
    byte budget even at 4 bytes per character) before calling the full check, build paths only
    for issues, and handle the commonest shape (array entries whose fields carry byte limits) in
    one loop instead of one call per entry and field.
    """
    leaf_kids: list[_Leaf] = []
    deep_kids: list[tuple[str, Visitor]] = []
    for name, sub in tree.children.items():
        leaf = _byte_leaf(sub)
        if leaf is not None:
            leaf_kids.append((name, *leaf))
        else:
            deep_kids.append((name, compile_plan(sub)))
    entry_leaves = _only_leaves(tree.each)
    each = compile_plan(tree.each) if tree.each is not None and entry_leaves is None else None
    max_unique = next((c for c in tree.checks if c.keyword == "maxUniqueItems"), None)
    min_unique = next((c for c in tree.checks if c.keyword == "minUniqueItems"), None)
    str_checks = tuple(c for c in tree.checks if c.keyword in ("minUtf8ByteLength", "enumDeprecated"))
    max_bytes = next((c for c in tree.checks if c.keyword == "maxUtf8ByteLength"), None)
    mu_limit = max_unique.value if max_unique is not None else 1 << 62
    mn_trivial = min_unique is None or min_unique.value <= 1
    mb_chars = max_bytes.value // 4 if max_bytes is not None else 1 << 62

    leaf_by_name = {name: (limit, run) for name, limit, run in leaf_kids}
    deep_by_name = dict(deep_kids)
    planned = len(leaf_kids) + len(deep_kids)

    def visit(instance: Any, path: str, out: list[Issue]) -> None:
        kind = type(instance)
        if kind is dict and len(instance) < planned:
            # A listing sets few of the schema's attributes: look up what it has, not what it lacks.
            for name, value in instance.items():
                leaf = leaf_by_name.get(name)
                if leaf is not None:
                    if type(value) is str and len(value) > leaf[0]:
                        leaf[1](value, f"{path}/{name}", out)
                    continue
                sub = deep_by_name.get(name)
                if sub is not None:
                    sub(value, f"{path}/{name}", out)
        elif kind is dict:
            for name, limit, run in leaf_kids:
                value = instance.get(name)
                if type(value) is str and len(value) > limit:
                    run(value, f"{path}/{name}", out)
            for name, sub in deep_kids:
                value = instance.get(name, _MISSING)
                if value is not _MISSING:
                    sub(value, f"{path}/{name}", out)
        elif kind is list:
            if max_unique is not None and len(instance) > mu_limit:
                max_unique.run_into(instance, path, out)
            if min_unique is not None and not mn_trivial:
                min_unique.run_into(instance, path, out)
            if entry_leaves:
                for index, item in enumerate(instance):
                    if type(item) is dict:
                        for name, limit, run in entry_leaves:
                            value = item.get(name)
                            if type(value) is str and len(value) > limit:
                                run(value, f"{path}/{index}/{name}", out)
            elif each is not None:
                for index, item in enumerate(instance):
                    each(item, f"{path}/{index}", out)
        elif kind is str:
            if len(instance) > mb_chars and max_bytes is not None:
                max_bytes.run_into(instance, path, out)
            for check in str_checks:
                check.run_into(instance, path, out)

    return visit


def check_vocabulary(tree: SpotTree | Visitor, instance: Any) -> list[Issue]:
    """Run the planned checks over ``instance``, visiting only the planned spots."""
    visitor = compile_plan(tree) if isinstance(tree, SpotTree) else tree
    issues: list[Issue] = []
    visitor(instance, "", issues)
    return issues


# --- the same keywords as Rust-side custom keywords (fallback, and the benchmark's comparison) ----


class _RustKeyword:
    """jsonschema-rs custom keyword: built with (parent_schema, value, schema_path), raises on failure."""

    keyword = ""

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[str | int]) -> None:
        if self.keyword == "$lifecycle":
            deprecated = value.get("enumDeprecated") if isinstance(value, dict) else None
            self.check: Check | None = (
                Check("enumDeprecated", frozenset(map(str, deprecated)))
                if isinstance(deprecated, list)
                else None
            )
        elif isinstance(value, int) and not isinstance(value, bool):
            selectors = parent_schema.get("selectors")
            self.check = Check(self.keyword, value, tuple(selectors) if isinstance(selectors, list) else None)
        else:
            self.check = None

    def validate(self, instance: Any) -> None:
        if self.check is None:
            return
        # The engine knows only pass/fail: the code rides in the message and the validator turns
        # LS-ENUM-DEPRECATED back into a warning.
        for issue in self.check.run(instance, ""):
            raise ValueError(f"{issue.code}|{issue.message}")


def _keyword_class(name: str) -> type[_RustKeyword]:
    return type(f"_RustKeyword_{name.strip('$')}", (_RustKeyword,), {"keyword": name})


#: ``keywords=`` argument for jsonschema-rs: the vocabulary evaluated inside the Rust engine.
RUST_KEYWORDS: dict[str, type[_RustKeyword]] = {name: _keyword_class(name) for name in sorted(_ALL_KEYWORDS)}
