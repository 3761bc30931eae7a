"""``catalog inspect``'s engine: one streamed pass that counts records, profiles every field
(types and fill rates), keeps a few samples and every problem. Memory: per field a few counters,
plus the problems themselves; the records are not kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from listingsync.catalog.model import CatalogProblem, Product
from listingsync.catalog.source import CatalogSource, Record

__all__ = ["CatalogReport", "FieldStats", "inspect_records", "inspect_source", "value_type"]

#: Values per field whose type is profiled; fill counts cover every record.
TYPE_SAMPLE = 20_000
_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+[.,]\d*|\d*[.,]\d+)$")


def value_type(value: Any) -> str:
    """A coarse type for profiling: integer, decimal, boolean, url, text, list, object."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    text = str(value).strip()
    if _INT.match(text):
        return "integer"
    if _DECIMAL.match(text):
        return "decimal"
    if text.lower() in ("true", "false", "yes", "no"):
        return "boolean"
    if text.startswith(("http://", "https://")):
        return "url"
    return "text"


@dataclass
class FieldStats:
    name: str
    kind: str = "field"  # field | localized | images | category
    filled: int = 0
    types: Counter[str] = field(default_factory=Counter)
    example: Any = None

    def see(self, value: Any) -> None:
        self.filled += 1
        if self.filled <= TYPE_SAMPLE:
            self.types[value_type(value)] += 1
            if self.example is None:
                self.example = value


@dataclass
class CatalogReport:
    source: str
    records: int = 0
    products: int = 0
    variants: int = 0
    deleted: int = 0
    fields: dict[str, FieldStats] = field(default_factory=dict)
    samples: list[Product] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    roles: dict[str, Any] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    complete: bool = True
    next_checkpoint: str | None = None

    @property
    def active(self) -> int:
        return self.products + self.variants

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    def fill_rate(self, stats: FieldStats) -> float:
        return stats.filled / self.active if self.active else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": {
                "records": self.records,
                "products": self.products,
                "variants": self.variants,
                "deleted": self.deleted,
                "errors": self.errors,
                "warnings": len(self.problems) - self.errors,
            },
            "complete": self.complete,
            "roles": self.roles,
            "fields": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "filled": s.filled,
                    "fill_rate": round(self.fill_rate(s), 4),
                    "types": dict(s.types.most_common()),
                    "example": s.example,
                }
                for s in self.fields.values()
            ],
            "samples": [_sample(p) for p in self.samples],
            "problems": [
                {"where": str(p.origin), "sku": p.sku, "severity": p.severity, "message": p.message}
                for p in self.problems
            ],
        }


def _sample(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "parent_sku": product.parent_sku,
        "origin": str(product.origin),
        "category_path": list(product.category_path),
        "fields": product.fields,
        "localized": product.localized,
        "images": product.images,
    }


def inspect_records(records: Iterable[Record], report: CatalogReport, samples: int = 3) -> CatalogReport:
    """Fold a stream of records into ``report``."""
    stats = report.fields
    for record in records:
        if isinstance(record, CatalogProblem):
            report.problems.append(record)
            continue
        report.records += 1
        if record.is_deleted:
            report.deleted += 1
            continue
        if record.is_variant:
            report.variants += 1
        else:
            report.products += 1
        if len(report.samples) < samples:
            report.samples.append(record)
        for name, value in record.fields.items():
            entry = stats.get(name)
            if entry is None:
                entry = stats[name] = FieldStats(name)
            entry.see(value)
        for base, texts in record.localized.items():
            for lang, value in texts.items():
                key = f"{base}[{lang}]"
                entry = stats.get(key)
                if entry is None:
                    entry = stats[key] = FieldStats(key, "localized")
                entry.see(value)
        if record.images:
            entry = stats.get("(images)")
            if entry is None:
                entry = stats["(images)"] = FieldStats("(images)", "images")
            entry.see(record.images)
        if record.category_path:
            entry = stats.get("(category path)")
            if entry is None:
                entry = stats["(category path)"] = FieldStats("(category path)", "category")
            entry.see(" > ".join(record.category_path))
    return report


def inspect_source(source: CatalogSource, since: str | None = None, samples: int = 3) -> CatalogReport:
    """Read the whole source once and describe it; raises :class:`CatalogError` when unusable."""
    report = CatalogReport(source.name)
    inspect_records(source.records(since), report, samples)
    report.columns = source.columns()
    mapper = getattr(source, "mapper", None)
    roles = getattr(mapper, "roles", None)
    if roles is not None:
        report.roles = {
            "sku": roles.sku,
            "variant_sku": roles.variant_sku,
            "parent": roles.parent,
            "category": roles.category,
            "images": list(roles.images),
            "languages": sorted({lang for _, lang in roles.localized.values()}),
        }
    report.complete = source.complete
    report.next_checkpoint = source.next_checkpoint
    return report
