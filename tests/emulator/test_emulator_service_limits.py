"""The emulator as a network service: body limits per route and deadlines for slow clients, over a
real loopback socket. Every wait is bounded by a socket timeout; none is a timed assertion."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from emulator_helpers import SELLER, SELLER_TOKEN, US, client_for

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.limits import LWA_MAX_BYTES, SPAPI_MAX_BYTES

BOUND = 30.0  # seconds any socket operation may take before the test fails (never reached when green)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    settings = EmulatorSettings(max_feed_document_bytes=64 * 1024, header_timeout=0.2, body_idle_timeout=0.2)
    with run_in_thread(settings) as running:
        yield running


def connect(server: EmulatorServer) -> socket.socket:
    url = urlsplit(server.url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=BOUND)


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_a_listings_put_declaring_100_mb_is_answered_413_without_reading_the_body(
    server: EmulatorServer,
) -> None:
    with connect(server) as sock:
        sock.sendall(
            f"PUT /na/listings/2021-08-01/items/{SELLER}/SKU-1?marketplaceIds={US} HTTP/1.1\r\n"
            f"Host: x\r\nContent-Type: application/json\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n".encode()
        )
        status, headers, body = parse(read_until_closed(sock))  # closed: the 100 MB never read
    assert status == 413 and headers["x-amzn-requestid"]
    assert json.loads(body) == {
        "errors": [
            {
                "code": "RequestEntityTooLarge",
                "message": "The request size exceeded the maximum accepted size.",
                "details": f"The limit is {SPAPI_MAX_BYTES} bytes.",
            }
        ]
    }


def test_a_chunked_lwa_body_is_cut_off_at_its_small_limit(server: EmulatorServer) -> None:
    chunk = b"a" * 8192
    sent = 0
    with connect(server) as sock:
        sock.sendall(
            b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # Up to 100 MB, until the server answers: it must answer long before the body ends.
        while sent < 100 * 1024 * 1024 and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        sock.sendall(b"0\r\n\r\n")  # end the body: the server drops what it did not read
        status, _, body = parse(read_until_closed(sock))
    assert status == 413
    assert json.loads(body) == {
        "error": "invalid_request",
        "error_description": "The request body is too large.",
    }
    assert sent < 100 * 1024 * 1024 and sent > LWA_MAX_BYTES


def test_feed_document_uploads_are_limited_as_s3_answers(server: EmulatorServer) -> None:
    with client_for(server, SELLER_TOKEN, "na") as client:
        doc = client.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
    headers = {"content-type": "application/json"}
    too_big = httpx.put(doc["url"], content=b"x" * (64 * 1024 + 1), headers=headers, timeout=BOUND)
    assert too_big.status_code == 400 and too_big.headers["content-type"] == "application/xml"
    assert "<Code>EntityTooLarge</Code>" in too_big.text
    fits = httpx.put(doc["url"], content=b"x" * (64 * 1024), headers=headers, timeout=BOUND)
    assert fits.status_code == 200


def test_connections_that_never_finish_their_headers_are_closed(server: EmulatorServer) -> None:
    socks = [connect(server) for _ in range(50)]
    try:
        for i, sock in enumerate(socks):
            if i % 2:  # half send part of a request head; half send nothing at all
                sock.sendall(b"GET /_emulator/counters HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        # Meanwhile the emulator serves others.
        assert httpx.get(f"{server.url}/_emulator/counters", timeout=BOUND).status_code == 200
        for sock in socks:
            assert read_until_closed(sock) == b""  # the server hung up (recv would time out otherwise)
    finally:
        for sock in socks:
            sock.close()


def test_a_keep_alive_connection_gets_a_fresh_header_deadline(server: EmulatorServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /_emulator/counters HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /_emulator/counters HTTP/1.1\r\nHost: x\r\n")  # never finished
        everything = first + read_until_closed(sock)  # the server hangs up
    assert everything.count(b"HTTP/1.1 ") == 1  # one answer: the second head never completed


def test_a_body_that_stops_arriving_is_answered_and_the_connection_closed(server: EmulatorServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type="
        )
        status, _, body = parse(read_until_closed(sock))
    assert status == 408 and json.loads(body)["errors"][0]["code"] == "RequestTimeout"


def test_a_request_head_over_16_kib_is_refused(server: EmulatorServer) -> None:
    with connect(server) as sock:
        # A head that keeps growing (never ends) is refused once h11 holds 16 KiB of it.
        sock.sendall(b"GET /_emulator/counters HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000)
        status, _, _ = parse(read_until_closed(sock))
    assert status == 400
