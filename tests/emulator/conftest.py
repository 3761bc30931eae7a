"""Emulator test fixtures: clients authorised as the demo seller and vendor."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from emulator_helpers import SELLER_TOKEN, VENDOR_TOKEN, client_for

from listingsync.emulator import EmulatorServer


@pytest.fixture
def seller(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A client authorised as the demo seller (NA)."""
    with client_for(emulator, SELLER_TOKEN, "na") as client:
        yield client


@pytest.fixture
def vendor(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A client authorised as the demo vendor (EU)."""
    with client_for(emulator, VENDOR_TOKEN, "eu") as client:
        yield client
