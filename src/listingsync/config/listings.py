"""The ``listings:`` section: how catalogue records become Amazon listings.

```yaml
listings:
  product_type: HOME                    # the default product type
  rules:                                # first match wins; `when` is a sandboxed Jinja2 expression
    - when: "category == 'Bags'"
      product_type: LUGGAGE
  attributes:                           # attribute name → value spec (see below)
    item_name: "{{ title }}"
    bullet_point: ["{{ bullet_1 }}", "{{ bullet_2 }}"]
    item_weight: {field: weight}
  product_types:                        # extra attributes / overrides for one product type
    PRODUCT: {attributes: {color: "{{ color }}"}}
  marketplaces:                         # overrides for one marketplace (country code or id)
    FR: {attributes: {item_name: "{{ title }} (FR)"}}
  units: {weight: kilograms, length: centimeters}
  identifier: {field: ean}              # EAN/UPC/GTIN column; auto-detected when omitted
  offer: {price: "{{ price }}", quantity: stock, handling_time: 2}
  variations: {theme: "{{ variation_theme }}"}   # or a constant theme: COLOR
```

In ``identifier``, ``images`` and ``offer`` a bare name (``stock``) is a field name; elsewhere a
string without ``{{`` is constant text (``variations.theme: COLOR`` is the theme COLOR).

A value spec is a Jinja2 template string (``"{{ title }}"``; a string without ``{{``/``{%`` is a
constant), a number or boolean constant, ``{field: NAME}`` (the record's value as is: a list gives
several entries), a list of specs (several entries), a mapping of sub-property names to specs (nested
structures such as ``item_dimensions``), or ``null`` (drop an attribute set at a broader level).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "IdentifierConfig",
    "ImagesConfig",
    "ListingsConfig",
    "MarketplaceOverride",
    "OfferConfig",
    "ProductTypeOverride",
    "ProductTypeRule",
    "VariationsConfig",
]


def _product_type_name(value: str) -> str:
    name = value.strip().upper()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"{value!r} is not a product type name (letters, digits and _ such as HOME)")
    return name


class ProductTypeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: A Jinja2 expression over the record's fields, e.g. ``category == 'Bags'``.
    when: str = Field(min_length=1)
    product_type: str

    @field_validator("product_type")
    @classmethod
    def _name(cls, value: str) -> str:
        return _product_type_name(value)

    @field_validator("when")
    @classmethod
    def _expression(cls, value: str) -> str:
        # Compiled here so a syntax error is reported on the rule's own line.
        from listingsync.mapping.templates import check_expression

        check_expression(value)
        return value


def _check_spec(spec: Any) -> Any:
    """One attribute's value spec must compile.

    Validated per value, so pydantic puts the attribute's name in the error location: the config
    error then names ``listings.attributes.size`` at that key's own line, and every bad attribute is
    reported, not only the first.
    """
    from listingsync.mapping.templates import spec_problem

    problem = spec_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    return spec


#: A value spec (template, constant, {field: …}, list or object of those), checked at load time.
ValueSpec = Annotated[Any, AfterValidator(_check_spec)]
#: Attribute name → value spec.
AttributeSpecs = dict[str, ValueSpec]


class ProductTypeOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attributes: AttributeSpecs = Field(default_factory=dict)


class MarketplaceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attributes: AttributeSpecs = Field(default_factory=dict)
    #: The record's language to use here (``fr``), when it is not the marketplace's own.
    language: str | None = None


class ImagesConfig(BaseModel):
    """Image attributes from the record's ordered images: 1st → main, 2nd-9th → other_1..8."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    #: The field (a name or a template) holding the swatch image URL; none by default.
    swatch: ValueSpec = None


class IdentifierConfig(BaseModel):
    """EAN / UPC / GTIN → ``externally_assigned_product_identifier``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The barcode field (a name or a value spec); when omitted a field named ean, upc, gtin or
    #: barcode is used.
    field: ValueSpec = None
    #: ``auto`` decides by length (12 UPC, 8/13 EAN, 14 GTIN).
    type: str = "auto"
    #: With no barcode, declare the GTIN exemption (needs Amazon's approval for the brand).
    exemption: bool = True

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"auto", "ean", "upc", "gtin", "isbn", "jan"}:
            raise ValueError(f"unknown identifier type {value!r}; use auto, ean, upc, gtin, isbn or jan")
        return value


class OfferConfig(BaseModel):
    """Seller offers (price, stock, handling time) and vendor cost price.

    Each entry is a field name or a value spec (``"{{ price * 1.2 }}"``, ``2``); when omitted, a field
    with a common name is used (price, quantity, stock, handling_time, lead_time, cost_price …).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    price: ValueSpec = None
    quantity: ValueSpec = None
    handling_time: ValueSpec = None
    condition: str = "new_new"
    fulfillment_channel: str = "DEFAULT"
    #: Vendors only: the vendor's view of each schema declares ``cost_price`` (``schema/vendor.py``).
    cost_price: ValueSpec = None


class VariationsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The variation theme: a template (``"{{ theme }}"``) or a constant (``COLOR``), matched to the
    #: schema's enum (``size/color`` → ``SIZE/COLOR``); default: the field variation_theme.
    theme: ValueSpec = None
    #: A child's empty or missing fields are taken from its parent record.
    inherit: bool = True


class ListingsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product_type: str | None = None
    rules: list[ProductTypeRule] = Field(default_factory=list)
    attributes: AttributeSpecs = Field(default_factory=dict)
    product_types: dict[str, ProductTypeOverride] = Field(default_factory=dict)
    marketplaces: dict[str, MarketplaceOverride] = Field(default_factory=dict)
    #: Units of the catalogue's numbers by dimension: weight, length, volume …; converted when the
    #: schema asks for another unit.
    units: dict[str, str] = Field(default_factory=dict)
    #: The record language used when a marketplace's own language has no value (``en``).
    fallback_language: str | None = None
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    identifier: IdentifierConfig = Field(default_factory=IdentifierConfig)
    offer: OfferConfig = Field(default_factory=OfferConfig)
    variations: VariationsConfig = Field(default_factory=VariationsConfig)

    @field_validator("product_type")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _product_type_name(value) if value is not None else None

    @field_validator("product_types")
    @classmethod
    def _type_names(cls, value: dict[str, ProductTypeOverride]) -> dict[str, ProductTypeOverride]:
        return {_product_type_name(k): v for k, v in value.items()}

    @field_validator("marketplaces")
    @classmethod
    def _marketplaces(cls, value: dict[str, MarketplaceOverride]) -> dict[str, MarketplaceOverride]:
        from listingsync.amazon import marketplaces as mp

        out: dict[str, MarketplaceOverride] = {}
        for key, override in value.items():
            found = mp.find(str(key))
            if found is None:
                raise ValueError(f"unknown marketplace {key!r}; use a country code such as FR or DE")
            out[found.marketplace_id] = override
        return out

    @property
    def product_type_names(self) -> list[str]:
        """Every product type the mapping can produce, default first."""
        names = [self.product_type] if self.product_type else []
        for rule in self.rules:
            if rule.product_type not in names:
                names.append(rule.product_type)
        return names
