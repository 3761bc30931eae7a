"""SIGTERM and Ctrl-C (SIGINT) stop a running sync cleanly: a message, exit 143/130, the run row
says ``interrupted``, writes in flight stay as intents, and the next sync converges. The sync runs
as a subprocess against an emulator in this test process; the signal is sent once the emulator's
write log shows the sync is sending (a condition, not a time window)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.sync.store import StateStore

from .helpers import assert_amazon_holds_the_catalogue, demo_env, sample_dir

SCALE = 2.0  # Amazon's limits x 2: ~116 writes take ~10 s, so the signal lands mid-run
#: Amazon's processing (30 s to 5 min) at x100, not x2: the writes in flight when the signal comes
#: are processed within the next run's recovery budget instead of minutes later.
PROCESSING_DELAY = (0.3 * SCALE, 3.0 * SCALE)


@pytest.mark.soak
@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_signal_stops_the_sync_cleanly_and_the_next_run_converges(
    tmp_path: Path, signum: int, code: int, name: str
) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=SCALE, processing_delay=PROCESSING_DELAY)) as server:
        cfg = sample_dir(tmp_path, server, via="items")
        env = demo_env(server, SCALE)
        cmd = [sys.executable, "-m", "listingsync", "sync", "--config", str(cfg), "--via", "items", "--json"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sending = threading.Event()

        def watch() -> None:
            while proc.poll() is None and not sending.is_set():
                if len(server.state.write_log) >= 3:
                    sending.set()
                sending.wait(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        watcher.join(timeout=120)
        assert sending.is_set(), "the sync should be sending when the signal comes"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        message = err.decode()
        assert proc.returncode == code, message[-2000:]
        assert f"Stopped by {name}" in message and "nothing is lost" in message
        assert "Traceback" not in message
        with StateStore.open(f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}") as store:
            assert store.runs(limit=1)[0]["status"] == "interrupted"
            written = len(server.state.write_log)
            assert written > 0  # it had sent some ...
        # ... and the next run settles what was in flight and finishes the job, creating nothing twice.
        final = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
        assert_amazon_holds_the_catalogue(cfg, server)
        creates = [w for w in server.state.write_log if w.get("created")]
        assert len(creates) == len({(w["sku"], w["marketplace_id"]) for w in creates})
