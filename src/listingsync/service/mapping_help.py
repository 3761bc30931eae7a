"""What helps someone write a connection's mapping: the attributes each product type requires, beside
the template that fills each, and a starter mapping matched to the catalogue's fields.

Schemas come from the connection's schema cache (what its runs fetched from Amazon) and, when a type
was never fetched, from the schemas bundled with listingsync; nothing here calls Amazon, so a page
that shows it renders at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from listingsync.amazon import marketplaces as mp
from listingsync.catalog import open_source
from listingsync.catalog.model import CatalogProblem
from listingsync.errors import ListingSyncError
from listingsync.mapping.listing import Requirements
from listingsync.mapping.suggest import AUTOMATIC, render_suggestion, suggest_attributes
from listingsync.schema.product_type import ProductTypeSchema
from listingsync.schema.store import SchemaStore
from listingsync.service.connections import Connection, config_of

__all__ = ["ProductTypeNeeds", "product_type_needs", "starter_mapping"]

#: Records read at most to learn the catalogue's field names for a suggestion.
_FIELD_SAMPLE = 2_000


@dataclass
class ProductTypeNeeds:
    product_type: str
    country: str
    #: Where the schema came from: "cache" (fetched from Amazon by a run) or "bundled".
    origin: str | None
    attributes: list[dict[str, Any]] = field(default_factory=list)


def _schema(
    connection: Connection, product_type: str, marketplace_id: str
) -> tuple[ProductTypeSchema | None, str | None]:
    account = connection.document.get("account") or {}
    requirements = (
        Requirements.LISTING_PRODUCT_ONLY if account.get("type") == "vendor" else Requirements.LISTING
    )
    store = SchemaStore(
        None, Path(connection.base_dir) / ".listingsync" / "schemas", account.get("selling_partner_id")
    )
    try:
        return store.get_cached(product_type, marketplace_id, requirements.value), "cache"
    except ListingSyncError:
        pass
    for market in (marketplace_id, None):
        try:
            return ProductTypeSchema.bundled(product_type, market), "bundled"
        except ListingSyncError:
            continue
    return None, None


def product_type_needs(connection: Connection) -> list[ProductTypeNeeds]:
    """Per product type the mapping names: required and conditionally required attributes, each with
    its title, its condition in words and the template the mapping gives it (None: not mapped)."""
    listings = connection.document.get("listings") or {}
    account = connection.document.get("account") or {}
    markets = [mp.find(str(m)) for m in account.get("marketplaces") or []]
    market = next((m for m in markets if m is not None), mp.get("US"))
    types = {str(listings.get("product_type") or "")}
    types |= {str(r.get("product_type") or "") for r in listings.get("rules") or [] if isinstance(r, dict)}
    templates = listings.get("attributes") or {}
    out = []
    for product_type in sorted(t.upper() for t in types if t):
        schema, origin = _schema(connection, product_type, market.marketplace_id)
        needs = ProductTypeNeeds(product_type, market.country, origin)
        if schema is not None:
            conditional = {r.attribute: r for r in schema.conditional_requirements()}
            names = [n for n in schema.required if n in schema.properties]
            names += [n for n in conditional if n not in names and n in schema.properties]
            for name in names:
                if name in AUTOMATIC:
                    continue
                info = schema.attribute(name)
                needs.attributes.append(
                    {
                        "name": name,
                        "title": info.title,
                        "required": info.required,
                        "when": list(info.required_when),
                        "template": templates.get(name),
                    }
                )
        out.append(needs)
    return out


def starter_mapping(connection: Connection, product_type: str) -> str:
    """A starter ``listings:`` section (YAML, the editor's content) for ``product_type``."""
    config = config_of(connection.name, connection.document, connection.base_dir)
    if config.source is None:
        raise ListingSyncError(
            "the connection has no catalogue source yet", fix="attach one on the Source page first"
        )
    market = mp.by_id(config.account.marketplaces[0])
    schema, _origin = _schema(connection, product_type, market.marketplace_id)
    if schema is None:
        raise ListingSyncError(
            f"no {product_type} schema is cached or bundled",
            fix=f"run `listingsync product-types show {product_type}` once, or a dry run that uses it",
        )
    source = open_source(config)
    fields: set[str] = set(source.columns())
    try:
        for n, record in enumerate(source.records()):
            if n >= _FIELD_SAMPLE:
                break
            if not isinstance(record, CatalogProblem):
                fields.update(record.raw)
    finally:
        source.close()
    suggestions = suggest_attributes(schema.schema, sorted(fields - {"sku"}))
    automatic = sorted(a for a in AUTOMATIC if a in schema.properties)
    text = render_suggestion(
        product_type,
        f"{market.country} ({market.marketplace_id})",
        suggestions,
        source=source.name,
        automatic=automatic,
    )
    # The editor holds the section's content: drop the "listings:" line and one level of indent.
    body = [
        line[2:] if line.startswith("  ") else line
        for line in text.splitlines()
        if line.strip() != "listings:"
    ]
    result = "\n".join(body) + "\n"
    yaml.safe_load(result)  # what we hand the editor must be valid YAML
    return result
