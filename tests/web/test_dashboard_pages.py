"""Dashboard pages without a browser (FastAPI's TestClient): sign-in redirects, roles, filters in the
URL, errors as pages, the listings page's keyset paging and counts on a real SQLite state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from listingsync.service import Workspace, add_connection, create_run
from listingsync.service.users import UserStore
from listingsync.sync import tables as st
from listingsync.web import create_app

PW = "a long password"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    workspace = Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", directory=tmp_path)
    add_connection(
        workspace,
        "shop",
        {"account": {"type": "seller", "selling_partner_id": "A3DEMOSELLER01", "marketplaces": ["US"]}},
    )
    users = UserStore(workspace.engine)
    users.add("ana", "admin", PW)
    users.add("vic", "viewer", PW)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "scope": "shop",
            "sku": f"SKU-{n:03d}",
            "marketplace_id": "ATVPDKIKX0DER",
            "status": "invalid" if n % 4 == 0 else "live",
            "product_type": "HOME",
            "issues": [
                {"code": "90220", "severity": "ERROR", "message": "missing", "attributeNames": ["brand"]}
            ]
            if n % 4 == 0
            else [],
            "sent_attributes": {"item_name": [{"value": f"Lamp {n}"}]},
            "updated_at": now,
        }
        for n in range(120)
    ]
    with workspace.begin() as conn:
        conn.execute(st.listings.insert(), rows)
    yield workspace
    workspace.close()


def signed_in(ws: Workspace, name: str) -> TestClient:
    client = TestClient(create_app(ws), follow_redirects=False)
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": name, "password": PW, "csrf_token": page.cookies["ls_login_csrf"], "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return client


def test_pages_need_a_session_and_come_back_after_sign_in(ws: Workspace) -> None:
    client = TestClient(create_app(ws), follow_redirects=False)
    answer = client.get("/connections/shop/listings?status=invalid")
    assert (
        answer.status_code == 303
        and answer.headers["location"] == "/login?next=/connections/shop/listings%3Fstatus%3Dinvalid"
    )
    assert client.get("/runs", headers={"HX-Request": "true"}).status_code == 401
    login = client.get("/login?next=https://evil.example/")
    assert 'value="/"' in login.text  # never a redirect to another site


def test_listings_filter_count_and_page_by_keyset(ws: Workspace) -> None:
    client = signed_in(ws, "vic")
    page = client.get("/connections/shop/listings?status=invalid")
    assert page.status_code == 200
    assert "<strong>30</strong> listings match" in page.text
    assert page.text.count('data-status="invalid"') == 30 and 'data-status="live"' not in page.text
    first = client.get("/connections/shop/listings")
    assert "<strong>120</strong> listings" in first.text and first.text.count("data-sku=") == 50
    nxt = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(nxt)
    assert 'data-sku="SKU-050"' in second.text and 'data-sku="SKU-049"' not in second.text
    found = client.get("/connections/shop/listings?q=Lamp%20117")
    assert 'data-sku="SKU-117"' in found.text and found.text.count("data-sku=") == 1
    assert (
        client.get("/connections/shop/listings?issue_code=90220&severity=error").text.count("data-sku=") == 30
    )
    store = ws.store("shop")
    assert store.count(code="90220") == 30 and store.count(code="90220", cap=10) == 10
    assert store.count(statuses=["live"], cap=1000) == 90
    detail = client.get("/connections/shop/listings/ATVPDKIKX0DER/SKU-004")
    assert detail.status_code == 200 and "90220" in detail.text and "Fix: correct brand" in detail.text
    assert client.get("/connections/shop/listings/ATVPDKIKX0DER/NOPE").status_code == 404


def test_runs_filter_keeps_its_state_and_viewers_start_nothing(ws: Workspace) -> None:
    create_run(ws, "shop", trigger="api", mode="dry-run")
    viewer = signed_in(ws, "vic")
    page = viewer.get("/runs?status=queued&connection=shop")
    assert page.status_code == 200 and "<option selected>queued</option>" in page.text and "#1" in page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        viewer.post("/connections/shop/runs", data={"mode": "send", "csrf_token": token}).status_code == 403
    )
    assert (
        viewer.post(
            "/connections/shop/listings/ATVPDKIKX0DER/SKU-004/resend", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert viewer.get("/users").status_code == 403
    assert "Sync now" not in viewer.get("/connections/shop").text


def test_an_admin_manages_users_from_the_page(ws: Workspace) -> None:
    admin = signed_in(ws, "ana")
    page = admin.get("/users")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        admin.post(
            "/users", data={"username": "eve", "role": "editor", "password": PW, "csrf_token": token}
        ).status_code
        == 303
    )
    assert [u.name for u in UserStore(ws.engine).list()] == ["ana", "eve", "vic"]
    refused = admin.post(
        "/users",
        data={"username": "bob", "role": "editor", "password": "short", "csrf_token": token},
        follow_redirects=True,
    )
    assert "too short" in refused.text
