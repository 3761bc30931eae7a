"""Composing ``listingsync.yaml`` into YAML nodes with limits, so a hostile or broken file gives an
error naming its line instead of hanging or a traceback.

PyYAML's safe composer shares the node of an anchor with every alias to it. Walking such a graph
as a tree (which the config loader does, to keep each value's line) multiplies the work: nine
levels of ten aliases ("billion laughs") make 10^9 values from a few hundred bytes, and an alias
inside its own anchor never ends. So the composer here refuses

* more than :data:`MAX_ALIASES` aliases, and aliases that would expand to more than
  :data:`MAX_VALUES` values in all;
* an alias inside the value it names (a recursive alias);
* values nested more than :data:`MAX_DEPTH` levels (the composer recurses per level);
* explicit tags other than YAML's plain ones (``!!python/object…`` and custom ``!tags``): a config
  holds text, numbers, booleans, lists and mappings, nothing to construct.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.error import MarkedYAMLError

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_VALUES", "RefusedYaml", "compose"]

MAX_ALIASES = 100
MAX_VALUES = 100_000
MAX_DEPTH = 100

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map", "merge")
)


class RefusedYaml(MarkedYAMLError):
    """The document breaks one of the limits; ``problem`` says which and what to do."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._aliases = 0
        self._depth = 0
        self._open_anchors: set[str] = set()
        self._sizes: dict[int, int] = {}  # id(node) → values it expands to (aliases share nodes)

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._alias(event)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise RefusedYaml(
                f"values nest more than {MAX_DEPTH} levels deep; a configuration never needs that: "
                "check the brackets and indentation here",
                event.start_mark,
            )
        anchor: str | None = getattr(event, "anchor", None)
        opens = anchor is not None and isinstance(event, yaml.CollectionStartEvent)
        if anchor is not None and opens:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1
            if anchor is not None and opens:
                self._open_anchors.discard(anchor)
        if node is not None:
            self._check(node)
        return node

    def _alias(self, event: yaml.AliasEvent) -> None:
        self._aliases += 1
        if event.anchor in self._open_anchors:
            raise RefusedYaml(
                f"the alias *{event.anchor} is inside the value &{event.anchor} it names (a recursive "
                "alias): a value cannot contain itself; write the value out instead",
                event.start_mark,
            )
        if self._aliases > MAX_ALIASES:
            raise RefusedYaml(
                f"more than {MAX_ALIASES} aliases (*{event.anchor} is one too many); write the values "
                "out instead of aliasing them",
                event.start_mark,
            )

    def _check(self, node: yaml.Node) -> None:
        if id(node) in self._sizes:
            return  # an alias: its node was checked when its anchor was composed
        if node.tag not in _PLAIN_TAGS:
            raise RefusedYaml(
                f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed: "
                "listingsync.yaml holds plain values (text, numbers, true/false, lists, mappings); "
                "remove the tag",
                node.start_mark,
            )
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        if size > MAX_VALUES:
            raise RefusedYaml(
                f"the aliases here expand to more than {MAX_VALUES:,} values (a 'billion laughs' "
                "document?); write the values out instead of nesting aliases",
                node.start_mark,
            )
        self._sizes[id(node)] = size


def compose(text: str) -> yaml.Node | None:
    """The document's root node (``None`` for an empty document), within the limits above.

    Raises :class:`RefusedYaml` for a limit, or another :class:`yaml.YAMLError` for bad syntax.
    """
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()
