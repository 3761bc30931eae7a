"""LWA token exchange, token expiry, regions and the Sellers API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from emulator_helpers import SELLER, SELLER_TOKEN, US, VENDOR_TOKEN, access_token

from listingsync.emulator import EmulatorServer, EmulatorSettings, load_accounts, run_in_thread
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.errors import ListingSyncError

GOOD = {
    "grant_type": "refresh_token",
    "refresh_token": SELLER_TOKEN,
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
}


def test_token_exchange_form_and_json(emulator: EmulatorServer) -> None:
    form = httpx.post(emulator.lwa_url, data=GOOD)
    as_json = httpx.post(emulator.lwa_url, json=GOOD)
    for response in (form, as_json):
        assert response.status_code == 200
        body = response.json()
        assert body["access_token"].startswith("Atza|")
        assert body["refresh_token"] == SELLER_TOKEN
        assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert form.json()["access_token"] != as_json.json()["access_token"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|unknown"}, 400, "invalid_grant"),
        ({"refresh_token": None}, 400, "invalid_request"),
        ({"grant_type": None}, 400, "invalid_request"),
    ],
)
def test_token_errors(
    emulator: EmulatorServer, change: dict[str, str | None], status: int, error: str
) -> None:
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    response = httpx.post(emulator.lwa_url, data=data)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert DEMO_CLIENT_SECRET not in response.text


def test_unauthorized_client_and_revoked_grant(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        "accounts:\n"
        "  - {type: seller, client_id: app-a, client_secret: sa, refresh_token: 'Atzr|a', selling_partner_id: A1SELLERAAAA, marketplaces: [US]}\n"
        "  - {type: seller, client_id: app-b, client_secret: sb, refresh_token: 'Atzr|b', selling_partner_id: A1SELLERBBBB, marketplaces: [US], revoked: true}\n"
    )
    with run_in_thread(EmulatorSettings.from_accounts_file(accounts)) as server:
        mismatch = httpx.post(
            server.lwa_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|b",
                "client_id": "app-a",
                "client_secret": "sa",
            },
        )
        revoked = httpx.post(
            server.lwa_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|b",
                "client_id": "app-b",
                "client_secret": "sb",
            },
        )
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert "revoked" in revoked.json()["error_description"]
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "unauthorized_client"


def test_accounts_file_errors_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.json"
    bad.write_text(
        '[{"type": "seller", "client_id": "x", "client_secret": "y", "refresh_token": "z", '
        '"selling_partner_id": "A1", "marketplaces": ["US", "DE"]}]'
    )
    with pytest.raises(ListingSyncError) as info:
        load_accounts(bad)
    assert "accounts[0]" in str(info.value) and "region" in str(info.value)
    (tmp_path / "typo.yaml").write_text(
        "- {type: seller, client_id: x, client_secret: y, refresh_token: z, "
        "selling_partner_id: A1, marketplaces: [US], colour: red}\n"
    )
    with pytest.raises(ListingSyncError, match="colour"):
        load_accounts(tmp_path / "typo.yaml")


def test_missing_bad_and_expired_tokens_get_403() -> None:
    with run_in_thread(EmulatorSettings(token_ttl=1.5)) as server:
        url = f"{server.endpoint('na')}/listings/2021-08-01/items/{SELLER}/X"
        params = {"marketplaceIds": US}
        missing = httpx.get(url, params=params)
        bad = httpx.get(url, params=params, headers={"x-amz-access-token": "Atza|forged"})
        token = access_token(server, SELLER_TOKEN)
        fresh = httpx.get(url, params=params, headers={"x-amz-access-token": token})
        time.sleep(1.6)
        expired = httpx.get(url, params=params, headers={"x-amz-access-token": token})
    assert fresh.status_code == 404
    for response, details in ((missing, "missing"), (bad, "invalid"), (expired, "expired")):
        assert response.status_code == 403
        error = response.json()["errors"][0]
        assert error["code"] == "Unauthorized"
        assert error["message"] == "Access to requested resource is denied."
        assert details in error["details"]
        assert "x-amzn-RateLimit-Limit" not in response.headers
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_token_from_one_region_is_refused_in_another(emulator: EmulatorServer) -> None:
    token = access_token(emulator, VENDOR_TOKEN)  # EU vendor
    response = httpx.get(
        f"{emulator.endpoint('na')}/listings/2021-08-01/items/DEMOV/X",
        params={"marketplaceIds": US},
        headers={"x-amz-access-token": token},
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"


def test_marketplace_participations(seller: httpx.Client, vendor: httpx.Client) -> None:
    response = seller.get("/sellers/v1/marketplaceParticipations")
    assert response.status_code == 200
    payload = response.json()["payload"]
    ids = [p["marketplace"]["id"] for p in payload]
    assert ids[:3] == [US, "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"]
    assert len(ids) == 4  # plus one non-Amazon marketplace, as Amazon lists
    assert payload[0]["marketplace"]["countryCode"] == "US"
    assert payload[0]["participation"] == {"isParticipating": True, "hasSuspendedListings": False}
    assert vendor.get("/sellers/v1/marketplaceParticipations").status_code == 403


def test_secrets_stay_out_of_reprs() -> None:
    settings = EmulatorSettings()
    text = repr(settings.accounts) + repr(settings)
    assert DEMO_CLIENT_SECRET not in text and SELLER_TOKEN not in text
