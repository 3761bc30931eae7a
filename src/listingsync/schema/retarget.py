"""Point a product type schema at another marketplace of the same type.

The bundled schemas exist for a few marketplaces only (HOME US and FR, PRODUCT US). The emulator
serves, and the offline mapping uses, another marketplace's schema for the rest, with its
``$defs.marketplace_id`` and ``$defs.language_tag`` (default and enum) rewritten to the target
marketplace. A convenience for offline work, not Amazon's behaviour: Amazon serves each
marketplace its own schema.
"""

from __future__ import annotations

import copy
from typing import Any

from listingsync.amazon.marketplaces import Marketplace

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
    return out


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
