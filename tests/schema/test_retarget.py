"""A bundled schema pointed at another marketplace takes that marketplace's ids, language and currency."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from listingsync.amazon import marketplaces
from listingsync.schema import Validator
from listingsync.schema.retarget import retarget

UK = marketplaces.get("UK")


def _home_fr() -> dict[str, Any]:
    text = resources.files("listingsync.data").joinpath("product-types/HOME-fr.json").read_text("utf-8")
    return dict(json.loads(text))


def _price(currency: str) -> dict[str, Any]:
    return {
        "list_price": [{"value_with_tax": 10.0, "currency": currency, "marketplace_id": UK.marketplace_id}],
    }


def test_a_schema_borrowed_from_france_takes_pounds_for_the_uk() -> None:
    source = _home_fr()
    before = copy.deepcopy(source)
    uk = retarget(source, UK)
    assert source == before  # the bundled schema itself is left alone
    currency = uk["properties"]["list_price"]["items"]["properties"]["currency"]
    assert currency["enum"] == ["GBP"]
    offer = uk["properties"]["purchasable_offer"]["items"]["properties"]["currency"]
    assert offer["default"] == "GBP" and ["GBP"] in [b.get("enum") for b in offer["anyOf"]]
    # Amazon's own conditions on other currencies (JPY prices are whole numbers) are kept as written.
    assert "JPY" in json.dumps(uk["allOf"])

    paths = {i.path for i in Validator(uk).issues(_price("GBP"))}
    assert not any(p.startswith("/list_price") for p in paths)
    paths = {i.path for i in Validator(uk).issues(_price("EUR"))}
    assert "/list_price/0/currency" in paths


def test_the_same_currency_is_left_as_it_is() -> None:
    fr = marketplaces.get("DE")  # EUR too
    assert retarget(_home_fr(), fr)["properties"] == _home_fr()["properties"]
