"""The scheduler driven by an injected clock: interval and cron schedules, jitter, change triggers,
overlapping ticks recorded as skipped; two connections (the emulator's vendor EU and seller NA
accounts, each with its own catalogue) kept in sync within two intervals."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from pathlib import Path

from service_helpers import add_sample_connection, write_catalogue

from listingsync.config import ScheduleConfig
from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, execute_run, get_connection, list_runs
from listingsync.service.scheduler import Scheduler, jitter_offset, next_due

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)


class HeldExecutor:
    """Takes runs and runs nothing until the test says so (so 'in progress' is a state, not a race)."""

    def __init__(self) -> None:
        self.submitted: list[int] = []

    def submit(self, run_id: int) -> None:
        self.submitted.append(run_id)

    def queue_depth(self) -> int:
        return len(self.submitted)

    def shutdown(self, *, wait: bool = True) -> None:
        self.submitted.clear()

    def run_all(self, ws: Workspace) -> None:
        """Execute what was handed over, side by side as the in-process executor would."""
        threads = [threading.Thread(target=execute_run, args=(ws, run_id)) for run_id in self.submitted]
        self.submitted.clear()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _anything_on_amazon(server: EmulatorServer) -> bool:
    server.flush()  # what Amazon holds once it has processed what it accepted
    return bool(server.state.listings)


def _brand(server: EmulatorServer, seller: str, marketplace: str) -> str:
    server.flush()  # what Amazon shows once it has processed what it accepted
    record = server.state.listings[(seller, marketplace, "MD-CUSH-001")]
    return str(record.attributes["brand"][0]["value"])


def test_two_connections_on_interval_schedules_reach_amazon_within_two_intervals(
    workspace: Workspace, emulator: EmulatorServer, tmp_path: Path
) -> None:
    every = dt.timedelta(minutes=10)
    vendor = add_sample_connection(workspace, "vendor", emulator, tmp_path, schedule={"every": "10m"})
    seller = add_sample_connection(workspace, "seller", emulator, tmp_path, schedule={"every": "10m"})
    executor = HeldExecutor()
    scheduler = Scheduler(workspace, executor)
    now = T0
    scheduler.tick(now)  # first due times: a jitter offset (< 60 s, 10% of the interval) from now
    due = {name: get_connection(workspace, name).next_run_at for name in (vendor, seller)}
    assert len(set(due.values())) == 2, "jitter spreads the two connections apart"
    while not _anything_on_amazon(emulator) or executor.submitted:
        now += STEP
        scheduler.tick(now)
        executor.run_all(workspace)
        assert now - T0 <= dt.timedelta(minutes=2)
    assert _brand(emulator, "DEMOV", "A1PA6795UKMFR9") == "Maison Demo"

    # Edit both catalogues; each edit must be on Amazon within two intervals of being made.
    edited_at = now
    write_catalogue(tmp_path / "vendor.csv", edit={"brand": "Maison Demo Neu"})
    write_catalogue(tmp_path / "seller.csv", edit={"brand": "Maison Demo US"})
    arrived: dict[str, dt.datetime] = {}
    while len(arrived) < 2 and now - edited_at <= 2 * every:
        now += STEP
        scheduler.tick(now)
        executor.run_all(workspace)
        if "vendor" not in arrived and _brand(emulator, "DEMOV", "A1PA6795UKMFR9") == "Maison Demo Neu":
            arrived["vendor"] = now
        if (
            "seller" not in arrived
            and _brand(emulator, "A3DEMOSELLER01", "ATVPDKIKX0DER") == "Maison Demo US"
        ):
            arrived["seller"] = now
    assert set(arrived) == {"vendor", "seller"}, f"edits not on Amazon within two intervals: {arrived}"

    # A run still in progress at its next due time: that tick is recorded as skipped, not run.
    while len(executor.submitted) < 2:
        now += STEP
        scheduler.tick(now)
    held = list(executor.submitted)
    later = now + every + STEP
    report = scheduler.tick(later)
    assert len(report.skipped) == 2 and not report.queued
    for run in (r for r in list_runs(workspace, statuses=["skipped"]) if r.id in report.skipped):
        assert run.trigger == "schedule" and "still queued or running" in (run.error or "")
    executor.run_all(workspace)
    assert {r.status for r in list_runs(workspace) if r.id in held} <= {"succeeded"}

    # Nothing ran twice at once, and nothing was created twice on Amazon.
    created = Counter(
        (w["seller_id"], w["marketplace_id"], w["sku"]) for w in emulator.state.write_log if w.get("created")
    )
    assert created and max(created.values()) == 1
    statuses = Counter(r.status for r in list_runs(workspace, limit=500))
    assert statuses["failed"] == 0 and statuses["partial"] == 0


def test_a_file_change_triggers_a_run(workspace: Workspace, emulator: EmulatorServer, tmp_path: Path) -> None:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path, schedule={"watch": "1m"})
    executor = HeldExecutor()
    scheduler = Scheduler(workspace, executor)
    first = scheduler.tick(T0)
    assert len(first.queued) == 1, "a watched source never synced runs at its first look"
    executor.run_all(workspace)
    assert scheduler.tick(T0 + dt.timedelta(seconds=30)).watched == []  # not due to look yet
    assert scheduler.tick(T0 + dt.timedelta(minutes=2)).queued == []  # looked: nothing changed
    write_catalogue(tmp_path / "vendor.csv", edit={"brand": "Maison Demo Neu"})
    changed = scheduler.tick(T0 + dt.timedelta(minutes=4))
    assert changed.watched == [name] and len(changed.queued) == 1
    executor.run_all(workspace)
    [latest, *_] = list_runs(workspace, connection=name)
    assert latest.trigger == "change" and latest.status == "succeeded"
    assert latest.counts and latest.counts["plan"] == {"update": 6}


def test_cron_and_jitter() -> None:
    schedule = ScheduleConfig.model_validate({"cron": "0 * * * *", "jitter": "5m"})
    offset = dt.timedelta(seconds=jitter_offset("acme", 300))
    assert dt.timedelta(0) <= offset < dt.timedelta(minutes=5)
    assert jitter_offset("acme", 300) == jitter_offset("acme", 300) != jitter_offset("other", 300)
    first = next_due(schedule, "acme", T0 + dt.timedelta(minutes=20), None)
    assert first == dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC) + offset
    assert next_due(schedule, "acme", first, first) == first + dt.timedelta(hours=1)
    interval = ScheduleConfig.model_validate({"every": "15m"})
    assert interval.jitter_seconds == 60.0
    # Behind (the service was down for hours): one run now, then every interval from there.
    late = next_due(interval, "acme", T0 + dt.timedelta(hours=3), T0)
    assert late == T0 + dt.timedelta(hours=3, minutes=15)
