"""``ListingBuilder``: one catalogue record → one :class:`Listing` per configured marketplace.

The order of precedence for an attribute, most specific first: ``listings.marketplaces.<X>.attributes``,
``listings.product_types.<TYPE>.attributes``, ``listings.attributes``, then what the builder adds by
itself when the schema has the attribute and the mapping does not set it: images, the barcode (or the
GTIN exemption), the variation attributes, the seller offer (price, stock, handling time, condition)
or the vendor cost price.

Problems met while building (a template naming a missing field, a value of the wrong type, a bad
barcode) become issues on the listing (``Listing.build_issues``); a record never stops the others.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from listingsync.amazon import marketplaces as mp
from listingsync.catalog.model import Product
from listingsync.config import Config
from listingsync.errors import ListingSyncError
from listingsync.mapping.context import PROVIDED, record_context, record_fields
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.numbers import decimal_separator_for
from listingsync.mapping.schemas import for_account
from listingsync.mapping.shape import AttributeShaper, ShapeContext, compile_shape, enum_values
from listingsync.mapping.templates import (
    Const,
    FieldRef,
    Spec,
    TemplateFailure,
    compile_evaluator,
    compile_spec,
    condition_variables,
    did_you_mean,
    evaluate,
    evaluate_condition,
    variables_read,
)
from listingsync.schema.issues import Issue, Severity

__all__ = [
    "OFFER_ATTRIBUTES",
    "ListingBuilder",
    "MappingConfigError",
    "SchemaProvider",
    "raw_schema",
]

#: Attributes that are sales terms: never sent for vendors (product data only) or parents.
OFFER_ATTRIBUTES = frozenset({"purchasable_offer", "fulfillment_availability"})
_IMAGE_SLOTS = ("main_product_image_locator", *(f"other_product_image_locator_{i}" for i in range(1, 9)))
_ID_FIELDS = ("ean", "upc", "gtin", "barcode", "ean13", "gtin13", "isbn")
_PRICE_FIELDS = ("price", "our_price", "sale_price", "selling_price")
_QUANTITY_FIELDS = ("quantity", "stock", "qty", "inventory", "available")
_HANDLING_FIELDS = ("handling_time", "lead_time", "handling_days", "lead_time_to_ship_max_days")
_COST_FIELDS = ("cost_price", "cost")
_THEME_FIELDS = ("variation_theme", "theme")


#: One mapped attribute of a listing (name, spec, compiled evaluator), or the issue that replaces it.
_PlanStep = tuple[str, Spec, Callable[[Mapping[str, Any]], Any]] | Issue


class SchemaProvider(Protocol):
    def __call__(self, product_type: str, marketplace_id: str, requirements: Requirements) -> Any: ...


class MappingConfigError(ListingSyncError):
    """The ``listings:`` section cannot work with the product type schemas (e.g. an unknown attribute)."""


def raw_schema(schema: Any) -> Mapping[str, Any]:
    """The JSON schema dict of what a schema provider returned (a dict or a ``ProductTypeSchema``)."""
    if isinstance(schema, Mapping):
        return schema
    for name in ("raw", "schema", "raw_schema", "document"):
        value = getattr(schema, name, None)
        if isinstance(value, Mapping):
            return value
    raise TypeError(f"not a product type schema: {type(schema).__name__}")


def _defs_default(schema: Mapping[str, Any], name: str) -> str | None:
    node = (schema.get("$defs") or {}).get(name) or {}
    default = node.get("default")
    return str(default) if default else None


class _SchemaInfo:
    """What the builder reads from one schema, computed once."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.properties: Mapping[str, Any] = schema.get("properties") or {}
        self.language_tag = _defs_default(schema, "language_tag")
        self.marketplace_id = _defs_default(schema, "marketplace_id")
        theme = self.properties.get("variation_theme") or {}
        name_node = ((theme.get("items") or {}).get("properties") or {}).get("name") or {}
        self.themes, _ = enum_values(name_node)
        self._shapes: dict[str, Any] = {}
        self._shapers: dict[str, AttributeShaper] = {}
        self._shape_ctx: ShapeContext | None = None

    def shape(self, name: str) -> Any:
        """The compiled shape of property ``name`` (compiled on first use: most are never mapped)."""
        found = self._shapes.get(name)
        if found is None:
            found = self._shapes[name] = compile_shape(self.properties[name])
        return found

    def shaper(self, name: str, ctx: ShapeContext) -> AttributeShaper:
        """Property ``name`` compiled for ``ctx``: the builder's one context for this schema's
        marketplace (a schema belongs to one marketplace), so shapers are kept by name."""
        found = self.shapers(ctx).get(name)
        if found is None:
            found = self._shapers[name] = AttributeShaper(name, self.shape(name), ctx)
        return found

    def shapers(self, ctx: ShapeContext) -> dict[str, AttributeShaper]:
        """The shapers compiled so far for ``ctx``, by property name (a dict lookup per attribute
        is all a listing's shaping loop then pays; :meth:`shaper` compiles the others)."""
        if ctx is not self._shape_ctx:
            self._shapers.clear()
            self._shape_ctx = ctx
        return self._shapers


class ListingBuilder:
    """Builds listings for ``config.account.marketplaces`` from catalogue records.

    ``schemas(product_type, marketplace_id, requirements)`` returns the product type schema (a
    ``ProductTypeSchema`` or the raw dict) without network access, e.g. ``SchemaStore.get_cached``.
    """

    def __init__(self, config: Config, schemas: SchemaProvider | Callable[..., Any]) -> None:
        self.config = config
        self.listings = config.listings
        self.account = config.account
        #: Read for every listing: the account's type, looked up once (a pydantic property).
        self._vendor = config.account.is_vendor
        # Vendors build against the vendor's view (cost_price declared, offers forbidden).
        self._schemas = for_account(schemas, config.account)
        #: Field names the catalogue has (set by the pipeline): absent from a record they are "".
        self.known_fields: set[str] = set()
        self._languages: dict[str, str] = {}
        #: Per marketplace: what shaping fills in (the same for every record, so built once).
        self._shape_contexts: dict[str, ShapeContext] = {}
        self._plans: dict[tuple[int, str, str, bool], tuple[_SchemaInfo, tuple[_PlanStep, ...]]] = {}
        self._schema_cache: dict[tuple[str, str, Requirements], _SchemaInfo | ListingSyncError] = {}
        self.marketplaces = [mp.by_id(m) for m in config.account.marketplaces]
        #: How numbers written as text are read (``mapping.numbers``).
        self.decimal_separator = (config.source.decimal_separator if config.source else None) or (
            decimal_separator_for(m.language_tag for m in self.marketplaces)
        )
        lc = self.listings
        self._base = {k: compile_spec(v) for k, v in lc.attributes.items()}
        self._by_type = {
            t: {k: compile_spec(v) for k, v in o.attributes.items()} for t, o in lc.product_types.items()
        }
        self._by_marketplace = {
            m: {k: compile_spec(v) for k, v in o.attributes.items()} for m, o in lc.marketplaces.items()
        }
        self._offer = {
            "price": _field_spec(lc.offer.price),
            "quantity": _field_spec(lc.offer.quantity),
            "handling_time": _field_spec(lc.offer.handling_time),
            "cost_price": _field_spec(lc.offer.cost_price),
        }
        self._identifier = _field_spec(lc.identifier.field)
        self._swatch = _field_spec(lc.images.swatch)
        self._theme = _optional_spec(lc.variations.theme)

    # -- schemas -------------------------------------------------------------------------------

    def schema_info(self, product_type: str, marketplace_id: str, requirements: Requirements) -> _SchemaInfo:
        key = (product_type, marketplace_id, requirements)
        found = self._schema_cache.get(key)
        if found is None:
            try:
                found = _SchemaInfo(raw_schema(self._schemas(product_type, marketplace_id, requirements)))
            except ListingSyncError as exc:
                found = exc
            except Exception as exc:  # a provider's own failure is reported per listing
                found = ListingSyncError(
                    f"no {product_type} schema for {mp.by_id(marketplace_id).country} "
                    f"({requirements.value}): {exc}",
                    fix="run 'listingsync validate' online once so the schema is downloaded and cached",
                )
            self._schema_cache[key] = found
        if isinstance(found, ListingSyncError):
            raise found
        return found

    def requirements_for(self, *, is_parent: bool) -> Requirements:
        """Vendors send product data only; a seller's variation parent carries no offer."""
        if self._vendor or is_parent:
            return Requirements.LISTING_PRODUCT_ONLY
        return Requirements.LISTING

    def check_config(self) -> None:
        """Raise :class:`MappingConfigError` for mapped attributes no configured schema knows.

        An attribute mapped for every product type must exist in at least one of them (a rule may
        route records to a type that lacks it); one mapped under ``product_types.<TYPE>`` must exist
        in that type. The message names the attribute and the closest schema names.
        """
        types = self.listings.product_type_names
        strays = [m for m in self.listings.marketplaces if m not in self.account.marketplaces]
        if strays:
            listed = ", ".join(mp.by_id(m).country for m in self.account.marketplaces)
            raise MappingConfigError(
                "listings.marketplaces names "
                + ", ".join(mp.by_id(m).country for m in strays)
                + f", which account.marketplaces does not list ({listed}): its overrides would never apply",
                where="listings.marketplaces",
                fix="add the marketplace to account.marketplaces or remove its overrides",
            )
        if not types:
            raise MappingConfigError(
                "listings has no product_type and no rules",
                where="listings",
                fix="set listings.product_type (e.g. HOME) or add rules: [{when: ..., product_type: ...}]",
            )
        known: dict[str, set[str]] = {}
        for product_type in {*types, *self._by_type}:
            for marketplace in self.marketplaces:
                try:
                    info = self.schema_info(
                        product_type, marketplace.marketplace_id, self.requirements_for(is_parent=False)
                    )
                except ListingSyncError:
                    continue
                known.setdefault(product_type, set()).update(info.properties)
        if not known:
            return
        everything = set().union(*known.values())
        countries = [m.country for m in self.marketplaces]
        problems: list[str] = []
        for name in self._base:
            if name not in everything:
                problems.append(_unknown(name, "listings.attributes", everything, sorted(known), countries))
        for product_type, specs in self._by_type.items():
            names = known.get(product_type)
            if names is None:
                continue
            for name in specs:
                if name not in names:
                    problems.append(
                        _unknown(
                            name,
                            f"listings.product_types.{product_type}.attributes",
                            names,
                            [product_type],
                            countries,
                        )
                    )
        for marketplace_id, specs in self._by_marketplace.items():
            for name in specs:
                if name not in everything:
                    country = mp.by_id(marketplace_id).country
                    problems.append(
                        _unknown(
                            name,
                            f"listings.marketplaces.{country}.attributes",
                            everything,
                            sorted(known),
                            countries,
                        )
                    )
        if problems:
            raise MappingConfigError(
                "the mapping names attributes the product type schemas do not have:\n  "
                + "\n  ".join(problems),
                where="listings",
                fix="rename them to the schema's attribute names ('listingsync product-types show TYPE' "
                "lists them) or remove them",
            )

    def check_fields(self, fields: Iterable[str]) -> None:
        """Raise :class:`MappingConfigError` once for every template name no record has.

        A misspelt field (``Title`` for ``title``) would otherwise fail every record the same way;
        said once, at the key of the config that uses it, with the name it probably meant.
        """
        known = set(fields)
        if not known:
            return  # nothing read (an empty incremental run): nothing to compare with
        available = known | PROVIDED
        specs: list[tuple[str, Spec | None]] = [
            (f"listings.attributes.{k}", v) for k, v in self._base.items()
        ]
        for kind, per in (("product_types", self._by_type), ("marketplaces", self._by_marketplace)):
            for owner, attributes in per.items():
                owner_name = mp.by_id(owner).country if kind == "marketplaces" else owner
                specs += [(f"listings.{kind}.{owner_name}.attributes.{k}", v) for k, v in attributes.items()]
        # (identifier, offer, swatch and theme have defaults naming fields a catalogue may lack.)
        problems: list[str] = []
        for where, spec in specs:
            for name in sorted(variables_read(spec) - available) if spec is not None else ():
                problems.append(f"{where}: uses {name!r}, which no record has{did_you_mean(name, known)}")
        for index, rule in enumerate(self.listings.rules):
            for name in sorted(condition_variables(rule.when) - available):
                problems.append(
                    f"listings.rules[{index}].when: uses {name!r}, which no record has{did_you_mean(name, known)}"
                )
        if problems:
            raise MappingConfigError(
                "the mapping reads fields the catalogue does not have:\n  " + "\n  ".join(problems),
                where="listings",
                fix="field names are case-sensitive: use the catalogue's ('listingsync catalog inspect' lists them)",
            )

    # -- building ------------------------------------------------------------------------------

    def product_type_for(self, context: Mapping[str, Any]) -> tuple[str | None, Issue | None]:
        """The first rule whose ``when`` holds, else ``listings.product_type``."""
        for index, rule in enumerate(self.listings.rules):
            try:
                if evaluate_condition(rule.when, context):
                    return rule.product_type, None
            except TemplateFailure as exc:
                return None, Issue(
                    "", Severity.ERROR, "LS-MAP-RULE", f"listings.rules[{index}] when {exc.message}"
                )
        if self.listings.product_type:
            return self.listings.product_type, None
        return None, Issue(
            "",
            Severity.ERROR,
            "LS-MAP-RULE",
            "no rule matches this record and listings.product_type (the default) is not set",
        )

    def build(
        self,
        product: Product,
        *,
        parent: Product | None = None,
        is_parent: bool | None = None,
    ) -> list[Listing]:
        """One listing per marketplace. ``parent`` is a variant's parent record (for inheritance and
        its variation theme); ``is_parent`` says the record has variants (default: it has a variation
        theme and no parent)."""
        listings: list[Listing] = []
        product_type: str | None = None
        type_issue: Issue | None = None
        inherits = parent is not None and self.listings.variations.inherit
        # What every marketplace's context shares, made once (a vendor in 5 countries builds 5).
        own = record_fields(product, self.known_fields) if not inherits else None
        for index, marketplace in enumerate(self.marketplaces):
            language = self._language(marketplace)
            fallbacks = self._fallbacks(marketplace)
            parent_ctx = (
                record_context(parent, marketplace, language, languages=fallbacks, defaults=self.known_fields)
                if parent is not None
                else None
            )
            ctx = record_context(
                product,
                marketplace,
                language,
                languages=fallbacks,
                parent=parent_ctx if inherits else None,
                defaults=self.known_fields,
                own=own,
            )
            if parent_ctx is not None:
                ctx["parent"] = parent_ctx
            if index == 0:
                product_type, type_issue = self.product_type_for(ctx)
            theme = self._theme_value(ctx, parent, marketplace, language)
            parent_flag = is_parent if is_parent is not None else (not product.is_variant and bool(theme))
            listings.append(
                self._build_one(product, marketplace, ctx, product_type, type_issue, parent_flag, theme)
            )
        return listings

    def _attribute_plan(
        self, info: _SchemaInfo, product_type: str, marketplace_id: str, is_parent: bool
    ) -> tuple[_PlanStep, ...]:
        """The mapped attributes of a listing, in order, each with its compiled evaluator (or the
        warning that replaces it): which apply depends on the schema, type, marketplace and
        whether the record is a parent, never on the record, so it is worked out once."""
        key = (id(info), product_type, marketplace_id, is_parent)
        found = self._plans.get(key)
        if found is not None and found[0] is info:
            return found[1]
        specs: dict[str, Spec | None] = {}
        specs.update(self._base)
        specs.update(self._by_type.get(product_type, {}))
        specs.update(self._by_marketplace.get(marketplace_id, {}))
        steps: list[_PlanStep] = []
        for name, spec in specs.items():
            if spec is None or name not in info.properties:
                continue  # unknown names are reported once by check_config, not per record
            if name in OFFER_ATTRIBUTES and (self._vendor or is_parent):
                if self._vendor:
                    steps.append(
                        Issue(
                            f"/{name}",
                            Severity.WARNING,
                            "LS-MAP-VENDOR-OFFER",
                            f"{name} is a seller offer attribute; vendor listings carry product data "
                            "only, so it is not sent (remove it from the mapping)",
                        )
                    )
                continue
            steps.append((name, spec, compile_evaluator(spec)))
        plan = tuple(steps)
        self._plans[key] = (info, plan)
        return plan

    def _shape_context(self, marketplace: mp.Marketplace, language_tag: str) -> ShapeContext:
        found = self._shape_contexts.get(marketplace.marketplace_id)
        if found is None or found.language_tag != language_tag:
            found = self._shape_contexts[marketplace.marketplace_id] = ShapeContext(
                marketplace_id=marketplace.marketplace_id,
                language_tag=language_tag,
                currency=marketplace.currency,
                units=self.listings.units,
                decimal_separator=self.decimal_separator,
            )
        return found

    def _language(self, marketplace: mp.Marketplace) -> str:
        """The language tag of the marketplace's schema (it declares the one it accepts)."""
        found = self._languages.get(marketplace.marketplace_id)
        if found is None:
            found = marketplace.language_tag
            for product_type in self.listings.product_type_names[:1]:
                try:
                    info = self.schema_info(
                        product_type, marketplace.marketplace_id, self.requirements_for(is_parent=False)
                    )
                except ListingSyncError:
                    continue
                found = info.language_tag or found
            self._languages[marketplace.marketplace_id] = found
        return found

    def _fallbacks(self, marketplace: mp.Marketplace) -> list[str]:
        override = self.listings.marketplaces.get(marketplace.marketplace_id)
        out = [override.language] if override and override.language else []
        if self.listings.fallback_language:
            out.append(self.listings.fallback_language)
        return out

    def _language_hint(
        self, product: Product, spec: Spec, marketplace: mp.Marketplace, language_tag: str
    ) -> str | None:
        """Why a template came out empty when it reads a per-language field that has values, but not
        in this marketplace's language (``product_name[en|es]`` for DE): and what fixes it."""
        for field in sorted(variables_read(spec)):
            per_language = product.localized.get(field)
            if not per_language or not any(v not in (None, "", []) for v in per_language.values()):
                continue
            have = sorted(lang for lang, v in per_language.items() if v not in (None, "", []))
            language = language_tag.split("_", 1)[0]
            return (
                f"{field!r} has values in {', '.join(have)} but none in {language} ({marketplace.country}); "
                f"set listings.fallback_language: {have[0]} to use them there, or add a {field} column "
                f"in {language} (e.g. {field}_{language})"
            )
        return None

    def _theme_value(
        self, ctx: Mapping[str, Any], parent: Product | None, marketplace: mp.Marketplace, language: str
    ) -> str:
        spec = self._theme or _auto_spec(ctx, _THEME_FIELDS)
        value: Any = None
        if spec is not None:
            try:
                value = evaluate(spec, ctx)
            except TemplateFailure:
                value = None
        if (value is None or value == "") and parent is not None:
            pctx = record_context(parent, marketplace, language)
            pspec = self._theme or _auto_spec(pctx, _THEME_FIELDS)
            if pspec is not None:
                try:
                    value = evaluate(pspec, pctx)
                except TemplateFailure:
                    value = None
        return str(value).strip() if value not in (None, "") else ""

    def _build_one(
        self,
        product: Product,
        marketplace: mp.Marketplace,
        ctx: dict[str, Any],
        product_type: str | None,
        type_issue: Issue | None,
        is_parent: bool,
        theme: str,
    ) -> Listing:
        requirements = self.requirements_for(is_parent=is_parent)
        listing = Listing(
            sku=product.sku,
            marketplace_id=marketplace.marketplace_id,
            product_type=product_type or "",
            requirements=requirements,
            attributes={},
            parent_sku=product.parent_sku,
            parentage="parent" if is_parent else ("child" if product.is_variant else None),
            origin=str(product.origin),
        )
        issues: list[Issue] = listing.build_issues
        if product_type is None:
            if type_issue is not None:
                issues.append(type_issue)
            return listing
        try:
            info = self.schema_info(product_type, marketplace.marketplace_id, requirements)
        except ListingSyncError as exc:
            issues.append(Issue("", Severity.ERROR, "LS-MAP-SCHEMA", str(exc)))
            return listing
        shape_ctx = self._shape_context(marketplace, str(ctx["language_tag"]))
        values: dict[str, Any] = {}
        for step in self._attribute_plan(info, product_type, marketplace.marketplace_id, is_parent):
            if isinstance(step, Issue):
                issues.append(step)
                continue
            name, spec, evaluator = step
            try:
                value = values[name] = evaluator(ctx)
            except TemplateFailure as exc:
                issues.append(
                    Issue(
                        f"/{name}",
                        Severity.ERROR,
                        "LS-MAP-TEMPLATE",
                        f"SKU {product.sku}: attribute {name}: {exc.message}",
                    )
                )
                continue
            if (not value.strip()) if type(value) is str else _blank(value):  # text, the commonest, inline
                hint = self._language_hint(product, spec, marketplace, str(ctx["language_tag"]))
                if hint:
                    issues.append(Issue(f"/{name}", Severity.WARNING, "LS-MAP-LANGUAGE", f"{name}: {hint}"))
        self._automatic(product, ctx, info, values, issues, is_parent, theme)
        compiled = info.shapers(shape_ctx)
        for name, value in values.items():
            shaper = compiled.get(name) or info.shaper(name, shape_ctx)
            entries, shape_issues = shaper(value)
            if shape_issues:
                issues.extend(shape_issues)
            if entries:
                listing.attributes[name] = entries
        if (
            "condition_type" in info.properties
            and "condition_type" not in listing.attributes
            and not is_parent
            and not self._vendor
            and self.listings.offer.enabled
        ):
            entries, _ = info.shaper("condition_type", shape_ctx)(self.listings.offer.condition)
            if entries:
                listing.attributes["condition_type"] = entries
        return listing

    def _automatic(
        self,
        product: Product,
        ctx: dict[str, Any],
        info: _SchemaInfo,
        values: dict[str, Any],
        issues: list[Issue],
        is_parent: bool,
        theme: str,
    ) -> None:
        props = info.properties

        def wants(name: str) -> bool:
            return name in props and name not in values

        # Images: the record's ordered images; the first is the main image.
        if self.listings.images.enabled:
            images = [u for u in ctx.get("images") or [] if isinstance(u, str) and u.strip()]
            for slot, url in zip(_IMAGE_SLOTS, images, strict=False):
                if wants(slot):
                    values[slot] = url
            if len(images) > len(_IMAGE_SLOTS):
                issues.append(
                    Issue(
                        "/other_product_image_locator_8",
                        Severity.WARNING,
                        "LS-MAP-IMAGES",
                        f"{len(images)} images: Amazon takes a main image and 8 others, "
                        f"{len(images) - len(_IMAGE_SLOTS)} are not sent",
                    )
                )
            if self._swatch is not None and wants("swatch_product_image_locator"):
                values["swatch_product_image_locator"] = self._eval(
                    self._swatch, ctx, "swatch", product, issues
                )

        # Variations.
        if is_parent or product.is_variant:
            if wants("parentage_level"):
                values["parentage_level"] = "parent" if is_parent else "child"
            if wants("child_parent_sku_relationship"):
                relation: dict[str, Any] = {"child_relationship_type": "variation"}
                if product.is_variant:
                    relation["parent_sku"] = product.parent_sku
                values["child_parent_sku_relationship"] = relation
            if theme and wants("variation_theme"):
                values["variation_theme"] = {"name": _match_theme(theme, info.themes)}

        # Barcode, or the exemption; parents have none (they are not sold themselves).
        if not is_parent and wants("externally_assigned_product_identifier"):
            spec = self._identifier or _auto_spec(ctx, _ID_FIELDS)
            code = self._eval(spec, ctx, "identifier", product, issues) if spec is not None else None
            code_text = _barcode_text(code)
            if code_text:
                kind, problem = _classify_barcode(
                    code_text, self.listings.identifier.type, was_number=isinstance(code, int | float)
                )
                if problem:
                    issues.append(
                        Issue(
                            "/externally_assigned_product_identifier/0/value",
                            Severity.ERROR,
                            "LS-MAP-BARCODE",
                            f"SKU {product.sku}: barcode {code_text!r} {problem}",
                        )
                    )
                values["externally_assigned_product_identifier"] = {"type": kind, "value": code_text}
            elif (
                self.listings.identifier.exemption
                and wants("supplier_declared_has_product_identifier_exemption")
                and "merchant_suggested_asin" not in values
            ):
                values["supplier_declared_has_product_identifier_exemption"] = True

        # Sales terms: seller offers; vendors get the cost price where the schema has it.
        if is_parent or not self.listings.offer.enabled:
            return
        if self._vendor:
            if wants("cost_price"):
                spec = self._offer["cost_price"] or _auto_spec(ctx, _COST_FIELDS)
                if spec is not None:
                    values["cost_price"] = self._eval(spec, ctx, "cost_price", product, issues)
            return
        price_spec = self._offer["price"] or _auto_spec(ctx, _PRICE_FIELDS)
        if price_spec is not None and wants("purchasable_offer"):
            price = self._eval(price_spec, ctx, "price", product, issues)
            if price not in (None, ""):
                values["purchasable_offer"] = {"our_price": {"schedule": {"value_with_tax": price}}}
        if wants("fulfillment_availability"):
            qty_spec = self._offer["quantity"] or _auto_spec(ctx, _QUANTITY_FIELDS)
            days_spec = self._offer["handling_time"] or _auto_spec(ctx, _HANDLING_FIELDS)
            quantity = self._eval(qty_spec, ctx, "quantity", product, issues) if qty_spec else None
            days = self._eval(days_spec, ctx, "handling_time", product, issues) if days_spec else None
            if quantity not in (None, "") or days not in (None, ""):
                availability: dict[str, Any] = {
                    "fulfillment_channel_code": self.listings.offer.fulfillment_channel
                }
                if quantity not in (None, ""):
                    availability["quantity"] = quantity
                if days not in (None, ""):
                    availability["lead_time_to_ship_max_days"] = days
                values["fulfillment_availability"] = availability

    def _eval(
        self, spec: Spec, ctx: Mapping[str, Any], what: str, product: Product, issues: list[Issue]
    ) -> Any:
        try:
            return evaluate(spec, ctx)
        except TemplateFailure as exc:
            issues.append(
                Issue("", Severity.ERROR, "LS-MAP-TEMPLATE", f"SKU {product.sku}: {what}: {exc.message}")
            )
            return None


def _optional_spec(value: Any) -> Spec | None:
    return compile_spec(value) if value is not None else None


def _field_spec(value: Any) -> Spec | None:
    """Like :func:`_optional_spec`, but a bare name (``identifier: {field: ean}``, ``price: price``)
    is the field of that name, not the constant text."""
    spec = _optional_spec(value)
    if isinstance(spec, Const) and isinstance(spec.value, str) and spec.value.strip():
        return FieldRef(spec.value.strip())
    return spec


#: ``_auto_spec`` answers by the context's names (the same for nearly every record of a catalogue).
_AUTO_SPECS: dict[tuple[tuple[Any, ...], tuple[str, ...]], Spec | None] = {}


def _auto_spec(ctx: Mapping[str, Any], names: Iterable[str]) -> Spec | None:
    """A field reference to the first of ``names`` the record has (case-insensitively)."""
    key = (tuple(ctx), tuple(names))
    try:
        return _AUTO_SPECS[key]
    except KeyError:
        pass
    lowered = {k.casefold(): k for k in ctx if isinstance(k, str)}
    found: Spec | None = None
    for name in key[1]:
        if name in lowered:
            found = FieldRef(lowered[name])
            break
    if len(_AUTO_SPECS) >= 256:  # bounded: a catalogue whose records differ in their names
        _AUTO_SPECS.clear()
    _AUTO_SPECS[key] = found
    return found


def _unknown(name: str, where: str, names: Iterable[str], types: list[str], countries: list[str]) -> str:
    """``is_fragile: not an attribute of HOME in US`` with what could be meant: a similar name (one
    sharing a word, or spelt nearly alike), else the marketplaces whose schema has it."""
    words = set(name.split("_"))
    close = [
        c
        for c in difflib.get_close_matches(name, sorted(names), n=6, cutoff=0.6)
        if words & set(c.split("_")) or difflib.SequenceMatcher(None, name, c).ratio() >= 0.85
    ][:3]
    where_known = _bundled_elsewhere(name, types, countries)
    if close:
        hint = f" (did you mean {', '.join(close)}?)"
    elif where_known:
        hint = (
            f" ({where_known}: schemas differ per marketplace; map it under "
            f"listings.marketplaces.<country>.attributes for those, or remove it)"
        )
    else:
        hint = " ('listingsync product-types show TYPE --marketplace XX' lists the attributes)"
    return f"{where}.{name}: not an attribute of {', '.join(types)} in {', '.join(countries)}{hint}"


def _bundled_elsewhere(name: str, types: list[str], countries: list[str]) -> str:
    """``HOME has it in FR``: the bundled schemas of other marketplaces that know the attribute."""
    import json

    from listingsync.schema.product_type import bundled_schema_files

    found: list[str] = []
    for path in bundled_schema_files():
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        product_type = str(schema.get("$id", "")).rsplit("/", 1)[-1]
        marketplace_id = ((schema.get("$defs") or {}).get("marketplace_id") or {}).get("default")
        market = mp.find(str(marketplace_id)) if marketplace_id else None
        known_there = name in (schema.get("properties") or {})
        if product_type in types and market and market.country not in countries and known_there:
            found.append(f"{product_type} has it in {market.country}")
    return "; ".join(found)


def _match_theme(value: str, themes: list[Any]) -> str:
    """A user's theme (``size/color``, ``Color``) as the schema spells it (``SIZE_NAME/COLOR_NAME``)."""
    if not themes or value in themes:
        return value
    wanted = value.strip().upper().replace(" ", "_").replace("-", "_")
    names = [str(t) for t in themes]
    if wanted in names:
        return wanted
    parts = wanted.split("/")
    suffixed = "/".join(p if p.endswith("_NAME") else f"{p}_NAME" for p in parts)
    if suffixed in names:
        return suffixed
    return value


def _barcode_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():  # a spreadsheet's number cell
        return str(int(value))
    return str(value).strip().replace(" ", "").replace("-", "")


#: Lengths of each identifier type Amazon takes (GS1: EAN-8/13, UPC-A 12, GTIN-14; ISBN-10/13).
_LENGTHS = {"ean": (8, 13), "upc": (12,), "gtin": (8, 12, 13, 14), "jan": (8, 13), "isbn": (10, 13)}
_GS1_NAMES = {8: "EAN-8", 12: "UPC", 13: "EAN-13", 14: "GTIN-14"}


def _blank(value: Any) -> bool:
    """Nothing to send: empty text, or a list or mapping of nothing but empty text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    if isinstance(value, list):
        return all(_blank(v) for v in value)
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    return False


def _gs1_valid(code: str) -> bool:
    """ASCII digits, 8 to 14 of them, with the right GS1 check digit: exactly the codes stdnum's
    ``ean.validate`` accepts among those of an allowed length (its check-digit formula), without
    its cleaning and exceptions, for the barcodes that are fine."""
    if not (code.isascii() and code.isdigit()) or len(code) not in (8, 12, 13, 14):
        return False
    # Weights 3, 1, 3, … from the digit before the check digit leftwards.
    total = 3 * sum(map(int, code[-2::-2])) + sum(map(int, code[-3::-2]))
    return str((10 - total) % 10) == code[-1]


@functools.lru_cache(maxsize=1024)  # a record's barcode, once for all its marketplaces
def _classify_barcode(code: str, configured: str, *, was_number: bool = False) -> tuple[str, str | None]:
    """The identifier type for ``code`` and a problem description (None when it is well formed).

    Check digits and lengths come from python-stdnum (GS1 for EAN/UPC/GTIN/JAN, ISBN-10/13 with its
    own check). A code one digit short whose zero-padded form is valid is named as what it almost
    certainly is: a UPC/EAN whose leading zero a spreadsheet or a number column dropped.
    """
    kind = configured
    if configured == "auto":
        isbn10 = len(code) == 10 and code[:9].isdigit() and code[-1] in "0123456789Xx"
        kind = "isbn" if isbn10 else {8: "ean", 12: "upc", 13: "ean", 14: "gtin"}.get(len(code), "ean")
    lengths = _LENGTHS.get(kind, (len(code),))
    if kind != "isbn" and len(code) in lengths and _gs1_valid(code):
        return kind, None  # well formed: what stdnum's ean.validate accepts (the common case)

    from stdnum import ean, isbn
    from stdnum.exceptions import InvalidChecksum, ValidationError

    padded = _GS1_NAMES.get(len(code) + 1)
    if padded and code.isdigit() and len(code) not in lengths and kind != "isbn":
        try:
            ean.validate("0" + code)
        except ValidationError:
            pass
        else:
            source = "was stored as a number, which dropped" if was_number else "lost"
            return kind, (
                f"has {len(code)} digits: it looks like a {padded} that {source} its leading zero "
                f"('0{code}' is valid); keep the column as text in the catalogue"
            )
    checker = isbn if kind == "isbn" else ean
    allowed = "digits (a final X for ISBN-10)" if kind == "isbn" else "digits"
    if not (code[:-1].isdigit() and (code[-1].isdigit() or (kind == "isbn" and code[-1] in "Xx"))):
        return kind, f"is not all {allowed} (an EAN has 8 or 13, a UPC 12, a GTIN 14, an ISBN 10 or 13)"
    if len(code) not in lengths:
        article = "an" if kind in ("ean", "isbn") else "a"
        return (
            kind,
            f"has {len(code)} digits; {article} {kind.upper()} has {' or '.join(str(n) for n in lengths)}",
        )
    try:
        checker.validate(code)
    except InvalidChecksum:
        return kind, "has a wrong check digit (the last digit does not match the others): check for a typo"
    except ValidationError as exc:
        return kind, f"is not a valid {kind.upper()}: {str(exc).rstrip('.').lower()}"
    return kind, None
