"""Run rows are never left ``running``: every exit path closes them with a status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from listingsync.sync.engine import SyncEngine
from listingsync.sync.plan import Candidate
from listingsync.sync.store import StateStore


def test_a_run_that_fails_midway_is_closed_as_aborted(store: StateStore) -> None:
    def candidates() -> Iterator[Candidate]:
        raise RuntimeError("the catalogue broke mid-read")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError):
        asyncio.run(SyncEngine(store, None, "DEMOV").run(candidates()))
    run = store.runs()[0]
    assert run["status"] == "aborted" and run["finished_at"] is not None
    assert "the catalogue broke mid-read" in run["summary"]["error"]


def test_runs_of_killed_processes_are_closed_by_the_next_lock_holder(store: StateStore) -> None:
    killed = store.begin_run("sync", "items")
    store.finish_run(store.begin_run("sync", "items"), "done", {})
    assert store.close_interrupted_runs() == 1
    statuses = {r["id"]: r["status"] for r in store.runs()}
    assert statuses[killed] == "interrupted" and set(statuses.values()) == {"interrupted", "done"}
