"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against ``serve``'s app
and the emulator over loopback.

One walk through what a catalogue manager does, in order: sign in, connect the emulator's vendor
account through the form (a wrong secret shows the fix, the right one verifies), attach a CSV
source, edit the mapping and watch the preview change, run a sync and watch it finish, filter the
listings to the invalid ones and open one. Then what must not happen: a viewer reaching a secret or
starting a run, a form posted without its CSRF token. Each page is screenshotted on the way
(``LISTINGSYNC_SCREENSHOTS=docs/screenshots`` keeps them; else they go to the test's tmp dir).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect, sync_playwright

from listingsync.emulator import EmulatorServer
from listingsync.emulator.server import serve_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.service import Workspace
from listingsync.service.users import UserStore
from listingsync.web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VENDOR_TOKEN = "Atzr|listingsync-demo-vendor-eu"
ADMIN_PW = "correct horse battery"
VIEWER_PW = "viewer password 1"
# Chromium flags for a root, headless, offline machine (see the environment notes in the README).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Waits are on conditions (an element shows up), never on time; the limit only bounds a hang, and is
# generous because this machine's 2 cores are often busy with other work.
expect.set_options(timeout=60_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


#: Resolved at import: the service fixture changes the working directory.
SHOTS = (
    Path(os.environ["LISTINGSYNC_SCREENSHOTS"]).resolve()
    if os.environ.get("LISTINGSYNC_SCREENSHOTS")
    else None
)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = SHOTS or tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def service(
    tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.chdir(tmp_path)
    ws = Workspace.open(f"sqlite:///{tmp_path / 'workspace.db'}", directory=tmp_path, rate_scale=1000.0)
    users = UserStore(ws.engine)
    users.add("ana", "admin", ADMIN_PW)
    users.add("vic", "viewer", VIEWER_PW)
    app = create_app(ws)
    app.state.progress_poll = 0.1
    with serve_in_thread(app, name="serve") as url:
        yield {"url": url, "ws": ws, "emulator": emulator, "tmp": tmp_path}
    app.state.executor.shutdown(wait=True)
    ws.close()


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sample_mapping() -> dict[str, Any]:
    text = resources.files("listingsync.data.sample").joinpath("listingsync.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text)["listings"])


def test_catalogue_manager_connects_maps_syncs_and_fixes(
    browser: Browser, service: dict[str, Any], shots: Path
) -> None:
    base, emulator, tmp = service["url"], service["emulator"], service["tmp"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    # Script errors and CSP refusals; a 401 answer to a wrong password is the page working as meant.
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "status of 401" not in m.text else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign in: a wrong password is refused, the right one lands on the connections.
    sign_in(page, base, "ana", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.screenshot(path=shots / "01-sign-in.png")
    sign_in(page, base, "ana", ADMIN_PW)
    expect(page.get_by_role("heading", name="Connections")).to_be_visible()

    # Connect the vendor account: a wrong secret shows the fix; the right one verifies, then saves.
    page.get_by_role("link", name="+ Connect an Amazon account").click()
    page.get_by_label("Connection name").fill("vendor-eu")
    page.get_by_label("App Client ID").fill(DEMO_CLIENT_ID)
    page.get_by_label("App Client Secret").fill("wrong-secret")
    page.get_by_label("App Refresh Token").fill(VENDOR_TOKEN)
    page.get_by_label("Vendor Code / Merchant Token").fill("DEMOV")
    page.get_by_label("Countries").fill("FR, DE")
    page.locator("summary").click()
    page.get_by_label("SP-API endpoint").fill(emulator.endpoint("eu"))
    page.get_by_label("LWA token endpoint").fill(emulator.lwa_url)
    page.get_by_role("button", name="Verify with Amazon").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("Not verified")
    expect(result.locator(".fix").first).to_contain_text("LWA credentials")
    page.screenshot(path=shots / "02-connect-wrong-secret.png", full_page=True)
    page.get_by_label("App Client Secret").fill(DEMO_CLIENT_SECRET)
    page.get_by_role("button", name="Verify with Amazon").click()
    expect(page.locator("#verify-result")).to_contain_text("Verified")
    page.screenshot(path=shots / "03-connect-verified.png", full_page=True)
    page.get_by_role("button", name="Verify and save").click()
    expect(page.get_by_role("heading", name="vendor-eu")).to_be_visible()
    # The secret never comes back: not in the page, not in the stored document.
    assert DEMO_CLIENT_SECRET not in page.content() and VENDOR_TOKEN not in page.content()

    # Attach the sample CSV (uploaded) and see what the catalogue holds.
    page.get_by_role("link", name="Source").click()
    csv_path = tmp / "products.csv"
    csv_path.write_bytes(resources.files("listingsync.data.sample").joinpath("products.csv").read_bytes())
    page.get_by_label("Upload a file").set_input_files(str(csv_path))
    page.locator("form[enctype]").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Source saved")
    expect(page.get_by_role("heading", name="What the catalogue holds")).to_be_visible()
    expect(page.locator("main")).to_contain_text("62 records")
    page.screenshot(path=shots / "04-source.png", full_page=True)

    # Mapping: paste the sample mapping, preview a SKU, edit a template and see the preview change.
    page.get_by_role("link", name="Mapping").click()
    mapping = sample_mapping()
    editor = page.get_by_label("listings:")
    editor.fill(yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True))
    page.get_by_label("Preview SKU").fill("MD-CUSH-001")
    preview = page.locator("#preview")
    expect(preview.locator("[data-preview=ok]")).to_be_visible()
    expect(preview.locator("pre").first).to_contain_text("Maison Demo")
    mapping["attributes"]["item_name"] = "{{ title }} (edited in the browser)"
    editor.fill(yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True))
    expect(preview.locator("pre").first).to_contain_text("edited in the browser")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Mapping saved")
    # Saved: the required attributes show beside their templates, and the SKU's preview comes back.
    expect(page.get_by_role("heading", name=re.compile("HOME in FR"))).to_be_visible()
    expect(page.locator("#preview pre").first).to_contain_text("edited in the browser")
    page.screenshot(path=shots / "05-mapping-preview.png", full_page=True)

    # Run a sync and watch it finish (live progress over server-sent events, then the counts).
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("heading", name=re.compile(r"Run #\d+"))).to_be_visible()
    page.screenshot(path=shots / "06-run-progress.png", full_page=True)
    expect(page.get_by_role("heading", name=re.compile(r"Run #\d+ .*(succeeded|partial)"))).to_be_visible(
        timeout=120_000
    )
    page.screenshot(path=shots / "07-run-finished.png", full_page=True)

    # Listings: filter to the invalid ones and open one: its issues come with the fix.
    page.goto(f"{base}/connections/vendor-eu/listings")
    page.screenshot(path=shots / "08-listings.png")
    page.get_by_label("Status").select_option("invalid")
    page.get_by_role("button", name="Filter").click()
    assert "status=invalid" in page.url  # filters keep their state in the URL
    rows = page.locator("#listings tbody tr[data-status]")
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.status)")) == {"invalid"}
    rows.first.locator("a").first.click()
    expect(page.get_by_role("heading", name="Issues")).to_be_visible()
    expect(page.locator(".steps li").first).to_contain_text("ERROR")
    page.screenshot(path=shots / "09-listing.png", full_page=True)
    assert not errors, errors  # no CSP refusal, no script error, no missing resource on any page


def test_viewer_sees_no_secret_and_starts_nothing(browser: Browser, service: dict[str, Any]) -> None:
    from listingsync.service import add_connection

    base, emulator = service["url"], service["emulator"]
    add_connection(
        service["ws"],
        "vendor-eu",
        {
            "account": {
                "type": "vendor",
                "selling_partner_id": "DEMOV",
                "marketplaces": ["FR"],
                "endpoint": emulator.endpoint("eu"),
                "lwa_endpoint": emulator.lwa_url,
            }
        },
        secrets={
            "lwa_client_id": DEMO_CLIENT_ID,
            "lwa_client_secret": DEMO_CLIENT_SECRET,
            "lwa_refresh_token": VENDOR_TOKEN,
        },
    )
    page = browser.new_page()
    page.set_default_timeout(60_000)
    sign_in(page, base, "vic", VIEWER_PW)
    page.goto(f"{base}/connections/vendor-eu")
    html = page.content()
    assert DEMO_CLIENT_SECRET not in html and VENDOR_TOKEN not in html
    assert page.get_by_role("button", name="Sync now").count() == 0
    assert page.locator("input[type=password]").count() == 0
    # Posting the form by hand (with a valid CSRF token) is refused for the viewer's role.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        f"{base}/connections/vendor-eu/runs", form={"mode": "send", "csrf_token": token or ""}
    )
    assert answer.status == 403
    page.goto(f"{base}/connections/new")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(f"{base}/users")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    from listingsync.service import list_runs

    assert list_runs(service["ws"], connection="vendor-eu") == []


def test_a_form_without_its_csrf_token_is_refused(browser: Browser, service: dict[str, Any]) -> None:
    base = service["url"]
    page = browser.new_page()
    page.set_default_timeout(60_000)
    sign_in(page, base, "ana", ADMIN_PW)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=base, cookies=cookies) as client:
        refused = client.post("/users", data={"username": "mallory", "role": "admin", "password": "x" * 12})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
    assert [u.name for u in UserStore(service["ws"].engine).list()] == ["ana", "vic"]
    # The sign-in form is protected too (double-submit cookie): no token, no session.
    with httpx.Client(base_url=base) as client:
        answer = client.post("/login", data={"username": "ana", "password": ADMIN_PW})
        assert answer.status_code == 403 and "ls_session" not in answer.cookies


def test_pages_carry_a_strict_content_security_policy(service: dict[str, Any]) -> None:
    with httpx.Client(base_url=service["url"]) as client:
        page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text and " style=" not in page.text
