"""``listingsync emulator``: serve the local SP-API (+ LWA, + fake Sales Layer) on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from listingsync.amazon import marketplaces as mp
from listingsync.cli.common import EMULATOR_MODULES, EXIT_UNUSABLE, console, fail, require_extra
from listingsync.errors import ListingSyncError


def emulator(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 picks a free one).")] = 8765,
    accounts: Annotated[
        Path | None,
        typer.Option("--accounts", help="YAML/JSON accounts file (default: the built-in demo accounts)."),
    ] = None,
    product_types: Annotated[
        list[Path] | None,
        typer.Option(
            "--product-types", help="Directory or file of product type schemas, as Amazon serves them."
        ),
    ] = None,
    rate_scale: Annotated[
        float, typer.Option("--rate-scale", help="Refill rate limits X times faster than Amazon.")
    ] = 1.0,
    no_limits: Annotated[bool, typer.Option("--no-limits", help="Switch rate limiting off.")] = False,
    faults: Annotated[
        str,
        typer.Option(
            "--faults",
            help='Fault injection, e.g. "error=0.05,storm=0.01:20,latency=5-50ms,drop=0.01,expire_every=100".',
        ),
    ] = "",
    seed: Annotated[int, typer.Option("--seed", help="Seed of faults and late issues.")] = 0,
    token_ttl: Annotated[float, typer.Option("--token-ttl", help="Access token lifetime, seconds.")] = 3600.0,
    late_issues: Annotated[
        float, typer.Option("--late-issues", help="Share (0-1) of accepted items that show an issue later.")
    ] = 0.0,
    state: Annotated[
        Path | None, typer.Option("--state", help="Keep the state in this file across restarts.")
    ] = None,
    saleslayer: Annotated[
        Path | None, typer.Option("--saleslayer", help="Catalogue file served by the fake Sales Layer API.")
    ] = None,
    instant: Annotated[
        bool,
        typer.Option(
            "--instant/--realistic",
            help="Apply writes after Amazon's processing delay, with feeds queued for minutes "
            "(realistic, the default), or within the request (instant); both scaled by --rate-scale.",
        ),
    ] = False,
    processing_delay: Annotated[
        str,
        typer.Option(
            "--processing-delay", help="Realistic mode: how long Amazon takes per write, e.g. 30s..5m."
        ),
    ] = "30s..5m",
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="JSON/YAML of Amazon catalogue items (asin, gtins, brand, title…)."),
    ] = None,
) -> None:
    """Serve a local Amazon SP-API emulator (LWA, Sellers, Listings, Definitions, Feeds, Catalog)."""
    require_extra("emulator", *EMULATOR_MODULES)
    from listingsync.emulator import EmulatorSettings, load_accounts, serve
    from listingsync.emulator.amazon_catalog import load_catalog
    from listingsync.emulator.faults import Faults
    from listingsync.emulator.product_types import ProductTypeRegistry
    from listingsync.emulator.settings import default_accounts

    try:
        if rate_scale <= 0:
            raise ListingSyncError("--rate-scale must be positive", fix="e.g. --rate-scale 10")
        if not 0 <= late_issues <= 1:
            raise ListingSyncError("--late-issues must be a share between 0 and 1")
        Faults.parse(faults, seed)  # fail early on a bad spec
        settings = EmulatorSettings(
            accounts=load_accounts(accounts) if accounts else default_accounts(),
            demo_accounts=accounts is None,
            rate_scale=rate_scale,
            limits=not no_limits,
            faults=faults,
            seed=seed,
            token_ttl=token_ttl,
            product_type_dirs=list(product_types or []),
            late_issue_share=late_issues,
            state_file=state,
            saleslayer_file=saleslayer,
            instant=instant,
            processing_delay=_delay_range(processing_delay),
            catalog_file=catalog,
        )
        load_catalog(catalog)  # fail early on a bad catalogue file
        registry = ProductTypeRegistry(settings.product_type_dirs)
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)

    def announce(base: str) -> None:
        console.print(f"[bold]listingsync emulator[/bold] on {base}")
        console.print(f"  LWA token URL   {base}/auth/o2/token")
        console.print(f"  SP-API          {base}/na  {base}/eu  {base}/fe   (account.endpoint)")
        console.print(f"  introspection   {base}/_emulator/listings, /counters, /write-log, /reset")
        if saleslayer:
            console.print(f"  Sales Layer     {base}/saleslayer")
        console.print(f"  product types   {', '.join(registry.product_types())}")
        pace = (
            "instant" if instant else f"realistic: writes processed after {processing_delay} / {rate_scale:g}"
        )
        console.print(f"  processing      {pace}; clock: {base}/_emulator/clock")
        limits = "off" if no_limits else f"Amazon's, refill x{rate_scale:g}"
        console.print(
            f"  rate limits     {limits}; faults: {faults or 'none'}; state: {state or 'in memory'}"
        )
        # Plain lines, never cut at the terminal's width: the demo values are meant to be copied.
        console.print("accounts:")
        for account in settings.accounts:
            revoked = " (revoked)" if account.revoked else ""
            countries = ", ".join(mp.by_id(m).country for m in account.marketplace_ids)
            console.print(
                f"  {account.account_type}{revoked} {account.selling_partner_id} "
                f"({account.region.name}: {countries})",
                markup=False,
                soft_wrap=True,
            )
            console.print(f"    client id      {account.client_id}", markup=False, soft_wrap=True)
            if settings.demo_accounts:
                # Demo secrets are public values; a user's accounts file keeps its secrets unprinted.
                console.print(f"    client secret  {account.client_secret}", markup=False, soft_wrap=True)
                console.print(f"    refresh token  {account.refresh_token}", markup=False, soft_wrap=True)
        console.print("Ctrl-C stops it.")

    try:
        serve(settings, host=host, port=port, announce=announce)
    except ListingSyncError as exc:
        fail(exc, EXIT_UNUSABLE)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    number = text.strip().rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text.strip()[len(number) :] or "s"
    if unit not in _UNITS:
        raise ValueError(text)
    return float(number) * _UNITS[unit]


def _delay_range(text: str) -> tuple[float, float]:
    """``30s..5m`` → (30.0, 300.0); ``90s`` → (90.0, 90.0)."""
    low, _, high = text.partition("..")
    try:
        bounds = (_seconds(low), _seconds(high or low))
    except ValueError:
        raise ListingSyncError(
            f"--processing-delay {text!r} is not a duration range", fix="write e.g. 30s..5m or 2m"
        ) from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ListingSyncError(f"--processing-delay {text!r}: the range must go from low to high, from 0")
    return bounds
