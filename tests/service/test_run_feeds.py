"""A run handed to its feeds (a worker's ``execute_run(follow_feeds=False)``): the run stays open,
holding nothing, until ``poll_run_feeds`` finds the feeds done; a lease that runs out is recovered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from service_helpers import GOOD_SKUS, credentials_of, sample_document, write_catalogue

from listingsync.emulator import EmulatorServer
from listingsync.service import (
    RunBusyError,
    Workspace,
    add_connection,
    create_run,
    execute_run,
    get_run,
    recover_interrupted,
)
from listingsync.service import tables as t
from listingsync.service.runs import FEEDS_OWNER, STALE_SECONDS, poll_run_feeds
from listingsync.service.utc import utc_now


def _feed_connection(ws: Workspace, server: EmulatorServer, base: Path) -> str:
    write_catalogue(base / "vendor.csv")
    doc = sample_document("vendor", server)
    doc["sync"]["via"] = "feed"
    add_connection(ws, "vendor-eu", doc, base_dir=base, secrets=credentials_of("vendor"))
    return "vendor-eu"


def _amazon_skus(server: EmulatorServer) -> set[str]:
    return {key[2] for key in server.state.listings if key[0] == "DEMOV"}


def test_a_run_handed_to_its_feeds_ends_when_a_poll_finds_them_done(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    name = _feed_connection(workspace, emulator, tmp_path)
    run = execute_run(workspace, create_run(workspace, name, trigger="manual").id, follow_feeds=False)
    assert (run.status, run.owner) == ("running", FEEDS_OWNER)
    assert run.counts and run.counts["feeds"]["pending"] >= 1
    # Nobody holds it, yet it is not taken for dead, and the connection is busy until it ends.
    assert recover_interrupted(workspace) == []
    with pytest.raises(RunBusyError):
        create_run(workspace, name, trigger="manual")
    looks = 1
    while poll_run_feeds(workspace, run.id, next_poll=1.0):
        looks += 1
    done = get_run(workspace, run.id)
    assert done.status == "succeeded", (done.error, done.fix, done.counts)
    assert done.counts and done.counts["feeds"]["pending"] == 0
    # One message per SKU and marketplace (FR, DE), every one accepted or live.
    outcomes = done.counts["feeds"]["outcomes"]
    assert (
        sum(outcomes.values()) == 2 * len(GOOD_SKUS) == outcomes.get("accepted", 0) + outcomes.get("live", 0)
    )
    assert _amazon_skus(emulator) == set(GOOD_SKUS)
    # Ended: a poll delivered again changes nothing, and the connection takes the next run.
    assert poll_run_feeds(workspace, run.id, next_poll=1.0) is False
    assert get_run(workspace, run.id).finished_at == done.finished_at
    assert create_run(workspace, name, trigger="manual").status == "queued"


def test_a_run_whose_feed_polls_stopped_coming_is_recovered_by_the_next_run(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    name = _feed_connection(workspace, emulator, tmp_path)
    run = execute_run(workspace, create_run(workspace, name, trigger="manual").id, follow_feeds=False)
    assert run.owner == FEEDS_OWNER
    # The poll task was lost (a broker purged): its lease runs out.
    with workspace.begin() as conn:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == run.id)
            .values(heartbeat_at=utc_now() - dt.timedelta(seconds=STALE_SECONDS + 1))
        )
    assert [r.id for r in recover_interrupted(workspace)] == [run.id]
    assert get_run(workspace, run.id).status == "failed"
    assert poll_run_feeds(workspace, run.id, next_poll=1.0) is False  # a late poll leaves it alone
    # The next run follows the submitted feeds itself before it plans anything: nothing is resent.
    nxt = execute_run(workspace, create_run(workspace, name, trigger="recovery").id)
    assert nxt.status == "succeeded", (nxt.error, nxt.fix)
    assert _amazon_skus(emulator) == set(GOOD_SKUS)
    assert sum(1 for w in emulator.state.write_log if w["seller_id"] == "DEMOV" and w["created"]) == 2 * len(
        GOOD_SKUS
    )
