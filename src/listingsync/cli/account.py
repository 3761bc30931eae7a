"""What ``listingsync check`` and ``connect`` do (``cli/check.py`` declares the commands): verify an
account step by step, and set one up.

``check`` walks the chain a request depends on and stops at the first broken link, naming the fix:

1. config readable (else exit 2)
2. credentials present (environment, keyring or secrets file)
3. LWA token exchange (client id + secret + refresh token)
4. the region's host accepts the token (a token authorised for another region gets 403 there)
5. the seller/vendor id in each marketplace: getListingsItem on a made-up SKU. 404 = all fine;
   400 "Invalid 'sellerId' and 'marketplaceId' combination" = wrong id, or a marketplace the
   account does not sell in (spapi.md §6.1)
6. sellers only: getMarketplaceParticipations lists every configured marketplace as participating
7. the catalogue source, when configured: a file opens with a header and a SKU column (one record
   read); Sales Layer accepts the connector's private key (an incremental export since now)

``connect`` asks for what Amazon's setup guide produces, in the guide's order, verifies it with the
same steps, then writes the ``account:`` section of listingsync.yaml and stores the secrets.
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
import typer
from pydantic import ValidationError

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
from listingsync.catalog.saleslayer_client import KEY_WHERE
from listingsync.cli.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    console,
    err_console,
    fail,
)
from listingsync.config import AccountConfig, Config, ConfigError, load_config, resolve_config_path
from listingsync.credentials import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SALESLAYER_SECRET,
    MissingCredentialsError,
    SecretStore,
    SecretStoreError,
    account_scope,
    default_store,
    load_credentials,
    save_credentials,
    store_secret,
)
from listingsync.errors import ListingSyncError
from listingsync.redaction import redact

__all__ = [
    "CheckStep",
    "check_account",
    "check_source",
    "print_steps",
    "run_check",
    "saleslayer_connector_needing_secret",
    "steps_json",
    "wizard",
    "write_account_section",
]

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


def check_source(config: Config) -> CheckStep | None:
    """The catalogue answers: a file opens with a usable header and SKU column; Sales Layer accepts
    the connector's private key (the one credential that is not Amazon's). Reads one record at most."""
    settings = config.source
    if settings is None:
        return None
    try:
        if settings.type == "saleslayer" and settings.connector_id:
            from listingsync.catalog.saleslayer import load_saleslayer_secret
            from listingsync.catalog.saleslayer_client import SalesLayerClient

            secret = load_saleslayer_secret(settings.connector_id)
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


def print_steps(steps: Sequence[CheckStep]) -> None:
    for step in steps:
        mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
        console.print(f"{mark} [bold]{step.name}[/bold]: ", end="", markup=True)
        console.print(redact(step.message), markup=False, soft_wrap=True)
        if step.fix:
            console.print(f"    fix: {redact(step.fix)}", markup=False, soft_wrap=True)


def steps_json(steps: Sequence[CheckStep], ok: bool) -> dict[str, Any]:
    return {
        "ok": ok,
        "steps": [{k: redact(v) if isinstance(v, str) else v for k, v in s.as_dict().items()} for s in steps],
    }


# --- connect -----------------------------------------------------------------------------------------


def _say(text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def _ask(prompt: str, default: str | None = None, *, hide: bool = False) -> str:
    while True:
        value = str(typer.prompt(prompt, default=default, hide_input=hide, show_default=not hide)).strip()
        if value:
            return value
        _say("  (a value is required)")


def _account_block(account: AccountConfig) -> str:
    lines = [
        "account:",
        f"  type: {account.type.value}",
        f"  selling_partner_id: {account.selling_partner_id}",
        f"  marketplaces: [{', '.join(mp.by_id(m).country for m in account.marketplaces)}]",
    ]
    if account.endpoint:
        lines.append(f"  endpoint: {account.endpoint}")
    if account.lwa_endpoint:
        lines.append(f"  lwa_endpoint: {account.lwa_endpoint}")
    return "\n".join(lines) + "\n"


def write_account_section(path: Path, account: AccountConfig) -> None:
    """Write ``account:`` into listingsync.yaml, replacing only that top-level block if the file exists."""
    block = _account_block(account)
    if not path.exists():
        path.write_text(
            "# listingsync configuration (see the README). Secrets are not stored here.\n" + block,
            encoding="utf-8",
        )
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^account\s*:", line)), None)
    if start is None:
        text = "".join(lines)
        path.write_text(block + ("\n" if text and not text.startswith("\n") else "") + text, encoding="utf-8")
        return
    end = start + 1
    # The block runs until the next top-level key (indented lines, blank lines and comments belong to it,
    # except trailing comments/blank lines that precede the next key).
    while end < len(lines) and (
        lines[end].startswith((" ", "\t")) or not lines[end].strip() or lines[end].startswith("#")
    ):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    path.write_text("".join(lines[:start]) + block + "".join(lines[end:]), encoding="utf-8")


def _build_account(
    kind: str, partner_id: str, countries: list[str], endpoint: str | None, lwa_endpoint: str | None
) -> AccountConfig:
    return AccountConfig.model_validate(
        {
            "type": kind,
            "selling_partner_id": partner_id,
            "marketplaces": countries,
            "endpoint": endpoint,
            "lwa_endpoint": lwa_endpoint,
        }
    )


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def store_saleslayer_key(config: Path | None, connector: str | None) -> bool:
    """``connect saleslayer``: ask for a connector's private key (hidden) and store it; then, when the
    config reads that connector, check that Sales Layer accepts it. False when it does not."""
    path = resolve_config_path(config)
    settings = None
    try:
        settings = load_config(path).source if path.exists() else None
    except ListingSyncError as exc:
        if connector is None:
            fail(exc)
    if connector is None:
        if settings is None or settings.type != "saleslayer" or not settings.connector_id:
            fail(
                ListingSyncError(
                    f"no Sales Layer connector given and {path} has no 'source: {{type: saleslayer}}'",
                    fix="pass --connector CN… (the Connector ID beside the key in " + KEY_WHERE + ")",
                )
            )
        connector = settings.connector_id
    _say(f"Sales Layer connector {connector}: copy the key shown in {KEY_WHERE}.")
    key = _ask("Private key (input hidden)", hide=True)
    where = store_secret(SALESLAYER_SECRET, key, connector, store=default_store())
    _say(f"Stored {SALESLAYER_SECRET} for connector {connector} in {where}.")
    if settings is None or settings.type != "saleslayer" or settings.connector_id != connector:
        _say(
            "Next: set 'source: {type: saleslayer, connector_id: "
            + connector
            + "}' and run 'listingsync check'."
        )
        return True
    step = check_source(load_config(path))
    if step is not None:
        print_steps([step])
    return step is None or step.ok


def saleslayer_connector_needing_secret(path: Path, store: SecretStore) -> str | None:
    """The connector id of an existing Sales Layer source whose private key is stored nowhere yet."""
    try:
        source = load_config(path).source
    except ListingSyncError:
        return None
    if source is None or source.type != "saleslayer" or not source.connector_id:
        return None
    try:
        if store.get(SALESLAYER_SECRET, source.connector_id) is not None:
            return None
    except SecretStoreError:
        return None
    return source.connector_id


def wizard(
    config: Path | None,
    account_type: str | None,
    region_opt: str | None,
    endpoint: str | None,
    lwa_endpoint: str | None,
    save_unverified: bool,
    saleslayer_connector: str | None,
) -> None:
    path = resolve_config_path(config)
    store = default_store()
    _say("listingsync connect: set up access to Amazon's Selling Partner API.\n")

    kind = (account_type or "").lower()
    while kind not in ("vendor", "seller"):
        kind = _ask("Account type (vendor = Vendor Central, seller = Seller Central)", "vendor").lower()
    central = "Vendor Central" if kind == "vendor" else "Seller Central"

    _say(
        f"\n1. In {central} open Apps and Services → Develop Apps, find your app, and click View under LWA credentials."
    )
    client_id = _ask("   Client identifier (amzn1.application-oa2-client…)")
    while not client_id.startswith("amzn1.application-oa2-client.") and not typer.confirm(
        "   That does not look like an LWA client identifier (the app id amzn1.sp.solution… is a different "
        "value). Use it anyway?",
        default=False,
    ):
        client_id = _ask("   Client identifier (amzn1.application-oa2-client…)")
    client_secret = _ask("   Client secret (input hidden)", hide=True)

    _say(
        "\n2. Back in Develop Apps, open the menu beside Edit App → Authorize, choose the region, and click "
        "Authorize app."
    )
    region = (region_opt or "").lower()
    while region not in ("na", "eu", "fe"):
        region = _ask("   Region you authorized (na, eu or fe)", "eu").lower()
    refresh_token = _ask("   Refresh token (Atzr|…, input hidden)", hide=True)

    if kind == "vendor":
        _say(
            "\n3. In Vendor Central open Settings → Account Info → Business Information: your vendor code (e.g. C96QA)."
        )
    else:
        _say("\n3. In Seller Central open Settings → Account Info → Business Information → Merchant Token.")
    in_region = ", ".join(m.country for m in mp.in_region(mp.Region(region)))
    while True:
        partner_id = _ask("   Vendor code" if kind == "vendor" else "   Merchant token").strip()
        countries_text = _ask(f"   Countries to publish to (comma-separated; {region.upper()}: {in_region})")
        countries = [c.strip() for c in countries_text.split(",") if c.strip()]
        try:
            account = _build_account(kind, partner_id, countries, endpoint, lwa_endpoint)
        except ValidationError as exc:
            _say(f"   ✗ {_validation_text(exc)}")
            continue
        if account.resolved_region.value != region:
            _say(f"   ✗ {countries_text} is not in the {region.upper()} region you authorized ({in_region})")
            continue
        break

    connector = saleslayer_connector or saleslayer_connector_needing_secret(path, store)
    saleslayer_key: str | None = None
    if connector:
        _say(f"\n4. Sales Layer connector {connector}: copy the key shown in {KEY_WHERE}.")
        saleslayer_key = str(
            typer.prompt(
                "   Private key (input hidden, empty to skip)",
                default="",
                hide_input=True,
                show_default=False,
            )
        ).strip()

    credentials = Credentials(client_id, client_secret, refresh_token)
    _say("\nVerifying with Amazon …")
    steps = asyncio.run(check_account(account, credentials))
    print_steps(steps)
    ok = all(s.ok for s in steps)
    if not ok and not save_unverified:
        err_console.print("Nothing was saved. Fix the step marked ✗ and run 'listingsync connect' again.")
        raise typer.Exit(EXIT_UNUSABLE)
    try:
        where = save_credentials(
            credentials, account.selling_partner_id, account.resolved_region, store=store
        )
        if connector and saleslayer_key:
            store_secret(SALESLAYER_SECRET, saleslayer_key, connector, store=store)
        write_account_section(path, account)
    except (SecretStoreError, OSError) as exc:
        fail(exc if isinstance(exc, ListingSyncError) else ListingSyncError(f"cannot write {path}: {exc}"))
    _say(f"\nSaved the account section to {path}.")
    if where == "the OS keyring":
        _say(
            f"Stored {CLIENT_ID}, {CLIENT_SECRET} and {REFRESH_TOKEN} in the OS keyring (service 'listingsync')."
        )
    else:
        err_console.print(
            f"warning: no usable OS keyring; the secrets are in {where} (mode 0600, readable by this user). "
            "Install a keyring backend or use environment variables on shared machines.",
            markup=False,
            soft_wrap=True,
        )
    try:
        load_config(path)
    except ConfigError as exc:
        err_console.print(
            f"note: {path} still needs attention before other commands run:\n{exc.message}", markup=False
        )
    _say("Next: 'listingsync check'.")
    raise typer.Exit(EXIT_OK)
