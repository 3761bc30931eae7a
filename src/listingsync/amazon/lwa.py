"""Login with Amazon: the refresh-token grant, cached until shortly before expiry.

One :class:`LWAClient` per credentials set. Concurrent callers on a cold cache share **one**
exchange: the first creates a future and performs the request, the others await that future. The
access token is kept until 60 s before ``expires_in`` runs out (Amazon's Java SDK takes the same
margin). Transient failures (``server_error``, ``temporarily_unavailable``, 5xx, network errors) are
retried with backoff (:mod:`listingsync.retrying`; exchanging a refresh token again is harmless, so a
read error is retried too); everything else becomes an :class:`LWAError` naming the credential to fix.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from listingsync.amazon.errors import LWAError
from listingsync.amazon.marketplaces import LWA_TOKEN_URL
from listingsync.redaction import register_secret
from listingsync.retrying import RetryPolicy

__all__ = ["AccessToken", "Credentials", "LWAClient"]

#: Refresh this long before the token's stated expiry.
EXPIRY_MARGIN_SECONDS = 60.0
_RETRYABLE_ERRORS = {"server_error", "temporarily_unavailable"}


class _Refused(Exception):
    """The token endpoint answered with an error (a transient one is retried)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status = response.status_code
        self.error, self.description = _error_of(response)
        self.transient = self.error in _RETRYABLE_ERRORS or self.status >= 500


def _transient(failure: BaseException) -> bool:
    return isinstance(failure, httpx.TransportError) or (isinstance(failure, _Refused) and failure.transient)


@dataclass(frozen=True)
class Credentials:
    """The three values from Developer Central. ``repr`` and ``str`` never show the secrets."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def __post_init__(self) -> None:
        register_secret(self.client_secret, self.refresh_token)

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***', refresh_token='***')"

    __str__ = __repr__


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # time.monotonic() clock

    def __repr__(self) -> str:
        return f"AccessToken(value='***', expires_at={self.expires_at:.0f})"


class LWAClient:
    def __init__(
        self,
        credentials: Credentials,
        http: httpx.AsyncClient,
        *,
        endpoint: str | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.endpoint = endpoint or LWA_TOKEN_URL
        self._http = http
        self._retry = RetryPolicy(max_attempts=max_attempts, base=0.5, cap=8.0, budget=60.0)
        self._sleep = sleep
        self._clock = clock
        self._token: AccessToken | None = None
        self._pending: asyncio.Future[AccessToken] | None = None
        #: Number of token exchanges actually sent (successful or not); benchmarks and tests read it.
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"LWAClient(client_id={self.credentials.client_id!r}, endpoint={self.endpoint!r})"

    async def access_token(self) -> str:
        """A valid access token, exchanging the refresh token only when the cache is cold or stale."""
        token = self._token
        if token is not None and self._clock() < token.expires_at:
            return token.value
        pending = self._pending
        if pending is None or pending.done():
            # No await between the check and the assignment: in one event loop this is atomic, so
            # exactly one exchange runs however many callers arrive. It runs as its own task so a
            # caller that is cancelled does not cancel the exchange the others are waiting for.
            pending = self._pending = asyncio.ensure_future(self._exchange_and_store())
        return (await asyncio.shield(pending)).value

    def invalidate(self, stale: str | None = None) -> None:
        """Forget the cached token (after Amazon said it expired); the next call exchanges again.

        With ``stale``, only if that is still the cached token: when several requests learn at once
        that the token expired, the first refresh must not be thrown away by the others.
        """
        if stale is None or (self._token is not None and self._token.value == stale):
            self._token = None

    async def _exchange_and_store(self) -> AccessToken:
        token = await self._exchange()
        self._token = token
        return token

    async def _exchange(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.credentials.refresh_token,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
        }
        controller = self._retry.async_retrying(_transient, sleep=self._sleep, clock=self._clock)
        try:
            return await controller(functools.partial(self._exchange_once, form))
        except httpx.TransportError as exc:
            raise LWAError(
                "network_error", f"cannot reach {self.endpoint}: {type(exc).__name__}", endpoint=self.endpoint
            ) from None
        except _Refused as exc:
            raise LWAError(exc.error, exc.description, status=exc.status, endpoint=self.endpoint) from None

    async def _exchange_once(self, form: dict[str, str]) -> AccessToken:
        self.exchanges += 1
        started = self._clock()
        response = await self._http.post(
            self.endpoint,
            data=form,
            headers={"content-type": "application/x-www-form-urlencoded;charset=UTF-8"},
        )
        if response.status_code != 200:
            raise _Refused(response)
        return self._parse_token(response, started)

    def _parse_token(self, response: httpx.Response, started: float) -> AccessToken:
        try:
            body = response.json()
            value = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise LWAError(
                "invalid_response",
                "the token endpoint answered 200 without an access_token",
                status=200,
                endpoint=self.endpoint,
            ) from None
        register_secret(value)
        # Measure from when the request was sent: the token's clock started no later than that.
        return AccessToken(value, started + max(0.0, expires_in - EXPIRY_MARGIN_SECONDS))


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"]), str(body.get("error_description") or "")
    if response.status_code >= 500:
        return "server_error", f"HTTP {response.status_code}"
    return "other", f"HTTP {response.status_code}: {response.text[:200]}"
