"""The schema store: download once, cache on disk keyed by version/checksum, refresh, work offline."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from listingsync.amazon import Credentials, SPAPIClient, TokenBucketLimiter
from listingsync.amazon.errors import SPAPIConnectionError
from listingsync.emulator import EmulatorServer
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from listingsync.errors import ListingSyncError
from listingsync.schema import ProductTypeSchema, SchemaStore, Validator, bundled_schema_files

DE = "A1PA6795UKMFR9"
US = "ATVPDKIKX0DER"
HOME = next(p for p in bundled_schema_files() if p.name == "HOME.json")


def _index_text(folder: Path) -> str:
    return "".join(p.read_text() for p in folder.rglob("*.json") if "schema-" not in p.name)


def _schema_files(folder: Path) -> list[Path]:
    return list(folder.rglob("schema-*.json"))


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class FakeDefinitions:
    def __init__(self, owner: FakeClient) -> None:
        self.owner = owner

    async def get_definitions_product_type(self, product_type: str, **kwargs: Any) -> dict[str, Any]:
        self.owner.calls.append((product_type, kwargs))
        if self.owner.offline:
            raise SPAPIConnectionError("http://amazon.invalid", OSError("network is unreachable"))
        data = self.owner.schema_bytes
        return {
            "schema": {
                "link": {"resource": "https://s3.invalid/schema", "verb": "GET"},
                "checksum": _md5(data),
            },
            "metaSchema": {"link": {"resource": "https://s3.invalid/meta", "verb": "GET"}, "checksum": "m1"},
            "requirements": kwargs.get("requirements"),
            "propertyGroups": {"offer": {"title": "Offer", "propertyNames": ["list_price"]}},
            "locale": kwargs.get("locale"),
            "productType": product_type,
            "displayName": "Home",
            "productTypeVersion": {"version": self.owner.version, "latest": True},
        }

    async def search_definitions_product_types(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "productTypes": [
                {"name": "HOME", "displayName": "Home", "marketplaceIds": kwargs["marketplace_ids"]}
            ]
        }


class FakeClient:
    """The two things the store needs: ``definitions`` and ``fetch_url``."""

    def __init__(self) -> None:
        self.schema_bytes = HOME.read_bytes()
        self.version = "U1"
        self.offline = False
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fetched: list[str] = []
        self.corrupt = False
        self.definitions = FakeDefinitions(self)

    async def fetch_url(self, url: str) -> bytes:
        self.fetched.append(url)
        if url.endswith("/meta"):
            return b'{"$id": "meta"}'
        return self.schema_bytes[:-10] if self.corrupt else self.schema_bytes


async def test_first_get_downloads_and_a_later_run_reuses_the_disk_copy(tmp_path: Path) -> None:
    client = FakeClient()
    store = SchemaStore(client, tmp_path, "C96QA")
    schema = await store.get("HOME", "DE", "LISTING_PRODUCT_ONLY")
    assert (schema.product_type, schema.marketplace_id, schema.requirements) == (
        "HOME",
        DE,
        "LISTING_PRODUCT_ONLY",
    )
    assert schema.version == "U1" and schema.property_groups["offer"]["propertyNames"] == ["list_price"]
    # The marketplace's language is the locale; the seller id is passed.
    _, kwargs = client.calls[0]
    assert (
        kwargs["locale"] == "de_DE" and kwargs["seller_id"] == "C96QA" and kwargs["marketplace_ids"] == [DE]
    )
    assert client.fetched == ["https://s3.invalid/schema", "https://s3.invalid/meta"]

    # Same store, same run: no second question to Amazon.
    assert await store.get("HOME", DE, "LISTING_PRODUCT_ONLY") is schema
    assert len(client.calls) == 1

    # A new run: one cheap check, no download since version and checksum match.
    client2 = FakeClient()
    again = await SchemaStore(client2, tmp_path, "C96QA").get("HOME", DE, "LISTING_PRODUCT_ONLY")
    assert len(client2.calls) == 1 and client2.fetched == []
    assert again.schema == schema.schema
    # No pre-signed link is kept on disk.
    assert "s3.invalid" not in _index_text(tmp_path)


async def test_a_new_amazon_version_is_downloaded(tmp_path: Path) -> None:
    client = FakeClient()
    await SchemaStore(client, tmp_path, "C96QA").get("HOME", DE)
    changed = FakeClient()
    changed.version = "U2"
    doc = json.loads(changed.schema_bytes)
    doc["required"] = [*doc["required"], "model_name"]
    changed.schema_bytes = json.dumps(doc).encode()
    fresh = await SchemaStore(changed, tmp_path, "C96QA").get("HOME", DE)
    assert fresh.version == "U2" and "model_name" in fresh.required
    assert changed.fetched[0] == "https://s3.invalid/schema"
    # The new copy is what the offline path serves from now on.
    assert "model_name" in SchemaStore(None, tmp_path, "C96QA").get_cached("HOME", DE).required


async def test_offline_uses_the_cache_and_says_how_to_fetch_what_is_missing(tmp_path: Path) -> None:
    await SchemaStore(FakeClient(), tmp_path, "C96QA").get("HOME", DE)
    offline = FakeClient()
    offline.offline = True
    cached = await SchemaStore(offline, tmp_path, "C96QA").get("HOME", DE)
    assert cached.version == "U1"

    with pytest.raises(ListingSyncError) as missing:
        await SchemaStore(offline, tmp_path, "C96QA").get("HOME", "FR")
    assert "HOME" in str(missing.value) and "FR" in str(missing.value)

    with pytest.raises(ListingSyncError) as never:
        SchemaStore(None, tmp_path, "C96QA").get_cached("LUGGAGE", "DE", "LISTING")
    text = str(never.value)
    assert "LUGGAGE" in text and "DE" in text and "product-types show LUGGAGE --marketplace DE" in text


async def test_the_cache_is_keyed_by_requirements_and_seller(tmp_path: Path) -> None:
    client = FakeClient()
    await SchemaStore(client, tmp_path, "C96QA").get("HOME", DE, "LISTING")
    with pytest.raises(ListingSyncError):
        SchemaStore(None, tmp_path, "C96QA").get_cached("HOME", DE, "LISTING_PRODUCT_ONLY")
    with pytest.raises(ListingSyncError):
        SchemaStore(None, tmp_path, "OTHER").get_cached("HOME", DE, "LISTING")
    assert SchemaStore(None, tmp_path, "C96QA").get_cached("HOME", DE, "LISTING").version == "U1"


async def test_a_download_that_does_not_match_the_checksum_is_refused(tmp_path: Path) -> None:
    client = FakeClient()
    client.corrupt = True
    with pytest.raises(ListingSyncError, match="checksum"):
        await SchemaStore(client, tmp_path, "C96QA").get("HOME", DE)
    assert not _schema_files(tmp_path)


async def test_cached_schema_compiles_one_validator(tmp_path: Path) -> None:
    schema = await SchemaStore(FakeClient(), tmp_path, "C96QA").get("HOME", US)
    assert schema.validator is schema.validator
    issues = schema.validator.issues({})
    assert any(i.code == "90220" and i.attribute == "brand" for i in issues)


def test_product_type_schema_from_a_bundled_file() -> None:
    home = ProductTypeSchema.from_file(HOME)
    assert (home.product_type, home.marketplace_id, home.locale) == ("HOME", US, "en_US")
    assert ProductTypeSchema.bundled("HOME", "A13V1IB3VIYZZH").locale == "fr_FR"
    assert isinstance(home.validator, Validator)
    condition = home.attribute("condition_type")
    assert ("new_new", "New") in condition.allowed
    assert any("parentage_level" in c for c in home.attribute("color").required_when)
    with pytest.raises(ListingSyncError, match="no attribute 'colour'"):
        home.attribute("colour")


# --- against the emulator over loopback -----------------------------------------------------------


def _vendor(server: EmulatorServer) -> SPAPIClient:
    return SPAPIClient(
        Credentials(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "Atzr|listingsync-demo-vendor-eu"),
        "eu",
        endpoint=server.endpoint("eu"),
        lwa_endpoint=server.lwa_url,
        rate_limiter=TokenBucketLimiter(scale=1000),
        selling_partner_id="DEMOV",
    )


async def test_store_against_the_emulator(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with _vendor(emulator) as client:
        store = SchemaStore(client, tmp_path, "DEMOV")
        home = await store.get("HOME", DE, "LISTING_PRODUCT_ONLY")
        assert home.version and home.checksum and home.property_groups
        assert home.schema["$defs"]["marketplace_id"]["default"] == DE
        assert store.downloads == 1
        # Valid-looking German listing: language tag and marketplace are DE's.
        issues = home.validator.issues(
            {"item_name": [{"value": "Lampe", "language_tag": "de_DE", "marketplace_id": DE}]}
        )
        assert not any(i.attribute == "item_name" for i in issues)

        found = await store.search(DE, keywords=["home"])
        assert any(p["name"] == "HOME" for p in found)

    async with _vendor(emulator) as client:
        second = SchemaStore(client, tmp_path, "DEMOV")
        again = await second.get("HOME", DE, "LISTING_PRODUCT_ONLY")
        assert second.downloads == 0 and again.checksum == home.checksum
    assert (
        SchemaStore(None, tmp_path, "DEMOV").get_cached("HOME", "DE", "LISTING_PRODUCT_ONLY").version
        == home.version
    )


async def test_unknown_product_type_from_the_emulator_is_a_clear_error(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    async with _vendor(emulator) as client:
        with pytest.raises(ListingSyncError) as error:
            await SchemaStore(client, tmp_path, "DEMOV").get("NO_SUCH_TYPE", DE)
    assert "NO_SUCH_TYPE" in str(error.value) and "product-types search" in str(error.value)


def test_locale_follows_the_marketplace_language_within_amazons_locale_list() -> None:
    from listingsync.schema.store import locale_for

    assert locale_for("de_DE") == "de_DE"
    assert locale_for("fr_BE") == "fr"
    assert locale_for("en_IE") == "en"
    assert locale_for("xx_YY") == "DEFAULT"


async def test_concurrent_gets_share_one_question_and_one_download(tmp_path: Path) -> None:
    import asyncio

    client = FakeClient()
    store = SchemaStore(client, tmp_path, "C96QA")
    results = await asyncio.gather(*(store.get("HOME", DE) for _ in range(10)))
    assert all(r is results[0] for r in results)
    assert len(client.calls) == 1 and store.downloads == 1
