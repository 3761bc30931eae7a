"""Every answer of the Listings and Sellers emulation matches Amazon's OpenAPI model definitions."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import httpx
import pytest
from emulator_helpers import SELLER, SELLER_TOKEN, US, client_for, home_us
from jsonschema import Draft4Validator

from listingsync.emulator import EmulatorSettings, run_in_thread

ITEMS = "/listings/2021-08-01/items"
ALL = "summaries,attributes,issues,offers,fulfillmentAvailability,procurement,relationships,productTypes"


def _model(name: str) -> dict[str, Any]:
    text = resources.files("listingsync.data").joinpath(f"models/{name}").read_text("utf-8")
    model: dict[str, Any] = json.loads(text)
    return model


def _check(model: dict[str, Any], definition: str, body: Any) -> None:
    schema = {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]}
    errors = sorted(Draft4Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{definition}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.fixture(scope="module")
def answers() -> dict[str, list[Any]]:
    """Bodies by model definition, from a run that exercises every answer kind."""
    out: dict[str, list[Any]] = {}
    settings = EmulatorSettings(late_issue_share=1.0, rate_scale=0.01)
    with run_in_thread(settings) as server, client_for(server, SELLER_TOKEN, "na") as client:

        def keep(definition: str, response: httpx.Response) -> None:
            out.setdefault(definition, []).append(response.json())

        # As HOME wants a variation family: parentage_level on both, the parent's relationship
        # entry without parent_sku, the child's naming its parent; variation_theme has no selector.
        theme = [{"name": "COLOR"}]
        parent = home_us("Parent")
        parent["parentage_level"] = [{"value": "parent", "marketplace_id": US}]
        parent["child_parent_sku_relationship"] = [
            {"child_relationship_type": "variation", "marketplace_id": US}
        ]
        parent["variation_theme"] = theme
        child = home_us("Child")
        child["parentage_level"] = [{"value": "child", "marketplace_id": US}]
        child["child_parent_sku_relationship"] = [
            {"child_relationship_type": "variation", "parent_sku": "P-1", "marketplace_id": US}
        ]
        child["variation_theme"] = theme
        for sku, attributes in (("P-1", parent), ("C-1", child)):
            accepted = client.put(
                f"{ITEMS}/{SELLER}/{sku}",
                params={"marketplaceIds": US},
                json={"productType": "HOME", "attributes": attributes},
            )
            assert accepted.json()["status"] == "ACCEPTED", accepted.text
            keep("ListingsItemSubmissionResponse", accepted)
            keep(
                "ListingsItemSubmissionResponse",
                client.put(
                    f"{ITEMS}/{SELLER}/{sku}",
                    params={"marketplaceIds": US},
                    json={"productType": "HOME", "attributes": attributes},
                ),
            )
        bad = copy.deepcopy(home_us())
        del bad["brand"]
        keep(
            "ListingsItemSubmissionResponse",
            client.put(
                f"{ITEMS}/{SELLER}/BAD",
                params={"marketplaceIds": US},
                json={"productType": "HOME", "attributes": bad},
            ),
        )
        server.flush()  # Amazon processes accepted writes later: let it, without waiting
        for sku in ("P-1", "C-1"):
            keep(
                "Item",
                client.get(f"{ITEMS}/{SELLER}/{sku}", params={"marketplaceIds": US, "includedData": ALL}),
            )
        keep(
            "ItemSearchResults",
            client.get(
                f"{ITEMS}/{SELLER}", params={"marketplaceIds": US, "includedData": ALL, "pageSize": 1}
            ),
        )
        keep("ErrorList", client.get(f"{ITEMS}/{SELLER}/NONE", params={"marketplaceIds": US}))
        keep("ErrorList", client.get(f"{ITEMS}/OTHER/NONE", params={"marketplaceIds": US}))
        keep(
            "ErrorList",
            httpx.get(f"{server.endpoint('na')}{ITEMS}/{SELLER}/X", params={"marketplaceIds": US}),
        )
        throttled = [client.get(f"{ITEMS}/{SELLER}/P-1", params={"marketplaceIds": US}) for _ in range(8)]
        keep("ErrorList", next(r for r in throttled if r.status_code == 429))
        keep("GetMarketplaceParticipationsResponse", client.get("/sellers/v1/marketplaceParticipations"))
    return out


def test_listings_answers_match_the_model(answers: dict[str, list[Any]]) -> None:
    model = _model("listingsItems_2021-08-01.json")
    for definition in ("ListingsItemSubmissionResponse", "Item", "ItemSearchResults", "ErrorList"):
        assert answers[definition], definition
        for body in answers[definition]:
            _check(model, definition, body)
    parent = answers["Item"][0]
    assert parent["relationships"][0]["relationships"][0]["childSkus"] == ["C-1"]
    assert answers["Item"][1]["relationships"][0]["relationships"][0]["parentSkus"] == ["P-1"]
    assert answers["Item"][0]["issues"][0]["code"] == "18027"


def test_sellers_answers_match_the_model(answers: dict[str, list[Any]]) -> None:
    model = _model("sellers.json")
    for body in answers["GetMarketplaceParticipationsResponse"]:
        _check(model, "GetMarketplaceParticipationsResponse", body)
