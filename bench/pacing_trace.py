"""Where do the 429s of a paced run come from? Client send times against the emulator's bucket.

Runs the items path (one process, as bench_sync's busy-machine case) against an emulator process and
records, for every request, on one clock (CLOCK_MONOTONIC is system-wide on Linux):

- ``released``: the client's limiter let the request go;
- ``sent``:     the request reached httpx's transport (the last moment the client controls);
- ``arrived``:  the emulator's ASGI app started on it (after its event loop picked it up);
- ``taken``:    the emulator's bucket judged it (ok or 429).

Then it replays Amazon's bucket (rate, burst) over each series: a series that replays without a
429 is not where the 429s are made. ``python -m bench.pacing_trace [hogs] [scale] [n]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.bench_sync import PUT_RATE, SELLER, TOKEN, PhaseTimer, RemoteEmulator, cpu_hog, synthetic
from bench.fixtures import emulator_subprocess
from listingsync.amazon import SPAPIClient, TokenBucketLimiter
from listingsync.amazon.lwa import Credentials
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.sync.engine import SyncEngine, SyncOptions
from listingsync.sync.store import StateStore

BURST = 5

#: The emulator process, with its limiter and app wrapped to log when each request arrived and was judged.
_EMULATOR = """
import sys, time
from listingsync.emulator import EmulatorSettings, serve
from listingsync.emulator import context, server
out = open(sys.argv[2], "w", buffering=1)
guard = context.EmulatorContext.guard
def traced_guard(self, request, operation, **kw):
    taken, ok = time.monotonic(), 0
    try:
        caller = guard(self, request, operation, **kw)
        ok = 1
        return caller
    finally:
        scope = request.scope
        out.write(f"{scope.get('ls_trace', '-')} {scope.get('ls_arrived', 0):.6f} {taken:.6f} {operation} {ok}\\n")
context.EmulatorContext.guard = traced_guard
make = server.create_app
def create_app(**kw):
    app = make(**kw)
    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            scope["ls_arrived"] = time.monotonic()
            for k, v in scope.get("headers", []):
                if k == b"x-ls-trace":
                    scope["ls_trace"] = v.decode()
        await app(scope, receive, send)
    return wrapped
server.create_app = create_app
serve(EmulatorSettings(rate_scale=float(sys.argv[1])), port=0, announce=lambda u: print(u, flush=True))
"""


@contextlib.contextmanager
def traced_emulator(scale: float, log: Path) -> Iterator[RemoteEmulator]:
    with emulator_subprocess(_EMULATOR, repr(scale), str(log)) as url:
        yield RemoteEmulator(url)


class TracingTransport(httpx.AsyncHTTPTransport):
    """Stamps each request with an id and records when it reached the transport."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self._n = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._n += 1
        trace = str(self._n)
        request.headers["x-ls-trace"] = trace
        self.sent[trace] = time.monotonic()
        response = await super().handle_async_request(request)
        self.answered[trace] = time.monotonic()
        return response


class TracingLimiter(TokenBucketLimiter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.released: list[float] = []

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        waited = await super().acquire(key, rate, burst, hold=hold)
        if key.endswith("putListingsItem"):
            self.released.append(time.monotonic())
        return waited


def replay(times: list[float], rate: float, burst: int) -> int:
    """429s Amazon's bucket (full at the first request) would answer to requests at ``times``."""
    tokens, last, refused = float(burst), None, 0
    for t in sorted(times):
        if last is not None:
            tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            refused += 1
    return refused


def worst_window(times: list[float], span: float) -> int:
    """Most requests inside any window of ``span`` seconds."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - span:
            j += 1
        best = max(best, i - j + 1)
    return best


def run(hogs: int, scale: float, n: int, concurrency: int = 16, **limiter: Any) -> dict[str, Any]:
    rate = PUT_RATE * scale
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "emulator.log"
        with traced_emulator(scale, log) as server, cpu_hog(hogs):
            transport = TracingTransport()
            tracer = TracingLimiter(scale=scale, **limiter)
            store = StateStore.open(f"sqlite:///{Path(tmp) / 'state.db'}")

            async def go() -> float:
                client = SPAPIClient(
                    Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TOKEN),
                    "eu",
                    endpoint=server.endpoint("eu"),
                    lwa_endpoint=server.lwa_url,
                    rate_limiter=tracer,
                    selling_partner_id=SELLER,
                    transport=transport,
                )
                async with client:
                    engine = SyncEngine(
                        store,
                        client,
                        SELLER,
                        options=SyncOptions(via="items", reconcile=False, concurrency=concurrency),
                        progress=PhaseTimer(),
                    )
                    started = time.perf_counter()
                    await engine.run(synthetic(n, prefix=f"TR{os.getpid()}"))
                    return time.perf_counter() - started

            elapsed = asyncio.run(go())
            store.close()
        rows = [line.split() for line in log.read_text().splitlines()]
    puts = [r for r in rows if r[3] == "putListingsItem"]
    arrived = [float(r[1]) for r in puts]
    taken = [float(r[2]) for r in puts]
    refused = [r for r in puts if r[4] == "0"]
    sent = [transport.sent[r[0]] for r in puts if r[0] in transport.sent]
    delay = sorted(float(r[2]) - transport.sent[r[0]] for r in puts if r[0] in transport.sent)
    by_second: dict[int, int] = defaultdict(int)
    t0 = min(taken)
    for r in refused:
        by_second[int(float(r[2]) - t0)] += 1
    return {
        "hogs": hogs,
        "load": os.getloadavg()[0],
        "elapsed": elapsed,
        "share": (n / elapsed) / rate,
        "send_share": (len(puts) - len(refused) - 1) / (max(taken) - min(taken)) / rate,
        "requests": len(puts),
        "429": len(refused),
        "replay429": {
            "released": replay(tracer.released, rate, BURST),
            "sent": replay(sent, rate, BURST),
            "arrived": replay(arrived, rate, BURST),
            "taken": replay(taken, rate, BURST),
        },
        "max_in_1/rate*burst_window": {
            "released": worst_window(tracer.released, BURST / rate),
            "sent": worst_window(sent, BURST / rate),
            "taken": worst_window(taken, BURST / rate),
        },
        "sent_to_taken_ms": {
            "p50": 1000 * delay[len(delay) // 2],
            "p99": 1000 * delay[int(len(delay) * 0.99)],
            "max": 1000 * delay[-1],
        },
        "429_seconds": dict(sorted(by_second.items())),
    }


def main() -> None:
    hogs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    headroom = [float(h) for h in os.environ.get("LS_TRACE_HEADROOM", "0.2").split(",")]
    for h in sorted({0, hogs}):
        for room in headroom:
            print(json.dumps({"headroom": room, **run(h, scale, n, headroom=room)}), flush=True)


if __name__ == "__main__":
    main()
