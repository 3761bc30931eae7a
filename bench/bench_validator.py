"""Listings validated per second on HOME (US) with full payloads: ours vs the reference, same run.

Payloads come from ``listingsync.schema.samples`` with most optional attributes filled in (about 95
attributes, 12 KB of JSON each); a quarter are broken by one mutation, so error reporting is timed
too. Figures (medians over rounds):

- ours: ``Validator.issues`` (jsonschema-rs + Amazon's vocabulary checked in Python at the spots
  precomputed from the schema), and ``Validator.is_valid``;
- the design alternative: the same vocabulary as jsonschema-rs custom keywords (Python callbacks
  from inside the Rust engine), ``vocabulary="rust"``;
- the baseline: ``ReferenceValidator.issues`` (python ``jsonschema`` + the same vocabulary);
- compile time of each.

``LISTINGSYNC_BENCH_VALIDATOR_N`` sets the number of listings (default 200).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from listingsync.schema import Validator, bundled_schema_files, mutate_listing, sample_listing
from listingsync.schema.reference import ReferenceValidator

ROUNDS = 5


def _payloads(schema: dict[str, Any], count: int) -> list[dict[str, Any]]:
    rng = random.Random(2024)
    docs = []
    for i in range(count):
        doc = sample_listing(schema, rng, optional=0.7)
        if i % 4 == 3:
            doc, _kind = mutate_listing(schema, doc, rng)
        docs.append(doc)
    return docs


def _rates(
    checks: dict[str, tuple[Callable[[dict[str, Any]], object], list[dict[str, Any]]]], rounds: int
) -> dict[str, float]:
    """Median listings per second of each check; rounds interleave the checks, so a busy machine
    slows them alike instead of whichever happened to run during the busy spell."""
    rates: dict[str, list[float]] = {name: [] for name in checks}
    for _ in range(rounds):
        for name, (check, docs) in checks.items():
            started = time.perf_counter()
            for doc in docs:
                check(doc)
            rates[name].append(len(docs) / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def _compile_ms(build: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        build()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _empty_listing(ours: Validator) -> None:
    """``issues({})``: every required attribute missing, each with its condition in plain words.

    The baseline is jsonschema-rs's own error iteration over the same document (no messages), so
    the ratio is what turning errors into issues costs. Each round times 1,000 calls (a call takes
    tens of µs: fewer would time the machine's scheduling, not the code)."""
    engine = ours._rs  # the compiled engine inside ours: the same schema, the same errors
    rates = _rates(
        {
            "issues({})": (ours.issues, [{}] * 1000),
            "engine": (lambda doc: list(engine.iter_errors(doc)), [{}] * 1000),
        },
        ROUNDS + 2,
    )
    errors = len(list(engine.iter_errors({})))
    print(
        f"empty listing ({errors} errors): issues({{}}) {1e6 / rates['issues({})']:.0f} µs, "
        f"jsonschema-rs iter_errors {1e6 / rates['engine']:.0f} µs: "
        f"{rates['engine'] / rates['issues({})']:.1f}x its time (target <= 3x)"
    )


def main() -> None:
    count = int(os.environ.get("LISTINGSYNC_BENCH_VALIDATOR_N", "200"))
    path = next(p for p in bundled_schema_files() if p.name == "HOME.json")
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    docs = _payloads(schema, count)
    size = statistics.mean(len(json.dumps(d)) for d in docs)
    attributes = statistics.mean(len(d) for d in docs)
    print(
        f"HOME (US), {count} listings, {attributes:.0f} attributes / {size / 1024:.1f} KiB each, 1 in 4 broken"
    )

    ours = Validator(schema)
    rust_keywords = Validator(schema, vocabulary="rust")
    reference = ReferenceValidator(schema)

    # Same verdicts first: a fast wrong answer is no answer.
    ours_invalid = sum(1 for d in docs if not ours.is_valid(d))
    ref_invalid = sum(1 for d in docs if any(i.severity.value == "ERROR" for i in reference.issues(d)))
    print(f"invalid listings: ours {ours_invalid}, reference {ref_invalid} (they must agree)")

    ref_docs = docs[: max(20, count // 4)]  # the baseline is slow; a quarter of the set is enough
    rates = _rates(
        {
            "issues": (ours.issues, docs),
            "is_valid": (ours.is_valid, docs),
            "rust": (rust_keywords.issues, docs),
            "reference": (reference.issues, ref_docs),
        },
        ROUNDS,
    )
    rate_issues, rate_valid, rate_rust, rate_ref = (
        rates["issues"],
        rates["is_valid"],
        rates["rust"],
        rates["reference"],
    )

    print(f"{'':44s} {'listings/s':>11s} {'µs each':>9s} {'vs reference':>13s}")
    for label, rate in (
        ("ours: issues (vocabulary in Python at spots)", rate_issues),
        ("ours: is_valid", rate_valid),
        ("alt: issues (vocabulary as Rust keywords)", rate_rust),
        ("reference: python jsonschema + vocabulary", rate_ref),
    ):
        print(f"{label:44s} {rate:11.0f} {1e6 / rate:9.0f} {rate / rate_ref:12.1f}x")
    print(f"speed-up of ours over the reference (issues): {rate_issues / rate_ref:.1f}x (target >= 20x)")
    print(f"Python-side vocabulary vs Rust custom keywords: {rate_issues / rate_rust:.2f}x")
    _empty_listing(ours)
    print(
        f"compile HOME: ours {_compile_ms(lambda: Validator(schema)):.0f} ms, "
        f"reference {_compile_ms(lambda: ReferenceValidator(schema)):.0f} ms (python jsonschema compiles lazily)"
    )


if __name__ == "__main__":
    main()
