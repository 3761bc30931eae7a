"""Issue 9: adopt what Amazon already holds (never a blind PUT over it), reconcile drift, and exit
codes a scheduler can trust. Everything talks to the emulator over loopback."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from listingsync.amazon.errors import SPAPIConnectionError
from listingsync.cli import app
from listingsync.config import load_config
from listingsync.emulator import EmulatorServer
from listingsync.emulator.items import late_issue_for
from listingsync.sync import engine as engine_module
from listingsync.sync import recovery
from listingsync.sync.engine import Batch, SyncEngine, SyncOptions, SyncReport
from listingsync.sync.pipeline import open_store
from listingsync.sync.plan import Candidate
from listingsync.sync.store import StateStore
from listingsync.sync.upkeep import run_reconcile

from .helpers import DE, amazon_listings, client_for, demo_env, home_candidate, sample_dir, sync

SELLER = "DEMOV"
runner = CliRunner()


def _options(cfg: Path) -> dict[str, Any]:
    """The engine options the CLI derives from the config's ``sync:`` section."""
    from listingsync.sync.pipeline import sync_options

    options = sync_options(load_config(cfg))
    return {"on_drift": options.on_drift, "reconcile_share": options.reconcile_share}


def _on_amazon(server: EmulatorServer) -> dict[tuple[str, str], Any]:
    server.flush()  # what Amazon holds once it has processed what it accepted
    return {(sku, mp): rec for (s, mp, sku), rec in server.state.listings.items() if s == SELLER}


async def _preload(
    server: EmulatorServer, differ: list[tuple[str, str]], drop: list[tuple[str, str]], extra: int
) -> list[tuple[str, str]]:
    """Through the emulator's API, as Seller/Vendor Central would: edit some listings, delete some,
    and create listings under SKUs the catalogue does not have."""
    held = _on_amazon(server)
    extras: list[tuple[str, str]] = []
    async with client_for(server, 1000.0) as client:
        for sku, mp in differ:
            answer = await client.listings.patch_listings_item(
                SELLER,
                sku,
                {
                    "productType": held[(sku, mp)].product_type,
                    "patches": [
                        {
                            "op": "replace",
                            "path": "/attributes/item_name",
                            "value": [
                                {
                                    **held[(sku, mp)].attributes["item_name"][0],
                                    "value": f"Edited in Vendor Central {sku}",
                                }
                            ],
                        }
                    ],
                },
                marketplace_ids=[mp],
            )
            assert answer["status"] == "ACCEPTED", answer
        for sku, mp in drop:
            await client.listings.delete_listings_item(SELLER, sku, marketplace_ids=[mp])
        templates = sorted(held.items())
        for n in range(extra):
            (sku, mp), rec = templates[n % len(templates)]
            new_sku = f"LEGACY-{n:03d}"
            await client.listings.put_listings_item(
                SELLER,
                new_sku,
                {
                    "productType": rec.product_type,
                    "requirements": rec.requirements,
                    "attributes": copy.deepcopy(rec.attributes),
                },
                marketplace_ids=[mp],
            )
            extras.append((new_sku, mp))
    # Made in Seller/Vendor Central before the run under test: Amazon has processed them by then
    # (realistic mode would otherwise leave a race between its processing delay and the next read).
    server.flush()
    return extras


def test_empty_state_adopts_existing_listings_patches_the_differing_creates_only_the_absent(
    tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Amazon already holds the catalogue (put there by another machine's state) ...
    seed = tmp_path / "other-machine"
    seed.mkdir()
    sync(sample_dir(seed, emulator), emulator)
    catalogue = sorted(_on_amazon(emulator))
    differ, drop = catalogue[:12], catalogue[12:20]
    extra = 200 - (len(catalogue) - len(drop))
    # ... some edited, some deleted, and 200 listings in all, some of them unknown to the catalogue.
    extras = asyncio.run(_preload(emulator, differ, drop, extra))
    assert len(_on_amazon(emulator)) == 200

    # A new machine with an empty state: adopt first reports what it finds (sends nothing).
    fresh = tmp_path / "new-machine"
    fresh.mkdir()
    cfg = sample_dir(fresh, emulator)
    for name, value in demo_env(emulator, 1000.0).items():
        if name.startswith("LISTINGSYNC_"):
            monkeypatch.setenv(name, value)
    before = len(emulator.state.write_log)
    result = runner.invoke(app, ["adopt", "--config", str(cfg), "--json"])
    assert result.exit_code == 1, result.output  # drift: values differ, listings not in the catalogue
    found = json.loads(result.stdout)
    assert len(emulator.state.write_log) == before  # adopt never writes
    assert {(d["sku"], d["marketplace_id"]) for d in found["different"]} == set(differ)
    assert all(d["attributes"] == ["item_name"] for d in found["different"])
    assert {(d["sku"], d["marketplace_id"]) for d in found["absent"]} == set(drop)
    assert {(d["sku"], d["marketplace_id"]) for d in found["not_in_catalogue"]} == set(extras)
    assert len(found["identical"]) == len(catalogue) - len(differ) - len(drop)

    # The first sync from that state: PATCHes for the differing, PUTs for the absent, nothing else.
    report, _ = sync(cfg, emulator)
    writes = emulator.state.write_log[before:]
    by_op: dict[str, set[tuple[str, str]]] = {}
    for w in writes:
        by_op.setdefault(w["op"], set()).add((w["sku"], w["marketplace_id"]))
    assert by_op == {"PATCH": set(differ), "PUT": set(drop)}
    existing = set(catalogue) - set(drop)
    assert not by_op["PUT"] & existing  # zero PUTs over listings that existed
    assert {r.status for r in report.results if r.op in ("create", "update")} <= {"live", "accepted"}
    with open_store(load_config(cfg)) as store:
        adopted = [s for s in store.listings() if s.adopted_at is not None]
        assert len(adopted) == len(catalogue) - len(drop)


def test_dry_run_shows_adopt_and_the_differing_as_patches(tmp_path: Path, emulator: EmulatorServer) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    sync(sample_dir(seed, emulator), emulator)
    catalogue = sorted(_on_amazon(emulator))
    asyncio.run(_preload(emulator, catalogue[:2], catalogue[2:3], 0))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    report, _ = sync(sample_dir(fresh, emulator), emulator, mode="dry-run")
    ops = {(r.sku, r.marketplace_id): (r.op, r.adopt) for r in report.results}
    assert ops[catalogue[0]] == ("update", True) and ops[catalogue[1]] == ("update", True)
    assert ops[catalogue[2]] == ("create", False)
    assert report.plan["adopt"] == len(catalogue) - 3
    assert not (fresh / ".listingsync" / "state.db").exists()  # a dry run records nothing


def test_reconcile_reports_edit_deletion_and_late_issue_and_overwrite_restores(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    cfg = sample_dir(tmp_path, emulator)
    sync(cfg, emulator)
    restored = amazon_listings(emulator)
    (edited, deleted, flagged, *_) = sorted(_on_amazon(emulator))
    asyncio.run(_preload(emulator, [edited], [deleted], 0))
    record = emulator.state.listings[(SELLER, flagged[1], flagged[0])]
    record.late_issues = late_issue_for(record, 1.0, 0)  # Amazon's later image check refuses it
    emulator.state.put_listing(record)  # a record read from the state is a copy

    config = load_config(cfg)

    async def reconcile() -> Any:
        async with client_for(emulator, 1000.0) as client:
            return await run_reconcile(config, client)

    found = asyncio.run(reconcile())
    assert [(s.sku, s.marketplace_id) for s in found.gone] == [deleted]
    assert [(s.sku, s.marketplace_id) for s, _ in found.changed] == [edited]
    diff = found.changed[0][1]
    assert list(diff) == ["item_name"] and diff["item_name"]["amazon"][0]["value"].startswith("Edited in")
    assert [(s.sku, s.marketplace_id) for s, _ in found.new_issues] == [flagged]
    assert found.new_issues[0][1][0]["code"] == "18027"
    assert (flagged, "NONE") in [((s.sku, s.marketplace_id), st) for s, st in found.not_shown]
    with open_store(config) as store:
        state = store.get(*edited)
        assert state is not None and state.drift and state.drift["kind"] == "changed" and state.checked_at
        assert store.get(*flagged).status == "invalid"  # type: ignore[union-attr]

    # on_drift: report (the default) leaves Amazon's values alone ...
    before = len(emulator.state.write_log)
    report, _ = sync(cfg, emulator)
    assert len(emulator.state.write_log) == before and any("on_drift" in n for n in report.notes)
    # ... overwrite restores the edited one with a PATCH and the deleted one with a PUT.
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("sync:\n", "sync:\n  on_drift: overwrite\n"), encoding="utf-8"
    )
    report, _ = sync(cfg, emulator, **_options(cfg))
    writes = {(w["sku"], w["marketplace_id"]): w["op"] for w in emulator.state.write_log[before:]}
    assert writes == {edited: "PATCH", deleted: "PUT"}
    held = amazon_listings(emulator)
    assert held[edited] == restored[edited] and held[deleted] == restored[deleted]
    with open_store(config) as store:
        assert not store.get(*edited).drift and not store.get(*deleted).drift  # type: ignore[union-attr]


def test_rolling_check_leaves_values_of_a_write_amazon_may_not_have_applied_unjudged(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """Amazon applies an accepted write minutes later, showing the values before it until then: a
    sync's rolling check does not call a listing written within its processing window "changed"
    (it would be a false drift on the sync after each write); later it does."""
    import datetime as dt

    import sqlalchemy as sa

    from listingsync.sync import tables as t

    cfg = sample_dir(tmp_path, emulator)
    sync(cfg, emulator)
    edited = sorted(_on_amazon(emulator))[0]
    asyncio.run(_preload(emulator, [edited], [], 0))  # Amazon shows other values than ours
    with open_store(load_config(cfg)) as store, store.engine.begin() as conn:
        conn.execute(sa.update(t.listings).values(updated_at=dt.datetime.now(dt.UTC)))  # all just written
    report, _ = sync(cfg, emulator, processing_window=3600.0)
    assert report.drift.changed == [] and edited in [
        (s.sku, s.marketplace_id) for s in report.drift.not_visible_yet
    ]
    report, _ = sync(cfg, emulator, processing_window=0.0)
    assert [(s.sku, s.marketplace_id) for s, _ in report.drift.changed] == [edited]


def test_ten_scheduled_syncs_with_nothing_changed_exit_0_with_an_old_invalid_listing(
    tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = sample_dir(tmp_path, emulator)
    for name, value in demo_env(emulator, 1000.0).items():
        if name.startswith("LISTINGSYNC_"):
            monkeypatch.setenv(name, value)
    first = runner.invoke(app, ["sync", "--config", str(cfg), "--json"])
    assert first.exit_code == 1  # the sample has records that fail validation: new this run
    assert json.loads(first.stdout)["known_invalid"] > 0
    with open_store(load_config(cfg)) as store:
        assert store.runs(limit=1)[0]["status"] == "partial"
    for _ in range(10):
        result = runner.invoke(app, ["sync", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["known_invalid"] > 0 and data["run_status"] == "succeeded"
    strict = runner.invoke(app, ["sync", "--config", str(cfg), "--fail-on-invalid", "--json"])
    assert strict.exit_code == 1
    with open_store(load_config(cfg)) as store:
        assert store.runs(limit=2)[1]["status"] == "succeeded"


def _fresh(n: int, prefix: str = "FRESH") -> list[Candidate]:
    """``n`` valid HOME listings for DE that Amazon does not hold."""
    return [home_candidate(f"{prefix}-{i:03d}", f"item {i}") for i in range(n)]


def test_writes_leave_while_the_rest_of_a_batch_is_looked_up(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """A first sync looks fresh SKUs up a slice at a time and sends each slice's writes while the next
    slices are looked up. Before, every SKU of a 1,000-candidate batch was looked up first (50
    search calls: 10 s at Amazon's 5 requests/s) before the first PUT left.

    With one slice queued, at most three slices are looked up before the first PUT: the one being
    sent, the queued one and the one waiting to be queued."""
    monkeypatch.setattr(engine_module, "LOOKUP_SLICE", 20)
    monkeypatch.setattr(engine_module, "SLICES_AHEAD", 1)
    cands = _fresh(200)
    calls: list[str] = []
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")

    async def go() -> SyncReport:
        async with client_for(emulator, 1000) as client:
            call = client.call

            async def recorded(operation: Any, *args: Any, **kwargs: Any) -> Any:
                calls.append(operation.name)
                return await call(operation, *args, **kwargs)

            monkeypatch.setattr(client, "call", recorded)
            engine = SyncEngine(store, client, SELLER, options=SyncOptions(via="items", reconcile=False))
            return await engine.run(cands)

    report = asyncio.run(go())
    store.close()
    assert report.plan["create"] == 200 and report.statuses.get("error", 0) == 0, report.statuses
    assert calls.count("searchListingsItems") == 10 and calls.count("putListingsItem") == 200
    first_put = calls.index("putListingsItem")
    assert calls[:first_put].count("searchListingsItems") <= 3, calls[: first_put + 1]


def test_a_failure_while_planning_ahead_still_sends_what_was_planned(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The source fails while batch 1 is built: batch 0's writes, planned already, are sent and
    recorded before the failure ends the run (nothing planned is left as a dangling intent)."""
    sent = _fresh(3, "BEFORE")

    def batches() -> Iterator[Batch]:
        yield Batch(sent)
        raise ValueError("the source broke at row 1,001")

    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")

    async def go() -> None:
        async with client_for(emulator, 1000) as client:
            engine = SyncEngine(store, client, SELLER, options=SyncOptions(via="items", reconcile=False))
            await engine.run_stream(batches(), marketplace_ids=[DE], present=lambda key: True)

    with pytest.raises(ValueError, match="row 1,001"):
        asyncio.run(go())
    try:
        assert sorted(w["sku"] for w in emulator.state.write_log) == [c.listing.sku for c in sent]
        states = {sku: store.get(sku, DE) for sku in ("BEFORE-000", "BEFORE-001", "BEFORE-002")}
        assert all(
            s is not None and s.status in ("accepted", "live") and s.pending_op is None
            for s in states.values()
        )
        assert store.runs()[0]["status"] == "aborted"
    finally:
        store.close()


def test_lookups_amazon_does_not_answer_are_tried_once_a_batch(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Amazon cannot be reached for lookups: the batch's first slice tries them (with its rounds),
    its later slices are not looked up (one failing attempt per batch, as when a whole batch was
    looked up at once, not one per slice); nothing unverified is written and every listing says why."""
    monkeypatch.setattr(recovery, "ROUND_DELAYS", (0.0, 0.0))
    looked_up: set[str] = set()
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")

    async def go() -> SyncReport:
        async with client_for(emulator, 1000) as client:
            call = client.call

            async def unreachable(operation: Any, **kwargs: Any) -> Any:
                if operation.name in ("searchListingsItems", "getListingsItem"):
                    looked_up.update(kwargs.get("query", {}).get("identifiers") or [kwargs["path"]["sku"]])
                    raise SPAPIConnectionError("http://amazon.invalid", ConnectionRefusedError())
                return await call(operation, **kwargs)

            monkeypatch.setattr(client, "call", unreachable)
            engine = SyncEngine(store, client, SELLER, options=SyncOptions(via="items", reconcile=False))
            return await engine.run(_fresh(300))

    report = asyncio.run(go())
    store.close()
    assert looked_up and looked_up <= {f"FRESH-{i:03d}" for i in range(engine_module.LOOKUP_SLICE)}
    assert report.statuses == {"error": 300}
    assert {i["code"] for r in report.results for i in r.issues} == {"LS-ADOPT-LOOKUP"}
    assert any("did not send 300 listing(s)" in note for note in report.notes), report.notes
    assert emulator.state.write_log == []
