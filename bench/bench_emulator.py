"""How many requests per second the emulator sustains on one core (uvicorn, one process).

The emulator runs in a subprocess with rate limits off; this process drives it with concurrent
httpx clients over loopback. Figures (medians of several rounds) are printed next to the targets
(1,000 getListingsItem/s, 200 validated putListingsItem/s) and next to a baseline measured in
the same run: the emulator's cheapest endpoint (``/_emulator/counters``), i.e. what the server +
client stack manage without any SP-API work. The driver shares the machine, so the figures are a
floor for the server. The emulator runs in its default, realistic mode (accepted writes applied
after a processing delay): the item the GETs read is processed first, each round starts with an
empty processing queue, and a PUT round's time includes applying its writes (``/processing/flush``).
"""

from __future__ import annotations

import asyncio
import copy
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

SELLER = "A3DEMOSELLER01"
US = "ATVPDKIKX0DER"
CONCURRENCY = 8
ROUND_SECONDS = 2.0
ROUNDS = 3

_SERVER = """
import sys
from listingsync.emulator import EmulatorSettings, serve
serve(EmulatorSettings(limits=False), port=0, announce=lambda url: print(url, flush=True))
"""


def _document(title: str) -> dict[str, Any]:
    def text(v: str) -> list[dict[str, Any]]:
        return [{"value": v, "language_tag": "en_US", "marketplace_id": US}]

    def plain(v: Any) -> list[dict[str, Any]]:
        return [{"value": v, "marketplace_id": US}]

    return {
        "item_name": text(title),
        "brand": text("Acme"),
        "bullet_point": text("Soft fleece"),
        "product_description": text("A warm blanket"),
        "item_type_keyword": plain("throw-blankets"),
        "country_of_origin": plain("US"),
        "supplier_declared_dg_hz_regulation": plain("not_applicable"),
        "batteries_required": plain(False),
        "color": text("Grey"),
        "condition_type": plain("new_new"),
        "externally_assigned_product_identifier": [
            {"type": "ean", "value": "4006381333931", "marketplace_id": US}
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 10}],
        "generic_keyword": text("blanket"),
        "item_package_dimensions": [
            {
                "length": {"value": 12, "unit": "inches"},
                "width": {"value": 8, "unit": "inches"},
                "height": {"value": 4, "unit": "inches"},
                "marketplace_id": US,
            }
        ],
        "item_package_weight": [{"value": 2.5, "unit": "pounds", "marketplace_id": US}],
        "list_price": [{"value": 29.99, "currency": "USD", "marketplace_id": US}],
        "manufacturer": text("Acme Inc"),
        "merchant_shipping_group": plain("legacy-template-id"),
        "model_name": text("Cozy"),
        "model_number": plain("CZ-1"),
        "number_of_boxes": plain(1),
        "number_of_items": plain(1),
        "part_number": plain("CZ-1"),
        "purchasable_offer": [
            {
                "marketplace_id": US,
                "currency": "USD",
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": 24.99}]}],
            }
        ],
        "required_product_compliance_certificate": plain("Not Applicable"),
    }


class _Conn:
    """A wrk-like keep-alive HTTP/1.1 connection: far cheaper per request than a full client, so
    that the driver (sharing the machine) measures the server rather than itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> _Conn:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is not None:
            head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        self.writer.close()


async def _drive(
    base: str,
    headers: dict[str, str],
    make: Callable[[int], tuple[str, str, bytes | None]],
    seconds: float,
) -> tuple[int, float]:
    """Requests answered and seconds taken over ``seconds`` with CONCURRENCY connections; every
    answer must be a 200."""
    counter = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> int:
        nonlocal counter
        conn = await _Conn.open(base)
        done = 0
        try:
            while time.perf_counter() < deadline:
                counter += 1
                method, path, body = make(counter)
                status, payload = await conn.request(method, path, headers, body)
                if status != 200:
                    raise RuntimeError(f"{method} {path}: {status} {payload[:200]!r}")
                done += 1
        finally:
            conn.close()
        return done

    started = time.perf_counter()
    total = sum(await asyncio.gather(*(worker() for _ in range(CONCURRENCY))))
    return total, time.perf_counter() - started


async def _round(
    base: str,
    headers: dict[str, str],
    make: Callable[[int], tuple[str, str, bytes | None]],
    *,
    applied: bool = False,
) -> float:
    """Requests/s of one round. Amazon's queue of accepted writes is emptied first, untimed, so that
    no earlier round's processing is applied inside this one (realistic mode applies due writes on
    each request); ``applied``: the round's own writes are then processed within its time (a
    flush), so a PUT's figure is a write accepted *and* applied."""
    async with httpx.AsyncClient(timeout=120) as client:
        (await client.post(f"{base}/_emulator/processing/flush")).raise_for_status()
        done, elapsed = await _drive(base, headers, make, ROUND_SECONDS)
        if applied:
            started = time.perf_counter()
            (await client.post(f"{base}/_emulator/processing/flush")).raise_for_status()
            elapsed += time.perf_counter() - started
    return done / elapsed


async def _measure(base: str) -> dict[str, list[float]]:
    async with httpx.AsyncClient(timeout=30) as client:
        token_response = await client.post(
            f"{base}/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|listingsync-demo-seller-na",
                "client_id": "amzn1.application-oa2-client.listingsync-demo",
                "client_secret": "listingsync-demo-secret",
            },
        )
        headers = {"x-amz-access-token": token_response.json()["access_token"]}
        items = f"/na/listings/2021-08-01/items/{SELLER}"
        doc = _document("Cozy Throw Blanket")
        first = await client.put(
            f"{base}{items}/BENCH-0?marketplaceIds={US}",
            json={"productType": "HOME", "attributes": doc},
            headers=headers,
        )
        assert first.json()["status"] == "ACCEPTED", first.text
        # Realistic mode: ACCEPTED only queues the write (Amazon applies it minutes later), so a GET
        # now would answer 404. Finish the queue on the emulator's clock, as a test does, so the
        # GET rounds below read an item that exists rather than timing 404s.
        flushed = await client.post(f"{base}/_emulator/processing/flush")
        flushed.raise_for_status()
        found = await client.get(f"{base}{items}/BENCH-0?marketplaceIds={US}", headers=headers)
        assert found.status_code == 200, found.text
    same = orjson.dumps({"productType": "HOME", "attributes": doc})
    get_path = f"{items}/BENCH-0?marketplaceIds={US}&includedData=summaries,attributes"

    def put_new(i: int) -> tuple[str, str, bytes]:
        # Every SKU differs in title, part number, price and stock, as a catalogue's items do: those
        # attributes and the rules mentioning them are validated afresh, every PUT is stored.
        body = copy.deepcopy(doc)
        stamp = time.perf_counter_ns()
        body["item_name"][0]["value"] = f"Cozy Throw Blanket no. {i} {stamp}"
        body["part_number"][0]["value"] = f"CZ-{stamp}"
        body["list_price"][0]["value"] = 10 + (stamp % 10_000) / 100
        body["fulfillment_availability"][0]["quantity"] = stamp % 997
        payload = orjson.dumps({"productType": "HOME", "attributes": body})
        return "PUT", f"{items}/BENCH-{i % 500}?marketplaceIds={US}", payload

    results: dict[str, list[float]] = {"baseline": [], "get": [], "put": [], "put_same": []}
    same_put = ("PUT", f"{items}/BENCH-0?marketplaceIds={US}", same)
    for _ in range(ROUNDS):
        results["baseline"].append(
            await _round(base, headers, lambda i: ("GET", "/_emulator/counters", None))
        )
        results["get"].append(await _round(base, headers, lambda i: ("GET", get_path, None)))
        results["put"].append(await _round(base, headers, put_new, applied=True))
        results["put_same"].append(await _round(base, headers, lambda i: same_put, applied=True))
    return results


def _whole_validation_rate() -> float:
    """Documents/s the reference validator manages on the whole HOME schema, without any cache."""
    from listingsync.emulator.product_types import ProductTypeRegistry
    from listingsync.schema.reference import ReferenceValidator

    validator = ReferenceValidator(ProductTypeRegistry().get("HOME", US) or {})
    doc = _document("Cozy Throw Blanket")
    assert validator.issues(doc) == []
    rates = []
    for _ in range(ROUNDS):
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < ROUND_SECONDS / 2:
            validator.issues(doc)
            n += 1
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        if not base.startswith("http"):
            raise RuntimeError("the emulator subprocess did not start")
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_emulator/counters", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        results = asyncio.run(_measure(base))
    finally:
        server.terminate()
        server.wait(10)
    baseline = statistics.median(results["baseline"])
    whole = _whole_validation_rate()
    print(
        f"emulator on one core, {CONCURRENCY} concurrent clients, median of {ROUNDS} x {ROUND_SECONDS:g} s rounds"
    )
    print(f"  baseline /_emulator/counters        {baseline:8.0f} req/s")
    print(
        f"  python jsonschema, whole HOME schema {whole:8.0f} docs/s  (in-process, no cache: the naive ceiling)"
    )
    rows = (
        ("getListingsItem", "get", 1000.0),
        ("putListingsItem, new doc, applied", "put", 200.0),
        ("putListingsItem, same doc, applied", "put_same", 200.0),
    )
    for label, key, target in rows:
        value = statistics.median(results[key])
        print(
            f"  {label:36s} {value:8.0f} req/s   target {target:6.0f} ({value / target:4.2f}x)"
            f"   vs baseline {value / baseline:4.2f}x"
        )


if __name__ == "__main__":
    main()
