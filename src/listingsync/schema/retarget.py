"""Point a product type schema at another marketplace of the same type.

The bundled schemas exist for a few marketplaces only (HOME US and FR, PRODUCT US). The emulator
serves, and the offline mapping uses, another marketplace's schema for the rest, with its
``$defs.marketplace_id`` and ``$defs.language_tag`` (default and enum) rewritten to the target
marketplace, and the currency of its prices (``list_price``, ``purchasable_offer`` …: each
``currency`` property whose enum or default is the source marketplace's currency) too: a UK schema
borrowed from FR must take GBP, not EUR. A convenience for offline work, not Amazon's behaviour: Amazon serves each
marketplace its own schema.
"""

from __future__ import annotations

import copy
from typing import Any

from listingsync.amazon.marketplaces import Marketplace, UnknownMarketplaceError, by_id

__all__ = ["retarget"]


def retarget(schema: dict[str, Any], marketplace: Marketplace) -> dict[str, Any]:
    """A copy of ``schema`` whose marketplace_id/language_tag defs name ``marketplace``."""
    out = copy.copy(schema)
    defs = dict(out.get("$defs", {}))
    for name, value in (
        ("marketplace_id", marketplace.marketplace_id),
        ("language_tag", marketplace.language_tag),
    ):
        if name in defs:
            defs[name] = _retarget_def(defs[name], value)
    out["$defs"] = defs
    source = _source_currency(schema)
    if source is not None and source != marketplace.currency and "properties" in out:
        out["properties"] = _retarget_currency(out["properties"], source, marketplace.currency)
    return out


def _source_currency(schema: dict[str, Any]) -> str | None:
    """The currency of the marketplace the schema was made for (its marketplace_id default)."""
    node = schema.get("$defs", {}).get("marketplace_id")
    default = node.get("default") if isinstance(node, dict) else None
    try:
        return by_id(default).currency if isinstance(default, str) else None
    except UnknownMarketplaceError:
        return None


def _retarget_currency(node: Any, source: str, target: str, *, in_currency: bool = False) -> Any:
    """``node`` with ``source`` replaced by ``target`` in the enums and defaults of ``currency``
    properties (conditions elsewhere, such as Amazon's ``if currency is JPY``, are left alone)."""
    if isinstance(node, dict):
        new = {
            k: _retarget_currency(v, source, target, in_currency=in_currency or k == "currency")
            for k, v in node.items()
        }
        if in_currency:
            for key in ("enum", "enumNames"):
                if isinstance(new.get(key), list):
                    new[key] = [target if v == source else v for v in new[key]]
            if new.get("default") == source:
                new["default"] = target
        return new
    if isinstance(node, list):
        return [_retarget_currency(v, source, target, in_currency=in_currency) for v in node]
    return node


def _retarget_def(node: Any, value: str) -> Any:
    if isinstance(node, dict):
        new = {k: _retarget_def(v, value) for k, v in node.items()}
        if "default" in new:
            new["default"] = value
        if "enum" in new:
            new["enum"] = [value]
            if "enumNames" in new:
                new["enumNames"] = [value]
        return new
    if isinstance(node, list):
        return [_retarget_def(v, value) for v in node]
    return node
