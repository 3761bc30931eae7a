"""Map and validate one slice of a catalogue: the CPU-bound part of a run, shared out to workers.

A slice is records ``start`` (inclusive) to ``stop`` (exclusive) in source order. Each worker reads
the source up to ``stop`` (reading is cheap next to building and validating) and maps and validates
only its slice, with the same :class:`~listingsync.mapping.pipeline.MappingPipeline` that ``validate``
and ``sync`` use, against the schemas cached beside the config (else the bundled ones). Variants are
built from their parent's record, so a slice also reads the parents its variants name, wherever they
sit in the catalogue; only the slice's own records are counted.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listingsync.catalog import CatalogProblem, open_source
from listingsync.catalog.model import Product
from listingsync.config import Config, load_config
from listingsync.mapping.pipeline import MappingPipeline
from listingsync.sync.pipeline import schema_provider

__all__ = ["ChunkResult", "validate_chunk"]


@dataclass(slots=True)
class ChunkResult:
    start: int
    stop: int
    records: int = 0
    listings: int = 0
    valid: int = 0
    invalid: int = 0
    problems: int = 0
    #: Issue codes of the slice's ERRORs, with their counts.
    error_codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "stop": self.stop,
            "records": self.records,
            "listings": self.listings,
            "valid": self.valid,
            "invalid": self.invalid,
            "problems": self.problems,
            "error_codes": dict(self.error_codes),
            "seconds": round(self.seconds, 3),
        }


def _read(config: Config, start: int, stop: int) -> tuple[list[Product | CatalogProblem], list[str]]:
    with open_source(config) as source:
        return list(itertools.islice(source.records(), start, stop)), source.columns()


def validate_chunk(config_path: str, start: int, stop: int) -> ChunkResult:
    """Build and validate records ``start``..``stop`` of the config's catalogue."""
    started = time.perf_counter()
    config = load_config(Path(config_path))
    schemas = asyncio.run(schema_provider(config, None))
    out = ChunkResult(start, stop)
    mine, columns = _read(config, start, stop)
    own = {r.sku for r in mine if isinstance(r, Product)}
    missing = {r.parent_sku for r in mine if isinstance(r, Product) and r.parent_sku} - own
    # A second pass only when a variant's parent sits in an earlier slice (rare: parents lead).
    before = _read(config, 0, start)[0] if missing else []
    parents = [r for r in before if isinstance(r, Product) and r.sku in missing]
    pipeline = MappingPipeline(config, schemas)
    for result in pipeline.run([*parents, *mine], columns=columns):
        if result.problem is not None:
            out.problems += 1
            continue
        if result.sku not in own:
            continue  # a parent from an earlier slice: that slice counts it
        out.records += 1
        for listing in result.listings:
            out.listings += 1
            if listing.ok:
                out.valid += 1
            else:
                out.invalid += 1
                out.error_codes.update(i.code for i in listing.errors)
    out.seconds = time.perf_counter() - started
    return out
