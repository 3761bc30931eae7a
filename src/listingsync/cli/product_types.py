"""``listingsync product-types search WORDS`` and ``listingsync product-types show TYPE``.

``search`` asks Amazon (searchDefinitionsProductTypes) which product types match some words, or
which it recommends for a product title (``--title``). ``show`` fetches a product type's schema
through the schema store (getDefinitionsProductType, cached in ``.listingsync/schemas`` beside the
config, so ``validate``/``sync`` then work offline) and lists what a listing must carry: the required
attributes, the conditionally required ones with their condition in plain words, and the allowed
values with their labels. ``--bundled`` reads the schemas shipped with listingsync instead (no
account needed). Exit codes: 0 done, 2 could not run (config, credentials, Amazon, unknown type).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from listingsync.amazon import marketplaces as mp
from listingsync.cli.common import (
    EXIT_OK,
    ConfigOption,
    JsonOption,
    config_or_exit,
    console,
    err_console,
    fail,
    print_json,
)
from listingsync.errors import ListingSyncError

# The config models and the schema package (pydantic, the validator) are imported where a command
# runs, so that `product-types --help` stays fast (cli/lazy.py).
if TYPE_CHECKING:
    from listingsync.config import Config
    from listingsync.schema.product_type import AttributeInfo, ProductTypeSchema
    from listingsync.schema.store import SchemaStore

__all__ = ["fetch_schema", "product_types_app", "schema_report"]

CACHE_DIR = ".listingsync/schemas"
_SHOWN_VALUES = 8

MarketplaceOption = Annotated[
    str | None,
    typer.Option(
        "--marketplace",
        "-m",
        help="Country code or marketplace id (default: the first of account.marketplaces).",
        show_default=False,
    ),
]


product_types_app = typer.Typer(
    name="product-types",
    help="Find Amazon product types and list what their listings must contain.",
    no_args_is_help=True,
)


# -- plumbing ---------------------------------------------------------------------------------------


def _marketplace(config: Config | None, given: str | None) -> mp.Marketplace:
    if given:
        found = mp.find(given)
        if found is None:
            fail(
                ListingSyncError(f"unknown marketplace '{given}'", fix="use a country code such as DE or US")
            )
        return found
    if config is not None and config.account.marketplaces:
        return mp.get(config.account.marketplaces[0])
    fail(ListingSyncError("no marketplace given", fix="add --marketplace DE (or set account.marketplaces)"))


def _client(config: Config) -> Any:
    from listingsync.amazon import SPAPIClient, TokenBucketLimiter
    from listingsync.credentials import load_credentials

    credentials = load_credentials(config.account.selling_partner_id, config.account.resolved_region)
    try:
        # The demo and tests run the emulator with its limits sped up, and say so here.
        scale = float(os.environ.get("LISTINGSYNC_RATE_SCALE") or 1.0)
    except ValueError:
        scale = 1.0
    return SPAPIClient.from_account(
        config.account, credentials, rate_limiter=TokenBucketLimiter(scale=max(scale, 1e-3))
    )


def _store(config: Config, client: Any) -> SchemaStore:
    from listingsync.schema.store import SchemaStore

    return SchemaStore(client, config.resolve_path(CACHE_DIR), config.account.selling_partner_id)


# -- search -----------------------------------------------------------------------------------------


@product_types_app.command("search")
def search_command(
    words: Annotated[list[str], typer.Argument(help="Words to look for (or a product title with --title).")],
    marketplace: MarketplaceOption = None,
    title: Annotated[
        bool, typer.Option("--title", help="Treat WORDS as a product title and ask for recommendations.")
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find product types by keywords (searchDefinitionsProductTypes)."""
    cfg = config_or_exit(config)
    market = _marketplace(cfg, marketplace)

    async def run() -> list[dict[str, Any]]:
        async with _client(cfg) as client:
            store = _store(cfg, client)
            if title:
                return await store.search(market.marketplace_id, item_name=" ".join(words))
            return await store.search(market.marketplace_id, keywords=list(words))

    try:
        found = asyncio.run(run())
    except ListingSyncError as exc:
        fail(exc)
    if as_json:
        print_json({"marketplaceId": market.marketplace_id, "country": market.country, "productTypes": found})
        raise typer.Exit(EXIT_OK)
    if not found:
        console.print(f"No product type matches {' '.join(words)!r} in {market.country}.", markup=False)
        console.print(
            "  Try broader words, or --title with a product title for recommendations.", markup=False
        )
        raise typer.Exit(EXIT_OK)
    console.print(f"[bold]{len(found)} product type(s)[/bold] in {market.country} ({market.marketplace_id}):")
    width = max(len(str(p.get("name", ""))) for p in found)
    for p in found:
        console.print(f"  {p.get('name', '')!s:<{width}}  {p.get('displayName', '')}", markup=False)
    console.print(
        f"Next: listingsync product-types show {found[0].get('name')} --marketplace {market.country}",
        markup=False,
    )


# -- show -------------------------------------------------------------------------------------------


def _attribute_dict(info: AttributeInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "title": info.title,
        "description": info.description,
        "group": info.group,
        "required": info.required,
        "requiredWhen": list(info.required_when),
        "fields": list(info.fields),
        "allowedValues": [{"value": v, "label": label} for v, label in info.allowed],
    }


def schema_report(schema: ProductTypeSchema) -> dict[str, Any]:
    """Everything ``show`` prints, as data (``--json``)."""
    conditional = list(dict.fromkeys(r.attribute for r in schema.conditional_requirements()))
    conditional = [n for n in conditional if n not in schema.required and n in schema.properties]
    optional = [n for n in schema.properties if n not in schema.required and n not in conditional]
    market = mp.find(schema.marketplace_id)
    return {
        "productType": schema.product_type,
        "displayName": schema.display_name or schema.product_type,
        "marketplaceId": schema.marketplace_id,
        "country": market.country if market else None,
        "requirements": schema.requirements,
        "version": schema.version,
        "required": [_attribute_dict(schema.attribute(n)) for n in schema.required if n in schema.properties],
        "conditional": [_attribute_dict(schema.attribute(n)) for n in conditional],
        "optional": [_attribute_dict(schema.attribute(n)) for n in optional],
    }


def _values_line(values: list[dict[str, Any]], all_values: bool) -> str | None:
    if not values:
        return None
    shown = values if all_values else values[:_SHOWN_VALUES]
    parts = [
        f"{v['value']} ({v['label']})" if str(v["label"]) != str(v["value"]) else str(v["value"])
        for v in shown
    ]
    more = "" if len(shown) == len(values) else f" … and {len(values) - len(shown)} more (--all-values)"
    return "allowed: " + ", ".join(parts) + more


def _print_attribute(attr: dict[str, Any], all_values: bool, conditions: bool) -> None:
    title = f" — {attr['title']}" if attr["title"] else ""
    # Names and titles come from the schema (Amazon's or a user's file): data, never markup.
    console.print(f"  [bold]{escape(str(attr['name']))}[/bold]{escape(title)}", soft_wrap=True)
    if conditions:
        for when in attr["requiredWhen"]:
            console.print(f"      required when {when}", markup=False, soft_wrap=True)
    line = _values_line(attr["allowedValues"], all_values)
    if line:
        console.print(f"      {line}", markup=False, soft_wrap=True)


def _bundled(product_type: str, marketplace: str | None) -> ProductTypeSchema:
    from listingsync.schema.product_type import ProductTypeSchema, bundled_schema_files

    market = mp.find(marketplace) if marketplace else None
    if marketplace and market is None:
        fail(
            ListingSyncError(
                f"unknown marketplace '{marketplace}'", fix="use a country code such as FR or US"
            )
        )
    try:
        return ProductTypeSchema.bundled(product_type.upper(), market.marketplace_id if market else None)
    except ListingSyncError as exc:
        available = ", ".join(
            f"{s.product_type} ({(mp.find(s.marketplace_id) or market or mp.get('US')).country})"
            for s in map(ProductTypeSchema.from_file, bundled_schema_files())
        )
        fail(
            ListingSyncError(
                exc.message, fix=f"bundled schemas: {available}; without --bundled, fetch any from Amazon"
            )
        )


def fetch_schema(cfg: Config, product_type: str, marketplace_id: str, requirements: str) -> ProductTypeSchema:
    """Online through the store; without usable credentials, the cached copy (with a note)."""
    try:
        client = _client(cfg)
    except ListingSyncError as exc:
        try:
            cached = _store(cfg, None).get_cached(product_type, marketplace_id, requirements)
        except ListingSyncError:
            raise exc from None
        err_console.print(f"note: {exc.message}; showing the cached schema", markup=False, soft_wrap=True)
        return cached

    async def run() -> ProductTypeSchema:
        async with client:
            return await _store(cfg, client).get(product_type, marketplace_id, requirements)

    return asyncio.run(run())


@product_types_app.command("show")
def show_command(
    product_type: Annotated[str, typer.Argument(help="Amazon product type, e.g. HOME.")],
    marketplace: MarketplaceOption = None,
    requirements: Annotated[
        str | None,
        typer.Option(
            "--requirements",
            help="LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY (default: LISTING_PRODUCT_ONLY "
            "for vendors, LISTING for sellers).",
            show_default=False,
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only the schema cache; no network.")
    ] = False,
    bundled: Annotated[
        bool, typer.Option("--bundled", help="Read the schemas bundled with listingsync (no account needed).")
    ] = False,
    all_values: Annotated[bool, typer.Option("--all-values", help="List every allowed value.")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a product type's required and conditionally required attributes, with allowed values."""
    if bundled:
        schema = _bundled(product_type, marketplace)
    else:
        cfg = config_or_exit(config)
        market = _marketplace(cfg, marketplace)
        wanted = (requirements or ("LISTING_PRODUCT_ONLY" if cfg.account.is_vendor else "LISTING")).upper()
        if wanted not in ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"):
            fail(
                ListingSyncError(
                    f"unknown requirements '{requirements}'",
                    fix="use LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY",
                )
            )
        try:
            if offline:
                schema = _store(cfg, None).get_cached(product_type, market.marketplace_id, wanted)
            else:
                schema = fetch_schema(cfg, product_type, market.marketplace_id, wanted)
        except ListingSyncError as exc:
            fail(exc)

    report = schema_report(schema)
    if as_json:
        print_json(report)
        raise typer.Exit(EXIT_OK)
    version = f", version {report['version']}" if report["version"] else ""
    console.print(
        f"[bold]{escape(str(report['productType']))}[/bold]"
        + escape(
            (f" ({report['displayName']})" if report["displayName"] != report["productType"] else "")
            + f" — {report['country'] or ''} {report['marketplaceId']}, {report['requirements']}{version}"
        ),
        soft_wrap=True,
    )
    console.print(f"\n[bold]Required[/bold] ({len(report['required'])}):")
    for attr in report["required"]:
        _print_attribute(attr, all_values, conditions=False)
    console.print(f"\n[bold]Required under a condition[/bold] ({len(report['conditional'])}):")
    for attr in report["conditional"]:
        _print_attribute(attr, all_values, conditions=True)
    console.print(
        f"\n{len(report['optional'])} optional attributes (listed with --json).",
        markup=False,
    )
