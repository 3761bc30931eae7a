"""Shared fixtures. ``emulator``: a running local SP-API, fresh state for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread


@pytest.fixture(scope="session")
def _emulator_session() -> Iterator[EmulatorServer]:
    # Real rate-limit code, refilled 1000x faster so tests are not paced by Amazon's 5 rps; tests
    # about limits or faults start their own server with run_in_thread(EmulatorSettings(...)).
    with run_in_thread(EmulatorSettings(rate_scale=1000.0)) as server:
        yield server


@pytest.fixture
def emulator(_emulator_session: EmulatorServer) -> EmulatorServer:
    """The shared emulator, reset for this test (listings, counters, write log, feeds, buckets);
    access tokens issued earlier stay valid, so session-wide clients keep working.

    ``emulator.url``, ``emulator.endpoint("eu")``, ``emulator.lwa_url``, ``emulator.state``; demo
    accounts: vendor DEMOV (EU) and seller A3DEMOSELLER01 (NA), see ``listingsync.emulator``.
    """
    _emulator_session.reset(keep_tokens=True)
    return _emulator_session
