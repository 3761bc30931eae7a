"""Amazon's error envelope: ``{"errors": [{"code", "message", "details"}]}`` (every SP-API model).

Handlers raise :class:`ApiError`; the app turns it into the envelope with the right status. LWA
errors have their own shape (``{"error", "error_description"}``), see :class:`LwaError`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = [
    "ApiError",
    "LwaError",
    "bad_request",
    "envelope",
    "json_response",
    "not_found",
    "quota_exceeded",
    "unauthorized",
]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON via orjson (the emulator's hot path)."""
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def envelope(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    """Amazon's error objects carry ``details`` (empty when there is nothing to add)."""
    return {"errors": [{"code": code, "message": message, "details": details or ""}]}


class ApiError(Exception):
    """An SP-API error answer; raised anywhere inside a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def response(self) -> Response:
        headers = {"x-amzn-ErrorType": self.code, **self.headers}
        return json_response(envelope(self.code, self.message, self.details), self.status, headers)


def bad_request(message: str, details: str | None = None, code: str = "InvalidInput") -> ApiError:
    return ApiError(400, code, message, details)


def not_found(message: str, details: str | None = None) -> ApiError:
    return ApiError(404, "NOT_FOUND", message, details)


def unauthorized(details: str = "") -> ApiError:
    """403 as Amazon sends it for a missing, bad, expired or wrong-region token."""
    return ApiError(403, "Unauthorized", "Access to requested resource is denied.", details)


def quota_exceeded() -> ApiError:
    return ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")


class LwaError(Exception):
    """A Login with Amazon error: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return json_response({"error": self.error, "error_description": self.description}, self.status)
