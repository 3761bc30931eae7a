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

from listingsync.catalog.model import CatalogProblem, Origin, Product
from listingsync.catalog.source import CatalogSource, Record

__all__ = [
    "CatalogReport",
    "FieldStats",
    "empty_catalogue",
    "inspect_records",
    "inspect_source",
    "value_type",
]

#: Records whose values are profiled for types; fill counts cover every record.
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
    """Fold a stream of records into ``report``.

    Every record is counted; the first :data:`TYPE_SAMPLE` active records are also profiled for
    value types and examples (typing every cell of a million rows would cost more than reading them).
    """
    stats = report.fields
    filled: Counter[str] = Counter()
    localized: Counter[tuple[str, str]] = Counter()
    with_images = with_category = 0
    profiled = 0
    for record in records:
        if isinstance(record, CatalogProblem):
            report.problems.append(record)
            continue
        report.records += 1
        if record.is_deleted:
            report.deleted += 1
            continue
        if record.parent_sku is not None:
            report.variants += 1
        else:
            report.products += 1
        if len(report.samples) < samples:
            report.samples.append(record)
        filled.update(record.fields.keys())
        for base, texts in record.localized.items():
            for lang in texts:
                localized[base, lang] += 1
        if record.images:
            with_images += 1
        if record.category_path:
            with_category += 1
        if profiled < TYPE_SAMPLE:
            profiled += 1
            _profile(stats, record)
    for name, count in filled.items():
        stats.setdefault(name, FieldStats(name)).filled = count
    for (base, lang), count in localized.items():
        key = f"{base}[{lang}]"
        stats.setdefault(key, FieldStats(key, "localized")).filled = count
    if with_images:
        stats["(images)"].filled = with_images
    if with_category:
        stats["(category path)"].filled = with_category
    return report


def _profile(stats: dict[str, FieldStats], record: Product) -> None:
    def see(key: str, kind: str, value: Any) -> None:
        entry = stats.get(key)
        if entry is None:
            entry = stats[key] = FieldStats(key, kind)
        entry.types[value_type(value)] += 1
        if entry.example is None:
            entry.example = value

    for name, value in record.fields.items():
        see(name, "field", value)
    for base, texts in record.localized.items():
        for lang, value in texts.items():
            see(f"{base}[{lang}]", "localized", value)
    if record.images:
        see("(images)", "images", record.images)
    if record.category_path:
        see("(category path)", "category", " > ".join(record.category_path))


def empty_catalogue(name: str) -> CatalogProblem:
    """The problem of a source that yielded no record at all (inspect and validate report it)."""
    return CatalogProblem(
        Origin(name),
        "the catalogue has no records: check that the export is complete (a file with only its "
        "header, or a connector with no products)",
    )


def inspect_source(source: CatalogSource, since: str | None = None, samples: int = 3) -> CatalogReport:
    """Read the whole source once and describe it; raises :class:`CatalogError` when unusable."""
    report = CatalogReport(source.name)
    inspect_records(source.records(since), report, samples)
    if since is None and report.records == 0 and not report.problems:
        # An empty export passing as "no problems" would let a broken pipeline go unnoticed.
        report.problems.append(empty_catalogue(source.name))
    report.columns = source.columns()
    report.roles = source.roles()
    report.complete = source.complete
    report.next_checkpoint = source.next_checkpoint
    return report
