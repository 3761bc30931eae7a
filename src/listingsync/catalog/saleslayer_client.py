"""Sales Layer connector API client (export direction, API 1.18): auth, pages, retries, errors.

Wire format from ../shared/reference/saleslayer.md §1, as Sales Layer's PHP SDK speaks it: auth
(``code``, ``time``, ``unique``, ``key256`` = SHA-256 of code + secret + time + unique), ``ver``,
``last_update`` and the shaping flags in the query string, ``pagination`` in a urlencoded POST body;
later pages are fetched by GETting the absolute ``next_page`` URL as given (it must stay on the
configured host). Bodies may be gzip-compressed and may start with a UTF-8 BOM. Errors travel in the
JSON ``error`` field: 10, 11 and 14 (and network failures, malformed bodies) are retried by
:mod:`listingsync.retrying` (exponential backoff, each wait in the upper half of its range: "temporarily
blocked" asks for a real pause); 2, 3, 4, 9, 12 and 13 stop with a message naming the credential or
the clock that is wrong.

The private key and every ``key256`` stay inside this module: they are not logged, not put in
exceptions (httpx errors that carry the URL are replaced by our own) and not in ``repr``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import tenacity

from listingsync.catalog.source import CatalogError
from listingsync.credentials import SALESLAYER_KEY_WHERE
from listingsync.redaction import register_secret
from listingsync.retrying import RetryPolicy

__all__ = ["API_VERSION", "RETRYABLE", "SalesLayerClient", "SalesLayerError", "key256"]

log = logging.getLogger(__name__)

_SIGNATURE = re.compile(r"\b(key256|key)=[0-9A-Fa-f]+")


class _MaskSignature(logging.Filter):
    """httpx logs every request URL at INFO; ours carry ``key256`` in the query (as the SDK sends
    it), which must not reach a log. Rewrites the record's arguments with the signature masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("key" in str(a) for a in record.args):
            record.args = tuple(
                _SIGNATURE.sub(r"\1=***", str(a)) if "key" in str(a) else a for a in record.args
            )
        elif isinstance(record.msg, str) and "key" in record.msg:
            record.msg = _SIGNATURE.sub(r"\1=***", record.msg)
        return True


logging.getLogger("httpx").addFilter(_MaskSignature())

API_VERSION = "1.18"
#: Most pages one export may have: a server whose ``next_page`` never ends (fresh URLs each time,
#: so no cycle to see) stops here. 100,000 pages of the default 1,000 rows is 100M rows.
MAX_PAGES = 100_000
RETRYABLE = frozenset({10, 11, 14})
KEY_WHERE = SALESLAYER_KEY_WHERE

#: Codes Sales Layer calls informative: data still comes back (reference §1.10).
INFORMATIVE = frozenset({5, 6, 7, 8})

_FATAL: dict[int, tuple[str, str]] = {
    1: (
        "Sales Layer refused the request as invalid (error 1: validation error)",
        "check source.api_url points at Sales Layer's connector API (https://api.saleslayer.com)",
    ),
    2: (
        "Sales Layer does not know the connector ID {code!r} (error 2: invalid connector code)",
        "set source.connector_id to the ID shown in Sales Layer → Channels → your connector → Parameters",
    ),
    3: (
        "Sales Layer rejected the request's 'unique' value (error 3)",
        "retry; if it persists something between us and Sales Layer (a proxy) alters requests",
    ),
    4: (
        "Sales Layer rejected the request signature (error 4: invalid codification key): the private key "
        "does not belong to connector {code!r}",
        "store the key shown in " + KEY_WHERE + " with 'listingsync connect saleslayer' "
        "(or set LISTINGSYNC_SALESLAYER_SECRET)",
    ),
    9: (
        "Sales Layer says the private key is invalid (error 9)",
        "the key may have been regenerated: copy it again from " + KEY_WHERE + " and store it with "
        "'listingsync connect saleslayer' (or set LISTINGSYNC_SALESLAYER_SECRET)",
    ),
    12: (
        "Sales Layer rejected the request time (error 12: incorrect date-code)",
        "this machine's clock is wrong: synchronise it (e.g. 'timedatectl set-ntp true')",
    ),
    13: (
        "Sales Layer says the request time has expired (error 13): this machine's clock is off",
        "synchronise the clock with NTP (e.g. 'timedatectl set-ntp true') and run again",
    ),
}
_TRANSIENT_TEXT = {
    10: "service temporarily blocked (error 10)",
    11: "service temporarily unavailable (error 11)",
    14: "Sales Layer is updating data (error 14)",
}


def key256(code: str, secret: str, time_: int | str, unique: int | str) -> str:
    """Lower-case hex SHA-256 of ``code + secret + time + unique``, no separators."""
    return hashlib.sha256(f"{code}{secret}{time_}{unique}".encode()).hexdigest()


class SalesLayerError(CatalogError):
    """Sales Layer answered with an error, or could not be reached; ``code`` is Sales Layer's
    error number (or the SDK's client-side 101 malformed answer / 102 network error)."""

    def __init__(self, code: int, message: str, *, fix: str | None = None, page: int | None = None) -> None:
        where = f"Sales Layer export, page {page}" if page else "Sales Layer export"
        super().__init__(message, where=where, fix=fix)
        self.code = code
        self.page = page


class _Transient(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


_Request = tuple[str, str, dict[str, str] | None, dict[str, str] | None]


def _get(url: str) -> _Request:
    """A later page: the ``next_page`` URL as given, no body, no fresh auth (as the SDK does)."""
    return ("GET", url, None, None)


class SalesLayerClient:
    """One connector: ``export(last_update)`` yields the decoded pages of one export."""

    def __init__(
        self,
        connector_id: str,
        secret: str,
        api_url: str = "https://api.saleslayer.com",
        *,
        pagination: int = 1000,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_pages: int = MAX_PAGES,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connector_id = connector_id
        self._secret = secret
        register_secret(secret)
        parts = urlsplit(api_url)
        # The API lives on the root path; a base without a path gets "/" (as httpx would send it),
        # and a mounted one (the emulator's /saleslayer) keeps its path with a trailing slash.
        self.api_url = api_url if parts.path.endswith("/") else api_url + "/"
        self._host = parts.netloc
        self.pagination = pagination
        # No time budget: source.max_retries is the bound the user set, and it holds.
        self.retry = RetryPolicy(
            max_attempts=max_retries + 1, base=backoff, cap=60.0, budget=float("inf"), jitter="equal"
        )
        self.max_pages = max_pages
        self._clock = clock
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=timeout, transport=transport, headers={"accept-encoding": "gzip"}, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"SalesLayerClient(connector_id={self.connector_id!r}, api_url={self.api_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SalesLayerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth(self) -> dict[str, str]:
        now = str(int(self._clock()))
        unique = str(secrets.randbelow(2**31 - 1) + 1)
        return {
            "code": self.connector_id,
            "time": now,
            "unique": unique,
            "key256": key256(self.connector_id, self._secret, now, unique),
        }

    def export(self, last_update: int | None = None) -> Iterator[dict[str, Any]]:
        """The pages of one export; ``last_update`` narrows it to changes since then."""
        query_extra: dict[str, str] = {
            "ver": API_VERSION,
            "group_category_id": "1",
            "same_parent_variants": "1",
            "parents_category_tree": "1",
            "first_parent_level": "1",
        }
        if last_update:
            query_extra["last_update"] = str(last_update)
        body = {"pagination": str(self.pagination)}
        page = 1
        doc = self._call(lambda: ("POST", self.api_url, {**self._auth(), **query_extra}, body), page)
        seen: dict[str, int] = {}  # next_page URL → the page it was fetched as
        while True:
            yield doc
            next_page = doc.get("next_page") or ""
            if not next_page:
                return
            self._check_next_page(next_page, page, seen)
            page += 1
            seen[next_page] = page
            doc = self._call(functools.partial(_get, next_page), page)

    def _check_next_page(self, next_page: Any, page: int, seen: dict[str, int]) -> None:
        """Refuse a ``next_page`` that leaves the host, leads back to a page already read (a cycle
        would loop for ever) or goes past :attr:`max_pages`; the checkpoint is then not moved."""
        problem = ""
        if not isinstance(next_page, str):
            problem = f"its next_page is not a URL ({type(next_page).__name__})"
        elif urlsplit(next_page).netloc != self._host:
            problem = f"its next_page points at another host ({urlsplit(next_page).netloc})"
        elif next_page in seen:
            problem = f"its next_page leads back to page {seen[next_page]} (a cycle)"
        elif page >= self.max_pages:
            problem = f"the export goes on past {self.max_pages} pages"
        if problem:
            raise SalesLayerError(
                101,
                f"Sales Layer's page {page} is refused: {problem}",
                fix="the checkpoint was not moved, so nothing is lost; run again, and if it persists "
                "report it to Sales Layer support (check source.api_url points at Sales Layer)",
                page=page,
            )

    def _call(
        self,
        request: Callable[[], _Request],
        page: int,
    ) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            method, url, params, data = request()  # fresh auth on every attempt
            return self._once(method, url, params, data, page)

        def announce(state: tenacity.RetryCallState) -> None:
            reason = state.outcome.exception() if state.outcome else None
            log.warning("Sales Layer page %d: %s; retrying in %.1f s", page, reason, state.upcoming_sleep)

        controller = self.retry.retrying(
            lambda failure: isinstance(failure, _Transient),
            sleep=self._sleep,
            before_sleep=announce,
        )
        try:
            return controller(attempt)
        except _Transient as exc:
            raise SalesLayerError(
                exc.code,
                f"Sales Layer kept failing: {exc.reason}; gave up after "
                f"{controller.statistics['attempt_number']} attempts",
                fix=(
                    f"check that {self.api_url} is Sales Layer's API address (source.api_url) "
                    "and reachable (network, HTTPS_PROXY); "
                    if exc.reason.startswith("network error")
                    else ""
                )
                + "try again later; the checkpoint was not moved, so nothing is lost",
                page=page,
            ) from None

    def _once(
        self, method: str, url: str, params: dict[str, str] | None, data: dict[str, str] | None, page: int
    ) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, params=params, data=data)
        except httpx.TimeoutException:
            raise _Transient(102, "the request timed out") from None
        except httpx.TransportError as exc:
            # str(exc) may carry the URL with key256: name the failure's type only.
            raise _Transient(102, f"network error ({type(exc).__name__})") from None
        content = response.content.removeprefix(b"\xef\xbb\xbf")
        try:
            doc = orjson.loads(content)
        except orjson.JSONDecodeError:
            if response.status_code >= 500:
                raise _Transient(102, f"HTTP {response.status_code}") from None
            if response.status_code >= 400:
                raise SalesLayerError(
                    102,
                    f"Sales Layer answered HTTP {response.status_code}",
                    fix="check source.api_url",
                    page=page,
                ) from None
            raise _Transient(101, "the answer is not valid JSON (error 101)") from None
        if not isinstance(doc, dict):
            raise _Transient(101, "the answer is not a JSON object (error 101)")
        error = doc.get("error") or 0
        if isinstance(error, str) and error.isdigit():
            error = int(error)
        if not error:
            return doc
        if error in RETRYABLE:
            raise _Transient(error, _TRANSIENT_TEXT[error])
        if error in INFORMATIVE and isinstance(doc.get("data"), dict):
            log.warning(
                "Sales Layer page %d: informative error %s (%s)", page, error, doc.get("error_message")
            )
            return doc
        message, fix = _FATAL.get(
            error,
            (
                f"Sales Layer answered error {error} ({doc.get('error_message') or 'no message'})",
                "see Sales Layer's API error list; check source.connector_id and the private key",
            ),
        )
        raise SalesLayerError(error, message.format(code=self.connector_id), fix=fix, page=page)
