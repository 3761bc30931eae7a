"""Transient 503/429 during recovery or reconciliation (issue 14 item 12).

Before: one searchListingsItems answered 503 beyond the client's retries aborted the whole run
(exit 2, run row left ``running``, no per-SKU report). Now lookups get more rounds, and what still
fails holds only its SKUs (recovery) or keeps their answered status (reconciliation).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from listingsync.amazon import SPAPIClient, TokenBucketLimiter
from listingsync.amazon.client import RetryPolicy
from listingsync.amazon.errors import SPAPIError
from listingsync.amazon.lwa import Credentials
from listingsync.config import load_config
from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.sync import recovery
from listingsync.sync.engine import SyncOptions, SyncReport
from listingsync.sync.pipeline import open_store, run_sync
from listingsync.sync.store import Intent

from .helpers import DE, FR, VENDOR_TOKEN, assert_amazon_holds_the_catalogue, edit_csv, sample_dir, sync


class FlakySearch(httpx.AsyncBaseTransport):
    """The real emulator over loopback, except that the first ``failures`` searchListingsItems
    calls are answered 503 (``math.inf``: all of them)."""

    def __init__(self, failures: float) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.left = failures
        self.answered_503 = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "identifiers" in request.url.params and self.left > 0:
            self.left -= 1
            self.answered_503 += 1
            body = {"errors": [{"code": "ServiceUnavailable", "message": "Service temporarily unavailable"}]}
            return httpx.Response(503, json=body)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(autouse=True)
def quick_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "ROUND_DELAYS", (0.0, 0.0))


def flaky_sync(cfg: Path, server: EmulatorServer, transport: FlakySearch, **opts: Any) -> SyncReport:
    async def go() -> SyncReport:
        client = SPAPIClient(
            Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, VENDOR_TOKEN),
            "eu",
            endpoint=server.endpoint("eu"),
            lwa_endpoint=server.lwa_url,
            transport=transport,
            rate_limiter=TokenBucketLimiter(scale=1000),
            selling_partner_id="DEMOV",
            retry=RetryPolicy(max_attempts=3, base=0.001, cap=0.01),
        )
        async with client:
            report, _ = await run_sync(load_config(cfg), SyncOptions(**opts), client=client)
            return report

    return asyncio.run(go())


def _interrupt(cfg: Path, skus: list[str]) -> None:
    """Leave intents as a killed run would: recorded, never answered."""
    with open_store(load_config(cfg)) as store:
        store.record_intents(
            99, [Intent(sku, FR, "PATCH", "h-interrupted", {"item_name": [{"value": "?"}]}) for sku in skus]
        )


def test_recovery_that_keeps_failing_holds_only_its_skus(tmp_path: Path) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000)) as server:
        cfg = sample_dir(tmp_path, server, via="items")
        sync(cfg, server, via="items")
        held = ["MD-CUSH-001", "MD-CUSH-002"]
        _interrupt(cfg, held)
        edit_csv(
            tmp_path / "products.csv", {s: {"title_fr": "Nouveau titre"} for s in [*held, "MD-CUSH-003"]}
        )
        transport = FlakySearch(math.inf)
        report = flaky_sync(cfg, server, transport, via="items", reconcile=False)
        assert transport.answered_503 >= 3  # the client's retries, then our extra rounds
        by_key = {(r.sku, r.marketplace_id): r for r in report.results}
        for sku in held:
            result = by_key[(sku, FR)]
            assert result.status == "pending"
            assert any(i["code"] == "LS-RECOVERY-PENDING" for i in result.issues)
        # The rest of the run went through: the third changed SKU was sent.
        assert by_key[("MD-CUSH-003", FR)].status in ("accepted", "live")
        assert report.exit_code == 1 and any("could not be looked up" in n for n in report.notes)
        with open_store(load_config(cfg)) as store:
            assert {s.sku for s in store.listings(pending_only=True)} == set(held)
            # Closed, never left 'running'; partial: the rest of the run went through.
            assert store.runs()[0]["status"] == "partial"
        # Amazon answers again: the next run settles the held intents and converges.
        again = flaky_sync(cfg, server, FlakySearch(0), via="items")
        assert not [r.sku for r in again.results if r.status in ("pending", "error")]
        assert_amazon_holds_the_catalogue(cfg, server)


def test_a_503_burst_longer_than_the_clients_retries_is_ridden_out(tmp_path: Path) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000)) as server:
        cfg = sample_dir(tmp_path, server, via="items")
        sync(cfg, server, via="items")
        _interrupt(cfg, ["MD-CUSH-001"])
        transport = FlakySearch(4)  # the client gives up after 3; the next round succeeds
        report = flaky_sync(cfg, server, transport, via="items")
        assert transport.answered_503 == 4
        assert report.recovery is not None and not report.recovery.held and report.recovery.resend == 1
        assert not [r.sku for r in report.results if r.status in ("pending", "error")]
        assert_amazon_holds_the_catalogue(cfg, server)


def test_reconciliation_that_keeps_failing_keeps_the_answered_status(tmp_path: Path) -> None:
    with run_in_thread(EmulatorSettings(rate_scale=1000)) as server:
        cfg = sample_dir(tmp_path, server, via="items")
        report = flaky_sync(cfg, server, FlakySearch(math.inf), via="items")
        assert report.statuses.get("accepted", 0) > 100 and "error" not in report.statuses
        assert any("could not be read back" in n for n in report.notes)
        assert_amazon_holds_the_catalogue(cfg, server)


def test_a_lookup_that_fails_for_good_stops_its_other_searches() -> None:
    """fetch_items runs its 20-SKU searches side by side; when one fails for good, the others are
    cancelled rather than left calling Amazon after the caller has moved on."""
    started: list[str] = []
    cancelled: list[str] = []

    class Listings:
        async def search_listings_items(self, seller_id: str, *, identifiers: list[str], **_: Any) -> Any:
            started.append(identifiers[0])
            if identifiers[0] == "S000":
                await asyncio.sleep(0)  # the others are under way
                raise SPAPIError(403, "Unauthorized", "Access to requested resource is denied.")
            try:
                await asyncio.Event().wait()  # an answer that never comes
            except asyncio.CancelledError:
                cancelled.append(identifiers[0])
                raise

    class Client:
        listings = Listings()

    async def go() -> None:
        with pytest.raises(SPAPIError):
            await recovery.fetch_items(Client(), "DEMOV", DE, [f"S{i:03d}" for i in range(60)], ["summaries"])  # type: ignore[arg-type]
        assert sorted(started) == ["S000", "S020", "S040"]
        assert sorted(cancelled) == ["S020", "S040"]

    asyncio.run(go())
