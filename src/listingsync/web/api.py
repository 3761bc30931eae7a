"""The JSON API under ``/api/v1``: connections, checks, runs, listings, issues, preview, health, metrics.

Every route but ``/api/v1/health`` needs a bearer token (:mod:`listingsync.web.auth`). Errors are
``{"error", "where", "fix"}`` documents (:class:`~listingsync.web.models.Problem`) with 400, 404,
409 (422: a request that does not match this document); nothing a client sends is answered with a 5xx unless the service itself is broken.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse

from listingsync import __version__
from listingsync.config import ConfigError
from listingsync.errors import ListingSyncError
from listingsync.redaction import redact
from listingsync.service import connections as svc
from listingsync.service import inspect, metrics, runs
from listingsync.service.executor import Executor, InProcessExecutor
from listingsync.service.workspace import Workspace
from listingsync.web.auth import require_token
from listingsync.web.models import (
    CheckOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    HealthOut,
    IssueOut,
    IssuePage,
    ListingOut,
    ListingPage,
    PreviewOut,
    Problem,
    RunIn,
    RunOut,
    RunPage,
)

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or a token that is not valid"},
    404: {"model": Problem, "description": "No such connection or run"},
    400: {
        "model": Problem,
        "description": "The request cannot be carried out (the error says why and the fix)",
    },
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    409: {"model": Problem, "description": "Conflicts with what exists (a name taken, a run in progress)"},
}

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page")]


def _problem(exc: ListingSyncError, code: int) -> JSONResponse:
    body: dict[str, Any] = {"error": redact(exc.message), "where": exc.where, "fix": exc.fix}
    if isinstance(exc, ConfigError):
        body["problems"] = [{"key": p.key, "message": p.message} for p in exc.problems]
    return JSONResponse(body, status_code=code)


def _status_of(exc: ListingSyncError) -> int:
    if isinstance(exc, svc.ConnectionNotFound | runs.RunNotFound):
        return status.HTTP_404_NOT_FOUND
    if isinstance(exc, svc.ConnectionExists | runs.RunBusyError):
        return status.HTTP_409_CONFLICT
    return status.HTTP_400_BAD_REQUEST


def create_app(
    ws: Workspace, *, executor: Executor | None = None, dashboard: bool = True, secure_cookies: bool = False
) -> FastAPI:
    """The API app for a workspace, with the dashboard's pages on the same app (``dashboard=False``:
    the API alone). ``secure_cookies`` marks the sign-in cookie Secure (serving behind HTTPS)."""
    app = FastAPI(
        title="listingsync",
        version=__version__,
        description="Keep Amazon listings in sync with a product catalogue: connections, runs, listings.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.workspace = ws
    app.state.executor = executor or InProcessExecutor(ws)

    @app.exception_handler(ListingSyncError)
    def _on_error(request: Request, exc: ListingSyncError) -> JSONResponse:
        return _problem(exc, _status_of(exc))

    public = APIRouter(prefix=API_PREFIX, tags=["health"])
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=_ERRORS)

    @public.get("/health", response_model=HealthOut)
    def health() -> HealthOut:
        """Liveness and the database (no token needed)."""
        try:
            with ws.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:
            return HealthOut(status="degraded", database="unreachable")
        return HealthOut(status="ok", database=ws.dialect)

    # -- connections ---------------------------------------------------------------------------

    @api.get("/connections", response_model=list[ConnectionOut], tags=["connections"])
    def list_connections() -> list[dict[str, Any]]:
        return [c.as_dict() for c in svc.list_connections(ws)]

    @api.post(
        "/connections",
        response_model=ConnectionOut,
        status_code=status.HTTP_201_CREATED,
        tags=["connections"],
        responses=_WRITE_ERRORS,
    )
    def add_connection(body: ConnectionIn) -> dict[str, Any]:
        """Add a connection from a listingsync.yaml document (as JSON) and its secrets (write-only)."""
        return svc.add_connection(
            ws,
            body.name,
            body.config,
            base_dir=body.base_dir,
            secrets={str(k): v for k, v in body.secrets.items()},
            enabled=body.enabled,
        ).as_dict()

    @api.get("/connections/{name}", response_model=ConnectionOut, tags=["connections"])
    def get_connection(name: str) -> dict[str, Any]:
        return svc.get_connection(ws, name).as_dict()

    @api.patch(
        "/connections/{name}",
        response_model=ConnectionOut,
        tags=["connections"],
        responses=_WRITE_ERRORS,
    )
    def update_connection(name: str, body: ConnectionPatch) -> dict[str, Any]:
        """Change the document, secrets (write-only) or whether the schedule runs."""
        return svc.update_connection(
            ws,
            name,
            document=body.config,
            base_dir=body.base_dir,
            secrets={str(k): v for k, v in body.secrets.items()},
            enabled=body.enabled,
        ).as_dict()

    @api.delete("/connections/{name}", status_code=status.HTTP_204_NO_CONTENT, tags=["connections"])
    def remove_connection(name: str) -> Response:
        """Remove the connection, its secrets, runs and state (nothing on Amazon changes)."""
        svc.remove_connection(ws, name)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.post("/connections/{name}/check", response_model=CheckOut, tags=["connections"])
    def check_connection(name: str) -> dict[str, Any]:
        """The steps of `listingsync check`: credentials, region, seller/vendor id, marketplaces, source."""
        steps = inspect.check_connection(ws, svc.get_connection(ws, name))
        return {"ok": all(s["ok"] for s in steps), "steps": steps}

    @api.get("/connections/{name}/preview", response_model=PreviewOut, tags=["connections"])
    def preview(name: str, sku: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
        """One SKU: the source record → the listing JSON per marketplace → every issue (nothing is sent)."""
        return inspect.preview_sku(ws, svc.get_connection(ws, name), sku)

    # -- runs ------------------------------------------------------------------------------------

    @api.post(
        "/connections/{name}/runs",
        response_model=RunOut,
        status_code=status.HTTP_202_ACCEPTED,
        tags=["runs"],
        responses=_WRITE_ERRORS,
    )
    def start_run(name: str, body: RunIn | None = None) -> dict[str, Any]:
        """Queue a run now: send, dry-run (the plan with per-attribute diffs) or preview (Amazon's
        VALIDATION_PREVIEW). 409 while the connection has a run queued or running."""
        run = runs.create_run(ws, name, trigger="api", mode=(body or RunIn()).mode)
        app.state.executor.submit(run.id)
        return run.as_dict()

    @api.get("/runs", response_model=RunPage, tags=["runs"])
    def list_runs(
        connection: str | None = None,
        run_status: Annotated[list[str] | None, Query(alias="status")] = None,
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Newest first; page back with ``before``."""
        found = runs.list_runs(ws, connection=connection, statuses=run_status, before=before, limit=limit + 1)
        more = len(found) > limit
        found = found[:limit]
        return {
            "items": [r.as_dict() for r in found],
            "next_before": found[-1].id if more and found else None,
        }

    @api.get("/runs/{run_id}", response_model=RunOut, tags=["runs"])
    def get_run(run_id: int) -> dict[str, Any]:
        """One run with its live progress and, for dry runs and previews, its per-SKU result."""
        return runs.get_run(ws, run_id).as_dict(result=True)

    @api.post("/runs/{run_id}/cancel", response_model=RunOut, tags=["runs"])
    def cancel_run(run_id: int) -> dict[str, Any]:
        """Cancel: a queued run at once; a running one within a second (writes in flight stay as
        intents, settled by the next run)."""
        return runs.cancel_run(ws, run_id).as_dict()

    # -- listings --------------------------------------------------------------------------------

    def _page(
        name: str,
        after: str | None,
        limit: int,
        listing_status: list[str] | None,
        marketplace: list[str] | None,
        severity: str | None,
        code: str | None,
        q: str | None,
        with_issues: bool,
    ) -> tuple[list[Any], str | None]:
        rows, nxt, _ = inspect.listings_page(
            ws,
            svc.get_connection(ws, name),
            after=after,
            limit=limit,
            statuses=listing_status,
            marketplaces=marketplace,
            severity=severity,
            code=code,
            search=q,
            with_issues=with_issues,
        )
        return rows, nxt

    @api.get("/connections/{name}/listings", response_model=ListingPage, tags=["listings"])
    def listings(
        name: str,
        after: str | None = None,
        limit: Limit = 100,
        listing_status: Annotated[list[str] | None, Query(alias="status")] = None,
        marketplace: Annotated[list[str] | None, Query(description="Country code or marketplace id")] = None,
        severity: Annotated[str | None, Query(pattern="^(?i:error|warning|info)$")] = None,
        code: str | None = None,
        q: Annotated[str | None, Query(description="Part of a SKU or ASIN")] = None,
    ) -> dict[str, Any]:
        """One row per SKU and marketplace, filtered, in SKU order; page on with ``after``."""
        rows, nxt = _page(name, after, limit, listing_status, marketplace, severity, code, q, False)
        return {"items": [ListingOut(**inspect.listing_dict(r)) for r in rows], "next": nxt}

    @api.get("/connections/{name}/issues", response_model=IssuePage, tags=["listings"])
    def issues(
        name: str,
        after: str | None = None,
        limit: Limit = 100,
        listing_status: Annotated[list[str] | None, Query(alias="status")] = None,
        marketplace: list[str] | None = None,
        severity: Annotated[str | None, Query(pattern="^(?i:error|warning|info)$")] = None,
        code: str | None = None,
        q: str | None = None,
    ) -> dict[str, Any]:
        """Every issue (ours and Amazon's) of the listings of a page; page on with ``after``."""
        rows, nxt = _page(name, after, limit, listing_status, marketplace, severity, code, q, True)
        items = [
            IssueOut(
                sku=r.sku,
                marketplace_id=r.marketplace_id,
                status=r.status,
                severity=i.get("severity"),
                code=i.get("code"),
                attributes=[str(a) for a in i.get("attributeNames") or []],
                message=i.get("message"),
                source=str(i.get("source", "amazon")),
            )
            for r in rows
            for i in r.issues
            if (not severity or str(i.get("severity", "")).upper() == severity.upper())
            and (not code or i.get("code") == code)
        ]
        return {"items": items, "next": nxt}

    # -- metrics ---------------------------------------------------------------------------------

    @api.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    )
    def prometheus() -> Response:
        """Prometheus metrics: runs, writes, requests and 429s per connection; queue depth."""
        return Response(metrics.render(ws), media_type=metrics.CONTENT_TYPE)

    app.include_router(public)
    app.include_router(api)
    if dashboard:
        from listingsync.web.dashboard import mount_dashboard

        mount_dashboard(app, ws, app.state.executor, secure_cookies=secure_cookies)
    return app
