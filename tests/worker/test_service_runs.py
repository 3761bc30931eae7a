"""Runs queued by the service (``serve --broker``) executed by 2 worker processes: the same listings
as the embedded executor, and a worker killed mid-run taken over with nothing sent twice."""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, default_accounts
from listingsync.mapping.schemas import BundledSchemas
from listingsync.service import (
    Workspace,
    add_connection,
    create_run,
    execute_run,
    get_connection,
    get_run,
    list_runs,
    metrics,
)
from listingsync.service.executor import make_executor
from listingsync.service.runs import FEEDS_OWNER
from listingsync.sync.hashing import canonical
from listingsync.sync.pipeline import read_candidates

from .conftest import pg_state_url, worker_processes
from .test_cluster import _created_twice, _held, _wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SAMPLE = resources.files("listingsync") / "data" / "sample"
KINDS = {"vendor": ("listingsync.yaml", "eu"), "seller": ("listingsync-seller.yaml", "na")}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What serve and the workers share: the secret key that unseals the connections' credentials."""
    monkeypatch.setenv("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("LISTINGSYNC_KEYRING", "off")
    (tmp_path / "logs").mkdir()
    return {**os.environ, "WORKER_LOG_DIR": str(tmp_path / "logs")}


def _workspace(
    url: str, base: Path, server: EmulatorServer, scale: float, via: dict[str, str] | None = None
) -> Workspace:
    """A workspace with the two demo connections, each with the whole sample catalogue (and the
    write path ``via`` names for it)."""
    base.mkdir()
    ws = Workspace.open(url, directory=base, rate_scale=scale)
    for kind, (name, region) in KINDS.items():
        doc: dict[str, Any] = yaml.safe_load((SAMPLE / name).read_text(encoding="utf-8"))
        doc["account"]["endpoint"] = server.endpoint(region)
        doc["account"]["lwa_endpoint"] = server.lwa_url
        (base / f"{kind}.csv").write_bytes((SAMPLE / "products.csv").read_bytes())
        doc["source"]["path"] = f"{kind}.csv"
        if via:
            doc.setdefault("sync", {})["via"] = via[kind]
        account = next(a for a in default_accounts() if a.account_type == kind)
        secrets = {
            "lwa_client_id": DEMO_CLIENT_ID,
            "lwa_client_secret": DEMO_CLIENT_SECRET,
            "lwa_refresh_token": account.refresh_token,
        }
        add_connection(ws, kind, doc, base_dir=base, secrets=secrets)
    return ws


def _expected_of(ws: Workspace) -> dict[tuple[str, str, str], str]:
    """Every valid listing of each connection's catalogue, as Amazon must hold it."""
    out = {}
    for kind in KINDS:
        config = get_connection(ws, kind).config
        for c in read_candidates(config, BundledSchemas()).candidates:
            if not c.errors:
                key = (config.account.selling_partner_id, c.listing.marketplace_id, c.listing.sku)
                out[key] = canonical(c.listing.attributes)
    return out


def _all_finished(ws: Workspace, count: int) -> bool:
    """Whether the workspace has ``count`` runs, all finished, in one read: read twice (all finished,
    then how many), a recovery run created between the reads was counted but not seen running."""
    runs = list_runs(ws, limit=100)
    return len(runs) == count and all(r.finished for r in runs)


def test_service_runs_on_two_workers_give_the_same_listings_as_the_embedded_executor(
    services: dict[str, str],
    pg_schemas: list[str],
    tmp_path: Path,
    emulator: EmulatorServer,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded = _workspace(pg_state_url(services["postgres"], pg_schemas), tmp_path / "a", emulator, 1000.0)
    for kind in KINDS:
        run = execute_run(embedded, create_run(embedded, kind, trigger="manual").id)
        assert run.status in ("succeeded", "partial"), (run.error, run.fix)
    by_embedded = _held(emulator)
    assert by_embedded == _expected_of(embedded)
    embedded.close()

    emulator.reset(keep_tokens=True)
    url = pg_state_url(services["postgres"], pg_schemas)
    ws = _workspace(url, tmp_path / "b", emulator, 1000.0)
    prefix = f"lstest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LISTINGSYNC_QUEUE_PREFIX", prefix)
    monkeypatch.setenv("LISTINGSYNC_LIMITER_URL", services["redis"])  # serve reads the throughput there
    executor = make_executor(ws, broker=services["amqp"])
    worker_env = {**env, "LISTINGSYNC_RATE_SCALE": "1000"}
    runs = [create_run(ws, kind, trigger="manual") for kind in KINDS]
    for run in runs:
        executor.submit(run.id)
    # Queued in the broker before any worker runs: serve's metrics show the depth.
    assert executor.queue_depth() == 2
    assert f'listingsync_worker_queue_depth{{queue="{prefix}.runs"}} 2.0' in metrics.render(ws).decode()
    with worker_processes(
        2, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=worker_env, db=url
    ):
        _wait_for(lambda: all(get_run(ws, r.id).finished for r in runs))
    exposition = metrics.render(ws).decode()
    executor.shutdown()
    # Per-account throughput across the cluster: the limiter counted every write of each account.
    sent = re.search(
        r'listingsync_cluster_requests_total\{operation="putListingsItem",region="-",selling_partner="DEMOV"\} (\S+)',
        exposition,
    )
    created = sum(1 for w in emulator.state.write_log if w["seller_id"] == "DEMOV")
    assert sent is not None and float(sent.group(1)) >= created > 0
    assert [get_run(ws, r.id).status for r in runs] == ["partial", "partial"]  # the sample's broken records
    assert _held(emulator) == by_embedded
    assert not _created_twice(emulator)
    ws.close()


@pytest.mark.soak
def test_a_service_run_whose_worker_is_killed_is_taken_over(
    services: dict[str, str],
    pg_schemas: list[str],
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scale = 2.0  # Amazon's pace x2: a run takes seconds, long enough to be killed in the middle
    # Instant mode: in realistic mode this test ran past its 300 s timeout on the loaded machine
    # (issue 10, left open); the takeover it tests does not depend on Amazon's processing delay.
    with run_in_thread(EmulatorSettings(rate_scale=scale, instant=True)) as server:
        url = pg_state_url(services["postgres"], pg_schemas)
        ws = _workspace(url, tmp_path / "ws", server, scale)
        prefix = f"lstest-{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv("LISTINGSYNC_QUEUE_PREFIX", prefix)
        executor = make_executor(ws, broker=services["amqp"])
        worker_env = {**env, "LISTINGSYNC_RATE_SCALE": str(scale)}
        with worker_processes(
            2, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=worker_env, db=url
        ) as procs:
            for kind in KINDS:
                executor.submit(create_run(ws, kind, trigger="manual").id)
            # Both connections are being written: each worker is in the middle of one run.
            _wait_for(lambda: {w["seller_id"] for w in server.state.write_log} == {"DEMOV", "A3DEMOSELLER01"})
            os.killpg(procs[0].pid, signal.SIGKILL)
            procs[0].wait()
            _wait_for(lambda: _all_finished(ws, 3))
        executor.shutdown()
        runs = list_runs(ws, limit=100)
        statuses = Counter(r.status for r in runs)
        # The killed run is recorded as interrupted, a recovery run of its connection finished it. The
        # sample's broken records make a run partial, unless the dead run had already recorded them as
        # invalid: then they are known from before and the recovery run succeeds (issue 9's exit codes).
        assert statuses["failed"] == 1 and statuses["partial"] + statuses["succeeded"] == 2, statuses
        assert statuses["partial"] >= 1  # the connection that was not killed meets its broken records
        dead = next(r for r in runs if r.status == "failed")
        assert "interrupted" in (dead.error or "")
        assert any(r.trigger == "recovery" and r.connection == dead.connection for r in runs)
        assert _held(server) == _expected_of(ws)
        assert not _created_twice(server)
        ws.close()


def test_a_service_run_hands_its_feeds_to_poll_tasks_and_frees_its_worker_slot(
    services: dict[str, str],
    pg_schemas: list[str],
    tmp_path: Path,
    emulator: EmulatorServer,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = pg_state_url(services["postgres"], pg_schemas)
    ws = _workspace(url, tmp_path / "ws", emulator, 1000.0, via={"vendor": "feed", "seller": "items"})
    prefix = f"lstest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LISTINGSYNC_QUEUE_PREFIX", prefix)
    executor = make_executor(ws, broker=services["amqp"])
    worker_env = {**env, "LISTINGSYNC_RATE_SCALE": "1000"}
    # The vendor's writes go as feeds, the seller's through the Listings Items API. Both runs are
    # queued before the only worker slot there is starts.
    feed_run = create_run(ws, "vendor", trigger="manual")
    items_run = create_run(ws, "seller", trigger="manual")
    executor.submit(feed_run.id)
    executor.submit(items_run.id)
    with worker_processes(
        1, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=worker_env, db=url
    ):
        _wait_for(lambda: get_run(ws, feed_run.id).finished and get_run(ws, items_run.id).finished)
    executor.shutdown()
    fed, other = get_run(ws, feed_run.id), get_run(ws, items_run.id)
    # The feed run let go of the slot once its feeds were submitted: the items run started in it
    # before the feed run ended (had the feed run waited for Amazon there, it could only start after).
    assert fed.owner == FEEDS_OWNER
    assert other.started_at is not None and fed.finished_at is not None
    assert other.started_at < fed.finished_at
    # Its end was recorded from the feeds' reports, as the embedded executor does.
    feeds = fed.counts["feeds"] if fed.counts else {}
    assert feeds["pending"] == 0
    assert feeds["outcomes"].get("accepted", 0) + feeds["outcomes"].get("live", 0) > 0, fed.counts
    assert "pending" not in (fed.counts or {}).get("outcomes", {}), fed.counts
    assert (fed.status, other.status) == ("partial", "partial")  # the sample's broken records
    assert _held(emulator) == _expected_of(ws)
    assert not _created_twice(emulator)
    ws.close()
