"""What ``listingsync check`` and ``connect`` do (``cli/check.py`` declares the commands): print the
steps of ``listingsync.checks`` (config, credentials, LWA, region, seller/vendor id per marketplace,
participations, the catalogue source), and set an account up.

``connect`` asks for what Amazon's setup guide produces, in the guide's order, verifies it with the
same steps, then writes the ``account:`` section of listingsync.yaml and stores the secrets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from listingsync.amazon import (
    Credentials,
)
from listingsync.amazon import marketplaces as mp
from listingsync.catalog.saleslayer_client import KEY_WHERE
from listingsync.checks import CheckStep, check_account, check_source
from listingsync.cli.common import (
    EXIT_OK,
    EXIT_UNUSABLE,
    console,
    err_console,
    fail,
)
from listingsync.config import AccountConfig, ConfigError, load_config, resolve_config_path
from listingsync.credentials import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SALESLAYER_SECRET,
    SecretStore,
    SecretStoreError,
    default_store,
    save_credentials,
    store_secret,
)
from listingsync.errors import ListingSyncError
from listingsync.redaction import redact

__all__ = [
    "print_steps",
    "saleslayer_connector_needing_secret",
    "steps_json",
    "wizard",
    "write_account_section",
]


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


def write_account_section(path: Path, account: AccountConfig) -> None:
    """Write ``account:`` into listingsync.yaml, changing only the keys ``connect`` owns.

    The file goes through ruamel.yaml's round trip: comments, flow style, quoting, anchors and the
    other sections stay as the user wrote them. ``region`` is dropped (the marketplaces imply it),
    ``endpoint``/``lwa_endpoint`` are set or dropped as given.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()  # round trip
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # "  - item" under a key, as the README writes lists
    yaml.width = 4096  # never fold a long line the user wrote on one
    exists = path.exists()
    data = yaml.load(path.read_text(encoding="utf-8")) if exists else None
    if data is None:
        data = CommentedMap()
        if not exists:
            data.yaml_set_start_comment(
                "listingsync configuration (see the README). Secrets are not stored here."
            )
    if not isinstance(data, CommentedMap):
        raise ListingSyncError(
            f"{path} does not hold a mapping of sections", fix="fix or move the file, then retry"
        )
    section = data.get("account")
    if not isinstance(section, CommentedMap):
        section = CommentedMap()
        data.insert(0, "account", section)
    countries = CommentedSeq(mp.by_id(m).country for m in account.marketplaces)
    countries.fa.set_flow_style()
    section["type"] = account.type.value
    section["selling_partner_id"] = account.selling_partner_id
    section["marketplaces"] = countries
    section.pop("region", None)
    for key in ("endpoint", "lwa_endpoint"):
        value = getattr(account, key)
        if value:
            section[key] = value
        else:
            section.pop(key, None)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)


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
