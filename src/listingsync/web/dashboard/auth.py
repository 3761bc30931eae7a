"""Sign-in for the dashboard: the session cookie, role checks, CSRF on every form, headers.

- The session cookie (``ls_session``) is HttpOnly and SameSite=Lax, Secure when served over HTTPS;
  it holds a random token whose SHA-256 the workspace keeps (``service/users.py``).
- Every POST carries the session's CSRF token (a hidden ``csrf_token`` field, or the
  ``X-CSRF-Token`` header htmx sends); the sign-in form, before any session, uses a double-submit
  cookie. A POST without a matching token is refused with 403 and changes nothing.
- Failed sign-ins are limited per user name and per client address (``LoginThrottle``).
- Every dashboard answer carries a strict Content-Security-Policy (no inline script or style, no
  other origin) and refuses to be framed.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from listingsync.service.users import LoginThrottle, Session, UserStore, csrf_matches

__all__ = [
    "CSP",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "LoginRequired",
    "checked_form",
    "current_session",
    "require",
    "security_headers",
]

SESSION_COOKIE = "ls_session"
LOGIN_CSRF_COOKIE = "ls_login_csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class LoginRequired(Exception):
    """Raised by :func:`current_session` when nobody is signed in: the app redirects to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def users(request: Request) -> UserStore:
    store: UserStore = request.app.state.users
    return store


def throttle(request: Request) -> LoginThrottle:
    limiter: LoginThrottle = request.app.state.login_throttle
    return limiter


def current_session(request: Request) -> Session:
    """The signed-in session, or a redirect to the sign-in page (HTML) / 401 (htmx requests)."""
    session = users(request).session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.headers.get("HX-Request"):
            raise HTTPException(401, "your session ended: sign in again")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return session


def require(session: Session, role: str) -> None:
    """403 unless the signed-in user holds ``role`` (viewers never start a write)."""
    if not session.user.can(role):
        raise HTTPException(403, f"this needs the {role} role; you are signed in as a {session.user.role}")


async def checked_form(request: Request, session: Session) -> FormData:
    """The POSTed form, after its CSRF token matched the session's (else 403, nothing done)."""
    form = await request.form()
    sent = request.headers.get("X-CSRF-Token") or _text(form.get("csrf_token"))
    if not csrf_matches(session, sent):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page and try again")
    return form


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_ok(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    sent = _text(form.get("csrf_token")) or ""
    return bool(cookie) and secrets.compare_digest(cookie, sent)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/", max_age=7 * 86400
    )


def safe_next(value: str | None) -> str:
    """Only a local path may follow sign-in (no open redirect to another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Headers on every dashboard answer (the JSON API under /api keeps its own)."""
    response = await call_next(request)
    if not request.url.path.startswith("/api/"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response
