"""Property-based conformance: schemathesis drives every emulated operation from Amazon's own models.

For each operation of the bundled Swagger 2.0 models (``listingsync/data/models``) schemathesis
generates requests (bounded, derandomized: the same cases every run), the test sends them to the
emulator over loopback with a real LWA token, and checks that

- every status code is one the model declares for the operation (``status_code_conformance``),
- every body matches the model's schema for that status (``response_schema_conformance``), and
- every body comes with a content type the model declares (``content_type_conformance``).

The identifiers that must name real things for a 2xx path to be reachable at all (the token's
sellerId, a marketplace of the account, an existing feed and document, the product type HOME) are
fixed; everything else is generated. Random sellerIds or marketplaces would only ever test the 400
path, which the fixed cases reach too through the other generated parameters.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx
import pytest

# A hard import: these are acceptance tests (dev dependencies), never silently skipped.
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

DE = "A1PA6795UKMFR9"
FR = "A13V1IB3VIYZZH"
US = "ATVPDKIKX0DER"
MAX_EXAMPLES = 12
SKU = "ST-ITEM"
EAN = "4006381333931"


def _model(name: str) -> dict[str, Any]:
    text = resources.files("listingsync").joinpath(f"data/models/{name}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _token(server: EmulatorServer, refresh_token: str) -> str:
    answer = httpx.post(
        server.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


class Fixture:
    """A dedicated emulator (limits off: a 429 would hide the path under test) and its seed data."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.vendor = _token(server, "Atzr|listingsync-demo-vendor-eu")
        self.seller = _token(server, "Atzr|listingsync-demo-seller-na")
        with httpx.Client(
            base_url=server.endpoint("eu"), headers={"x-amz-access-token": self.vendor}
        ) as client:
            doc = client.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
            feed = {
                "header": {"sellerId": "DEMOV", "version": "2.0"},
                "messages": [{"messageId": 1, "sku": "ST-1", "operationType": "DELETE"}],
            }
            httpx.put(doc["url"], content=json.dumps(feed), headers={"content-type": "application/json"})
            self.document_id = doc["feedDocumentId"]
            created = client.post(
                "/feeds/2021-06-30/feeds",
                json={
                    "feedType": "JSON_LISTINGS_FEED",
                    "marketplaceIds": [DE],
                    "inputFeedDocumentId": self.document_id,
                },
            )
            self.feed_id = created.json()["feedId"]
            # One stored listing with an EAN, so that get/search/catalog reach their 200 paths too.
            schema = ProductTypeRegistry().get("HOME", DE)
            assert schema is not None
            attributes = sample_listing(
                derive(schema, "LISTING_PRODUCT_ONLY"), random.Random(3), DE, "de_DE", optional=0.0
            )
            attributes["externally_assigned_product_identifier"] = [
                {"type": "ean", "value": EAN, "marketplace_id": DE}
            ]
            put = client.put(
                f"/listings/2021-08-01/items/DEMOV/{SKU}",
                params={"marketplaceIds": DE},
                json={
                    "productType": "HOME",
                    "requirements": "LISTING_PRODUCT_ONLY",
                    "attributes": attributes,
                },
            )
            assert put.json()["status"] == "ACCEPTED", put.text
            server.flush()  # Amazon processes the write later: let it, without waiting
            item = client.get(f"/listings/2021-08-01/items/DEMOV/{SKU}", params={"marketplaceIds": DE}).json()
            self.asin = item["summaries"][0]["asin"]


@pytest.fixture(scope="module")
def fixture() -> Iterator[Fixture]:
    with run_in_thread(EmulatorSettings(limits=False, rate_scale=1000.0)) as server:
        yield Fixture(server)


@dataclass(frozen=True)
class Op:
    """One operation to drive; ``fixed`` path/query values may name a fixture attribute as ``@name``."""

    model: str
    path: str
    method: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    region: str = "eu"
    account: str = "vendor"

    def resolve(self, values: dict[str, str], fixture: Fixture) -> dict[str, str] | None:
        out = {k: str(getattr(fixture, v[1:])) if v.startswith("@") else v for k, v in values.items()}
        return out or None


LISTINGS = "listingsItems_2021-08-01"
ITEM = "/listings/2021-08-01/items/{sellerId}/{sku}"
PTD = "definitionsProductTypes_2020-09-01"
FEEDS = "feeds_2021-06-30"
CATALOG = "catalogItems_2022-04-01"
VENDOR = {"sellerId": "DEMOV"}
IN_DE = {"marketplaceIds": DE}
OPERATIONS = [
    Op(LISTINGS, ITEM, "GET", VENDOR, IN_DE),
    Op(LISTINGS, ITEM, "GET", {**VENDOR, "sku": SKU}, IN_DE),
    Op(LISTINGS, ITEM, "PUT", VENDOR, IN_DE),
    Op(LISTINGS, ITEM, "PATCH", VENDOR, IN_DE),
    Op(LISTINGS, ITEM, "PATCH", {**VENDOR, "sku": SKU}, IN_DE),
    # The model allows several marketplaceIds on PATCH (no maxItems, unlike PUT and DELETE).
    Op(LISTINGS, ITEM, "PATCH", {**VENDOR, "sku": SKU}, {"marketplaceIds": f"{DE},{FR}"}),
    # A SKU with a newline (path %0A): the operation's declared 404, not the router's.
    Op(LISTINGS, ITEM, "GET", {**VENDOR, "sku": "\n"}, IN_DE),
    Op(LISTINGS, ITEM, "DELETE", VENDOR, IN_DE),
    Op(LISTINGS, "/listings/2021-08-01/items/{sellerId}", "GET", VENDOR, IN_DE),
    Op(PTD, "/definitions/2020-09-01/productTypes", "GET", {}, IN_DE),
    Op(PTD, "/definitions/2020-09-01/productTypes/{productType}", "GET", {"productType": "HOME"}, IN_DE),
    Op(FEEDS, "/feeds/2021-06-30/feeds", "GET", {}, {"feedTypes": "JSON_LISTINGS_FEED"}),
    Op(FEEDS, "/feeds/2021-06-30/feeds", "POST"),
    Op(FEEDS, "/feeds/2021-06-30/feeds/{feedId}", "GET", {"feedId": "@feed_id"}),
    Op(FEEDS, "/feeds/2021-06-30/feeds/{feedId}", "DELETE"),
    Op(FEEDS, "/feeds/2021-06-30/documents", "POST"),
    Op(FEEDS, "/feeds/2021-06-30/documents/{feedDocumentId}", "GET", {"feedDocumentId": "@document_id"}),
    Op("sellers", "/sellers/v1/marketplaceParticipations", "GET", region="na", account="seller"),
    Op("sellers", "/sellers/v1/account", "GET", region="na", account="seller"),
    Op(CATALOG, "/catalog/2022-04-01/items", "GET", {}, IN_DE),
    Op(
        CATALOG,
        "/catalog/2022-04-01/items",
        "GET",
        {},
        {**IN_DE, "identifiersType": "EAN", "identifiers": EAN},
    ),
    Op(CATALOG, "/catalog/2022-04-01/items/{asin}", "GET", {}, IN_DE),
    Op(CATALOG, "/catalog/2022-04-01/items/{asin}", "GET", {"asin": "@asin"}, IN_DE),
]


@pytest.mark.parametrize(
    "op", OPERATIONS, ids=[f"{i:02d}-{op.method}-{op.path}" for i, op in enumerate(OPERATIONS)]
)
def test_responses_conform_to_amazons_model(fixture: Fixture, op: Op) -> None:
    operation = schemathesis.openapi.from_dict(_model(op.model))[op.path][op.method]
    token = fixture.vendor if op.account == "vendor" else fixture.seller
    base_url = fixture.server.endpoint(op.region)
    path_params = op.resolve(op.path_params, fixture)
    query = op.resolve(op.query, fixture)
    statuses: list[int] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(path_parameters=path_params, query=query))
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers={"x-amz-access-token": token}, timeout=30)
        statuses.append(response.status_code)
        case.validate_response(
            response, checks=[status_code_conformance, response_schema_conformance, content_type_conformance]
        )

    check()
    assert statuses, "schemathesis generated no case"
    assert all(s < 500 for s in statuses), statuses
