"""A sending run streams: batches consumed one at a time, feed documents submitted as they fill,
results spilled to disk past a bound. Structure, not timing or RSS (both flaky on a shared machine)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from listingsync.catalog.model import Origin, Product
from listingsync.cli.common import print_json
from listingsync.config import load_config
from listingsync.mapping.listing import Listing, Requirements
from listingsync.mapping.pipeline import Outline
from listingsync.mapping.schemas import BundledSchemas
from listingsync.schema.issues import Issue, Severity
from listingsync.skuset import SkuSet
from listingsync.sync import engine as engine_module
from listingsync.sync import pipeline as pipeline_module
from listingsync.sync.engine import Batch, SkuResult, SyncEngine, SyncOptions, SyncReport
from listingsync.sync.feeds import FeedExecutor, FeedLimits
from listingsync.sync.plan import Action, Candidate, Op
from listingsync.sync.results import ResultLines, ResultLog
from listingsync.sync.store import StateStore

DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"


def _listing(i: int, mp: str = DE) -> Listing:
    return Listing(f"S{i:04d}", mp, "HOME", Requirements.LISTING, {"item_name": [{"value": f"n{i}"}]})


class _FakeFeeds:
    """createFeedDocument → upload → createFeed, recorded; nothing is followed (``wait=False``)."""

    def __init__(self) -> None:
        self.uploads: list[bytes] = []

    async def create_feed_document(self) -> dict[str, Any]:
        return {"url": f"https://upload/{len(self.uploads)}", "feedDocumentId": f"D{len(self.uploads)}"}

    async def upload_feed_document(self, url: str, body: bytes | Path) -> None:
        # The sink hands over the document's file (the client streams it): read it here.
        assert isinstance(body, Path)
        self.uploads.append(await asyncio.to_thread(body.read_bytes))

    async def create_feed(self, feed_type: str, marketplaces: list[str], document: str) -> dict[str, Any]:
        return {"feedId": f"F{document}"}


class _FakeClient:
    def __init__(self) -> None:
        self.feeds = _FakeFeeds()


def test_feed_documents_are_submitted_as_they_fill(store: StateStore) -> None:
    client: Any = _FakeClient()
    run_id = store.begin_run("sync", "feed")
    executor = FeedExecutor(
        client, store, "DEMOV", run_id=run_id, limits=FeedLimits(max_messages=4, per_window=1000), wait=False
    )
    sink = executor.sink()
    actions = [
        Action(Op.CREATE, f"S{i:04d}", DE, "HOME", "LISTING", f"h{i}", {"item_name": [{"value": f"n{i}"}]})
        for i in range(9)
    ]

    async def go() -> None:
        await sink.add(actions[:5])
        # The first document filled at 4 messages and went out before the caller gave more.
        assert len(client.feeds.uploads) == 1
        await sink.add(actions[5:])
        assert len(client.feeds.uploads) == 2
        # Write-ahead: every added write has its intent, also those of the document still open.
        assert len(store.listings(pending_only=True)) == 9
        await sink.finish()

    asyncio.run(go())
    bodies = [orjson.loads(b) for b in client.feeds.uploads]
    assert [len(b["messages"]) for b in bodies] == [4, 4, 1]
    assert [m["messageId"] for m in bodies[1]["messages"]] == [1, 2, 3, 4]
    assert [m["sku"] for b in bodies for m in b["messages"]] == [a.sku for a in actions]
    feeds = store.feeds()
    assert sorted(f.state for f in feeds) == ["submitted"] * 3
    assert sorted(len(store.feed_messages(f.id)) for f in feeds) == [1, 4, 4]


def test_the_engine_runs_a_bounded_way_ahead(monkeypatch: pytest.MonkeyPatch, store: StateStore) -> None:
    """Batches are recorded in order, and the engine plans ahead of the sender by a bounded amount:
    with one slice queued, batch k+3 is not built before batch k is recorded (the sender's slice,
    the queued one and the one being planned)."""
    monkeypatch.setattr(engine_module, "SLICES_AHEAD", 1)
    error = Issue("/item_name", Severity.ERROR, "LS-TEST", "broken")
    events: list[str] = []

    def batches() -> Iterator[Batch]:
        for k in range(8):
            events.append(f"built {k}")
            cands = [Candidate(_listing(10 * k + i), [error]) for i in range(10)]
            yield Batch(cands, lambda k=k: events.append(f"recorded {k}"))

    engine = SyncEngine(store, None, "DEMOV", options=SyncOptions(via="items"))
    report = asyncio.run(engine.run_stream(batches(), marketplace_ids=[DE], present=lambda key: True))
    assert [e for e in events if e.startswith("recorded")] == [f"recorded {k}" for k in range(8)]
    for k in range(5):
        assert events.index(f"recorded {k}") < events.index(f"built {k + 3}"), events
    assert report.plan["invalid"] == 80 and report.statuses == {"invalid": 80}


def test_catalogue_stream_builds_bounded_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sample = resources.files("listingsync") / "data" / "sample"
    for name in ("listingsync.yaml", "products.csv"):
        (tmp_path / name).write_bytes((sample / name).read_bytes())
    monkeypatch.setattr(pipeline_module, "SKIP_BATCH", 10)
    config = load_config(tmp_path / "listingsync.yaml")
    stream = pipeline_module.CatalogStream(config, BundledSchemas())
    sizes = [len(b.candidates) for b in stream.batches()]
    marketplaces = len(config.account.marketplaces)
    assert len(sizes) > 2 and max(sizes) <= 10 * marketplaces
    assert sum(sizes) == stream.out.listings
    # What the read holds was known from the first pass, before any batch was built.
    assert stream.live_products == stream.out.products
    whole = pipeline_module.read_candidates(config, BundledSchemas()).candidates
    assert all(c.listing.sku in stream.present for c in whole)


def test_result_log_keeps_a_bounded_number_in_memory() -> None:
    log = ResultLog(memory=3)
    log.extend(SkuResult(f"S{i}", DE, "create", "pending", patches=[{"op": "replace"}]) for i in range(10))
    assert len(log) == 10 and len(log._held) == 3
    assert [r.sku for r in log] == [f"S{i}" for i in range(10)]

    def fill(chunk: list[SkuResult]) -> None:
        assert len(chunk) <= 4
        for r in chunk:
            r.status = "accepted"

    done = log.rewritten(fill, size=4)
    assert [(r.sku, r.status) for r in done] == [(f"S{i}", "accepted") for i in range(10)]
    assert next(iter(done)).patches == [{"op": "replace"}]


def test_result_log_reads_back_while_appended_and_tallies_without_reading() -> None:
    """Iterating a spilled log while results are appended (the engine reports as it goes) gives
    each result it held when the iteration began once, in order, whatever moved the file in
    between; the failure counts come from a tally, not from the file."""
    log = ResultLog(memory=2)
    log.extend(SkuResult(f"S{i}", DE, "create", "invalid", was_invalid=i % 2 == 0) for i in range(6))
    seen = []
    for r in log:
        seen.append(r.sku)
        if len(seen) == 3:
            log.append(SkuResult("S6", DE, "update", "error"))  # moves the file's position
            assert [r.sku for r in log][-1] == "S6"  # so does another iteration
    assert seen == [f"S{i}" for i in range(6)]
    assert log.tally() == {("invalid", True): 3, ("invalid", False): 3, ("error", False): 1}
    report = SyncReport("send", "feed", 1, {}, log, {}, {}, 1.0)
    assert (report.failed, report.new_failures, report.run_status) == (7, 4, "partial")
    log._spill.seek(0)  # type: ignore[union-attr]
    log._spill.truncate()  # type: ignore[union-attr]  # the counts do not read the file
    assert (report.failed, report.new_failures) == (7, 4)


def test_result_log_takes_results_written_as_json_lines() -> None:
    """Results the database wrote as JSON (rawskip's known-invalid listings) join the log as if
    appended: decoded into objects while the log holds objects, the rest written to its file as
    they are, tallied by the status they were given, and all read back in order."""
    log = ResultLog(memory=3)
    log.append(SkuResult("A", DE, "create", "accepted"))
    lines = [
        orjson.dumps(
            {
                "sku": f"S{i}",
                "marketplace_id": DE,
                "op": "invalid",
                "status": "invalid",
                "issues": [{"code": "LS-ENUM", "n": i}],
                "asin": None,
                "was_invalid": True,
            }
        ).decode()
        for i in range(4)
    ]
    log.extend_lines(ResultLines(lines, "invalid", was_invalid=True))
    log.extend_lines(ResultLines([], "invalid", was_invalid=True))
    log.append(SkuResult("Z", DE, "update", "error"))
    back = list(log)
    assert [r.sku for r in back] == ["A", "S0", "S1", "S2", "S3", "Z"]
    assert back[3].issues == [{"code": "LS-ENUM", "n": 2}] and back[3].was_invalid is True
    assert len(log) == 6 and log._spilled == 3  # S0, S1 held as objects; S2, S3 and Z in the file
    assert log.tally() == {("accepted", False): 1, ("invalid", True): 4, ("error", False): 1}


def test_sku_set_answers_membership() -> None:
    present = SkuSet(f"S{i}" for i in range(0, 1000, 2))
    assert "S10" in present and "S11" not in present
    present.add("S11")
    present.add("S11")  # twice: counted once
    assert "S11" in present and len(present) == 501 and len(SkuSet()) == 0
    # Many SKUs at once, as membership would answer each (the parents an outline looks for).
    asked = [f"S{i}" for i in range(0, 30, 3)] + ["S6", "X"]
    assert present.among(asked) == {s for s in asked if s in present} == {"S0", "S6", "S12", "S18", "S24"}

    class Clashing(str):  # two SKUs with one hash: both found, as `in` finds both
        def __hash__(self) -> int:
            return 42

    clashing = SkuSet([Clashing("A")])
    assert sorted(map(str, clashing.among([Clashing("A"), Clashing("B"), "C"]))) == ["A", "B"]
    assert Clashing("B") in clashing


def test_outline_counts_each_parents_variants() -> None:
    """The build pass lets a parent go after its last variant: the outline counts them."""
    o = Origin("t.csv")
    records = [
        Product("V1", o, parent_sku="P"),
        Product("P", o),
        Product("V2", o, parent_sku="P"),
        Product("W", o, parent_sku="GONE"),
    ]
    outline = Outline.of(records)
    assert outline.parents == {"P"} and outline.variants == {"P": 2}


def test_json_output_writes_results_one_at_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    """``sync --json``: the same document as ``json.dumps`` of every result, read back from the log
    as the encoder writes (a log spilled to disk is never made a list)."""
    log = ResultLog(memory=2)
    log.extend(SkuResult(f"S{i}", DE, "create", "accepted", changed=["item_name"]) for i in range(7))
    report = SyncReport("send", "feed", 1, {"create": 7}, log, {"accepted": 7}, {}, 1.0)
    print_json(report.as_dict(lazy=True))
    written = capsys.readouterr().out
    assert written == json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    assert [r["sku"] for r in json.loads(written)["results"]] == [f"S{i}" for i in range(7)]
