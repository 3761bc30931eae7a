"""What an emulator run is configured with: accounts, limits, faults, persistence.

``EmulatorSettings`` is a plain dataclass so tests build one in a line; the CLI fills it from
flags. Accounts come from the built-in demo table or from a YAML/JSON accounts file
(:func:`load_accounts`), whose errors name the file and the entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from listingsync.amazon import marketplaces as mp
from listingsync.errors import ListingSyncError

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "Account",
    "EmulatorSettings",
    "default_accounts",
    "load_accounts",
]

#: Public demo credentials: they only open the local emulator, so they may be printed.
DEMO_CLIENT_ID = "amzn1.application-oa2-client.listingsync-demo"
DEMO_CLIENT_SECRET = "listingsync-demo-secret"


@dataclass(frozen=True, slots=True)
class Account:
    """One authorisation: an LWA client + refresh token, for one selling partner in one region."""

    name: str
    account_type: str  # "vendor" | "seller"
    client_id: str
    client_secret: str
    refresh_token: str
    selling_partner_id: str
    region: mp.Region
    marketplace_ids: tuple[str, ...]
    revoked: bool = False
    store_name: str = ""

    @property
    def is_vendor(self) -> bool:
        return self.account_type == "vendor"

    def __repr__(self) -> str:  # secrets stay out of reprs and logs
        return (
            f"Account(name={self.name!r}, type={self.account_type}, "
            f"selling_partner_id={self.selling_partner_id!r}, region={self.region.name}, "
            f"marketplaces={list(self.marketplace_ids)!r}, revoked={self.revoked})"
        )


def _ids(countries: Iterable[str]) -> tuple[str, ...]:
    return tuple(mp.get(c).marketplace_id for c in countries)


def default_accounts() -> list[Account]:
    """The built-in demo accounts (the table in the emulator docs)."""
    return [
        Account(
            name="vendor",
            account_type="vendor",
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            refresh_token="Atzr|listingsync-demo-vendor-eu",
            selling_partner_id="DEMOV",
            region=mp.Region.EU,
            marketplace_ids=_ids(["FR", "DE", "IT", "ES"]),
            store_name="Demo Vendor",
        ),
        Account(
            name="seller",
            account_type="seller",
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            refresh_token="Atzr|listingsync-demo-seller-na",
            selling_partner_id="A3DEMOSELLER01",
            region=mp.Region.NA,
            marketplace_ids=_ids(["US", "CA", "MX"]),
            store_name="Demo Seller",
        ),
    ]


@dataclass(slots=True)
class EmulatorSettings:
    """Everything that shapes one emulator. Defaults give the demo accounts, real rate limits, no faults."""

    accounts: list[Account] = field(default_factory=default_accounts)
    #: True when ``accounts`` are the public demo ones (their secrets may then be printed).
    demo_accounts: bool = True
    #: Multiplies the refill clock of every token bucket (10 = ten times Amazon's rates).
    rate_scale: float = 1.0
    #: False switches rate limiting off (benchmarks).
    limits: bool = True
    #: Fault spec, e.g. ``"error=0.05,storm=0.01:20,latency=5-50ms,drop=0.01,expire_every=100"``.
    faults: str = ""
    #: Seed of every random choice (faults, late issues): the same seed gives the same run.
    seed: int = 0
    #: Lifetime of LWA access tokens, seconds (Amazon: 3600).
    token_ttl: float = 3600.0
    #: Extra product type schema files/directories, read exactly as Amazon serves them.
    product_type_dirs: list[Path] = field(default_factory=list)
    #: Share (0..1) of accepted items that show an issue only later, on GET.
    late_issue_share: float = 0.0
    #: Apply accepted writes within the request (no processing delay, feeds done in seconds). Off by
    #: default: Amazon processes accepted writes minutes later (realistic mode, issue 10); scale its
    #: time with ``rate_scale`` and move it with ``/_emulator/clock/advance`` or ``/processing/flush``.
    instant: bool = False
    #: Seconds (low, high) Amazon takes to process an accepted write, before ``rate_scale``; each
    #: write draws its delay from this range (seeded). Amazon: "minutes" (issue 10: 30 s to 5 min).
    processing_delay: tuple[float, float] = (30.0, 300.0)
    #: Products of Amazon's catalogue besides the built-in set (``amazon_catalog.load_catalog``).
    catalog_file: Path | None = None
    #: Persist state here (loaded at start, saved after writes and on shutdown).
    state_file: Path | None = None
    #: A Sales Layer catalogue file served by the fake Sales Layer API under ``/saleslayer``.
    saleslayer_file: Path | None = None
    #: Largest feed document upload accepted (S3 takes 5 GB; see limits.py for why 100 MiB here).
    max_feed_document_bytes: int = 100 * 1024 * 1024
    #: Seconds a client has to send a request's headers (slowloris), and between body chunks.
    header_timeout: float = 10.0
    body_idle_timeout: float = 30.0

    @classmethod
    def from_accounts_file(cls, path: Path, **kwargs: Any) -> EmulatorSettings:
        return cls(accounts=load_accounts(path), demo_accounts=False, **kwargs)


_FIELDS = {
    "name",
    "type",
    "client_id",
    "client_secret",
    "refresh_token",
    "selling_partner_id",
    "region",
    "marketplaces",
    "revoked",
    "store_name",
}


def load_accounts(path: Path) -> list[Account]:
    """Read an accounts file (YAML or JSON): ``accounts: [{type, client_id, …}, …]`` or a bare list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ListingSyncError(
            f"cannot read the accounts file: {exc.strerror}",
            where=str(path),
            fix="pass an existing YAML or JSON file to --accounts",
        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ListingSyncError(
            f"the accounts file is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}",
            where=str(path),
        ) from None
    entries = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ListingSyncError(
            "the accounts file holds no accounts",
            where=str(path),
            fix="write `accounts:` followed by a list of {type, client_id, client_secret, refresh_token, "
            "selling_partner_id, marketplaces}",
        )
    accounts = [_account(entry, f"{path}: accounts[{i}]") for i, entry in enumerate(entries)]
    tokens = [a.refresh_token for a in accounts]
    if len(set(tokens)) != len(tokens):
        raise ListingSyncError(
            "two accounts share a refresh token", where=str(path), fix="give every account its own token"
        )
    return accounts


def _account(entry: Any, where: str) -> Account:
    if not isinstance(entry, dict):
        raise ListingSyncError("an account must be a mapping of keys", where=where)
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ListingSyncError(
            f"unknown key(s) {', '.join(unknown)}", where=where, fix=f"use only {', '.join(sorted(_FIELDS))}"
        )
    for key in ("type", "client_id", "client_secret", "refresh_token", "selling_partner_id", "marketplaces"):
        if not entry.get(key):
            raise ListingSyncError(f"missing key {key!r}", where=where)
    account_type = str(entry["type"]).lower()
    if account_type not in ("vendor", "seller"):
        raise ListingSyncError(f"type must be vendor or seller, not {entry['type']!r}", where=where)
    marketplaces = entry["marketplaces"]
    if isinstance(marketplaces, str):
        marketplaces = [m.strip() for m in marketplaces.split(",")]
    try:
        ids = tuple(mp.get(str(m)).marketplace_id for m in marketplaces)
    except mp.UnknownMarketplaceError as exc:
        raise ListingSyncError(str(exc), where=f"{where}.marketplaces") from None
    regions = {mp.by_id(i).region for i in ids}
    if entry.get("region"):
        try:
            region = mp.Region(str(entry["region"]).lower())
        except ValueError:
            raise ListingSyncError(
                f"unknown region {entry['region']!r}", where=f"{where}.region", fix="use na, eu or fe"
            ) from None
    elif len(regions) == 1:
        region = regions.pop()
    else:
        raise ListingSyncError(
            "marketplaces span several regions", where=f"{where}.marketplaces", fix="one account per region"
        )
    if any(mp.by_id(i).region is not region for i in ids):
        raise ListingSyncError(
            f"a marketplace is outside region {region.name}", where=f"{where}.marketplaces"
        )
    return Account(
        name=str(entry.get("name") or entry["selling_partner_id"]),
        account_type=account_type,
        client_id=str(entry["client_id"]),
        client_secret=str(entry["client_secret"]),
        refresh_token=str(entry["refresh_token"]),
        selling_partner_id=str(entry["selling_partner_id"]),
        region=region,
        marketplace_ids=ids,
        revoked=bool(entry.get("revoked", False)),
        store_name=str(entry.get("store_name") or ""),
    )
