"""Differential test: the fast validator and the independent reference validator must agree.

On every bundled product type schema, for generated listings (valid ones and one-rule mutations of
them: missing, wrong type, wrong enum, too long in UTF-8 bytes, duplicated selector combination,
broken conditional), both validators must agree on valid/invalid and on the set of failing
top-level attribute names.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from listingsync.schema.issues import Issue, Severity
from listingsync.schema.reference import ReferenceValidator
from listingsync.schema.samples import MUTATIONS, mutate_listing, sample_listing
from listingsync.schema.validator import Validator

SCHEMAS = Path(__file__).resolve().parents[2] / "src/listingsync/data/product-types"
# Listings per schema: 40 % valid, 60 % one-rule mutations of them (an equal share per kind).
QUICK = 250
FULL = 1000  # the soak: 400 valid, 100 mutations per kind


def _failing(issues: list[Issue]) -> frozenset[str]:
    return frozenset(i.attribute for i in issues if i.severity is Severity.ERROR)


@pytest.mark.slow
@pytest.mark.parametrize(
    "size", [pytest.param(QUICK, id="quick"), pytest.param(FULL, id="full", marks=pytest.mark.soak)]
)
@pytest.mark.parametrize("name", ["HOME.json", "HOME-fr.json", "PRODUCT.json"])
def test_fast_and_reference_validators_agree(name: str, size: int) -> None:
    valid_count, mutated_count = size * 2 // 5, size * 3 // 5
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text("utf-8"))
    fast = Validator(schema)
    reference = ReferenceValidator(schema)
    rng = random.Random(f"differential-{name}")

    valid = [
        sample_listing(
            schema, rng, parentage=rng.choice([None, "parent", "child"]), optional=rng.random() * 0.2
        )
        for _ in range(valid_count)
    ]
    cases: list[tuple[str, dict[str, Any]]] = [("valid", doc) for doc in valid]
    kinds: Counter[str] = Counter()
    for i in range(mutated_count):
        wanted = MUTATIONS[i % len(MUTATIONS)]
        doc, kind = mutate_listing(schema, valid[i % valid_count], rng, wanted)
        kinds[kind] += 1
        cases.append((kind, doc))

    disagreements = []
    invalid_by_kind: Counter[str] = Counter()
    for kind, doc in cases:
        ours = fast.issues(doc)
        theirs = reference.issues(doc)
        if _failing(ours) != _failing(theirs):
            disagreements.append((kind, sorted(_failing(ours)), sorted(_failing(theirs)), ours, theirs))
        if _failing(ours):
            invalid_by_kind[kind] += 1

    assert not disagreements, "\n".join(
        f"{kind}: ours {a} reference {b}\n  ours: {[str(i) for i in o][:5]}\n  ref: {[str(i) for i in t][:5]}"
        for kind, a, b, o, t in disagreements[:5]
    )
    assert len(cases) == size
    # The generator's valid listings are valid (for both, by the agreement above) …
    assert invalid_by_kind["valid"] == 0
    # … and every mutation kind was exercised and produced invalid listings (the test could fail).
    assert set(kinds) == set(MUTATIONS), kinds
    for kind in MUTATIONS:
        assert invalid_by_kind[kind] >= kinds[kind] * 0.9, (kind, invalid_by_kind[kind], kinds[kind])
