"""Rate limits (429 QuotaExceeded), fault injection, introspection and the state file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from emulator_helpers import SELLER, SELLER_TOKEN, US, client_for, home_us

from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.emulator.faults import Fault, Faults
from listingsync.emulator.ratelimit import RateLimiter
from listingsync.emulator.state import State
from listingsync.errors import ListingSyncError

ITEMS = "/listings/2021-08-01/items"


def test_burst_then_429_in_amazons_envelope() -> None:
    # rate_scale 0.01 slows the refill so a slow machine cannot refill the bucket mid-test
    with (
        run_in_thread(EmulatorSettings(rate_scale=0.01)) as server,
        client_for(server, SELLER_TOKEN, "na") as client,
    ):
        answers = [client.get(f"{ITEMS}/{SELLER}/X", params={"marketplaceIds": US}) for _ in range(7)]
        counters = httpx.get(f"{server.url}/_emulator/counters").json()
    statuses = [a.status_code for a in answers]
    assert statuses == [404] * 5 + [429] * 2  # burst 5 (DOCS), then throttled
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled[0].json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }
        ]
    }
    assert "x-amzn-RateLimit-Limit" not in throttled[0].headers
    assert throttled[0].headers["x-amzn-RequestId"]
    assert counters["throttled"]["getListingsItem"] == len(throttled)
    assert counters["requests"]["getListingsItem"] == 7  # every request seen, 429s included


def test_limits_off_and_scaled_refill() -> None:
    clock = [0.0]
    limiter = RateLimiter(scale=10, clock=lambda: clock[0])
    assert all(limiter.take("S", "getListingsItem") for _ in range(5))
    assert not limiter.take("S", "getListingsItem")
    assert limiter.take("OTHER", "getListingsItem")  # per selling partner
    clock[0] += 0.02  # 0.02 s x 5/s x 10 = one token
    assert limiter.take("S", "getListingsItem")
    assert not limiter.take("S", "getListingsItem")
    off = RateLimiter(enabled=False)
    assert all(off.take("S", "getMarketplaceParticipations") for _ in range(100))


def test_json_listings_feed_limit_is_five_per_five_minutes() -> None:
    clock = [0.0]
    limiter = RateLimiter(clock=lambda: clock[0])
    assert all(limiter.take("eu", "createFeed:JSON_LISTINGS_FEED") for _ in range(5))
    assert not limiter.take("eu", "createFeed:JSON_LISTINGS_FEED")
    clock[0] += 60.0
    assert limiter.take("eu", "createFeed:JSON_LISTINGS_FEED")
    assert not limiter.take("eu", "createFeed:JSON_LISTINGS_FEED")


def test_fault_spec_parsing_and_errors() -> None:
    faults = Faults.parse("error=0.05,storm=0.01:20,latency=5-50ms,drop=0.01,expire_every=100", seed=3)
    assert (faults.error, faults.storm, faults.storm_length, faults.drop, faults.expire_every) == (
        0.05,
        0.01,
        20,
        0.01,
        100,
    )
    assert faults.latency == pytest.approx((0.005, 0.05))
    assert Faults.parse("latency=20ms").latency == pytest.approx((0.02, 0.02))
    for bad in ("error=2", "storm=x:1", "colour=1", "latency=abc", "error"):
        with pytest.raises(ListingSyncError):
            Faults.parse(bad)


def test_faults_are_deterministic_with_a_seed() -> None:
    def run(seed: int) -> list[Fault]:
        faults = Faults.parse("error=0.2,storm=0.05:3,drop=0.05,expire_every=7", seed=seed)
        return [faults.decide().fault for _ in range(300)]

    first, again, other = run(42), run(42), run(43)
    assert first == again and first != other
    kinds = set(first)
    assert {Fault.ERROR_500, Fault.ERROR_503, Fault.THROTTLE, Fault.DROP, Fault.EXPIRE} <= kinds
    # a storm is a run of storm_length 429s
    i = first.index(Fault.THROTTLE)
    assert first[i : i + 3] == [Fault.THROTTLE] * 3


def test_faults_over_http() -> None:
    settings = EmulatorSettings(faults="error=0.3,drop=0.1", seed=7, limits=False)

    def statuses() -> list[str]:
        out = []
        with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:
            for _ in range(40):
                try:
                    out.append(
                        str(client.get(f"{ITEMS}/{SELLER}/X", params={"marketplaceIds": US}).status_code)
                    )
                except httpx.TransportError:
                    out.append("dropped")
        return out

    first = statuses()
    assert first == statuses()  # same seed, same sequence
    assert {"500", "503", "404", "dropped"} <= set(first)


def test_lose_applies_the_write_then_drops_the_answer() -> None:
    """``lose``: the client sees a hung-up connection, yet the write landed (issue 14 item 3)."""
    settings = EmulatorSettings(faults="lose=1.0,lose_ops=putListingsItem", limits=False)
    body = {"productType": "HOME", "requirements": "LISTING", "attributes": home_us("Lost answer")}
    with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:
        with pytest.raises(httpx.TransportError):
            client.put(f"{ITEMS}/{SELLER}/LOST", params={"marketplaceIds": US}, json=body)
        server.flush()  # accepted, then processed by Amazon later
        # Reads are never lost; the listing is there with what was sent.
        found = client.get(
            f"{ITEMS}/{SELLER}/LOST", params={"marketplaceIds": US, "includedData": "attributes"}
        )
        assert found.status_code == 200
        assert found.json()["attributes"]["item_name"][0]["value"] == "Lost answer"
        assert server.state.requests["fault:lose"] == 1


def test_lose_spec_names_writes_only() -> None:
    assert Faults.parse("lose=0.5,lose_ops=createFeed").lose_ops == ("createFeed",)
    with pytest.raises(ListingSyncError, match="getFeed"):
        Faults.parse("lose=0.5,lose_ops=getFeed")


def test_expire_every_n_calls() -> None:
    settings = EmulatorSettings(faults="expire_every=3", limits=False)
    with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:
        codes = [
            client.get(f"{ITEMS}/{SELLER}/X", params={"marketplaceIds": US}).status_code for _ in range(4)
        ]
    assert codes == [404, 404, 403, 403]  # the token expired on the 3rd call and stays expired


def test_introspection_and_reset(emulator: object, seller: httpx.Client) -> None:
    from listingsync.emulator import EmulatorServer

    assert isinstance(emulator, EmulatorServer)
    body = {"productType": "HOME", "attributes": home_us()}
    seller.put(f"{ITEMS}/{SELLER}/I-1", params={"marketplaceIds": US}, json=body)
    emulator.flush()
    listings = httpx.get(f"{emulator.url}/_emulator/listings", params={"seller_id": SELLER}).json()
    assert [entry["sku"] for entry in listings["listings"]] == ["I-1"]
    log = httpx.get(f"{emulator.url}/_emulator/write-log", params={"sku": "I-1"}).json()["writes"]
    assert [(w["op"], w["created"]) for w in log] == [("PUT", True)]
    assert httpx.get(f"{emulator.url}/_emulator/write-log", params={"count": "true"}).json() == {"count": 1}
    accounts = httpx.get(f"{emulator.url}/_emulator/accounts").text
    assert "secret" not in accounts and "Atzr|" not in accounts
    assert httpx.post(f"{emulator.url}/_emulator/reset").status_code == 200
    assert httpx.get(f"{emulator.url}/_emulator/listings").json()["count"] == 0
    assert emulator.state.write_log == []


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    settings = EmulatorSettings(state_file=path, limits=False)
    with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:
        body = {"productType": "HOME", "attributes": home_us()}
        assert (
            client.put(f"{ITEMS}/{SELLER}/P-1", params={"marketplaceIds": US}, json=body).json()["status"]
            == "ACCEPTED"
        )
    assert path.exists()
    assert SELLER_TOKEN not in path.read_text() and "Atza|" not in path.read_text()
    with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:
        server.flush()  # the queue of accepted writes was kept in the state file too
        item = client.get(
            f"{ITEMS}/{SELLER}/P-1", params={"marketplaceIds": US, "includedData": "attributes"}
        )
        assert item.status_code == 200
        assert item.json()["attributes"]["brand"][0]["value"] == "Acme"
        assert [w["sku"] for w in server.state.write_log] == ["P-1"]
    path.write_text("{not json")
    with pytest.raises(ListingSyncError, match="state file"):
        State(path)
