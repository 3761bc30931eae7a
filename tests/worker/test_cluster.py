"""Runs through real worker processes (RabbitMQ broker, Redis limiter, PostgreSQL state) against the
emulator over loopback: the same listings as the embedded executor, chunked validation equal to one
process's, and a worker killed with kill -9 mid-run losing nothing and sending nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from listingsync.amazon.lwa import Credentials
from listingsync.config import Config, load_config
from listingsync.credentials import SecretStore, save_credentials
from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, default_accounts
from listingsync.mapping.schemas import BundledSchemas
from listingsync.sync.hashing import canonical
from listingsync.sync.pipeline import read_candidates, run_sync, sync_options
from listingsync.worker import WorkerSettings, make_app
from listingsync.worker.chunks import validate_catalogue
from listingsync.worker.jobs import SyncJob
from listingsync.worker.tasks import sync_account, validate_chunk

from .conftest import pg_state_url, worker_processes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SAMPLE = resources.files("listingsync") / "data" / "sample"
#: The two demo accounts and the sample config written for each.
ACCOUNTS = {"DEMOV": "listingsync.yaml", "A3DEMOSELLER01": "listingsync-seller.yaml"}


def _with_state(text: str, url: str) -> str:
    """The config text with ``state:`` set to ``url`` (replacing the sample's line, if it has one)."""
    lines = [line for line in text.splitlines() if not line.startswith("state:")]
    return "\n".join([*lines, f"state: {url!r}", ""])


def _account_dirs(tmp: Path, server: EmulatorServer, states: dict[str, str]) -> dict[str, Path]:
    """One directory per demo account: its config (state on PostgreSQL) and the sample catalogue."""
    out = {}
    for account in default_accounts():
        name = ACCOUNTS[account.selling_partner_id]
        text = (SAMPLE / name).read_text(encoding="utf-8")
        region = account.region.value
        text = text.replace(
            f"${{LISTINGSYNC_ENDPOINT:-http://127.0.0.1:8765/{region}}}", server.endpoint(region)
        )
        text = text.replace(
            "${LISTINGSYNC_LWA_ENDPOINT:-http://127.0.0.1:8765/auth/o2/token}", server.lwa_url
        )
        text = _with_state(text, states[account.selling_partner_id])
        directory = tmp / account.selling_partner_id
        directory.mkdir()
        (directory / "listingsync.yaml").write_text(text, encoding="utf-8")
        (directory / "products.csv").write_bytes((SAMPLE / "products.csv").read_bytes())
        out[account.selling_partner_id] = directory / "listingsync.yaml"
    return out


def _secrets(tmp: Path) -> Path:
    """Every demo account's credentials in a secrets file, as `listingsync connect` leaves them."""
    path = tmp / "secrets.json"
    store = SecretStore(env={}, use_keyring=False, file=path)
    for account in default_accounts():
        creds = Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, account.refresh_token)
        save_credentials(creds, account.selling_partner_id, account.region, store=store)
    return path


def _env(tmp: Path, scale: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTINGSYNC_LWA_")}
    (tmp / "logs").mkdir(exist_ok=True)
    return {
        **env,
        "LISTINGSYNC_SECRETS_FILE": str(_secrets(tmp)),
        "LISTINGSYNC_KEYRING": "off",
        "LISTINGSYNC_RATE_SCALE": str(scale),
        "WORKER_LOG_DIR": str(tmp / "logs"),
    }


def _held(server: EmulatorServer) -> dict[tuple[str, str, str], str]:
    server.flush()  # what Amazon holds once it has processed what it accepted
    return {key: canonical(rec.attributes) for key, rec in server.state.listings.items()}


def _expected(configs: dict[str, Path]) -> dict[tuple[str, str, str], str]:
    """What Amazon must hold after a sync: every valid listing of each account's catalogue."""
    out = {}
    for seller, path in configs.items():
        catalog = read_candidates(load_config(path), BundledSchemas())
        for c in catalog.candidates:
            if not c.errors:
                out[(seller, c.listing.marketplace_id, c.listing.sku)] = canonical(c.listing.attributes)
    return out


def _created_twice(server: EmulatorServer) -> list[tuple[str, str, str]]:
    created = Counter(
        (w["seller_id"], w["marketplace_id"], w["sku"]) for w in server.state.write_log if w["created"]
    )
    return [key for key, n in created.items() if n > 1]


def _run_embedded(configs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """The embedded executor: run_sync in this process, account after account."""
    from listingsync.amazon import SPAPIClient, TokenBucketLimiter
    from listingsync.credentials import load_credentials

    for key in ("LISTINGSYNC_SECRETS_FILE", "LISTINGSYNC_KEYRING"):
        monkeypatch.setenv(key, env[key])
    for path in configs.values():

        async def go(config: Config) -> None:
            creds = load_credentials(config.account.selling_partner_id, config.account.resolved_region)
            limiter = TokenBucketLimiter(scale=float(env["LISTINGSYNC_RATE_SCALE"]))
            async with SPAPIClient.from_account(config.account, creds, rate_limiter=limiter) as client:
                await run_sync(config, sync_options(config), client=client)

        asyncio.run(go(load_config(path)))


def _app(services: dict[str, str], prefix: str) -> Any:
    return make_app(WorkerSettings(broker=services["amqp"], limiter=services["redis"], prefix=prefix))


def test_two_workers_give_the_same_listings_as_the_embedded_executor(
    services: dict[str, str],
    pg_schemas: list[str],
    tmp_path: Path,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _env(tmp_path, 1000.0)
    embedded_states = {s: pg_state_url(services["postgres"], pg_schemas) for s in ACCOUNTS}
    (tmp_path / "embedded").mkdir()
    embedded = _account_dirs(tmp_path / "embedded", emulator, embedded_states)
    _run_embedded(embedded, monkeypatch, env)
    by_embedded = _held(emulator)
    assert by_embedded == _expected(embedded)

    emulator.reset(keep_tokens=True)
    cluster_states = {s: pg_state_url(services["postgres"], pg_schemas) for s in ACCOUNTS}
    (tmp_path / "cluster").mkdir()
    cluster = _account_dirs(tmp_path / "cluster", emulator, cluster_states)
    prefix = f"lstest-{uuid.uuid4().hex[:8]}"
    _app(services, prefix)
    with worker_processes(2, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=env):
        results = [sync_account.delay(SyncJob(str(p)).as_dict()) for p in cluster.values()]
        outcomes = [r.get(timeout=240) for r in results]
    assert all(o["exit_code"] in (0, 1) and o["plan"]["create"] > 0 for o in outcomes)
    assert _held(emulator) == by_embedded
    assert not _created_twice(emulator)


def test_validation_in_chunks_on_two_workers_matches_one_process(
    services: dict[str, str], pg_schemas: list[str], tmp_path: Path, emulator: EmulatorServer
) -> None:
    env = _env(tmp_path, 1000.0)
    states = {s: pg_state_url(services["postgres"], pg_schemas) for s in ACCOUNTS}
    config = _account_dirs(tmp_path, emulator, states)["DEMOV"]
    whole = read_candidates(load_config(config), BundledSchemas())
    prefix = f"lstest-{uuid.uuid4().hex[:8]}"
    _app(services, prefix)
    with worker_processes(2, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=env):
        # Chunks of 10 records, at most 3 out at once (the enqueuer reads the catalogue once).
        total = validate_catalogue(config, validate_chunk.delay, chunk_size=10, in_flight=3, timeout=240)
    assert total.chunks == -(-whole.products // 10)
    assert total.records == whole.products
    assert total.listings == len(whole.candidates)
    assert total.invalid == sum(1 for c in whole.candidates if c.errors) > 0
    assert total.problems == len(whole.problems)


@pytest.mark.soak
def test_a_worker_killed_mid_run_loses_nothing_and_sends_nothing_twice(
    services: dict[str, str], pg_schemas: list[str], tmp_path: Path
) -> None:
    # Amazon's pace x2: each account's sync takes seconds, long enough to be killed in the middle.
    scale = 2.0
    env = _env(tmp_path, scale)
    # Amazon's processing at x100 (0.3-3 s), within the recovery budget (120 s / scale).
    processing = (0.3 * scale, 3.0 * scale)
    with run_in_thread(EmulatorSettings(rate_scale=scale, processing_delay=processing)) as server:
        states = {s: pg_state_url(services["postgres"], pg_schemas) for s in ACCOUNTS}
        configs = _account_dirs(tmp_path, server, states)
        prefix = f"lstest-{uuid.uuid4().hex[:8]}"
        _app(services, prefix)
        with worker_processes(
            2, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=env
        ) as procs:
            results = [sync_account.delay(SyncJob(str(p)).as_dict()) for p in configs.values()]
            # Kill a worker once both accounts are being written and neither is done (the
            # condition, not a time): each worker is then in the middle of one account.
            expected = Counter(seller for seller, _, _ in _expected(configs))

            def both_halfway() -> bool:
                written = Counter(w["seller_id"] for w in server.state.write_log)
                assert all(written[s] < expected[s] for s in ACCOUNTS), "an account finished first"
                return all(written[s] > 0 for s in ACCOUNTS)

            _wait_for(both_halfway)
            victim = procs[0]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            outcomes = [r.get(timeout=240) for r in results]
        assert all(o["exit_code"] in (0, 1) for o in outcomes)
        assert _held(server) == _expected(configs)
        assert not _created_twice(server)


def _wait_for(condition: Any) -> None:
    import threading

    tick = threading.Event()
    while not condition():
        tick.wait(0.05)


def test_a_feed_is_submitted_by_the_sync_and_followed_by_polling_tasks(
    services: dict[str, str], pg_schemas: list[str], tmp_path: Path, emulator: EmulatorServer
) -> None:
    env = _env(tmp_path, 1000.0)
    states = {s: pg_state_url(services["postgres"], pg_schemas) for s in ACCOUNTS}
    config = _account_dirs(tmp_path, emulator, states)["DEMOV"]
    expected = _expected({"DEMOV": config})
    prefix = f"lstest-{uuid.uuid4().hex[:8]}"
    _app(services, prefix)
    with worker_processes(1, broker=services["amqp"], limiter=services["redis"], prefix=prefix, env=env):
        outcome = sync_account.delay(SyncJob(str(config), via="feed").as_dict()).get(timeout=240)
        # The sync ended with its feed submitted, not followed: its slot is free for other work.
        assert outcome["via"] == "feed"
        assert any("left to Amazon" in note for note in outcome["notes"])
        _wait_for(lambda: _settled(states["DEMOV"]))
    assert _held(emulator) == expected
    assert not _created_twice(emulator)


def _settled(state_url: str) -> bool:
    """No feed left open and no listing pending in the account's state database."""
    from listingsync.sync.store import StateStore

    with StateStore.open(state_url) as store:
        return not store.open_feeds() and "pending" not in store.counts()
