"""Amazon's static sandbox examples (``x-amzn-api-sandbox``) replayed against the emulator.

Every static example of every emulated operation in the bundled models is sent to the emulator and
its answer must have the same shape as the example's: the same status code, a body that conforms to
the model's schema for that status, and the example's top-level fields (a few data-dependent ones
excepted below, each with its reason).

How a request is built from an example:

- error examples (4xx) are sent with exactly the example's parameters; a path parameter the example
  leaves out is filled with a valid value, so the error comes from what the example got wrong;
- success examples use the example's parameters too, but values that only make sense in Amazon's
  sandbox data are replaced by ones that exist in the emulator (:data:`DATA`): our seller id and
  marketplaces, a feed and a document that exist, the product type HOME (no LUGGAGE schema is
  bundled), a listing body that is valid (or, for the ``VALIDATION_INVALID`` SKU, invalid). The
  catalogue is seeded with the examples' SKUs and ASIN so those parts are replayed as they are.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator

from listingsync.emulator import EmulatorServer, EmulatorSettings, run_in_thread
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.schema.requirements import derive
from listingsync.schema.samples import sample_listing

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
SELLER = "A3DEMOSELLER01"
MODELS = (
    "listingsItems_2021-08-01",
    "definitionsProductTypes_2020-09-01",
    "feeds_2021-06-30",
    "sellers",
    "catalogItems_2022-04-01",
)
#: Operations the emulator serves (getAccount is EU-only, needs other roles, and is not emulated).
NOT_EMULATED = {"getAccount"}
#: Top-level fields of a success example that the emulator may leave out, and why.
DATA_DEPENDENT = {
    # The sandbox answers with every data set; the emulator with what includedData asked for
    # (the example asks for none, i.e. the default "summaries").
    "getListingsItem": {"offers", "fulfillmentAvailability", "issues", "attributes", "procurement"},
    # Only present when more feeds than pageSize match.
    "getFeeds": {"nextToken"},
    # "Vendor details are only available to vendors"; the replay uses the seller account.
    "getCatalogItem": {"vendorDetails"},
    "searchCatalogItems": {"pagination"},
}
SEEDED_SKUS = ("GM-ZDPI-9B4E", "HW-ZDPI-9B4E", "TC-ZDPI-9B4E")
CATALOG_ASIN = "B07N4M94X4"


def _model(name: str) -> dict[str, Any]:
    text = resources.files("listingsync").joinpath(f"data/models/{name}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True)
class Example:
    model: str
    path: str
    method: str
    operation_id: str
    status: int
    parameters: dict[str, Any]
    response: Any
    declared: dict[str, dict[str, Any]]  # parameter name → Swagger parameter

    @property
    def id(self) -> str:
        return f"{self.operation_id}-{self.status}-{abs(hash(json.dumps(self.parameters, sort_keys=True))) % 1000:03d}"


def _examples() -> list[Example]:
    found = []
    for name in MODELS:
        model = _model(name)
        for path, operations in model["paths"].items():
            for method, op in operations.items():
                if method == "parameters" or op["operationId"] in NOT_EMULATED:
                    continue
                declared = {p["name"]: p for p in op.get("parameters", [])}
                for status, answer in op["responses"].items():
                    for static in answer.get("x-amzn-api-sandbox", {}).get("static", []):
                        params = {
                            k: v["value"] for k, v in static["request"]["parameters"].items() if "value" in v
                        }
                        found.append(
                            Example(
                                name,
                                path,
                                method.upper(),
                                op["operationId"],
                                int(status),
                                params,
                                static.get("response"),
                                declared,
                            )
                        )
    return found


EXAMPLES = _examples()


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


def _valid_listing(seed: int) -> dict[str, Any]:
    schema = ProductTypeRegistry().get("HOME", US)
    assert schema is not None
    return sample_listing(derive(schema, "LISTING"), random.Random(seed), US, "en_US", optional=0.0)


class Data:
    """A slow-clock emulator (feeds stay IN_QUEUE long enough to cancel) seeded for the examples."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.token = _token(server, "Atzr|listingsync-demo-seller-na")
        self.client = httpx.Client(base_url=server.endpoint("na"), headers={"x-amz-access-token": self.token})
        self.listing = _valid_listing(5)
        for n, sku in enumerate(SEEDED_SKUS):
            attributes = copy.deepcopy(self.listing)
            if n == 0:  # the catalogue examples' ASIN
                attributes["merchant_suggested_asin"] = [{"value": CATALOG_ASIN, "marketplace_id": US}]
            answer = self.client.put(
                f"/listings/2021-08-01/items/{SELLER}/{sku}",
                params={"marketplaceIds": US},
                json={"productType": "HOME", "attributes": attributes},
            )
            assert answer.json()["status"] == "ACCEPTED", answer.text
        # Amazon processes the listings later: let it now, before any feed is queued (the feeds
        # must stay IN_QUEUE, which a flush would end).
        server.flush()
        self.input_document = self.new_document()
        self.queued_feed = self.new_feed(self.input_document)
        self.cancelled_feed = self.new_feed(self.new_document())
        assert self.client.delete(f"/feeds/2021-06-30/feeds/{self.cancelled_feed}").status_code == 200
        self.spare = 0

    def spare_listing(self) -> str:
        self.spare += 1
        sku = f"SPARE-{self.spare}"
        answer = self.client.put(
            f"/listings/2021-08-01/items/{SELLER}/{sku}",
            params={"marketplaceIds": US},
            json={"productType": "HOME", "attributes": self.listing},
        )
        assert answer.json()["status"] == "ACCEPTED", answer.text
        return sku

    def new_document(self) -> str:
        doc = self.client.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
        feed = {
            "header": {"sellerId": SELLER, "version": "2.0"},
            "messages": [{"messageId": 1, "sku": "NOPE", "operationType": "DELETE"}],
        }
        httpx.put(doc["url"], content=json.dumps(feed), headers={"content-type": "application/json"})
        return str(doc["feedDocumentId"])

    def new_feed(self, document_id: str) -> str:
        created = self.client.post(
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [US],
                "inputFeedDocumentId": document_id,
            },
        )
        return str(created.json()["feedId"])

    def success_parameters(self, example: Example) -> dict[str, Any]:
        """The example's parameters with sandbox-only values replaced by emulator data."""
        params = dict(example.parameters)
        op = example.operation_id
        if "sellerId" in example.declared:
            params["sellerId"] = SELLER
        if "marketplaceIds" in example.declared and example.declared["marketplaceIds"].get("in") == "query":
            given = params.get("marketplaceIds") or [US]
            params["marketplaceIds"] = [m for m in given if m in (US, CA)] or [US]
        if op == "deleteListingsItem":
            params["sku"] = self.spare_listing()  # not one of the seeded SKUs other examples read
        if op == "getListingsItem" or (
            op in ("putListingsItem", "patchListingsItem") and "sku" not in params
        ):
            params.setdefault("sku", SEEDED_SKUS[0])
            params["sku"] = params["sku"] if params["sku"] in SEEDED_SKUS else SEEDED_SKUS[0]
        if op == "putListingsItem":
            attributes = copy.deepcopy(self.listing)
            if params.get("sku") == "VALIDATION_INVALID":
                del attributes["item_name"]
            params["body"] = {"productType": "HOME", "attributes": attributes}
        if op == "patchListingsItem":
            names = list(self.listing)
            if params.get("sku") == "VALIDATION_INVALID":
                names = names[:1]  # a new SKU with one attribute: required ones are missing
            params["body"] = {
                "productType": "HOME",
                "patches": [
                    {"op": "replace", "path": f"/attributes/{n}", "value": self.listing[n]} for n in names
                ],
            }
        if op == "getDefinitionsProductType":
            params["productType"] = "HOME"  # the sandbox's LUGGAGE schema is not bundled
        if op == "getFeed":
            params["feedId"] = self.cancelled_feed  # the example shows a CANCELLED feed
        if op == "cancelFeed":
            params["feedId"] = self.new_feed(self.new_document())  # still IN_QUEUE on this clock
        if op == "getFeedDocument":
            params["feedDocumentId"] = self.input_document
        if op == "createFeed":
            body = dict(params["body"])
            body["marketplaceIds"] = [m for m in body["marketplaceIds"] if m in (US, CA)] or [US]
            body["inputFeedDocumentId"] = self.new_document()
            params["body"] = body
        return params

    def error_parameters(self, example: Example) -> dict[str, Any]:
        """The example's parameters as they are; missing path parameters get a valid value."""
        params = dict(example.parameters)
        fill = {
            "sellerId": SELLER,
            "sku": SEEDED_SKUS[0],
            "productType": "HOME",
            "feedId": self.queued_feed,
            "feedDocumentId": self.input_document,
            "asin": CATALOG_ASIN,
        }
        for name, declared in example.declared.items():
            if declared.get("in") == "path" and name not in params:
                params[name] = fill[name]
        return params


@pytest.fixture(scope="module")
def data() -> Iterator[Data]:
    with run_in_thread(EmulatorSettings(limits=False, rate_scale=0.05)) as server:
        seeded = Data(server)
        yield seeded
        seeded.client.close()


def _send(data: Data, example: Example, params: dict[str, Any]) -> httpx.Response:
    path = example.path
    query: dict[str, str] = {}
    body: Any = None
    for name, value in params.items():
        declared = example.declared.get(name, {"in": "query"})
        where = declared.get("in")
        text = (
            ",".join(map(str, value))
            if isinstance(value, list)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        if where == "path":
            path = path.replace("{" + name + "}", httpx.URL("/" + text).raw_path.decode()[1:] if text else "")
        elif where == "body":
            body = value
        else:
            query[name] = text
    if (
        body is None
        and example.method in ("POST", "PUT", "PATCH")
        and any(d.get("in") == "body" for d in example.declared.values())
    ):
        body = {}
    return data.client.request(example.method, path, params=query, json=body)


def _response_schema(example: Example) -> dict[str, Any] | None:
    model = _model(example.model)
    op = model["paths"][example.path][example.method.lower()]
    schema = op["responses"][str(example.status)].get("schema")
    if schema is None:
        return None
    return {**schema, "definitions": model["definitions"]}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_sandbox_example_replays_with_the_same_shape(data: Data, example: Example) -> None:
    params = data.success_parameters(example) if example.status < 400 else data.error_parameters(example)
    answer = _send(data, example, params)
    assert answer.status_code == example.status, (example.parameters, answer.text)
    schema = _response_schema(example)
    body = answer.json() if answer.content else None
    if schema is not None:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft4Validator(schema).iter_errors(body)]
        assert errors == [], errors
    if isinstance(example.response, dict) and example.status < 400:
        allowed = DATA_DEPENDENT.get(example.operation_id, set())
        missing = set(example.response) - set(body or {}) - allowed
        assert not missing, f"fields of the example missing from the answer: {sorted(missing)}"
    if example.status >= 400:
        assert body["errors"] and all({"code", "message"} <= set(e) for e in body["errors"])


def test_every_emulated_operation_has_replayed_examples() -> None:
    operations = {e.operation_id for e in EXAMPLES}
    assert {
        "putListingsItem",
        "getDefinitionsProductType",
        "createFeed",
        "getFeedDocument",
        "searchCatalogItems",
        "getMarketplaceParticipations",
    } <= operations
    assert len(EXAMPLES) >= 30
