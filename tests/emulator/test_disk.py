"""The emulator state's on-disk views: listings, write log and blobs behave as the dicts and lists
they replaced, and survive a state file round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from listingsync.emulator.feed_store import FeedStore
from listingsync.emulator.state import ListingRecord, State


def _record(sku: str, marketplace: str = "M1", asin: str = "") -> ListingRecord:
    return ListingRecord(
        seller_id="S",
        sku=sku,
        marketplace_id=marketplace,
        product_type="HOME",
        requirements="LISTING",
        attributes={"item_name": [{"value": f"Name {sku}", "marketplace_id": marketplace}]},
        asin=asin,
        created=1.0,
        updated=2.0,
        late_issues=[{"code": "X", "severity": "WARNING"}],
        buyable_at=3.5,
    )


def test_listings_are_a_mapping_in_insertion_order_and_reads_are_copies() -> None:
    state = State()
    assert state.listings == {}
    for sku in ("B", "A", "C"):
        state.put_listing(_record(sku))
    state.put_listing(_record("B", asin="B0NEW"))  # replacing keeps the position, as a dict does
    assert [k[2] for k in state.listings] == ["B", "A", "C"]
    assert len(state.listings) == 3 and ("S", "M1", "A") in state.listings
    assert ("S", "M2", "A") not in state.listings and state.get_listing("S", "M2", "A") is None
    got = state.get_listing("S", "M1", "B")
    assert got == _record("B", asin="B0NEW")
    got.attributes["item_name"][0]["value"] = "changed"  # a copy: the state is unchanged ...
    assert state.listings[("S", "M1", "B")].attributes["item_name"][0]["value"] == "Name B"
    state.put_listing(got)  # ... until it is put back
    assert state.listings[("S", "M1", "B")].attributes["item_name"][0]["value"] == "changed"
    assert state.listings.has_asin("B0NEW", "M1") and not state.listings.has_asin("B0NEW", "M2")
    assert state.delete_listing("S", "M1", "A") is not None
    assert state.delete_listing("S", "M1", "A") is None
    with pytest.raises(KeyError):
        del state.listings[("S", "M1", "A")]
    assert dict(state.listings.items()) == {
        ("S", "M1", "B"): state.listings[("S", "M1", "B")],
        ("S", "M1", "C"): _record("C"),
    }


def test_many_listings_iterate_past_a_page() -> None:
    state = State()
    state.listings.put_many(_record(f"SKU-{i:04d}") for i in range(2500))
    assert len(state.listings) == 2500
    assert [r.sku for r in state.listings.values()] == [f"SKU-{i:04d}" for i in range(2500)]


def test_write_log_is_list_like() -> None:
    state = State()
    assert state.write_log == []
    for sku in ("A", "B", "C"):
        state.log_write(sku=sku, op="PUT", time=5.0)
    assert len(state.write_log) == 3
    assert [w["seq"] for w in state.write_log] == [1, 2, 3]
    assert state.write_log[-1]["sku"] == "C" and state.write_log[0]["sku"] == "A"
    assert [w["sku"] for w in state.write_log[1:]] == ["B", "C"]
    assert state.write_log[5:] == [] and [w["sku"] for w in state.write_log.since(2)] == ["C"]
    with pytest.raises(IndexError):
        state.write_log[3]
    state.reset()
    assert state.write_log == [] and state.listings == {}
    state.log_write(sku="D", op="PUT")
    assert state.write_log[0]["seq"] == 1


def test_state_file_round_trip_keeps_listings_log_and_documents(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = State(path)
    state.put_listing(_record("A"))
    state.log_write(sku="A", op="PUT", time=1.0)
    store = FeedStore(state, lambda: 100.0)
    doc = store.new_document("S", "na", "application/json", kind="input")
    store.write_document(doc["id"], b'{"header": {}}')
    state.save()
    again = State(path)
    assert again.listings == {("S", "M1", "A"): _record("A")}
    assert again.write_log == [{"sku": "A", "op": "PUT", "time": 1.0, "seq": 1}]
    reread = FeedStore(again, lambda: 100.0)
    found = reread.document(doc["id"])
    assert found is not None and reread.document_bytes(found) == b'{"header": {}}'
    # The bytes live in the blob store, not in the feed's JSON bookkeeping.
    assert again.extra["feeds"]["documents"][doc["id"]]["data"] is None
