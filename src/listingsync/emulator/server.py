"""Serving the emulator: uvicorn on a free loopback port in a background thread (tests, demo),
or in the foreground (``listingsync emulator``)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import uvicorn

from listingsync.amazon.marketplaces import Region
from listingsync.emulator.app import create_app
from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.limits import with_header_timeout
from listingsync.emulator.settings import EmulatorSettings
from listingsync.emulator.state import State
from listingsync.errors import ListingSyncError

Lifespan = Literal["auto", "on", "off"]

__all__ = ["EmulatorServer", "run_in_thread", "serve"]


class _QuietDrops(logging.Filter):
    """The ``drop`` fault returns mid-answer on purpose; uvicorn would log that as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


@dataclass(frozen=True, slots=True)
class EmulatorServer:
    """A running emulator: where it listens, and its live state/context."""

    url: str  # http://127.0.0.1:PORT
    ctx: EmulatorContext

    @property
    def state(self) -> State:
        return self.ctx.state

    @property
    def settings(self) -> EmulatorSettings:
        return self.ctx.settings

    @property
    def lwa_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    @property
    def saleslayer_url(self) -> str:
        return f"{self.url}/saleslayer"

    def endpoint(self, region: Region | str) -> str:
        """SP-API base URL of a region, e.g. ``http://127.0.0.1:PORT/eu``."""
        return f"{self.url}/{Region(str(region).lower()).value}"

    def flush(self) -> dict[str, Any]:
        """Finish everything Amazon still has queued (writes processed, feeds done, offers BUYABLE)
        by moving the emulator's clock, through ``POST /_emulator/processing/flush``: what a test
        does instead of sleeping before it reads the result of a write."""
        answer = httpx.post(f"{self.url}/_emulator/processing/flush", timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the emulator's clock ``seconds`` on and apply what became due (``/clock/advance``)."""
        answer = httpx.post(f"{self.url}/_emulator/clock/advance", params={"seconds": seconds}, timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def reset(self, *, keep_tokens: bool = False) -> None:
        """Forget listings, counters, the write log, other modules' data, rate buckets and fault
        sequence (cheaper than a new server); issued access tokens too unless ``keep_tokens``."""
        self.ctx.reset(keep_tokens=keep_tokens)


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only disables Nagle on accepted sockets whose proto says
    # TCP, and without TCP_NODELAY every answer (headers and body are two writes) waits ~40 ms
    # for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListingSyncError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            fix="choose another --port (0 picks a free one) or stop the process using it",
        ) from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


#: Connections (and requests in flight) served at once; beyond, uvicorn answers 503 at once
#: rather than letting a flood of clients exhaust memory and file descriptors.
MAX_CONNECTIONS = 1000


def _config(app: Any, lifespan: Lifespan = "on", header_timeout: float = 10.0) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=2,
        http=with_header_timeout(header_timeout),  # slowloris: a deadline for request headers
        timeout_keep_alive=5,  # idle keep-alive connections close after 5 s (uvicorn's default)
        h11_max_incomplete_event_size=16 * 1024,  # a request head over 16 KiB is refused (400)
        limit_concurrency=MAX_CONNECTIONS,
    )


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "emulator",
    lifespan: Lifespan = "on",
    header_timeout: float = 10.0,
) -> Iterator[str]:
    """Serve an ASGI app in a daemon thread for the ``with`` block; yields its base URL."""
    sock = _bind(host, port)
    server = uvicorn.Server(_config(app, lifespan, header_timeout))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise ListingSyncError(f"the {name} failed to start (see the log above)")
            thread.join(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def run_in_thread(
    settings: EmulatorSettings | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[EmulatorServer]:
    """Serve the emulator in a daemon thread for the duration of the ``with`` block."""
    ctx = EmulatorContext(settings or EmulatorSettings())
    app = create_app(ctx=ctx)
    with serve_in_thread(app, host=host, port=port, header_timeout=ctx.settings.header_timeout) as url:
        yield EmulatorServer(url, ctx)


def serve(
    settings: EmulatorSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C (the CLI's face); ``announce(base_url)`` once bound."""
    # The feed worker thread is CPU-bound; at the default 5 ms GIL switch interval every socket read
    # of the event loop waits for it (the convoy effect), so a 10 MiB upload crawls while a feed is
    # processed. This process is ours alone, so hand the GIL over ten times more often.
    sys.setswitchinterval(0.0005)
    ctx = EmulatorContext(settings)
    sock = _bind(host, port)
    try:
        # Built before the banner: once "Ctrl-C stops it" shows, the app is there to serve.
        config = _config(create_app(ctx=ctx), header_timeout=settings.header_timeout)
        if announce is not None:
            bound_host, bound_port = sock.getsockname()[:2]
            announce(f"http://{bound_host}:{bound_port}")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
