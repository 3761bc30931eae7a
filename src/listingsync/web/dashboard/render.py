"""Jinja2 rendering for the dashboard: templates shipped in the package, autoescaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from listingsync.amazon import marketplaces as mp
from listingsync.service.users import Session

__all__ = ["TEMPLATES", "render"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


def tojson_pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def counts_text(value: Any) -> str:
    """A run's counts in words: ``{'create': 114, 'invalid': 10}`` → ``create 114 · invalid 10``."""
    if isinstance(value, dict):
        return " · ".join(f"{k} {counts_text(v)}" for k, v in value.items() if v not in (None, 0, {}, []))
    return f"{value:,}" if isinstance(value, int) else str(value)


def country_of(marketplace_id: str) -> str:
    market = mp.find(marketplace_id)
    return f"{market.country} ({marketplace_id})" if market else marketplace_id


TEMPLATES.env.globals["tojson_pretty"] = tojson_pretty
TEMPLATES.env.globals["country_of"] = country_of
TEMPLATES.env.filters["counts"] = counts_text


def render(
    request: Request, name: str, session: Session | None, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page (or an htmx fragment) for ``session``; a flash message set by the last redirect shows once."""
    flash = None
    raw = request.cookies.get("ls_flash")
    if raw:
        try:
            data = json.loads(raw)
            flash = {"text": str(data.get("text", "")), "kind": "ok" if data.get("kind") == "ok" else "bad"}
        except (ValueError, AttributeError):
            flash = None
    response = TEMPLATES.TemplateResponse(
        request, name, {"session": session, "flash": flash, **context}, status_code=status
    )
    if raw:
        response.delete_cookie("ls_flash")
    return response
