"""Run locks (``sync.lock``) and concurrent schema creation, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from listingsync.sync import tables as t
from listingsync.sync.lock import LockHeldError, LockHolder, acquire_lock
from listingsync.sync.store import StateStore


def test_second_run_is_refused_with_the_holder_named(state_url: str) -> None:
    with StateStore.open(state_url) as first, StateStore.open(state_url) as second:
        with acquire_lock(first.engine, "sync", purpose="listingsync sync"):
            with pytest.raises(LockHeldError) as info:
                acquire_lock(second.engine, "sync")
            message = str(info.value)
            assert f"pid {os.getpid()}" in message and socket.gethostname() in message
            assert "listingsync sync started" in message and "--wait" in info.value.fix
            # Another name is another lock (the service scopes one per connection).
            acquire_lock(second.engine, "sync:other").release()
        # Released: the next run gets it, and nothing of the first is left behind.
        with acquire_lock(second.engine, "sync") as lock:
            with second.engine.connect() as conn:
                owners = conn.execute(sa.select(t.locks.c.owner_key)).scalars().all()
            assert owners == [lock.owner_key]


def test_a_waiting_run_gets_the_lock_when_the_holder_lets_go(state_url: str) -> None:
    with StateStore.open(state_url) as first, StateStore.open(state_url) as second:
        held = acquire_lock(first.engine, "sync", purpose="first")
        waiting = threading.Event()
        told: list[LockHolder] = []
        got: list[object] = []

        def waiter() -> None:
            def on_wait(holder: LockHolder) -> None:
                told.append(holder)
                waiting.set()

            got.append(acquire_lock(second.engine, "sync", wait=600, on_wait=on_wait, poll=0.05))

        thread = threading.Thread(target=waiter)
        thread.start()
        assert waiting.wait(120), "the second run should report that it waits"
        assert not got  # still waiting while the first holds it
        held.release()
        thread.join(120)
        assert got and told[0].purpose == "first" and told[0].pid == os.getpid()
        got[0].release()  # type: ignore[attr-defined]


def test_the_wait_is_bounded(state_url: str) -> None:
    """With an injected clock: the waiter gives up after ``wait`` seconds, with the holder named."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with (
        StateStore.open(state_url) as first,
        StateStore.open(state_url) as second,
        acquire_lock(first.engine, "sync", purpose="first"),
    ):
        with pytest.raises(LockHeldError) as info:
            acquire_lock(second.engine, "sync", wait=5, sleep=sleep, clock=lambda: now[0])
        assert sum(sleeps) == pytest.approx(5.0) and "waited 5 s" in str(info.value)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _plant(store: StateStore, *, host: str, pid: int, heartbeat_age: float) -> None:
    beat = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=heartbeat_age)
    with store.engine.begin() as conn:
        conn.execute(
            t.locks.insert().values(
                name="sync",
                owner_key="x" * 32,
                host=host,
                pid=pid,
                purpose="old run",
                started_at=beat,
                heartbeat_at=beat,
            )
        )


def test_sqlite_row_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        _plant(store, host=socket.gethostname(), pid=_dead_pid(), heartbeat_age=0)
        acquire_lock(store.engine, "sync").release()


def test_sqlite_row_from_another_host_is_held_until_its_heartbeat_stops(tmp_path: Path) -> None:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        _plant(store, host="elsewhere.example", pid=_dead_pid(), heartbeat_age=10)
        with pytest.raises(LockHeldError, match=r"on host elsewhere\.example"):
            acquire_lock(store.engine, "sync", stale_after=120)
        acquire_lock(store.engine, "sync", stale_after=5).release()  # 10 s silent: stale


def test_sqlite_heartbeat_keeps_the_row_fresh(tmp_path: Path) -> None:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        lock = acquire_lock(store.engine, "sync", heartbeat=0.01)
        try:
            with store.engine.connect() as conn:
                first = conn.execute(sa.select(t.locks.c.heartbeat_at)).scalar_one()
            while True:  # the condition, not a time: the heartbeat moves it forward
                with store.engine.connect() as conn:
                    beat = conn.execute(sa.select(t.locks.c.heartbeat_at)).scalar_one()
                if beat > first:
                    break
        finally:
            lock.release()


_HOLD = """
import sys
from listingsync.sync.lock import acquire_lock
from listingsync.sync.store import StateStore
store = StateStore.open(sys.argv[1])
lock = acquire_lock(store.engine, "sync", purpose="killed run")
print("held", flush=True)
sys.stdin.read()
"""


def test_a_killed_holder_never_blocks_the_next_run(state_url: str) -> None:
    """kill -9 of the holder: PostgreSQL drops its session lock, SQLite sees its pid is gone."""
    StateStore.open(state_url).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, state_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
        with StateStore.open(state_url) as store:
            with pytest.raises(LockHeldError, match=f"pid {proc.pid}"):
                acquire_lock(store.engine, "sync")
            proc.kill()
            proc.wait()
            # PostgreSQL notices the closed session on its own schedule: a bounded wait covers it.
            acquire_lock(store.engine, "sync", wait=60, poll=0.05).release()
    finally:
        proc.kill()
        proc.wait()


def _open(url: str, barrier: object) -> str:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        StateStore.open(url).close()
    except Exception as exc:
        return repr(exc)
    return "ok"


def test_fresh_database_opened_by_three_processes_at_once(state_url: str) -> None:
    """Concurrent creation of the schema: each waits for the other's migration, none fails on
    "table already exists" (before the fix, 15 of 15 SQLite and 10 of 10 PostgreSQL tries did)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(3)
        with ctx.Pool(3) as pool:
            results = [pool.apply_async(_open, (state_url, barrier)) for _ in range(3)]
            assert [r.get(300) for r in results] == ["ok", "ok", "ok"]
    with StateStore.open(state_url) as store:
        assert "ls_locks" in sa.inspect(store.engine).get_table_names()
