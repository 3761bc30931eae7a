"""Errors from Login with Amazon and the SP-API, as values a user can act on.

``SPAPIError`` keeps everything Amazon's support asks for (status, code, message, details and the
``x-amzn-RequestId``); its subclasses let callers branch on the kind of failure without parsing
codes. ``LWAError`` maps the OAuth error code to the setup step that fixes it.
"""

from __future__ import annotations

from typing import Any

import httpx

from listingsync.errors import ListingSyncError
from listingsync.redaction import redact

__all__ = [
    "InvalidInput",
    "LWAError",
    "NotFound",
    "QuotaExceeded",
    "SPAPIConnectionError",
    "SPAPIError",
    "ServerError",
    "Unauthorized",
    "error_from_response",
    "lwa_advice",
]


class SPAPIError(ListingSyncError):
    """An SP-API call answered with an error envelope ``{"errors":[{code, message, details}]}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        fix: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.details = redact(details) if details else details
        self.request_id = request_id
        self.operation = operation
        self.errors = errors or []
        text = f"{code}: {redact(message)}" if code else redact(message)
        if self.details:
            text += f" ({self.details})"
        text += f" [HTTP {status}"
        if request_id:
            text += f", x-amzn-RequestId {request_id}"
        text += "]"
        super().__init__(text, where=operation, fix=fix)
        # ``message`` is Amazon's own message (ListingSyncError.message would hold the decorated one).
        self.amazon_message = redact(message)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.amazon_message!r}, request_id={self.request_id!r})"
        )


class InvalidInput(SPAPIError):
    """400 (and 413/415): the request itself is wrong; retrying it unchanged cannot help."""


class Unauthorized(SPAPIError):
    """403: bad or expired token, missing role, or the app is not authorised for this region/partner."""


class NotFound(SPAPIError):
    """404: the resource (SKU, feed, document, product type) does not exist."""


class QuotaExceeded(SPAPIError):
    """429: throttled, and still throttled after the client's bounded retries."""


class ServerError(SPAPIError):
    """5xx: Amazon failed; still failing after the client's bounded retries."""


class SPAPIConnectionError(ListingSyncError):
    """The host could not be reached (DNS, refused, reset, timeout) even after retries."""

    def __init__(self, url: str, cause: BaseException, *, operation: str | None = None) -> None:
        self.url = url
        self.cause_name = type(cause).__name__
        super().__init__(
            f"cannot reach {url}: {self.cause_name}: {redact(str(cause)) or 'no details'}",
            where=operation,
            fix="check the network, a proxy (HTTPS_PROXY), or account.endpoint in listingsync.yaml",
        )


_BY_STATUS: dict[int, type[SPAPIError]] = {
    400: InvalidInput,
    403: Unauthorized,
    404: NotFound,
    413: InvalidInput,
    415: InvalidInput,
    429: QuotaExceeded,
}


def error_from_response(response: httpx.Response, operation: str | None = None) -> SPAPIError:
    """The exception for an error response, from Amazon's envelope when the body has one.

    Every model declares ``{"errors":[Error]}``; the Sellers model alone declares the list bare, and
    getMarketplaceParticipations may wrap it in its payload object, so all three shapes are read.
    """
    errors: list[dict[str, Any]] = []
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        errors = [e for e in body["errors"] if isinstance(e, dict)]
    elif isinstance(body, list):
        errors = [e for e in body if isinstance(e, dict)]
    first = errors[0] if errors else {}
    code = str(first.get("code") or response.headers.get("x-amzn-ErrorType", "") or response.reason_phrase)
    message = str(first.get("message") or (response.text[:300] if body is None else "") or "no message")
    details = first.get("details")
    cls = _BY_STATUS.get(response.status_code) or (ServerError if response.status_code >= 500 else SPAPIError)
    return cls(
        response.status_code,
        code,
        message,
        details=str(details) if details else None,
        request_id=response.headers.get("x-amzn-RequestId"),
        operation=operation,
        errors=errors,
    )


# --- Login with Amazon -----------------------------------------------------------------------------

_SECRET_STEP = "Developer Central → Develop Apps → your app → LWA credentials → View"
_AUTHORIZE_STEP = "Develop Apps → your app → Edit App → Authorize (choose the region) → Authorize app"

_LWA_ADVICE = {
    "invalid_client": (
        "LWA rejected the client id or client secret (LISTINGSYNC_LWA_CLIENT_ID / "
        "LISTINGSYNC_LWA_CLIENT_SECRET): one is mistyped, the app id (amzn1.sp.solution…) was given "
        "instead of the client id (amzn1.application-oa2-client…), or the secret expired (client "
        "secrets rotate every 180 days). Copy both again from " + _SECRET_STEP + "; if the secret "
        "expired, generate a new one there, then run 'listingsync connect'."
    ),
    "invalid_grant": (
        "LWA rejected the refresh token (LISTINGSYNC_LWA_REFRESH_TOKEN): it was revoked, mistyped, "
        "or issued to another app. Get a new one: " + _AUTHORIZE_STEP + ", then run 'listingsync "
        "connect' (the refresh token must come from the same app as the client id)."
    ),
    "unauthorized_client": (
        "LWA says this app is not allowed to use the refresh-token grant: the app may be in draft, "
        "lack the Product Listing role, or the refresh token belongs to another app. Check the app in "
        "Developer Central → Develop Apps (roles, status), then " + _AUTHORIZE_STEP + "."
    ),
    "invalid_request": (
        "LWA rejected the request as malformed (a field is missing or repeated). Check that the "
        "client id, client secret and refresh token are all set and contain no spaces or quotes."
    ),
    "access_denied": (
        "LWA denied access: the selling partner did not grant (or withdrew) the permission. "
        + _AUTHORIZE_STEP
        + " again."
    ),
    # The two below are the client's own codes (invented, not Amazon's): no answer, or an unusable one.
    "network_error": (
        "the Login with Amazon endpoint could not be reached: check the network and any proxy "
        "(HTTPS_PROXY), and account.lwa_endpoint in listingsync.yaml if you set it."
    ),
    "invalid_response": (
        "the token endpoint answered without an access token: is account.lwa_endpoint really a Login "
        "with Amazon token URL (https://api.amazon.com/auth/o2/token)?"
    ),
    "server_error": "Login with Amazon had an internal error; try again in a minute.",
    "temporarily_unavailable": "Login with Amazon is temporarily unavailable; try again in a minute.",
}


def lwa_advice(error: str) -> str:
    return _LWA_ADVICE.get(
        error,
        "Login with Amazon refused the token exchange; check the client id, client secret and "
        "refresh token, then run 'listingsync check'.",
    )


class LWAError(ListingSyncError):
    """The Login with Amazon token exchange failed; ``advice`` names the credential and setup step."""

    def __init__(
        self, error: str, description: str = "", *, status: int | None = None, endpoint: str = ""
    ) -> None:
        self.error = error
        self.description = redact(description)
        self.status = status
        self.endpoint = endpoint
        self.advice = lwa_advice(error)
        shown = f"{error}: {self.description}" if self.description else error
        status_text = f" (HTTP {status})" if status else ""
        super().__init__(
            f"Login with Amazon token exchange failed: {shown}{status_text}",
            where=endpoint or None,
            fix=self.advice,
        )

    @property
    def refused(self) -> bool:
        """LWA answered and refused a credential (4xx: invalid_client, invalid_grant …), as opposed
        to being unreachable: no cached answer may stand in for it, the user must fix it."""
        return self.status is not None and 400 <= self.status < 500

    def __repr__(self) -> str:
        return f"LWAError(error={self.error!r}, description={self.description!r}, status={self.status})"
