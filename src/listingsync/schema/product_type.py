"""One product type schema as listingsync holds it: Amazon's document plus what the definition said.

``ProductTypeSchema`` is what :class:`~listingsync.schema.store.SchemaStore` returns and what the
mapping and sync layers consume: the raw JSON schema (``schema``), its identity (product type,
marketplace, requirements, Amazon's ``productTypeVersion`` and checksum), the property groups of
the definition, and a compiled :class:`~listingsync.schema.validator.Validator` built on first use.
:meth:`ProductTypeSchema.from_file` makes one offline from a schema file (the bundled ones in
``listingsync/data/product-types`` serve tests and previews).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from listingsync.errors import ListingSyncError
from listingsync.schema.conditions import ConditionalRequirement, conditional_requirements
from listingsync.schema.validator import Validator, read_schema_file

__all__ = ["AttributeInfo", "ProductTypeSchema", "bundled_schema_files"]


def bundled_schema_files() -> list[Path]:
    """The product type schemas shipped with listingsync (HOME US, HOME FR, PRODUCT US)."""
    folder = Path(str(resources.files("listingsync.data") / "product-types"))
    return sorted(folder.glob("*.json"))


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """What ``product-types show`` and ``mapping suggest`` tell about one attribute."""

    name: str
    title: str
    description: str
    required: bool
    #: Plain-words conditions under which it is required (empty: unconditional or optional).
    required_when: tuple[str, ...]
    #: ``(value, label)`` pairs of the enums in the attribute (``label`` from enumNames, else value).
    allowed: tuple[tuple[Any, str], ...]
    group: str | None
    #: Fields of one entry (``value``, ``unit``, ``language_tag`` …), hidden ones left out.
    fields: tuple[str, ...]


def _enums(node: Any, root: Mapping[str, Any], out: dict[Any, str], depth: int = 0) -> None:
    """Collect enum values with labels below ``node`` (items/properties/anyOf/oneOf/$ref)."""
    if not isinstance(node, dict) or depth > 12 or node.get("hidden"):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        _enums(target, root, out, depth + 1)
    enum = node.get("enum")
    if isinstance(enum, list):
        names = node.get("enumNames")
        labels = names if isinstance(names, list) and len(names) == len(enum) else None
        for i, value in enumerate(enum):
            key = json.dumps(value) if isinstance(value, dict | list) else value
            out.setdefault(key, str(labels[i]) if labels else str(value))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []) if isinstance(node.get(key), list) else []:
            _enums(sub, root, out, depth + 1)
    if isinstance(node.get("items"), dict):
        _enums(node["items"], root, out, depth + 1)
    props = node.get("properties")
    if isinstance(props, dict):
        # The "value" of an entry is what users pick; the other fields' enums (units …) follow.
        for name in sorted(props, key=lambda n: n != "value"):
            if name in ("marketplace_id", "language_tag"):
                continue
            _enums(props[name], root, out, depth + 1)


@dataclass(slots=True, eq=False)
class ProductTypeSchema:
    product_type: str
    marketplace_id: str
    requirements: str
    #: Amazon's ``productTypeVersion.version`` ("" for a schema read from a file).
    version: str
    #: Amazon's checksum of the schema document, as served ("" for a file).
    checksum: str
    #: The JSON schema itself, as Amazon serves it.
    schema: dict[str, Any]
    #: ``{group: {title, description, propertyNames}}`` from the definition ({} for a file).
    property_groups: dict[str, Any] = field(default_factory=dict)
    display_name: str = ""
    locale: str = ""
    requirements_enforced: str = "ENFORCED"
    _validator: Validator | None = field(default=None, repr=False)
    _conditionals: list[ConditionalRequirement] | None = field(default=None, repr=False)

    @property
    def validator(self) -> Validator:
        """The compiled fast validator for this schema, built on first use and kept."""
        if self._validator is None:
            self._validator = Validator(self.schema, source=self.label)
        return self._validator

    @property
    def label(self) -> str:
        return f"{self.product_type} ({self.marketplace_id}, {self.requirements})"

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        product_type: str | None = None,
        marketplace_id: str | None = None,
        requirements: str = "LISTING",
    ) -> ProductTypeSchema:
        """A schema read from a file; product type and marketplace come from the schema's ``$id``
        and ``$defs.marketplace_id.default`` unless given."""
        path = Path(path)
        schema = read_schema_file(path)
        sid = str(schema.get("$id", ""))
        default_mp = ((schema.get("$defs") or {}).get("marketplace_id") or {}).get("default")
        default_lang = ((schema.get("$defs") or {}).get("language_tag") or {}).get("default")
        return cls(
            product_type=product_type or (sid.rstrip("/").rsplit("/", 1)[-1] if sid else path.stem),
            marketplace_id=marketplace_id or str(default_mp or ""),
            requirements=requirements,
            version="",
            checksum="",
            schema=schema,
            locale=str(default_lang or ""),
        )

    @classmethod
    def bundled(cls, product_type: str, marketplace_id: str | None = None) -> ProductTypeSchema:
        """A bundled schema by product type (and marketplace id, when several are bundled)."""
        # HOME.json (the type's own name) before HOME-fr.json when no marketplace is asked for.
        for path in sorted(bundled_schema_files(), key=lambda p: p.stem != product_type):
            found = cls.from_file(path)
            if found.product_type == product_type and marketplace_id in (None, found.marketplace_id):
                return found
        raise ListingSyncError(
            f"no bundled schema for product type {product_type}"
            + (f" in marketplace {marketplace_id}" if marketplace_id else ""),
            fix="fetch it from Amazon with `listingsync product-types show TYPE --marketplace XX`",
        )

    # -- what the schema says, for humans ----------------------------------------------------------

    @property
    def properties(self) -> dict[str, Any]:
        props = self.schema.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        """Attributes required unconditionally, in schema order."""
        return [str(n) for n in self.schema.get("required", [])]

    def conditional_requirements(self) -> list[ConditionalRequirement]:
        """Attributes required only under a condition, each with the condition in plain words."""
        if self._conditionals is None:
            self._conditionals = conditional_requirements(self.schema)
        return self._conditionals

    def group_of(self, attribute: str) -> str | None:
        for name, group in self.property_groups.items():
            if isinstance(group, dict) and attribute in group.get("propertyNames", []):
                return str(name)
        return None

    def attribute(self, name: str) -> AttributeInfo:
        """Title, requirement, allowed values with labels … of one attribute."""
        node = self.properties.get(name)
        if not isinstance(node, dict):
            raise ListingSyncError(
                f"product type {self.product_type} has no attribute '{name}'",
                fix="list its attributes with `listingsync product-types show " + self.product_type + "`",
            )
        allowed: dict[Any, str] = {}
        _enums(node, self.schema, allowed)
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        assert isinstance(items, dict)
        fields = tuple(
            str(k)
            for k, v in (items.get("properties") or {}).items()
            if not (isinstance(v, dict) and v.get("hidden")) and k not in ("marketplace_id", "language_tag")
        )
        return AttributeInfo(
            name=name,
            title=str(node.get("title", "")),
            description=str(node.get("description", "")),
            required=name in self.required,
            required_when=tuple(r.condition for r in self.conditional_requirements() if r.attribute == name),
            allowed=tuple(allowed.items()),
            group=self.group_of(name),
            fields=fields,
        )
