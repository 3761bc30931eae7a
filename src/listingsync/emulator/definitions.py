"""Product Type Definitions API 2020-09-01 over the emulator's schema registry (spapi.md §4.1).

    GET /definitions/2020-09-01/productTypes                 searchDefinitionsProductTypes
    GET /definitions/2020-09-01/productTypes/{productType}   getDefinitionsProductType
    GET /_s3/definitions/…                                   the schema / meta-schema documents

``getDefinitionsProductType`` answers Amazon's ``ProductTypeDefinition``: links to the schema and the
meta-schema, served by the emulator itself (Amazon's are presigned S3 URLs valid 7 days, needing no
SP-API token, and so are ours), each with its checksum computed as the model says, Base64 of the MD5
of the served bytes; the schema narrowed to the requested ``requirements`` and
``requirementsEnforced`` by :func:`listingsync.schema.requirements.derive`; ``propertyGroups``
derived from the schema's properties (the ``offer`` group is exactly the one ``derive`` uses);
``productTypeVersion`` from the content, so a changed schema gets a new version.

``parentageLevel`` (NONE / CHILD / PARENT) resolves the conditional rules whose ``if`` is decided
by the level alone (:func:`resolve_parentage`): what a standalone item, a variation child or a
parent necessarily holds in ``parentage_level``, ``child_parent_sku_relationship`` and
``variation_theme``. A rule whose condition also depends on other attributes stays as it is, so the
smaller schema accepts exactly what the full one accepts for listings of that level.

With a vendor's ``sellerId`` (the model: "When provided, seller-specific requirements and values are
populated within the product type definition schema") the schema is the vendor's view
(:func:`listingsync.schema.vendor.vendor_view`: ``cost_price`` declared, seller offers forbidden),
as vendors are served vendor schemas (spapi.md §3.5, UNCONFIRMED beyond issue reports); without
``sellerId`` it is the generic schema. The listings API judges vendors with the same view.

Not emulated: display labels are not translated for ``locale``.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.amazon import marketplaces as mp
from listingsync.emulator.context import EmulatorContext, region_of
from listingsync.emulator.errors import bad_request, not_found
from listingsync.emulator.product_types import ProductTypeRegistry, meta_schema
from listingsync.schema.requirements import OFFER_GROUP, REQUIREMENTS, derive
from listingsync.schema.vendor import vendor_view

__all__ = [
    "LOCALES",
    "PROPERTY_GROUPS",
    "DefinitionDocuments",
    "checksum",
    "display_name",
    "property_groups",
    "resolve_parentage",
    "root_routes",
    "routes",
    "search_product_types",
]

#: The ``locale`` enum of getDefinitionsProductType.
LOCALES: Final = list(mp.PTD_LOCALES)
PARENTAGE_LEVELS: Final = ("NONE", "CHILD", "PARENT")
ENFORCEMENT: Final = ("ENFORCED", "NOT_ENFORCED")

_VARIATIONS: Final = frozenset({"parentage_level", "child_parent_sku_relationship", "variation_theme"})
_IDENTITY: Final = frozenset(
    {
        "item_name",
        "brand",
        "externally_assigned_product_identifier",
        "merchant_suggested_asin",
        "supplier_declared_has_product_identifier_exemption",
        "item_type_keyword",
        "item_type_name",
        "product_category",
        "product_subcategory",
        "recommended_browse_nodes",
        "model_number",
        "model_name",
        "manufacturer",
        "part_number",
    }
)
_SAFETY_WORDS: Final = (
    "batter",
    "lithium",
    "hazmat",
    "ghs",
    "dg_hz",
    "safety",
    "compliance",
    "proposition_65",
    "pesticide",
    "fcc_",
    "regulatory",
    "gpsr_",
    "dsa_",
    "warranty",
    "country_of_origin",
)
_SHIPPING: Final = frozenset(
    {
        "item_package_dimensions",
        "item_package_weight",
        "ships_globally",
        "number_of_boxes",
        "master_pack_dimensions",
        "master_pack_weight",
        "customer_package_type",
    }
)

#: name → (title, description), in the order Amazon lists its groups.
PROPERTY_GROUPS: Final[Mapping[str, tuple[str, str]]] = {
    "offer": ("Offer", "Information to enable the item to be buyable (e.g., price, quantity, condition)"),
    "product_identity": (
        "Product Identity",
        "Information to uniquely identify your product (e.g., UPC, EAN, GTIN, Product Type, Brand)",
    ),
    "product_details": ("Product Details", "Information about the product (e.g., material, color, size)"),
    "variations": ("Variations", "Information about the variation family of the product"),
    "safety_and_compliance": (
        "Safety & Compliance",
        "Information about safety, hazardous materials and regulatory compliance",
    ),
    "images": ("Images", "Images of the product"),
    "shipping": ("Shipping", "Information about the packaging and shipping of the product"),
}


def _group_of(name: str) -> str:
    if name in OFFER_GROUP:
        return "offer"
    if name in _VARIATIONS:
        return "variations"
    if name in _IDENTITY:
        return "product_identity"
    if name.endswith("_image_locator") or name.startswith("other_product_image_locator"):
        return "images"
    if name in _SHIPPING:
        return "shipping"
    if any(word in name for word in _SAFETY_WORDS):
        return "safety_and_compliance"
    return "product_details"


def property_groups(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``propertyGroups`` of a (derived) schema: every property in exactly one group, schema order."""
    members: dict[str, list[str]] = {name: [] for name in PROPERTY_GROUPS}
    for name in schema.get("properties", {}):
        members[_group_of(name)].append(name)
    return {
        name: {
            "title": PROPERTY_GROUPS[name][0],
            "description": PROPERTY_GROUPS[name][1],
            "propertyNames": names,
        }
        for name, names in members.items()
        if names
    }


def display_name(product_type: str) -> str:
    """``HOME_BED_AND_BATH`` → ``Home Bed And Bath`` (schemas carry no display name)."""
    return " ".join(part.capitalize() for part in product_type.split("_"))


def checksum(data: bytes) -> str:
    """The model's "Base64 MD5" of a schema document."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _version(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()[:9]).decode("ascii")


def search_product_types(
    registry: ProductTypeRegistry,
    marketplace_ids: Sequence[str],
    *,
    keywords: Sequence[str] = (),
    item_name: str | None = None,
) -> list[dict[str, Any]]:
    """``ProductType`` entries matching the search (all types when neither filter is given).

    ``keywords``: a product type matches when any keyword occurs in its name or display name
    (case-insensitive, ``_`` read as a space). ``itemName`` asks for recommendations: the types
    whose name words occur in the title, else the generic ``PRODUCT`` when the registry has it.
    """
    names = registry.product_types()

    def text(name: str) -> str:
        return f"{name} {display_name(name)}".replace("_", " ").lower()

    if keywords:
        wanted = [k.strip().lower().replace("_", " ") for k in keywords if k.strip()]
        chosen = [n for n in names if any(k in text(n) for k in wanted)]
    elif item_name:
        title = f" {item_name.lower()} "
        chosen = [n for n in names if any(f" {w} " in title or f" {w}s " in title for w in text(n).split())]
        if not chosen and "PRODUCT" in names:
            chosen = ["PRODUCT"]
    else:
        chosen = list(names)
    return [
        {"name": n, "displayName": display_name(n), "marketplaceIds": list(marketplace_ids)} for n in chosen
    ]


# -- parentageLevel: resolving the variation conditionals ------------------------------------------

#: A field known to be there but not what it holds.
_ANY: Final = object()
#: What a listing of each parentage level necessarily holds (attribute → the known fields of its
#: items, or None when the attribute is absent). Attributes not named here are unknown.
_FACTS: Final[Mapping[str, Mapping[str, Mapping[str, object] | None]]] = {
    "NONE": {"parentage_level": None, "child_parent_sku_relationship": None, "variation_theme": None},
    "CHILD": {
        "parentage_level": {"value": "child"},
        "child_parent_sku_relationship": {"child_relationship_type": "variation", "parent_sku": _ANY},
        "variation_theme": {"name": _ANY},
    },
    "PARENT": {
        "parentage_level": {"value": "parent"},
        "child_parent_sku_relationship": None,
        "variation_theme": {"name": _ANY},
    },
}
_ANNOTATIONS: Final = frozenset({"$comment", "title", "description", "examples", "default"})


def _and(results: Iterable[bool | None]) -> bool | None:
    values = list(results)
    if False in values:
        return False
    return None if None in values else True


def _or(results: Iterable[bool | None]) -> bool | None:
    values = list(results)
    if True in values:
        return True
    return None if None in values else False


def _item_truth(node: Any, fields: Mapping[str, object]) -> bool | None:
    """Does an array item holding the known ``fields`` satisfy ``node``? None when undecidable."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        return None
    results: list[bool | None] = []
    for key, value in node.items():
        if key in _ANNOTATIONS or (key == "type" and value == "object"):
            continue
        if key == "required" and isinstance(value, list):
            results.extend(True if name in fields else None for name in value)
        elif key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                if name not in fields:
                    results.append(None)
                elif fields[name] is _ANY or not isinstance(sub, dict):
                    results.append(True if sub in ({}, True) else None)
                elif isinstance(sub.get("enum"), list) and set(sub) <= {"enum", "type", *_ANNOTATIONS}:
                    results.append(fields[name] in sub["enum"])
                else:
                    results.append(None)
        else:
            results.append(None)
    return _and(results)


def _array_truth(node: Any, fields: Mapping[str, object]) -> bool | None:
    """Does an attribute whose items all hold ``fields`` (at least one item) satisfy ``node``?"""
    if not isinstance(node, dict):
        return None
    checks: list[bool | None] = []
    for key, value in node.items():
        if key in ("items", "contains"):
            checks.append(_item_truth(value, fields))
        elif (
            key in _ANNOTATIONS
            or (key == "type" and value == "array")
            or (key == "minItems" and isinstance(value, int) and value <= 1)
        ):
            continue
        else:
            checks.append(None)
    return _and(checks)


def _truth(node: Any, facts: Mapping[str, Mapping[str, object] | None]) -> bool | None:
    """Three-valued truth of a condition for every listing that holds ``facts``."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        return None
    results: list[bool | None] = []
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key == "required" and isinstance(value, list):
            results.extend(None if name not in facts else facts[name] is not None for name in value)
        elif key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                if name not in facts:
                    results.append(None)
                else:
                    fields = facts[name]
                    # "properties" says nothing about an absent attribute.
                    results.append(True if fields is None else _array_truth(sub, fields))
        elif key == "not":
            inner = _truth(value, facts)
            results.append(None if inner is None else not inner)
        elif key == "allOf" and isinstance(value, list):
            results.append(_and(_truth(v, facts) for v in value))
        elif key == "anyOf" and isinstance(value, list):
            results.append(_or(_truth(v, facts) for v in value))
        else:
            results.append(None)
    return _and(results)


def _resolve_rule(rule: Any, facts: Mapping[str, Mapping[str, object] | None]) -> list[Any]:
    if not isinstance(rule, dict):
        return [rule]
    if "if" in rule and set(rule) <= {"if", "then", "else", *_ANNOTATIONS}:
        verdict = _truth(rule["if"], facts)
        if verdict is True:
            return [rule["then"]] if "then" in rule else []
        if verdict is False:
            return [rule["else"]] if "else" in rule else []
        return [rule]
    if isinstance(rule.get("allOf"), list):
        return [{**rule, "allOf": [r for sub in rule["allOf"] for r in _resolve_rule(sub, facts)]}]
    return [rule]


def resolve_parentage(schema: Mapping[str, Any], level: str) -> dict[str, Any]:
    """``schema`` with the conditional rules that ``parentageLevel=level`` decides resolved."""
    facts = _FACTS[level]
    out = dict(schema)
    if isinstance(schema.get("allOf"), list):
        out["allOf"] = [r for rule in schema["allOf"] for r in _resolve_rule(rule, facts)]
    return out


@dataclass(frozen=True, slots=True)
class _Document:
    data: bytes
    checksum: str
    version: str


class DefinitionDocuments:
    """Serialised (derived) schemas by (type, marketplace, requirements, enforced, parentage, vendor
    view); a small LRU."""

    def __init__(self, registry: ProductTypeRegistry, capacity: int = 24) -> None:
        self.registry = registry
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, str, str, bool, str | None, bool], _Document] = OrderedDict()
        self._lock = threading.Lock()
        meta = orjson.dumps(meta_schema())
        self.meta = _Document(meta, checksum(meta), _version(meta))

    def get(
        self,
        product_type: str,
        marketplace_id: str,
        requirements: str,
        enforced: bool,
        parentage: str | None = None,
        vendor: bool = False,
    ) -> _Document | None:
        key = (product_type, marketplace_id, requirements, enforced, parentage, vendor)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        schema = self.registry.get(product_type, marketplace_id)
        if schema is None:
            return None
        listing = (
            self.get(product_type, marketplace_id, "LISTING", True)
            if key[2:] != ("LISTING", True, None, False)
            else None
        )
        derived = derive(schema, requirements, requirements_enforced=enforced)
        if vendor:
            derived = vendor_view(derived)
        data = orjson.dumps(resolve_parentage(derived, parentage) if parentage else derived)
        # One version for all the derived views of a schema: the version of its LISTING form.
        doc = _Document(data, checksum(data), listing.version if listing else _version(data))
        with self._lock:
            self._cache[key] = doc
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return doc

    def schema(
        self,
        product_type: str,
        marketplace_id: str,
        requirements: str,
        enforced: bool,
        parentage: str | None = None,
        vendor: bool = False,
    ) -> dict[str, Any]:
        doc = self.get(product_type, marketplace_id, requirements, enforced, parentage, vendor)
        if doc is None:
            raise KeyError(product_type)
        loaded: dict[str, Any] = orjson.loads(doc.data)
        return loaded

    def catalogue_version(self, names: Iterable[str], marketplace_ids: Sequence[str]) -> str:
        """``productTypeVersion`` of a search: changes whenever any listed schema changes."""
        digest = hashlib.sha256()
        for name in names:
            for mid in marketplace_ids:
                doc = self.get(name, mid, "LISTING", True)
                digest.update(f"{name}/{mid}/{doc.version if doc else '-'};".encode())
        return base64.b64encode(digest.digest()[:9]).decode("ascii")


# -- request parsing --------------------------------------------------------------------------------


def _csv(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(","))
    return [v for v in values if v]


def _marketplaces(request: Request) -> list[str]:
    region = region_of(request)
    ids = _csv(request, "marketplaceIds")
    if not ids:
        raise bad_request(
            "Missing required parameter 'marketplaceIds'.",
            "Pass the marketplace of the product type, e.g. marketplaceIds=ATVPDKIKX0DER.",
        )
    for mid in ids:
        found = mp.find(mid)
        if found is None or found.marketplace_id != mid:
            raise bad_request(f"Invalid marketplace identifier '{mid}' in 'marketplaceIds'.")
        if found.region is not region:
            raise bad_request(
                f"Marketplace '{mid}' ({found.country}) is not in the {region.name} region of this endpoint."
            )
    return ids


def _enum(request: Request, name: str, allowed: Sequence[str], default: str | None) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise bad_request(f"Invalid value {value!r} for '{name}'.", f"Allowed: {', '.join(allowed)}.")
    return value


# -- routes -----------------------------------------------------------------------------------------

_DOCS_LOCK = threading.Lock()
_DOCS: weakref.WeakKeyDictionary[EmulatorContext, DefinitionDocuments] = weakref.WeakKeyDictionary()


def _documents(ctx: EmulatorContext) -> DefinitionDocuments:
    """One document cache per context (routes and root routes share it)."""
    with _DOCS_LOCK:
        docs = _DOCS.get(ctx)
        if docs is None:
            docs = _DOCS[ctx] = DefinitionDocuments(ctx.product_types)
        return docs


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    async def search(request: Request) -> Response:
        ctx.guard(request, "searchDefinitionsProductTypes")
        keywords = _csv(request, "keywords")
        item_name = request.query_params.get("itemName")
        if keywords and item_name:
            raise bad_request(
                "'keywords' and 'itemName' cannot be used together.",
                "Search either by keywords or by an item name, not both.",
            )
        marketplace_ids = _marketplaces(request)
        docs = _documents(ctx)
        found = search_product_types(
            ctx.product_types, marketplace_ids, keywords=keywords, item_name=item_name
        )
        body = {
            "productTypes": found,
            "productTypeVersion": docs.catalogue_version([p["name"] for p in found], marketplace_ids),
        }
        return ctx.respond(request, body)

    async def get(request: Request) -> Response:
        caller = ctx.guard(request, "getDefinitionsProductType")
        product_type = request.path_params["productType"]
        marketplace_ids = _marketplaces(request)
        if len(marketplace_ids) != 1:
            raise bad_request(
                f"'marketplaceIds' is limited to one marketplace; got {len(marketplace_ids)}.",
                "Ask for one marketplace per call.",
            )
        marketplace_id = marketplace_ids[0]
        seller_id = request.query_params.get("sellerId")
        if seller_id is not None and seller_id != caller.seller_id:
            raise bad_request(
                f"Invalid 'sellerId' {seller_id!r}: not the selling partner of this authorization.",
                "Pass the merchant token (seller) or vendor code (vendor) of the authorising account.",
            )
        requirements = _enum(request, "requirements", REQUIREMENTS, "LISTING")
        enforced_name = _enum(request, "requirementsEnforced", ENFORCEMENT, "ENFORCED")
        locale = _enum(request, "locale", LOCALES, "DEFAULT")
        parentage = _enum(request, "parentageLevel", PARENTAGE_LEVELS, None)
        assert requirements is not None and enforced_name is not None and locale is not None
        enforced = enforced_name == "ENFORCED"
        vendor = seller_id is not None and caller.account.is_vendor
        docs = _documents(ctx)
        doc = docs.get(product_type, marketplace_id, requirements, enforced, parentage, vendor)
        if doc is None:
            raise bad_request(
                f"Invalid product type '{product_type}'.",
                "Find available product types with searchDefinitionsProductTypes.",
            )
        version = request.query_params.get("productTypeVersion") or "LATEST"
        if version not in ("LATEST", "RELEASE_CANDIDATE", doc.version):
            raise not_found(
                f"Version '{version}' of product type '{product_type}' is not available.",
                f"The current version is {doc.version}; ask for LATEST.",
            )
        if locale == "DEFAULT":
            locale = mp.by_id(marketplace_id).language_tag
        base = _base(request)
        path = "/".join(
            quote(p, safe="") for p in (product_type, marketplace_id, requirements, enforced_name)
        )
        schema = docs.schema(product_type, marketplace_id, requirements, enforced, parentage, vendor)
        level = f"&parentageLevel={parentage}" if parentage else ""
        level += "&view=vendor" if vendor else ""
        body = {
            "metaSchema": {
                "link": {"resource": f"{base}/_s3/definitions/meta-schema/v1", "verb": "GET"},
                "checksum": docs.meta.checksum,
            },
            "schema": {
                "link": {
                    "resource": f"{base}/_s3/definitions/schemas/{path}?version={doc.version}{level}",
                    "verb": "GET",
                },
                "checksum": doc.checksum,
            },
            "requirements": requirements,
            "requirementsEnforced": enforced_name,
            "propertyGroups": property_groups(schema),
            "locale": locale,
            "marketplaceIds": [marketplace_id],
            "productType": product_type,
            "displayName": display_name(product_type),
            "productTypeVersion": {"version": doc.version, "latest": True, "releaseCandidate": False},
        }
        return ctx.respond(request, body)

    return [
        Route("/definitions/2020-09-01/productTypes", search, methods=["GET"]),
        Route("/definitions/2020-09-01/productTypes/{productType}", get, methods=["GET"]),
    ]


def root_routes(ctx: EmulatorContext) -> list[BaseRoute]:
    """The S3 stand-in serving schema documents (no SP-API token, like a presigned URL)."""

    async def meta(request: Request) -> Response:
        return Response(_documents(ctx).meta.data, media_type="application/json")

    async def schema(request: Request) -> Response:
        p = request.path_params
        if p["requirements"] not in REQUIREMENTS or p["enforced"] not in ENFORCEMENT:
            raise not_found("The specified key does not exist.")
        level = request.query_params.get("parentageLevel") or None
        if level is not None and level not in PARENTAGE_LEVELS:
            raise not_found("The specified key does not exist.")
        view = request.query_params.get("view")
        if view not in (None, "vendor"):
            raise not_found("The specified key does not exist.")
        doc = _documents(ctx).get(
            p["productType"],
            p["marketplaceId"],
            p["requirements"],
            p["enforced"] == "ENFORCED",
            level,
            vendor=view == "vendor",
        )
        if doc is None:
            raise not_found("The specified key does not exist.")
        return Response(doc.data, media_type="application/json", headers={"ETag": f'"{doc.checksum}"'})

    return [
        Route("/_s3/definitions/meta-schema/v1", meta, methods=["GET"]),
        Route(
            "/_s3/definitions/schemas/{productType}/{marketplaceId}/{requirements}/{enforced}",
            schema,
            methods=["GET"],
        ),
    ]
