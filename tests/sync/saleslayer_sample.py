"""The bundled sample catalogue served by the fake Sales Layer API, and a config that reads it."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from listingsync.emulator import EmulatorServer

CODE = "CN9999H9999C999"
SECRET = "0123456789abcdef0123456789abcdef"
LANGUAGES = ("en", "fr", "de")
CLOCK = 1717171717


def catalogue(path: Path) -> Path:
    """The sample CSV's standalone products as a Sales Layer products table (``title_fr`` → a
    multilingual ``title``), written as a fake-server catalogue file."""
    sample = resources.files("listingsync") / "data" / "sample" / "products.csv"
    with sample.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["parent_sku"] and not r["variation_theme"]]
    columns = [c for c in rows[0] if c not in ("parent_sku", "variation_theme")]
    fields: dict[str, Any] = {}
    for column in columns:
        base, _, lang = column.rpartition("_")
        if lang in LANGUAGES:
            fields[base] = {"type": "string", "multilingual": True}
        elif not column.startswith("image_"):
            fields[column] = "string"
    fields["images"] = "image"
    records = []
    for number, row in enumerate(rows, start=1):
        record: dict[str, Any] = {"ID": 1000 + number, "modified": CLOCK - 1000}
        for column in columns:
            base, _, lang = column.rpartition("_")
            if lang in LANGUAGES:
                record.setdefault(base, {})[lang] = row[column]
            elif not column.startswith("image_"):
                record[column] = row[column]
        record["images"] = [row[c] for c in ("image_1", "image_2", "image_3") if row[c]]
        records.append(record)
    doc = {
        "connector": {
            "code": CODE,
            "secret": SECRET,
            "default_language": "en",
            "languages": list(LANGUAGES),
            "clock": CLOCK,
            "check_time": False,
        },
        "tables": {"products": {"fields": fields, "records": records}},
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def config(tmp: Path, server: EmulatorServer, saleslayer_url: str) -> Path:
    """The sample config with ``source:`` pointing at the fake Sales Layer connector."""
    sample = resources.files("listingsync") / "data" / "sample"
    text = (sample / "listingsync.yaml").read_text(encoding="utf-8")
    text = text.replace("${LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/eu}", server.endpoint("eu"))
    text = text.replace("${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url)
    text = text.replace(
        "  type: csv\n  path: products.csv\n",
        f"  type: saleslayer\n  connector_id: {CODE}\n  api_url: '{saleslayer_url}'\n",
    )
    (tmp / "listingsync.yaml").write_text(text, encoding="utf-8")
    return tmp / "listingsync.yaml"
