"""The web dashboard: server-rendered pages on the same app as the JSON API.

    from listingsync.web.dashboard import mount_dashboard
    mount_dashboard(app, workspace, executor)      # serve's app factory does this

Pages are Jinja2 templates with htmx (shipped in ``web/static`` with its licence; no CDN, no build
step). People sign in with a user made by ``listingsync users add``; see ``auth.py`` for cookies,
CSRF and the Content-Security-Policy, ``pages.py`` for what each page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from listingsync.service.users import LoginThrottle, UserStore
from listingsync.web.dashboard.auth import LoginRequired, current_session, login_url, security_headers
from listingsync.web.dashboard.pages import router
from listingsync.web.dashboard.render import render

__all__ = ["mount_dashboard"]

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount_dashboard(app: FastAPI, workspace: Any, executor: Any, *, secure_cookies: bool = False) -> None:
    """Add the dashboard's pages, static files and headers to ``app`` (the service's FastAPI app)."""
    app.state.workspace = workspace
    app.state.executor = executor
    app.state.users = UserStore(workspace.engine)
    app.state.login_throttle = LoginThrottle()
    app.state.secure_cookies = secure_cookies
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router)
    app.middleware("http")(security_headers)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Any:
        # The JSON API keeps FastAPI's JSON errors; pages get a page (htmx fragments: the message).
        if request.url.path.startswith("/api/"):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        session = None
        try:
            session = current_session(request)
        except (LoginRequired, HTTPException):
            session = None
        if request.headers.get("HX-Request"):
            return HTMLResponse(
                f'<div class="flash bad" role="alert">{_escape(str(exc.detail))}</div>',
                status_code=exc.status_code,
            )
        titles = {401: "Sign in again", 403: "Not allowed", 404: "Not found", 413: "Too large"}
        return render(
            request,
            "error.html",
            session,
            status=exc.status_code,
            title=titles.get(exc.status_code, "Something went wrong"),
            message=str(exc.detail),
        )


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
