"""Narrow a LISTING product type schema to LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY (and NOT_ENFORCED).

Amazon serves a schema per requirements set (getDefinitionsProductType ``requirements=``); the bundled
and user-supplied schemas are LISTING schemas. We derive the other two from the **offer property
group**, the attributes a PTD response lists under ``propertyGroups.offer`` (title "Offer"):

- ``LISTING_PRODUCT_ONLY``: product facts only. Offer attributes stay allowed but are required
  nowhere: they are dropped from the top-level ``required`` and from the ``required`` lists of the
  conditional rules (``allOf[].then/else``, and the ``allOf``/``anyOf``/``oneOf`` nested in them).
- ``LISTING_OFFER_ONLY``: sales terms on an existing ASIN. Only offer attributes (plus the
  identity attributes that name the ASIN to sell, :data:`IDENTITY_ATTRIBUTES`) remain in
  ``properties``; only offer attributes stay required.
- ``requirements_enforced=False`` (Amazon's ``NOT_ENFORCED``): structure only; nothing is required
  at the top level or by a conditional rule (for partial updates).

The ``if`` parts of conditional rules are never changed: they describe conditions, not demands.
:data:`OFFER_GROUP` is our reconstruction of the offer group from PTD responses (Amazon's own list is
per product type; names a schema lacks are simply ignored). Pass ``offer_group=`` to use the group
of an actual PTD response.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = [
    "IDENTITY_ATTRIBUTES",
    "OFFER_GROUP",
    "REQUIREMENTS",
    "derive",
    "offer_attributes",
]

REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")

#: Attributes of the PTD "offer" property group (sales terms: condition, price, stock, offer images).
OFFER_GROUP: frozenset[str] = frozenset(
    {
        "condition_type",
        "condition_note",
        "list_price",
        "uvp_list_price",
        "purchasable_offer",
        "business_price",
        "fulfillment_availability",
        "skip_offer",
        "map_policy",
        "product_tax_code",
        "merchant_release_date",
        "merchant_shipping_group",
        "max_order_quantity",
        "gift_options",
        "main_offer_image_locator",
        "other_offer_image_locator_1",
        "other_offer_image_locator_2",
        "other_offer_image_locator_3",
        "other_offer_image_locator_4",
        "other_offer_image_locator_5",
        "quantity_discount_type",
        "minimum_seller_allowed_price",
        "maximum_seller_allowed_price",
    }
)

#: What an offer-only submission may carry to name the existing catalogue item it sells.
IDENTITY_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "merchant_suggested_asin",
        "externally_assigned_product_identifier",
        "supplier_declared_has_product_identifier_exemption",
    }
)


def offer_attributes(schema: Mapping[str, Any], offer_group: Collection[str] = OFFER_GROUP) -> list[str]:
    """The schema's attributes that belong to the offer group."""
    return sorted(name for name in schema.get("properties", {}) if name in offer_group)


def _filter_rule(node: Any, keep: Callable[[str], bool]) -> Any:
    """A copy of a ``then``/``else`` subschema whose top-level ``required`` lists keep only ``keep``."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if isinstance(out.get("required"), list):
        out["required"] = [name for name in out["required"] if keep(name)]
    for applicator in ("allOf", "anyOf", "oneOf"):
        if isinstance(out.get(applicator), list):
            out[applicator] = [_filter_rule(sub, keep) for sub in out[applicator]]
    for branch in ("then", "else"):
        if branch in out:
            out[branch] = _filter_rule(out[branch], keep)
    return out


def derive(
    schema: Mapping[str, Any],
    requirements: str = "LISTING",
    *,
    requirements_enforced: bool = True,
    offer_group: Collection[str] = OFFER_GROUP,
) -> dict[str, Any]:
    """The schema for ``requirements`` (a new dict; ``schema`` is not modified)."""
    if requirements not in REQUIREMENTS:
        raise ValueError(f"unknown requirements {requirements!r}: use one of {', '.join(REQUIREMENTS)}")
    out = dict(schema)
    if requirements == "LISTING" and requirements_enforced:
        return out
    if not requirements_enforced:

        def keep(name: str) -> bool:
            return False
    elif requirements == "LISTING_PRODUCT_ONLY":

        def keep(name: str) -> bool:
            return name not in offer_group
    else:

        def keep(name: str) -> bool:
            return name in offer_group

    if requirements == "LISTING_OFFER_ONLY":
        allowed = set(offer_group) | IDENTITY_ATTRIBUTES
        out["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k in allowed}
    if isinstance(schema.get("required"), list):
        out["required"] = [name for name in schema["required"] if keep(name)]
    for applicator in ("allOf", "anyOf", "oneOf"):
        rules = schema.get(applicator)
        if isinstance(rules, list):
            out[applicator] = [_filter_rule_entry(rule, keep) for rule in rules]
    return out


def _filter_rule_entry(rule: Any, keep: Callable[[str], bool]) -> Any:
    """One entry of the top-level ``allOf``: filter its demands, keep its ``if`` as is."""
    if not isinstance(rule, dict):
        return rule
    out = dict(rule)
    if "if" in out:
        for branch in ("then", "else"):
            if branch in out:
                out[branch] = _filter_rule(out[branch], keep)
        return out
    # An unconditional rule (e.g. {"required": [...]} or nested allOf): filter it whole.
    return _filter_rule(out, keep)
