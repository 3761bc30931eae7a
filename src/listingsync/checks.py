"""Verify an Amazon account and a catalogue source step by step, naming the fix for each broken link.

Used by ``listingsync check`` and ``connect`` (cli/), the service's API and the dashboard's Verify.
The chain, stopping at the first broken link:

1. LWA token exchange (client id + secret + refresh token)
2. the region's host accepts the token (a token authorised for another region gets 403 there)
3. the seller/vendor id in each marketplace: getListingsItem on a made-up SKU. 404 = all fine;
   400 "Invalid 'sellerId' and 'marketplaceId' combination" = wrong id, or a marketplace the
   account does not sell in (spapi.md §6.1)
4. sellers only: getMarketplaceParticipations lists every configured marketplace as participating
5. the catalogue source, when configured: a file opens with a header and a SKU column (one record
   read); Sales Layer accepts the connector's private key (an incremental export since now)

``run_check`` adds the config and credential steps of ``listingsync check`` in front.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from listingsync.amazon import (
    Credentials,
    InvalidInput,
    LWAError,
    NotFound,
    SPAPIClient,
    SPAPIConnectionError,
    SPAPIError,
    Unauthorized,
)
from listingsync.amazon import marketplaces as mp
from listingsync.catalog import open_source
from listingsync.config import AccountConfig, Config, load_config, resolve_config_path
from listingsync.credentials import (
    MissingCredentialsError,
    SecretStore,
    SecretStoreError,
    account_scope,
    load_credentials,
)
from listingsync.errors import ListingSyncError

__all__ = ["SENTINEL_SKU", "CheckStep", "check_account", "check_source", "run_check"]

#: A SKU nobody has: getListingsItem on it answers 404 when id, marketplace and token are right.
SENTINEL_SKU = "__listingsync_check__"
_COMBINATION = re.compile(r"sellerId.*marketplaceId.*combination", re.IGNORECASE)
_AUTHORIZE = "Develop Apps → your app → Edit App → Authorize"


@dataclass
class CheckStep:
    name: str
    ok: bool
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _id_kind(account: AccountConfig) -> str:
    return "vendor code" if account.is_vendor else "merchant token"


def _id_where(account: AccountConfig) -> str:
    if account.is_vendor:
        return "Vendor Central → Settings → Account Info → Business Information (vendor code)"
    return "Seller Central → Settings → Account Info → Business Information → Merchant Token"


def _countries(ids: Sequence[str]) -> str:
    return ", ".join(mp.by_id(i).country for i in ids)


async def check_account(
    account: AccountConfig,
    credentials: Credentials,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CheckStep]:
    """Steps 3-6 for credentials already in hand (``connect`` calls this before saving anything)."""
    steps: list[CheckStep] = []
    region = account.resolved_region
    client = SPAPIClient.from_account(account, credentials, transport=transport)
    async with client:
        # 3. LWA
        try:
            await client.lwa.access_token()
        except LWAError as exc:
            steps.append(CheckStep("lwa", False, exc.message, exc.advice))
            return steps
        steps.append(
            CheckStep("lwa", True, f"Login with Amazon issued an access token ({client.lwa.endpoint})")
        )

        # 4 + 5. The first getListingsItem proves the region; each one proves id × marketplace.
        host = client.base_url
        bad: list[str] = []
        for index, marketplace_id in enumerate(account.marketplaces):
            country = mp.by_id(marketplace_id).country
            outcome: str
            try:
                await client.listings.get_listings_item(
                    account.selling_partner_id, SENTINEL_SKU, marketplace_ids=[marketplace_id]
                )
                outcome = "ok"
            except NotFound:
                outcome = "ok"
            except InvalidInput as exc:
                if not _COMBINATION.search(exc.amazon_message):
                    steps.append(CheckStep(f"marketplace {country}", False, exc.message, None))
                    bad.append(marketplace_id)
                    continue
                outcome = "combination"
            except Unauthorized as exc:
                if index == 0:
                    steps.append(await _region_refused(account, credentials, host, exc, transport))
                    return steps
                steps.append(CheckStep(f"marketplace {country}", False, exc.message, None))
                bad.append(marketplace_id)
                continue
            except (SPAPIError, SPAPIConnectionError) as exc:
                steps.append(
                    CheckStep(
                        "region" if index == 0 else f"marketplace {country}", False, exc.message, exc.fix
                    )
                )
                if index == 0:
                    return steps
                bad.append(marketplace_id)
                continue
            if index == 0:
                steps.append(CheckStep("region", True, f"{host} ({region.name}) accepts the token"))
            if outcome == "ok":
                steps.append(
                    CheckStep(
                        f"marketplace {country}",
                        True,
                        f"{_id_kind(account)} {account.selling_partner_id} is valid in {country} ({marketplace_id})",
                    )
                )
            else:
                bad.append(marketplace_id)
                steps.append(
                    CheckStep(
                        f"marketplace {country}",
                        False,
                        f"Amazon rejected {_id_kind(account)} {account.selling_partner_id!r} in {country} "
                        f"({marketplace_id}): Invalid 'sellerId' and 'marketplaceId' combination",
                        None,
                    )
                )
        if bad:
            _advise_on_marketplaces(steps, account, bad)

        # 6. Sellers: participations (vendors have no Sellers API role).
        if not account.is_vendor:
            steps.append(await _participations(client, account))
    return steps


def _other_region_hosts(account: AccountConfig) -> dict[mp.Region, str]:
    """Base URLs of the other regions: Amazon's hosts, or the emulator's sibling path prefixes."""
    region = account.resolved_region
    others = [r for r in mp.Region if r is not region]
    if account.endpoint is None:
        return {r: r.production_host for r in others}
    suffix = f"/{region.value}"
    if account.endpoint.rstrip("/").endswith(suffix):
        base = account.endpoint.rstrip("/")[: -len(suffix)]
        return {r: f"{base}/{r.value}" for r in others}
    return {}  # a custom endpoint: no way to know where the other regions live


async def _authorized_region(
    account: AccountConfig, credentials: Credentials, transport: httpx.AsyncBaseTransport | None
) -> mp.Region | None:
    """The region whose host accepts this token, found by asking each other region once."""
    for other, host in _other_region_hosts(account).items():
        client = SPAPIClient(
            credentials,
            other,
            endpoint=host,
            lwa_endpoint=account.lwa_endpoint,
            transport=transport,
            selling_partner_id=account.selling_partner_id,
        )
        async with client:
            try:
                await client.listings.get_listings_item(
                    account.selling_partner_id,
                    SENTINEL_SKU,
                    marketplace_ids=[mp.in_region(other)[0].marketplace_id],
                )
            except (NotFound, InvalidInput):
                return other  # the host took the token: only the SKU or the id/marketplace was wrong
            except (SPAPIError, SPAPIConnectionError, LWAError):
                continue
            return other
    return None


async def _region_refused(
    account: AccountConfig,
    credentials: Credentials,
    host: str,
    exc: SPAPIError,
    transport: httpx.AsyncBaseTransport | None,
) -> CheckStep:
    region = account.resolved_region
    actual = await _authorized_region(account, credentials, transport)
    authorize = (
        f"Authorize the app in {region.name}: {_AUTHORIZE} → choose the {region.name} region → Authorize "
        "app, then run 'listingsync connect' with the new refresh token (LISTINGSYNC_LWA_REFRESH_TOKEN). "
        "One refresh token serves one region."
    )
    if actual is not None:
        fix = (
            f"this refresh token was authorized for {actual.name}, not {region.name}. {authorize} Or, if "
            f"you meant to publish in {actual.name}, list {actual.name} countries in account.marketplaces."
        )
    else:
        fix = (
            "this refresh token was authorized for another region (or the app lacks the Product Listing "
            f"role: Develop Apps → Edit App → Roles). {authorize}"
        )
    return CheckStep("region", False, f"{host} ({region.name}) refused the access token: {exc.message}", fix)


def _advise_on_marketplaces(steps: list[CheckStep], account: AccountConfig, bad: list[str]) -> None:
    everything = len(bad) == len(account.marketplaces)
    if everything:
        fix = (
            f"the {_id_kind(account)} {account.selling_partner_id!r} is wrong for this account, or the "
            f"account sells in none of {_countries(bad)}. Copy the {_id_kind(account)} from {_id_where(account)} "
            "into account.selling_partner_id"
            + ("" if account.is_vendor else " (it is per country: use the token of the region's account)")
        )
    else:
        fix = (
            f"the account does not sell in {_countries(bad)}: remove {_countries(bad)} from "
            "account.marketplaces in listingsync.yaml, or register the account in that marketplace first"
        )
    for step in steps:
        if not step.ok and step.fix is None and step.name.startswith("marketplace "):
            step.fix = fix


async def _participations(client: SPAPIClient, account: AccountConfig) -> CheckStep:
    try:
        body = await client.sellers.get_marketplace_participations()
    except (SPAPIError, SPAPIConnectionError) as exc:
        return CheckStep(
            "participations",
            False,
            f"getMarketplaceParticipations failed: {exc.message}",
            "check that the app has the Product Listing role (Develop Apps → Edit App → Roles)",
        )
    participating: set[str] = set()
    for entry in body.get("payload") or []:
        market = (entry or {}).get("marketplace") or {}
        mid = str(market.get("id", ""))
        # The payload also lists non-Amazon stores (si-prod…): keep Amazon's retail marketplaces.
        if mp.is_amazon_marketplace(mid) and ((entry.get("participation") or {}).get("isParticipating")):
            participating.add(mid)
    missing = [m for m in account.marketplaces if m not in participating]
    if missing:
        return CheckStep(
            "participations",
            False,
            f"the account does not participate in {_countries(missing)} "
            f"(it participates in {_countries([m.marketplace_id for m in mp.MARKETPLACES if m.marketplace_id in participating]) or 'no Amazon marketplace'})",
            f"remove {_countries(missing)} from account.marketplaces, or register the account there in Seller Central",
        )
    return CheckStep(
        "participations",
        True,
        f"participating in {_countries(account.marketplaces)} (getMarketplaceParticipations)",
    )


async def run_check(
    config_path: Path | None,
    *,
    store: SecretStore | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CheckStep]:
    """Every step of ``listingsync check``; raises :class:`ConfigError` when the config is unusable."""
    config = load_config(config_path)
    account = config.account
    file = resolve_config_path(config_path)
    steps = [
        CheckStep(
            "config",
            True,
            f"{file}: {account.type.value} {account.selling_partner_id}, {account.resolved_region.name}: "
            f"{_countries(account.marketplaces)}",
        )
    ]
    source = await asyncio.to_thread(check_source, config)
    try:
        credentials = load_credentials(account.selling_partner_id, account.resolved_region, store=store)
    except MissingCredentialsError as exc:
        steps.append(CheckStep("credentials", False, exc.message, exc.fix))
        return steps + ([source] if source else [])
    except SecretStoreError as exc:
        steps.append(CheckStep("credentials", False, str(exc), exc.fix))
        return steps + ([source] if source else [])
    steps.append(
        CheckStep(
            "credentials",
            True,
            f"client id {credentials.client_id}, client secret and refresh token found "
            f"(account {account_scope(account.selling_partner_id, account.resolved_region)})",
        )
    )
    steps.extend(await check_account(account, credentials, transport=transport))
    return steps + ([source] if source else [])


def check_source(config: Config, *, saleslayer_secret: str | None = None) -> CheckStep | None:
    """The catalogue answers: a file opens with a usable header and SKU column; Sales Layer accepts
    the connector's private key (the one credential that is not Amazon's). Reads one record at most.

    ``saleslayer_secret`` is the private key when the caller holds it (the service); else it is
    looked up like every listingsync secret (environment, keyring, secrets file)."""
    settings = config.source
    if settings is None:
        return None
    try:
        if settings.type == "saleslayer" and settings.connector_id:
            from listingsync.catalog.saleslayer import load_saleslayer_secret
            from listingsync.catalog.saleslayer_client import SalesLayerClient

            secret = saleslayer_secret or load_saleslayer_secret(settings.connector_id)
            client = SalesLayerClient(
                settings.connector_id, secret, settings.api_url, timeout=settings.timeout, max_retries=1
            )
            with client:
                # An incremental export since now: authenticated like any call, and (nearly) empty.
                next(client.export(last_update=int(time.time())))
            return CheckStep(
                "source", True, f"Sales Layer connector {settings.connector_id} accepted the private key"
            )
        source = open_source(config)
        try:
            next(iter(source.records()), None)
            sku = source.roles().get("sku")
        finally:
            source.close()
    except ListingSyncError as exc:
        where = f"{exc.where}: " if exc.where else ""
        return CheckStep("source", False, f"{where}{exc.message}", exc.fix)
    return CheckStep("source", True, f"{source.name} is readable" + (f" (SKU column {sku})" if sku else ""))
