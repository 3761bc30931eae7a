"""The SP-API transport: one place for hosts, headers, pacing, retries and error mapping.

Every operation goes through :meth:`SPAPIClient.call`:

1. wait for a token from the (partner, operation) bucket (:mod:`.ratelimit`);
2. get an access token from LWA (cached, one exchange shared by concurrent callers);
3. send with ``x-amz-access-token``, ``x-amz-date`` and a compliant User-Agent;
4. 2xx → decoded JSON; 403 "access token … expired" → refresh once and resend; a failure
   :func:`worth_retrying` accepts → back off and retry (:mod:`listingsync.retrying`: bounded attempts
   and time, exponential backoff with full jitter, a 429's floor); anything else → :class:`SPAPIError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import platform
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import httpx

from listingsync import __version__
from listingsync.amazon.apis import CatalogAPI, DefinitionsAPI, FeedsAPI, ListingsAPI, SellersAPI
from listingsync.amazon.errors import SPAPIConnectionError, SPAPIError, error_from_response
from listingsync.amazon.lwa import Credentials, LWAClient
from listingsync.amazon.marketplaces import Region
from listingsync.amazon.operations import Operation
from listingsync.amazon.ratelimit import RateLimiter, TokenBucketLimiter
from listingsync.retrying import RetryPolicy

if TYPE_CHECKING:
    from listingsync.config import AccountConfig

__all__ = ["ClientStats", "RetryPolicy", "SPAPIClient", "account_options", "user_agent", "worth_retrying"]

#: Statuses worth retrying unchanged: throttling and server-side failures (spapi.md §9).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Transport failures raised before any byte of the request left: safe to resend even a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Amazon: "The access token you provided has expired." (spapi.md §6.2), in message or details.
_EXPIRED_TOKEN = re.compile(r"access token.*expired|token.*has expired|expired token", re.IGNORECASE)


def path_segment(value: str) -> str:
    """A path parameter (a SKU …) percent-encoded whole, ``/`` included, as Amazon asks (``my%20sku``,
    ``A%2FB``: amzn/selling-partner-api-docs#1975, #467). A SKU that is only dots (``.``, ``..``)
    has its dots encoded too: HTTP clients remove such dot segments from a path (RFC 3986 §5.2.4),
    which would send the request to another resource (``/items/{sellerId}/.`` is the seller's
    search, ``..`` the collection)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded and not encoded.strip(".") else encoded


def worth_retrying(failure: BaseException, *, idempotent: bool) -> bool:
    """The SP-API's retry rules (spapi.md §9): a 429 always (Amazon refused it unprocessed); a 5xx
    or a transport error only when the request is idempotent, because a POST (createFeed,
    createFeedDocument) may have reached Amazon before the failure and would then be done twice;
    a POST whose connection was never made is safe. Everything else (4xx) cannot change by resending."""
    if isinstance(failure, SPAPIError):
        return failure.status == 429 or (idempotent and failure.status in RETRY_STATUSES)
    if isinstance(failure, httpx.TransportError):
        return idempotent or isinstance(failure, _NOT_SENT)
    return False


def throttle_floor(failure: BaseException, *, rate: float) -> float:
    """A 429 backs off on at least one interval of the operation's bucket (``1/rate``) as scale."""
    return 1.0 / rate if isinstance(failure, SPAPIError) and failure.status == 429 else 0.0


@dataclass
class ClientStats:
    """Counters a benchmark, the sync engine or ``check`` can read (never reset by the client)."""

    requests: int = 0  # HTTP requests sent to the SP-API (retries included)
    responses: Counter[int] = field(default_factory=Counter)  # by status code
    retries: int = 0
    throttled: int = 0  # 429 answers
    network_errors: int = 0
    token_refreshes: int = 0  # refreshes forced by a 403 "token expired"
    by_operation: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "responses": {str(k): v for k, v in sorted(self.responses.items())},
            "retries": self.retries,
            "throttled": self.throttled,
            "network_errors": self.network_errors,
            "token_refreshes": self.token_refreshes,
            "by_operation": dict(self.by_operation),
        }


def _escape_ua(value: str) -> str:
    # Amazon: escape \ / ( ) = ; inside names and values with a backslash.
    return re.sub(r"([\\/()=;])", r"\\\1", value)


def user_agent(app: str = "listingsync", version: str = __version__) -> str:
    """``listingsync/<version> (Language=Python/3.x.y; Platform=<OS>/<release>)``, ≤ 500 chars."""
    language = f"Python/{_escape_ua(platform.python_version())}"
    plat = f"{_escape_ua(platform.system() or 'unknown')}/{_escape_ua(platform.release() or 'unknown')}"
    ua = f"{_escape_ua(app)}/{_escape_ua(version)} (Language={language}; Platform={plat})"
    if len(ua) > 500:  # Amazon rejects longer headers; the platform part is the expendable one
        ua = f"{_escape_ua(app)}/{_escape_ua(version)} (Language={language})"[:500]
    return ua


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_query_value(v) for v in value)
    return str(value)


def account_options(account: AccountConfig) -> dict[str, Any]:
    """The client options an ``account:`` section sets (the async and the sync client take them)."""
    return {
        "region": account.resolved_region,
        "endpoint": account.endpoint,
        "lwa_endpoint": account.lwa_endpoint,
        "selling_partner_id": account.selling_partner_id,
    }


class SPAPIClient:
    """Async SP-API client for one set of credentials in one region.

    ``endpoint`` is used as the base URL exactly as given (the emulator's ``/eu`` prefix included);
    without it, the region's production host. ``selling_partner_id`` keys the rate-limit buckets of
    operations whose path does not name the partner (definitions, feeds, catalog, sellers).
    """

    def __init__(
        self,
        credentials: Credentials,
        region: Region | str,
        endpoint: str | None = None,
        lwa_endpoint: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
        *,
        selling_partner_id: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.region = Region(region)
        self.base_url = (endpoint or self.region.production_host).rstrip("/")
        self.selling_partner_id = selling_partner_id
        self.retry = retry or RetryPolicy()
        self.rate_limiter: RateLimiter = rate_limiter or TokenBucketLimiter()
        self.stats = ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._user_agent = user_agent()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"user-agent": self._user_agent},
            follow_redirects=False,
        )
        self.lwa = LWAClient(credentials, self._http, endpoint=lwa_endpoint, sleep=sleep, clock=clock)
        # The partner key for buckets: never a secret; a digest of the refresh token when no id is known.
        self._partner_key = selling_partner_id or (
            "rt-" + hashlib.sha256(credentials.refresh_token.encode()).hexdigest()[:12]
        )
        self.sellers = SellersAPI(self)
        self.listings = ListingsAPI(self)
        self.definitions = DefinitionsAPI(self)
        self.feeds = FeedsAPI(self)
        self.catalog = CatalogAPI(self)

    @classmethod
    def from_account(cls, account: AccountConfig, credentials: Credentials, **kwargs: Any) -> Self:
        """A client for the ``account:`` section of listingsync.yaml."""
        return cls(credentials, **account_options(account), **kwargs)

    def __repr__(self) -> str:
        return f"SPAPIClient(region={self.region.value!r}, base_url={self.base_url!r}, credentials={self.credentials!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def lwa_exchanges(self) -> int:
        return self.lwa.exchanges

    # --- the one request path ---------------------------------------------------------------------

    async def call(
        self,
        op: Operation,
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """Send ``op`` and return the decoded JSON body (``{}`` for an empty one)."""
        url = self.base_url + op.path.format(**{k: path_segment(str(v)) for k, v in (path or {}).items()})
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        partner = (path or {}).get("sellerId") or self._partner_key
        bucket = f"{partner}:{op.bucket_name}"
        refreshed = False  # one refresh per call: a second "expired" 403 means something else
        paced = 0.0  # seconds spent waiting for a rate-limit token: our own pacing, not failing

        async def send() -> httpx.Response:
            nonlocal paced
            token = await self.lwa.access_token()
            before = self._clock()
            # Held until answered: Amazon counts the request somewhere in between (ratelimit.py).
            await self.rate_limiter.acquire(bucket, op.rate, op.burst, hold=True)
            paced += self._clock() - before
            return await self._send(op, bucket, url, params, body, token)

        async def attempt() -> dict[str, Any]:
            nonlocal refreshed
            response = await send()
            if response.status_code == 403 and not refreshed and _token_expired(response):
                # Not a failure to back off from: refresh and resend at once, within this attempt.
                refreshed = True
                self.stats.token_refreshes += 1
                self.lwa.invalidate(response.request.headers["x-amz-access-token"])
                response = await send()
            if 200 <= response.status_code < 300:
                return _decode(response, op.name)
            raise error_from_response(response, op.name)

        controller = self.retry.async_retrying(
            functools.partial(worth_retrying, idempotent=op.method != "POST"),
            floor=functools.partial(throttle_floor, rate=op.rate),
            sleep=self._sleep,
            clock=lambda: self._clock() - paced,  # the time budget counts time spent failing
            before_sleep=self._count_retry,
        )
        try:
            return await controller(attempt)
        except httpx.TransportError as exc:
            raise SPAPIConnectionError(self.base_url, exc, operation=op.name) from None

    async def _send(
        self, op: Operation, bucket: str, url: str, params: dict[str, str], body: Any, token: str
    ) -> httpx.Response:
        """One request, its rate-limit token held until answered; counted in :attr:`stats`."""
        headers = {
            "x-amz-access-token": token,
            "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "accept": "application/json",
        }
        if body is not None:
            headers["content-type"] = "application/json"
        self.stats.requests += 1
        self.stats.by_operation[op.name] += 1
        try:
            response = await self._http.request(
                op.method, url, params=params, json=body if body is not None else None, headers=headers
            )
        except httpx.TransportError:
            self.stats.network_errors += 1
            raise
        finally:
            self.rate_limiter.answered(bucket)
        status = response.status_code
        self.stats.responses[status] += 1
        announced = response.headers.get("x-amzn-RateLimit-Limit")
        if announced:
            with contextlib.suppress(ValueError):
                self.rate_limiter.observe_rate(bucket, float(announced))
        if status == 429:
            self.stats.throttled += 1
            self.rate_limiter.throttled(bucket)
        return response

    def _count_retry(self, _: object) -> None:
        self.stats.retries += 1

    # --- plain URLs: pre-signed documents and schema links (no SP-API headers) ---------------------

    async def _plain(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def attempt() -> httpx.Response:
            response = await self._http.request(method, url, **kwargs)
            if response.status_code >= 400:
                # Pre-signed URLs carry credentials in their query: never show it.
                raise SPAPIError(
                    response.status_code,
                    f"HTTP {response.status_code}",
                    response.text[:300] or response.reason_phrase,
                    request_id=response.headers.get("x-amz-request-id"),
                    operation=f"{method} {_without_query(url)}",
                    fix="pre-signed document URLs expire after 5 minutes: request a new one and retry",
                )
            return response

        # GET and PUT of a pre-signed document are idempotent: every transient failure is retried.
        controller = self.retry.async_retrying(
            functools.partial(worth_retrying, idempotent=True),
            sleep=self._sleep,
            clock=self._clock,
            before_sleep=self._count_retry,
        )
        try:
            return await controller(attempt)
        except httpx.TransportError as exc:
            raise SPAPIConnectionError(_without_query(url), exc) from None

    async def fetch_url(self, url: str) -> bytes:
        """GET a URL with no SP-API headers (product type schema links, meta-schema)."""
        return (await self._plain("GET", url)).content

    async def upload_document(self, url: str, data: bytes | Path, content_type: str) -> None:
        """PUT bytes to a pre-signed URL; ``content_type`` must equal the one given to createFeedDocument.

        A ``Path`` is sent from the file a chunk at a time with its ``Content-Length`` (a pre-signed
        S3 PUT refuses chunked encoding): a feed document of 25,000 listings is never held whole,
        nor copied by the HTTP stack's buffers; each attempt reads the file from its start."""
        if isinstance(data, Path):
            chunks = _FileChunks(data)
            headers = {"content-type": content_type, "content-length": str(chunks.size)}
            await self._plain("PUT", url, content=chunks, headers=headers)
            return
        await self._plain("PUT", url, content=data, headers={"content-type": content_type})

    async def download_document(self, url: str, compression_algorithm: str | None = None) -> bytes:
        """GET a pre-signed document, gunzipped when ``compression_algorithm`` is ``GZIP``."""
        data = (await self._plain("GET", url)).content
        if compression_algorithm and compression_algorithm.upper() == "GZIP":
            return gzip.decompress(data)
        return data


class _FileChunks:
    """A file's bytes as an async iterable that starts over at each iteration (a retried PUT)."""

    CHUNK = 1024 * 1024

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as handle:
            while chunk := handle.read(self.CHUNK):
                yield chunk


def _token_expired(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else body
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, dict) and _EXPIRED_TOKEN.search(f"{e.get('message', '')} {e.get('details', '')}")
        for e in errors
    )


def _decode(response: httpx.Response, operation: str) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise SPAPIError(
            response.status_code,
            "InvalidResponse",  # invented: Amazon has no code for this, the client raises it
            f"expected JSON, got {response.headers.get('content-type', 'no content type')}",
            request_id=response.headers.get("x-amzn-RequestId"),
            operation=operation,
        ) from None
    return data if isinstance(data, dict) else {"payload": data}


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]
