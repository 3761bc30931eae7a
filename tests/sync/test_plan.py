from __future__ import annotations

from typing import Any

from listingsync.mapping.listing import Listing, Requirements
from listingsync.schema.issues import Issue, Severity
from listingsync.sync.plan import Candidate, Op, Planner
from listingsync.sync.store import Intent, Outcome, StateStore

MP = "A1PA6795UKMFR9"


def _attrs(name: str, color: str = "red") -> dict[str, Any]:
    return {
        "item_name": [{"value": name, "language_tag": "de_DE", "marketplace_id": MP}],
        "color": [{"value": color, "language_tag": "de_DE", "marketplace_id": MP}],
    }


def _listing(sku: str, attrs: dict[str, Any], parentage: str | None = None, pt: str = "HOME") -> Listing:
    return Listing(sku, MP, pt, Requirements.LISTING, attrs, parentage=parentage)


def _accept(store: StateStore, plan_actions: list[Any]) -> None:
    intents = [
        Intent(
            a.sku,
            a.marketplace_id,
            a.method,
            a.hash,
            a.attributes,
            a.product_type,
            a.requirements,
            parentage=a.parentage,
        )
        for a in plan_actions
    ]
    store.record_intents(1, intents)
    store.record_outcomes(1, [Outcome(a.sku, a.marketplace_id, "accepted") for a in plan_actions])


def test_first_plan_creates_parents_first(store: StateStore) -> None:
    plan = Planner(store).plan(
        [
            Candidate(_listing("CHILD", _attrs("c"), "child")),
            Candidate(_listing("PARENT", _attrs("p"), "parent")),
        ]
    )
    assert [(a.sku, a.op) for a in plan.actions] == [("PARENT", Op.CREATE), ("CHILD", Op.CREATE)]


def test_unchanged_then_patch_only_changed_and_delete_removed(store: StateStore) -> None:
    attrs = _attrs("a") | {"bullet_point": [{"value": "x", "language_tag": "de_DE", "marketplace_id": MP}]}
    plan = Planner(store).plan([Candidate(_listing("A", attrs))])
    _accept(store, plan.writes)
    again = Planner(store).plan([Candidate(_listing("A", attrs))])
    assert [a.op for a in again.actions] == [Op.UNCHANGED]

    changed = _attrs("a", color="blue")  # colour changed, bullet_point removed
    plan = Planner(store, keep_previous=True).plan([Candidate(_listing("A", changed))])
    (action,) = plan.actions
    assert action.op is Op.UPDATE and action.method == "PATCH"
    assert action.patches == [
        {"op": "replace", "path": "/attributes/color", "value": changed["color"]},
        {
            "op": "delete",
            "path": "/attributes/bullet_point",
            "value": [{"language_tag": "de_DE", "marketplace_id": MP}],
        },
    ]
    assert action.previous is not None and action.previous["color"] == attrs["color"]


def test_product_type_change_is_a_put(store: StateStore) -> None:
    _accept(store, Planner(store).plan([Candidate(_listing("A", _attrs("a")))]).writes)
    (action,) = Planner(store).plan([Candidate(_listing("A", _attrs("a"), pt="LUGGAGE"))]).actions
    assert action.op is Op.REPLACE and action.method == "PUT"


def test_invalid_not_sent_unless_forced(store: StateStore) -> None:
    bad = Candidate(_listing("B", _attrs("b")), [Issue("/brand", Severity.ERROR, "90220", "brand missing")])
    warn = Candidate(_listing("W", _attrs("w")), [Issue("/x", Severity.WARNING, "LS-1", "hm")])
    plan = Planner(store).plan([bad, warn])
    assert [(a.sku, a.op) for a in plan.actions] == [("B", Op.INVALID), ("W", Op.CREATE)]
    assert Planner(store, force=True).plan([bad]).actions[0].op is Op.CREATE


def test_amazon_invalid_not_resent_unchanged_but_resent_when_changed(store: StateStore) -> None:
    (a,) = Planner(store).plan([Candidate(_listing("A", _attrs("a")))]).writes
    store.record_intents(1, [Intent("A", MP, "PUT", a.hash, a.attributes, "HOME", "LISTING")])
    store.record_outcomes(1, [Outcome("A", MP, "invalid", issues=[{"code": "1", "severity": "ERROR"}])])
    assert Planner(store).plan([Candidate(_listing("A", _attrs("a")))]).actions[0].op is Op.UNCHANGED
    assert Planner(store).plan([Candidate(_listing("A", _attrs("a2")))]).actions[0].op is Op.CREATE


def test_error_is_resent(store: StateStore) -> None:
    (a,) = Planner(store).plan([Candidate(_listing("A", _attrs("a")))]).writes
    store.record_intents(1, [Intent("A", MP, "PUT", a.hash, a.attributes, "HOME", "LISTING")])
    store.record_outcomes(1, [Outcome("A", MP, "error", issues=[{"message": "503"}])])
    assert Planner(store).plan([Candidate(_listing("A", _attrs("a")))]).actions[0].op is Op.CREATE


def test_removed_ignored_or_deleted_children_first(store: StateStore) -> None:
    cands = [
        Candidate(_listing("P", _attrs("p"), "parent")),
        Candidate(_listing("C", _attrs("c"), "child")),
        Candidate(_listing("K", _attrs("k"))),
    ]
    _accept(store, Planner(store).plan(cands).writes)
    keep = cands[2:]
    ignored = Planner(store).plan(keep)
    assert sorted((a.sku, a.op) for a in ignored.actions) == [
        ("C", Op.REMOVED),
        ("K", Op.UNCHANGED),
        ("P", Op.REMOVED),
    ]
    deleted = Planner(store, on_removed="delete").plan(keep)
    assert [(a.sku, a.op) for a in deleted.writes] == [("C", Op.DELETE), ("P", Op.DELETE)]
    # An incremental read deletes only what the source marked deleted.
    partial = Planner(store, on_removed="delete").plan([], complete=False, removed_skus=["C"])
    assert [(a.sku, a.op) for a in partial.writes] == [("C", Op.DELETE)]
