"""Helpers of the service tests: sample connections on the emulator's built-in accounts."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, default_accounts
from listingsync.service import Workspace, add_connection

#: Sample SKUs that map and validate cleanly (the sample's deliberate mistakes are elsewhere).
GOOD_SKUS = ("MD-CUSH-001", "MD-CUSH-002", "MD-CUSH-003")


def sample_document(kind: str, server: EmulatorServer) -> dict[str, Any]:
    name = "listingsync.yaml" if kind == "vendor" else "listingsync-seller.yaml"
    sample = resources.files("listingsync") / "data" / "sample"
    doc: dict[str, Any] = yaml.safe_load((sample / name).read_text(encoding="utf-8"))
    region = "eu" if kind == "vendor" else "na"
    doc["account"]["endpoint"] = server.endpoint(region)
    doc["account"]["lwa_endpoint"] = server.lwa_url
    doc["source"]["path"] = f"{kind}.csv"
    doc["sync"]["reconcile"] = False
    return doc


def write_catalogue(
    path: Path, skus: tuple[str, ...] = GOOD_SKUS, edit: dict[str, str] | None = None
) -> None:
    """The sample rows of ``skus``, with ``edit`` (column → value) applied to each."""
    sample = resources.files("listingsync") / "data" / "sample" / "products.csv"
    with sample.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["sku"] in skus]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **(edit or {})})


def credentials_of(kind: str) -> dict[str, str]:
    account = next(a for a in default_accounts() if a.account_type == kind)
    return {
        "lwa_client_id": DEMO_CLIENT_ID,
        "lwa_client_secret": DEMO_CLIENT_SECRET,
        "lwa_refresh_token": account.refresh_token,
    }


def add_sample_connection(
    ws: Workspace, kind: str, server: EmulatorServer, base: Path, *, schedule: dict[str, Any] | None = None
) -> str:
    write_catalogue(base / f"{kind}.csv")
    doc = sample_document(kind, server)
    if schedule is not None:
        doc["schedule"] = schedule
    name = f"{kind}-{'eu' if kind == 'vendor' else 'na'}"
    add_connection(ws, name, doc, base_dir=base, secrets=credentials_of(kind))
    return name
