"""The dashboard's pages: connections, connecting an Amazon account, source, mapping, runs, listings,
users. Rendered on the server (Jinja2); htmx swaps the small parts (Verify, live preview).

Every page needs a signed-in session; every POST its CSRF token; every write the editor role (users:
admin). Pages ask ``service/`` for everything (never ``sync/`` internals). Secrets go one way: the
forms take them, nothing ever renders one back (the inputs stay empty; the page says which are set).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from listingsync.amazon import Credentials
from listingsync.amazon import marketplaces as mp
from listingsync.catalog import open_source
from listingsync.catalog.inspect import inspect_source
from listingsync.checks import CheckStep, check_account, check_source
from listingsync.config import AccountConfig, ConfigError
from listingsync.errors import ListingSyncError
from listingsync.service import (
    ConnectionError,
    RunBusyError,
    RunNotFound,
    add_connection,
    cancel_run,
    create_run,
    get_connection,
    get_run,
    inspect,
    list_connections,
    list_runs,
    update_connection,
)
from listingsync.service.connections import Connection, config_of
from listingsync.service.listings import listing_detail, listing_facets, request_resend
from listingsync.service.mapping_help import product_type_needs, starter_mapping
from listingsync.service.users import ROLES, Session, UserError
from listingsync.web.dashboard import auth
from listingsync.web.dashboard.auth import checked_form, current_session, require
from listingsync.web.dashboard.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: What Amazon's setup guide calls each value and where Seller/Vendor Central shows it.
GUIDE = {
    "client_id": "Apps and Services → Develop Apps → your app → LWA credentials → View: Client identifier "
    "(amzn1.application-oa2-client…)",
    "client_secret": "same place: Client secret (it rotates every 180 days)",
    "refresh_token": "Develop Apps → the menu beside Edit App → Authorize → choose the region → Authorize app "
    "(Atzr|…; one per region)",
    "vendor": "Vendor Central → Settings → Account Info → Business Information: your vendor code (e.g. C96QA)",
    "seller": "Seller Central → Settings → Account Info → Business Information → Merchant Token (A2…)",
}


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _executor(request: Request) -> Any:
    return request.app.state.executor


def _connection_or_404(request: Request, name: str) -> Connection:
    try:
        return get_connection(_ws(request), name)
    except ConnectionError as exc:
        raise HTTPException(404, exc.message) from None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- sign-in -----------------------------------------------------------------------------------------


@router.get("/login", name="dash-login")
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = auth.new_login_csrf()
    response = render(
        request, "login.html", None, title="Sign in", login_csrf=token, next=auth.safe_next(next), username=""
    )
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name, password = _text(form, "username"), str(form.get("password") or "")
    address = request.client.host if request.client else "?"
    next_url = auth.safe_next(_text(form, "next"))

    def again(error: str, status: int) -> HTMLResponse:
        token = auth.new_login_csrf()
        page = render(
            request,
            "login.html",
            None,
            status=status,
            title="Sign in",
            login_csrf=token,
            next=next_url,
            username=name,
            error=error,
        )
        page.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
        return page

    if not auth.login_csrf_ok(request, form):
        return again("The sign-in form expired. Please sign in again.", 403)
    limiter = auth.throttle(request)
    wait = limiter.retry_after(name, address)
    if wait > 0:
        return again(f"Too many failed sign-ins. Try again in {int(wait // 60) + 1} minutes.", 429)
    user = await asyncio.to_thread(auth.users(request).authenticate, name, password)
    if user is None:
        limiter.failed(name, address)
        return again("Wrong user name or password.", 401)
    limiter.succeeded(name)
    token, _session = auth.users(request).open_session(user)
    response = RedirectResponse(next_url, status_code=303)
    auth.set_session_cookie(response, token, secure=request.app.state.secure_cookies)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", name="dash-logout")
async def logout(request: Request) -> RedirectResponse:
    session = current_session(request)
    await checked_form(request, session)
    auth.users(request).close_session(request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


# -- connections -------------------------------------------------------------------------------------


@router.get("/", name="dash-home")
def home(request: Request) -> HTMLResponse:
    session = current_session(request)
    ws = _ws(request)
    rows = []
    for connection in list_connections(ws):
        last = list_runs(ws, connection=connection.name, limit=1)
        rows.append(
            {
                "connection": connection,
                "account": connection.document.get("account", {}),
                "last": last[0] if last else None,
            }
        )
    return render(request, "connections.html", session, title="Connections", nav="connections", rows=rows)


def _account_form(form: FormData) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(account section, secrets, problems) from the connect form."""
    kind = _text(form, "type") or "vendor"
    countries = [
        c.strip().upper() for c in _text(form, "marketplaces").replace(";", ",").split(",") if c.strip()
    ]
    account: dict[str, Any] = {
        "type": kind,
        "selling_partner_id": _text(form, "selling_partner_id"),
        "marketplaces": countries,
    }
    if _text(form, "region"):
        account["region"] = _text(form, "region").lower()
    for key in ("endpoint", "lwa_endpoint"):
        if _text(form, key):
            account[key] = _text(form, key)
    secrets = {
        "lwa_client_id": _text(form, "client_id"),
        "lwa_client_secret": str(form.get("client_secret") or "").strip(),
        "lwa_refresh_token": str(form.get("refresh_token") or "").strip(),
    }
    problems = []
    labels = {
        "lwa_client_id": "App Client ID",
        "lwa_client_secret": "App Client Secret",
        "lwa_refresh_token": "App Refresh Token",
    }
    for key, label in labels.items():
        if not secrets[key]:
            problems.append(f"{label} is empty")
    if not account["selling_partner_id"]:
        problems.append("Vendor Code / Merchant Token is empty")
    if not countries:
        problems.append("choose at least one country")
    return account, secrets, problems


async def _verify(form: FormData) -> tuple[list[CheckStep], dict[str, Any], dict[str, str]]:
    account_doc, secrets, problems = _account_form(form)
    if problems:
        return [CheckStep("form", False, "; ".join(problems), "fill in every field")], account_doc, secrets
    try:
        account = AccountConfig.model_validate(account_doc)
    except ValueError as exc:
        text = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in getattr(exc, "errors", lambda: [])()
        ) or str(exc)
        return [CheckStep("account", False, text, "correct the field named")], account_doc, secrets
    credentials = Credentials(
        secrets["lwa_client_id"], secrets["lwa_client_secret"], secrets["lwa_refresh_token"]
    )
    steps = await check_account(account, credentials)
    return steps, account_doc, secrets


def _connect_form(
    request: Request, session: Session, values: dict[str, str], *, status: int = 200, **outcome: Any
) -> HTMLResponse:
    """The connect page: empty, or filled in again with ``values`` and the steps that failed."""
    return render(
        request,
        "connect.html",
        session,
        status=status,
        title="Connect an Amazon account",
        nav="connections",
        guide=GUIDE,
        regions=[r.value for r in mp.Region],
        countries=_countries(),
        values=values,
        **outcome,
    )


@router.get("/connections/new", name="dash-connect")
def connect_page(request: Request) -> HTMLResponse:
    session = current_session(request)
    require(session, "editor")
    return _connect_form(request, session, {"type": "vendor"})


@router.post("/connections/verify", name="dash-verify")
async def verify(request: Request) -> HTMLResponse:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    steps, _account, _secrets = await _verify(form)
    return render(request, "_steps.html", session, steps=steps, ok=all(s.ok for s in steps))


@router.post("/connections/new")
async def connect(request: Request) -> Response:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    name = _text(form, "name")
    steps, account, secrets = await _verify(form)
    values = {
        k: _text(form, k)
        for k in (
            "name",
            "type",
            "selling_partner_id",
            "marketplaces",
            "region",
            "endpoint",
            "lwa_endpoint",
            "client_id",
        )
    }
    ok = all(s.ok for s in steps)
    error = None
    if ok:
        try:
            await asyncio.to_thread(add_connection, _ws(request), name, {"account": account}, secrets=secrets)
        except (ConnectionError, ConfigError) as exc:
            error = f"{exc.message}" + (f" — {exc.fix}" if exc.fix else "")
        else:
            return RedirectResponse(request.url_for("dash-connection", name=name), status_code=303)
    return _connect_form(
        request,
        session,
        values,
        status=400,
        steps=steps,
        ok=ok,
        error=error or ("Nothing was saved: fix the step marked ✗." if not ok else None),
    )


def _countries() -> dict[str, list[str]]:
    return {r.value: [m.country for m in mp.in_region(r)] for r in mp.Region}


@router.get("/connections/{name}", name="dash-connection")
def connection_page(request: Request, name: str) -> HTMLResponse:
    session = current_session(request)
    ws = _ws(request)
    connection = _connection_or_404(request, name)
    runs = list_runs(ws, connection=name, limit=10)
    counts = _status_counts(ws, name)
    return render(
        request,
        "connection.html",
        session,
        title=name,
        nav="connections",
        connection=connection,
        document=connection.document,
        runs=runs,
        counts=counts,
        document_yaml=yaml.safe_dump(connection.document, sort_keys=False, allow_unicode=True),
    )


def _status_counts(ws: Any, scope: str) -> dict[str, int]:
    return dict(sorted(ws.store(scope).counts().items()))


@router.post("/connections/{name}/schedule", name="dash-schedule")
async def save_schedule(request: Request, name: str) -> RedirectResponse:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    document = dict(connection.document)
    every, cron = _text(form, "every"), _text(form, "cron")
    if every or cron:
        document["schedule"] = {"every": every} if every else {"cron": cron}
    else:
        document.pop("schedule", None)
    return await _save_document(request, connection, document, "Schedule saved.")


async def _save_document(
    request: Request,
    connection: Connection,
    document: dict[str, Any],
    done: str,
    *,
    secrets: dict[str, str] | None = None,
) -> RedirectResponse:
    target = request.url_for("dash-connection", name=connection.name)
    try:
        await asyncio.to_thread(
            update_connection, _ws(request), connection.name, document=document, secrets=secrets
        )
    except (ConfigError, ConnectionError) as exc:
        return _flash_redirect(target, f"Not saved: {exc.message}", "bad")
    return _flash_redirect(target, done, "ok")


def _flash_redirect(url: Any, text: str, kind: str) -> RedirectResponse:
    response = RedirectResponse(str(url), status_code=303)
    response.set_cookie(
        "ls_flash", json.dumps({"text": text[:500], "kind": kind}), httponly=True, samesite="lax", max_age=60
    )
    return response


# -- source --------------------------------------------------------------------------------------------


@router.get("/connections/{name}/source", name="dash-source")
async def source_page(request: Request, name: str) -> HTMLResponse:
    session = current_session(request)
    connection = _connection_or_404(request, name)
    report, error = None, None
    if connection.document.get("source"):
        try:
            report = await asyncio.to_thread(_inspect, connection)
        except ListingSyncError as exc:
            error = f"{exc.where + ': ' if exc.where else ''}{exc.message}" + (
                f" — fix: {exc.fix}" if exc.fix else ""
            )
    return render(
        request,
        "source.html",
        session,
        title=f"{name} · source",
        nav="connections",
        connection=connection,
        source=connection.document.get("source") or {},
        report=report,
        error=error,
    )


def _inspect(connection: Connection) -> Any:
    config = config_of(connection.name, connection.document, connection.base_dir)
    source = open_source(config)
    try:
        return inspect_source(source, samples=3)
    finally:
        source.close()


@router.post("/connections/{name}/source")
async def save_source(request: Request, name: str) -> Response:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    kind = _text(form, "kind")
    document = dict(connection.document)
    secrets: dict[str, str] = {}
    if kind == "saleslayer":
        connector = _text(form, "connector_id")
        key = str(form.get("private_key") or "").strip()
        source: dict[str, Any] = {"type": "saleslayer", "connector_id": connector}
        if _text(form, "api_url"):
            source["api_url"] = _text(form, "api_url")
        document["source"] = source
        if key:
            secrets["saleslayer_secret"] = key
            config = config_of(name, document, connection.base_dir)
            step = await asyncio.to_thread(check_source, config, saleslayer_secret=key)
            if step is not None and not step.ok:
                return _flash_redirect(
                    request.url_for("dash-source", name=name),
                    f"Sales Layer refused: {step.message} — {step.fix or ''}",
                    "bad",
                )
    else:
        upload = form.get("file")
        path = _text(form, "path")
        if isinstance(upload, UploadFile) and upload.filename:
            path = await asyncio.to_thread(_store_upload, connection, upload)
        if not path:
            return _flash_redirect(
                request.url_for("dash-source", name=name), "Choose a file or give a path.", "bad"
            )
        suffix = Path(path).suffix.lower().lstrip(".")
        file_type = {"xlsx": "xlsx", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl"}.get(suffix, "csv")
        document["source"] = {"type": file_type, "path": path}
    target = request.url_for("dash-source", name=name)
    try:
        await asyncio.to_thread(
            update_connection, _ws(request), name, document=document, secrets=secrets or None
        )
    except (ConfigError, ConnectionError) as exc:
        return _flash_redirect(target, f"Not saved: {exc.message}", "bad")
    return _flash_redirect(target, "Source saved.", "ok")


#: Uploads larger than this are refused (a path on the server suits big catalogues better).
MAX_UPLOAD = 200 * 1024 * 1024


def _store_upload(connection: Connection, upload: UploadFile) -> str:
    name = Path(upload.filename or "catalogue.csv").name
    if not name or name.startswith("."):
        name = "catalogue.csv"
    folder = Path(connection.base_dir) / ".listingsync" / "uploads" / connection.name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > MAX_UPLOAD:
                out.close()
                target.unlink(missing_ok=True)
                raise HTTPException(
                    413, f"the file is larger than {MAX_UPLOAD >> 20} MiB: give a path on the server instead"
                )
            out.write(chunk)
    return str(target)


# -- mapping -------------------------------------------------------------------------------------------


@router.get("/connections/{name}/mapping", name="dash-mapping")
def mapping_page(request: Request, name: str, sku: str = "") -> HTMLResponse:
    session = current_session(request)
    connection = _connection_or_404(request, name)
    listings = connection.document.get("listings") or {}
    text = yaml.safe_dump(listings, sort_keys=False, allow_unicode=True) if listings else ""
    return render(
        request,
        "mapping.html",
        session,
        title=f"{name} · mapping",
        nav="connections",
        connection=connection,
        mapping_yaml=text,
        sku=sku,
        needs=product_type_needs(connection),
    )


def _listings_from(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ListingSyncError(
            f"the mapping is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ListingSyncError("the mapping must be a YAML mapping (product_type:, attributes: …)")
    return data


@router.post("/connections/{name}/mapping/preview", name="dash-preview")
async def mapping_preview(request: Request, name: str) -> HTMLResponse:
    session = current_session(request)
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    sku = _text(form, "sku")
    if not sku:
        return render(request, "_preview.html", session, message="Type a SKU to preview it.")
    try:
        listings = _listings_from(str(form.get("mapping") or ""))
        preview = await asyncio.to_thread(
            inspect.preview_sku, _ws(request), connection, sku, listings=listings
        )
    except (ListingSyncError, ConfigError) as exc:
        message = exc.message + (f" — fix: {exc.fix}" if exc.fix else "")
        return render(request, "_preview.html", session, error=message)
    errors = sum(1 for item in preview["listings"] for i in item["issues"] if i["severity"] == "ERROR")
    return render(request, "_preview.html", session, preview=preview, errors=errors)


@router.post("/connections/{name}/mapping")
async def save_mapping(request: Request, name: str) -> RedirectResponse:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    # Back to the editor with the SKU that was being previewed, so its preview shows the saved mapping.
    target = request.url_for("dash-mapping", name=name).include_query_params(sku=_text(form, "sku"))
    try:
        listings = _listings_from(str(form.get("mapping") or ""))
    except ListingSyncError as exc:
        return _flash_redirect(target, f"Not saved: {exc.message}", "bad")
    document = {**connection.document, "listings": listings}
    try:
        await asyncio.to_thread(update_connection, _ws(request), name, document=document)
    except (ConfigError, ConnectionError) as exc:
        return _flash_redirect(target, f"Not saved: {exc.message}", "bad")
    return _flash_redirect(target, "Mapping saved: the next run rebuilds the listings it changes.", "ok")


@router.post("/connections/{name}/mapping/suggest", name="dash-suggest")
async def mapping_suggest(request: Request, name: str) -> HTMLResponse:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    product_type = _text(form, "product_type").upper() or "HOME"
    try:
        text = await asyncio.to_thread(starter_mapping, connection, product_type)
    except ListingSyncError as exc:
        return render(
            request, "_suggest.html", session, error=exc.message + (f" — fix: {exc.fix}" if exc.fix else "")
        )
    return render(request, "_suggest.html", session, text=text)


# -- runs ------------------------------------------------------------------------------------------------


@router.post("/connections/{name}/runs", name="dash-start-run")
async def start_run(request: Request, name: str) -> RedirectResponse:
    session = current_session(request)
    require(session, "editor")
    form = await checked_form(request, session)
    connection = _connection_or_404(request, name)
    mode = _text(form, "mode") or "send"
    ws = _ws(request)
    try:
        run = await asyncio.to_thread(create_run, ws, connection, trigger="manual", mode=mode)
    except RunBusyError as exc:
        return _flash_redirect(request.url_for("dash-connection", name=name), exc.message, "bad")
    except ListingSyncError as exc:
        return _flash_redirect(request.url_for("dash-connection", name=name), exc.message, "bad")
    _executor(request).submit(run.id)
    return RedirectResponse(request.url_for("dash-run", run_id=run.id), status_code=303)


@router.get("/runs", name="dash-runs")
def runs_page(request: Request, connection: str = "", status: str = "") -> HTMLResponse:
    session = current_session(request)
    runs = list_runs(
        _ws(request), connection=connection or None, statuses=[status] if status else None, limit=100
    )
    return render(
        request,
        "runs.html",
        session,
        title="Runs",
        nav="runs",
        runs=runs,
        connection=connection,
        status_filter=status,
        connections=[c.name for c in list_connections(_ws(request))],
    )


def _run_or_404(request: Request, run_id: int) -> Any:
    try:
        return get_run(_ws(request), run_id)
    except RunNotFound as exc:
        raise HTTPException(404, exc.message) from None


@router.get("/runs/{run_id}", name="dash-run")
def run_page(request: Request, run_id: int) -> HTMLResponse:
    session = current_session(request)
    run = _run_or_404(request, run_id)
    return render(
        request, "run.html", session, title=f"Run #{run_id}", nav="runs", run=run, diff=_diff_rows(run)
    )


def _diff_rows(run: Any) -> list[dict[str, Any]]:
    """Per-SKU rows of a dry run or preview: the op and each changed attribute."""
    result = run.result or {}
    rows = result.get("skus") if isinstance(result, dict) else None
    return list(rows or [])[:500]


@router.get("/runs/{run_id}/events", name="dash-run-events")
async def run_events(request: Request, run_id: int) -> StreamingResponse:
    """Server-sent events: ``progress`` while the run lives, then one ``end``."""
    current_session(request)
    _run_or_404(request, run_id)
    ws = _ws(request)
    poll = float(getattr(request.app.state, "progress_poll", 0.5))

    async def events() -> Any:
        last = None
        while True:
            run = await asyncio.to_thread(get_run, ws, run_id)
            payload = _progress_payload(run)
            if payload != last:
                yield f"event: progress\ndata: {json.dumps(payload)}\n\n"
                last = payload
            if run.finished:
                yield f"event: end\ndata: {json.dumps({'status': run.status})}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _progress_payload(run: Any) -> dict[str, Any]:
    progress = run.progress or {}
    done, total = progress.get("done") or 0, progress.get("total") or 0
    text = progress.get("description") or progress.get("phase") or run.status
    if total:
        text = f"{text}: {done:,} of {total:,}"
    return {"status": run.status, "done": done, "total": total, "text": text}


@router.post("/runs/{run_id}/cancel", name="dash-cancel")
async def cancel(request: Request, run_id: int) -> RedirectResponse:
    session = current_session(request)
    require(session, "editor")
    await checked_form(request, session)
    _run_or_404(request, run_id)
    await asyncio.to_thread(cancel_run, _ws(request), run_id)
    return _flash_redirect(request.url_for("dash-run", run_id=run_id), "Cancel requested.", "ok")


# -- listings ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFilter:
    """The listings page's filters, as they travel in the URL (so a filtered view can be shared)."""

    status: str = ""
    marketplace: str = ""
    product_type: str = ""
    issue_code: str = ""
    severity: str = ""
    q: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


PAGE_SIZE = 50
COUNT_CAP = 1_000


@router.get("/connections/{name}/listings", name="dash-listings")
def listings_page(
    request: Request,
    name: str,
    status: str = "",
    marketplace: str = "",
    product_type: str = "",
    issue_code: str = "",
    severity: str = "",
    q: str = "",
    after: str = "",
) -> HTMLResponse:
    session = current_session(request)
    connection = _connection_or_404(request, name)
    filters = ListingFilter(status, marketplace, product_type, issue_code, severity.upper(), q.strip())
    try:
        rows, next_after, total = inspect.listings_page(
            _ws(request),
            connection,
            after=after or None,
            limit=PAGE_SIZE,
            statuses=[status] if status else None,
            marketplaces=[marketplace] if marketplace else None,
            product_types=[product_type] if product_type else None,
            severity=filters.severity or None,
            code=issue_code or None,
            search=filters.q or None,
            total=True,
            # Filters that read each row's JSON count up to a bound: "1,000+ listings match".
            total_cap=COUNT_CAP if (issue_code or severity or filters.q) else None,
        )
    except ListingSyncError as exc:
        raise HTTPException(400, exc.message + (f" — {exc.fix}" if exc.fix else "")) from None
    return render(
        request,
        "listings.html",
        session,
        title=f"{name} · listings",
        nav="connections",
        connection=connection,
        rows=[_row(r) for r in rows],
        total=total,
        total_capped=total == COUNT_CAP and bool(issue_code or severity or filters.q),
        next_after=next_after,
        after=after,
        facets=listing_facets(connection),
        filters=filters,
    )


def _row(state: Any) -> dict[str, Any]:
    names = (state.sent_attributes or {}).get("item_name") or [{}]
    market = mp.find(state.marketplace_id)
    return {
        "state": state,
        "country": market.country if market else state.marketplace_id,
        "title": names[0].get("value") if isinstance(names[0], dict) else None,
        "errors": sum(1 for i in state.issues if i.get("severity") == "ERROR"),
        "warnings": sum(1 for i in state.issues if i.get("severity") == "WARNING"),
    }


@router.get("/connections/{name}/listings/{marketplace}/{sku:path}", name="dash-listing")
def listing_page(request: Request, name: str, marketplace: str, sku: str) -> HTMLResponse:
    session = current_session(request)
    connection = _connection_or_404(request, name)
    detail = listing_detail(_ws(request), connection, sku, marketplace)
    if detail is None:
        raise HTTPException(404, f"no listing {sku} in {marketplace} for {name}")
    market = mp.find(marketplace)
    return render(
        request,
        "listing.html",
        session,
        title=f"{sku} · {name}",
        nav="connections",
        connection=connection,
        row=detail.state,
        record=detail.record,
        history=detail.history,
        country=market.country if market else marketplace,
    )


@router.post("/connections/{name}/listings/{marketplace}/{sku:path}/resend", name="dash-resend")
async def resend(request: Request, name: str, marketplace: str, sku: str) -> RedirectResponse:
    session = current_session(request)
    require(session, "editor")
    await checked_form(request, session)
    connection = _connection_or_404(request, name)
    ws = _ws(request)
    target = request.url_for("dash-listing", name=name, marketplace=marketplace, sku=sku)
    if not await asyncio.to_thread(request_resend, ws, connection, sku, marketplace):
        raise HTTPException(404, f"no listing {sku} in {marketplace} for {name}")
    try:
        run = await asyncio.to_thread(create_run, ws, connection, trigger="manual", mode="send")
    except RunBusyError as exc:
        return _flash_redirect(target, f"Marked for resending; {exc.message}", "ok")
    _executor(request).submit(run.id)
    return _flash_redirect(target, f"Resending in run #{run.id}.", "ok")


# -- users -------------------------------------------------------------------------------------------------


@router.get("/users", name="dash-users")
def users_page(request: Request) -> HTMLResponse:
    session = current_session(request)
    require(session, "admin")
    return render(
        request,
        "users.html",
        session,
        title="Users",
        nav="users",
        users=auth.users(request).list(),
        roles=ROLES,
    )


@router.post("/users")
async def add_user(request: Request) -> RedirectResponse:
    session = current_session(request)
    require(session, "admin")
    form = await checked_form(request, session)
    target = request.url_for("dash-users")
    try:
        await asyncio.to_thread(
            auth.users(request).add,
            _text(form, "username"),
            _text(form, "role"),
            str(form.get("password") or ""),
        )
    except UserError as exc:
        return _flash_redirect(target, f"{exc.message} — {exc.fix or ''}", "bad")
    return _flash_redirect(target, f"User {_text(form, 'username')} added.", "ok")


@router.post("/users/{user}/remove", name="dash-user-remove")
async def remove_user(request: Request, user: str) -> RedirectResponse:
    session = current_session(request)
    require(session, "admin")
    await checked_form(request, session)
    target = request.url_for("dash-users")
    if user == session.user.name:
        return _flash_redirect(target, "You cannot remove yourself.", "bad")
    try:
        auth.users(request).remove(user)
    except UserError as exc:
        return _flash_redirect(target, exc.message, "bad")
    return _flash_redirect(target, f"User {user} removed.", "ok")
