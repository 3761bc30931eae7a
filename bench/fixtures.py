"""What the benchmarks share: an emulator in its own process, emulator accounts, and a state
table full of listings."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from listingsync.sync import tables as state

#: The refresh token of the emulator's demo vendor account.
DEMO_TOKEN = "Atzr|listingsync-demo-vendor-eu"


def demo_cli_env(scale: float, **extra: str) -> dict[str, str]:
    """The environment of a ``listingsync`` CLI run against an emulator process: the demo vendor's
    credentials (never a keyring's) and the emulator's rate scale; ``extra`` on top."""
    from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return {
        **os.environ,
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": DEMO_TOKEN,
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_RATE_SCALE": str(scale),
        **extra,
    }


@contextlib.contextmanager
def emulator_subprocess(code: str, *argv: str) -> Iterator[str]:
    """Run ``code`` (which must ``serve`` an emulator and print its URL first) in its own
    interpreter, as Amazon would be: a benchmark must not share its GIL. Yields the URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the emulator process did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_accounts(directory: Path, count: int, tag: str) -> list[dict[str, Any]]:
    """``count`` emulator accounts in ``directory/accounts.yaml``, each its own LWA client, refresh
    token and selling partner: even ones vendors in FR, odd ones sellers in US."""
    out = []
    for i in range(count):
        vendor = i % 2 == 0
        out.append(
            {
                "name": f"{tag}-{i:03d}",
                "type": "vendor" if vendor else "seller",
                "client_id": f"amzn1.application-oa2-client.{tag}{i:03d}",
                "client_secret": f"{tag}-secret-{i:03d}",
                "refresh_token": f"Atzr|{tag}-{i:03d}",
                "selling_partner_id": f"{tag[0].upper()}V{i:03d}"
                if vendor
                else f"A{i:03d}{tag.upper()}SELLER",
                "marketplaces": ["FR"] if vendor else ["US"],
            }
        )
    (directory / "accounts.yaml").write_text(yaml.safe_dump({"accounts": out}), encoding="utf-8")
    return out


def fill_listings(engine: sa.Engine, scope: str, count: int) -> None:
    """``count`` FR listings of ``scope`` in the state table: 1 in 10 invalid with an Amazon-shaped
    issue, product types HOME and PRODUCT, the title that was sent."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for n in range(count):
        invalid = n % 10 == 0
        rows.append(
            {
                "scope": scope,
                "sku": f"SKU-{n:07d}",
                "marketplace_id": "A13V1IB3VIYZZH",
                "product_type": "HOME" if n % 3 else "PRODUCT",
                "status": "invalid" if invalid else "live",
                "asin": None if invalid else f"B0{n:08d}",
                "issues": (
                    [
                        {
                            "code": "90220",
                            "severity": "ERROR",
                            "message": "'item_name' is required but missing.",
                            "attributeNames": ["item_name"],
                        }
                    ]
                    if invalid
                    else []
                ),
                "sent_attributes": {
                    "item_name": [{"value": f"Maison Demo Cushion {n} linen", "language_tag": "fr_FR"}]
                },
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(state.listings.insert(), rows[start : start + 5000])


def accounts_emulator(
    accounts_file: Path, scale: float, processing: tuple[float, float] | None = None
) -> AbstractContextManager[str]:
    """The emulator of ``accounts_file`` at ``scale`` (its processing delay ``processing`` before the
    scale, or Amazon's 30-300 s), in a process of its own."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from listingsync.emulator import EmulatorSettings, serve\n"
        "delay = {} if sys.argv[3] == '-' else {'processing_delay': tuple(map(float, sys.argv[3].split(',')))}\n"
        "settings = EmulatorSettings.from_accounts_file(Path(sys.argv[1]), rate_scale=float(sys.argv[2]), **delay)\n"
        "serve(settings, port=0, announce=lambda u: print(u, flush=True))\n"
    )
    delay = "-" if processing is None else f"{processing[0]},{processing[1]}"
    return emulator_subprocess(code, str(accounts_file), repr(scale), delay)
