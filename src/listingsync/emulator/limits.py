"""Limits that keep the emulator alive as a network service: request body sizes per route, answered
as Amazon answers them, and deadlines for clients that send slowly (slowloris).

Body limits, checked against ``Content-Length`` before anything is read and again while the body
streams in, so an oversized body is never held in memory:

* SP-API routes (``/na``, ``/eu``, ``/fe``): 10 MiB, the payload quota of the API Gateway in front
  of SP-API. The models document the answer (``413`` "The request size exceeded the maximum accepted
  size.", an ``ErrorList``); the ``code`` string in it is invented.
* LWA (``/auth/o2/token``): 16 KiB. A token request is a form of four short fields (well under
  1 KiB); Amazon documents no limit, so the figure and the ``413`` OAuth-shaped body are invented.
* Presigned feed-document uploads (``/_s3/…``): S3 takes up to 5 GB in one PUT and answers
  ``400 EntityTooLarge`` beyond (S3 error responses). Amazon documents no hard limit for a feed
  document, only guidance: under 10 MiB and 25,000 messages (Feeds API best practices; changelog
  "Feed size and rate limit changes for the JSON_LISTINGS_FEED", 2025-05-06). An in-memory emulator
  cannot hold 5 GB, so its limit is ``EmulatorSettings.max_feed_document_bytes`` (default 100 MiB,
  ten times the guidance), answered the way S3 answers.
* Everything else (introspection, the fake Sales Layer API): 1 MiB.

A body that stalls for ``body_idle_timeout`` seconds between chunks is answered ``408`` (S3:
``400 RequestTimeout``, as S3 does) and the connection closed. The deadline for a request's
*headers* lives in the HTTP protocol (:class:`HeaderDeadlineH11`): uvicorn itself only times out
idle keep-alive connections, so a client that connects and never finishes its headers would hold a
connection for ever.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from listingsync.emulator.errors import envelope, json_response

__all__ = ["LWA_MAX_BYTES", "OTHER_MAX_BYTES", "SPAPI_MAX_BYTES", "BodyLimits", "HeaderDeadlineH11"]

SPAPI_MAX_BYTES = 10 * 1024 * 1024
LWA_MAX_BYTES = 16 * 1024
OTHER_MAX_BYTES = 1024 * 1024
_SPAPI_PREFIXES = ("/na/", "/eu/", "/fe/")
_DRAIN_BYTES = 4 * 1024 * 1024


class _TooLarge(Exception):
    pass


class _Stalled(Exception):
    pass


class BodyLimits:
    """ASGI middleware: refuses bodies over their route's limit, and bodies that stall."""

    def __init__(self, app: ASGIApp, *, feed_document_bytes: int, body_idle_timeout: float) -> None:
        self.app = app
        self.feed_document_bytes = feed_document_bytes
        self.body_idle_timeout = body_idle_timeout

    def limit(self, path: str) -> int:
        if path.startswith(_SPAPI_PREFIXES):
            return SPAPI_MAX_BYTES
        if path == "/auth/o2/token":
            return LWA_MAX_BYTES
        if path.startswith("/_s3/"):
            return self.feed_document_bytes
        return OTHER_MAX_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limit(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._answer(_too_large(path, limit), receive, send)
            return
        received = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_idle_timeout)
            except TimeoutError:
                raise _Stalled from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
                body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except (_TooLarge, _Stalled) as exc:
            if started:
                raise  # the answer is under way: nothing left to do but drop the connection
            answer = _too_large(path, limit) if isinstance(exc, _TooLarge) else _stalled(path)
            await self._answer(answer, receive, send)

    async def _answer(self, response: Response, receive: Receive, send: Send) -> None:
        """Send the whole answer, then read and drop what the client still sends (at most
        ``_DRAIN_BYTES``, while it keeps coming) before the connection closes: closing a socket with
        unread input makes TCP reset it, and the client would lose the answer (RFC 9112 §9.6)."""
        start = {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": response.body, "more_body": True})
        drained = 0
        while drained < _DRAIN_BYTES:
            try:
                message = await asyncio.wait_for(receive(), min(self.body_idle_timeout, 1.0))
            except TimeoutError:
                break
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.body", "body": b""})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 refuses such a request before it gets here
    return None


_CLOSE = {"Connection": "close"}  # the unread rest of the body is not waited for


def _too_large(path: str, limit: int) -> Response:
    if path.startswith("/_s3/"):
        return _s3_error(
            400,
            "EntityTooLarge",
            f"Your proposed upload exceeds the maximum allowed size ({limit} bytes in this emulator).",
        )
    if path == "/auth/o2/token":
        body: Any = {"error": "invalid_request", "error_description": "The request body is too large."}
        return json_response(body, 413, headers=_CLOSE)
    message = "The request size exceeded the maximum accepted size."
    details = f"The limit is {limit} bytes."
    return json_response(envelope("RequestEntityTooLarge", message, details), 413, headers=_CLOSE)


def _stalled(path: str) -> Response:
    if path.startswith("/_s3/"):
        return _s3_error(
            400,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the "
            "timeout period. Idle connections will be closed.",
        )
    message = "The request body stopped arriving; the connection is closed."
    return json_response(envelope("RequestTimeout", message), 408, headers=_CLOSE)


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml", headers=_CLOSE)


class HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers.

    The timer starts when the connection opens and again when an answer completes (keep-alive); it
    stops when h11 has parsed a whole request head. A client that sends nothing, or drips its
    headers a byte at a time, is disconnected when it fires. ``header_timeout`` is set on a
    subclass (:func:`with_header_timeout`), as uvicorn builds protocols from a class.
    """

    header_timeout: float = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadlineH11]:
    """The protocol class with this header deadline."""
    return type("HeaderDeadlineH11", (HeaderDeadlineH11,), {"header_timeout": seconds})
