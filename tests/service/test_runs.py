"""The run function against the emulator: two connections in one workspace, one run at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from service_helpers import GOOD_SKUS, add_sample_connection, write_catalogue

from listingsync.emulator import EmulatorServer
from listingsync.service import (
    ConnectionError,
    RunBusyError,
    Workspace,
    cancel_run,
    create_run,
    execute_run,
    get_connection,
    list_runs,
    prune_runs,
    recover_interrupted,
    remove_connection,
)
from listingsync.service import tables as t
from listingsync.service.runs import STALE_SECONDS
from listingsync.sync.lock import acquire_lock


def _amazon_skus(server: EmulatorServer, seller: str) -> set[str]:
    server.flush()  # what Amazon holds once it has processed what it accepted
    return {key[2] for key in server.state.listings if key[0] == seller}


def test_two_connections_share_one_database_but_not_their_state(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    vendor = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    seller = add_sample_connection(workspace, "seller", emulator, tmp_path)
    for name in (vendor, seller):
        run = execute_run(workspace, create_run(workspace, name, trigger="manual").id)
        assert run.status == "succeeded", (run.error, run.fix)
        assert run.counts and run.counts["plan"]["create"] >= len(GOOD_SKUS)
    assert _amazon_skus(emulator, "DEMOV") == set(GOOD_SKUS)
    assert _amazon_skus(emulator, "A3DEMOSELLER01") == set(GOOD_SKUS)
    # The same SKUs, one row each per connection: the scopes keep them apart.
    vendor_rows = workspace.store(vendor).listings()
    seller_rows = workspace.store(seller).listings()
    assert {s.marketplace_id for s in vendor_rows} == {"A13V1IB3VIYZZH", "A1PA6795UKMFR9"}
    assert {s.marketplace_id for s in seller_rows} == {"ATVPDKIKX0DER"}
    # A second run has nothing to do; an edit is sent as an update of that connection only.
    write_catalogue(tmp_path / "seller.csv", edit={"brand": "Maison Demo Bis"})
    again = execute_run(workspace, create_run(workspace, vendor, trigger="manual").id)
    assert again.status == "succeeded" and again.counts["plan"] == {"unchanged": 6}
    edited = execute_run(workspace, create_run(workspace, seller, trigger="manual").id)
    assert edited.counts["plan"] == {"update": 3}
    emulator.flush()
    brand = emulator.state.listings[("A3DEMOSELLER01", "ATVPDKIKX0DER", "MD-CUSH-001")]
    assert "Maison Demo Bis" in str(brand)
    assert [r.connection for r in list_runs(workspace)] == [seller, vendor, seller, vendor]
    assert [r.id for r in list_runs(workspace, connection=vendor)] == [3, 1]


def test_one_run_per_connection_at_a_time(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    first = create_run(workspace, name, trigger="manual")
    with pytest.raises(RunBusyError) as busy:
        create_run(workspace, name, trigger="manual")
    assert busy.value.run_id == first.id
    # Another process holds the connection's run lock (a run of a second serve): this one is skipped.
    held = acquire_lock(workspace.engine, f"run:{name}", purpose="a test holding it")
    skipped = execute_run(workspace, first.id)
    held.release()
    assert skipped.status == "skipped" and "still running" in (skipped.error or "")
    assert "a test holding it" in (skipped.error or "")
    assert not emulator.state.listings
    # A run is executed once, however often it is handed over (a task delivered twice).
    second = create_run(workspace, name, trigger="manual")
    assert execute_run(workspace, second.id).status == "succeeded"
    writes = len(emulator.state.write_log)
    assert execute_run(workspace, second.id).status == "succeeded"
    assert len(emulator.state.write_log) == writes


def test_cancel_a_queued_run_and_missing_credentials(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    run = cancel_run(workspace, create_run(workspace, name, trigger="manual").id)
    assert run.status == "cancelled"
    assert execute_run(workspace, run.id).status == "cancelled"
    with workspace.begin() as conn:
        conn.execute(t.secrets.delete().where(t.secrets.c.name == "lwa_refresh_token"))
    failed = execute_run(workspace, create_run(workspace, name, trigger="manual").id)
    assert failed.status == "failed"
    assert "lwa_refresh_token" in (failed.error or "") and "connections secret" in (failed.fix or "")


def test_interrupted_run_is_recorded_and_the_next_one_runs(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    run = create_run(workspace, name, trigger="schedule")
    # Its process (on another machine) went silent long ago.
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=STALE_SECONDS * 2)
    with workspace.begin() as conn:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == run.id)
            .values(status="running", owner="elsewhere:1", heartbeat_at=old)
        )
    [found] = recover_interrupted(workspace)
    assert found.id == run.id and found.status == "failed" and "interrupted" in (found.error or "")
    nxt = execute_run(workspace, create_run(workspace, name, trigger="recovery").id)
    assert nxt.status == "succeeded"


def test_retention_and_removal(workspace: Workspace, emulator: EmulatorServer, tmp_path: Path) -> None:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    for _ in range(3):
        cancel_run(workspace, create_run(workspace, name, trigger="manual").id)
    with workspace.begin() as conn:
        conn.execute(t.runs.update().values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)))
    assert prune_runs(workspace, older_than=dt.timedelta(days=30), keep=1) == 2
    assert len(list_runs(workspace, connection=name)) == 1
    execute_run(workspace, create_run(workspace, name, trigger="manual").id)
    remove_connection(workspace, name)
    with workspace.connect() as conn:
        for table in (t.connections, t.secrets, t.runs):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    assert workspace.store(name).listings() == []
    with pytest.raises(ConnectionError, match="no connection named"):
        get_connection(workspace, name)
