"""The listing generator: valid for each bundled schema, deterministic per seed, mutations break it."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from listingsync.schema import (
    MUTATIONS,
    Severity,
    Validator,
    bundled_schema_files,
    mutate_listing,
    sample_listing,
)


@pytest.fixture(scope="module", params=[p.name for p in bundled_schema_files()])
def schema(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = next(p for p in bundled_schema_files() if p.name == request.param)
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def test_samples_are_valid_and_deterministic(schema: dict[str, Any]) -> None:
    validator = Validator(schema)
    for seed in range(15):
        doc = sample_listing(schema, random.Random(seed), parentage=[None, "parent", "child"][seed % 3])
        assert validator.is_valid(doc), [str(i) for i in validator.issues(doc)][:5]
        assert doc == sample_listing(
            schema, random.Random(seed), parentage=[None, "parent", "child"][seed % 3]
        )


def test_samples_use_the_given_marketplace_and_language() -> None:
    home = json.loads(next(p for p in bundled_schema_files() if p.name == "HOME.json").read_text("utf-8"))
    doc = sample_listing(home, random.Random(1), "ATVPDKIKX0DER", "en_US", parentage="child")
    assert doc["parentage_level"][0]["value"] == "child"
    assert doc["item_name"][0]["language_tag"] == "en_US"
    assert {e.get("marketplace_id") for e in doc["item_name"]} == {"ATVPDKIKX0DER"}
    locators = [v for k, v in doc.items() if k.endswith("image_locator")]
    assert all(e["media_location"].startswith("https://") for entries in locators for e in entries)


@pytest.mark.parametrize("kind", MUTATIONS)
def test_each_mutation_breaks_the_listing(schema: dict[str, Any], kind: str) -> None:
    validator = Validator(schema)
    rng = random.Random(kind)
    broken_count = 0
    for _ in range(6):
        doc = sample_listing(schema, rng)
        broken, used = mutate_listing(schema, doc, rng, kind)
        assert validator.is_valid(doc)  # the original is untouched
        if used == kind:
            broken_count += 1
            assert any(i.severity is Severity.ERROR for i in validator.issues(broken)), (kind, broken)
    assert broken_count >= 3, f"{kind} rarely applies"
