"""The planner: desired listings against the state store → create, update, delete or nothing.

- **create**: Amazon has nothing we know of → PUT (feed: ``UPDATE``).
- **replace**: the product type or requirements changed → PUT again (a PATCH cannot change them).
- **update**: same product type → PATCH with a ``replace`` op per changed top-level attribute and a
  ``delete`` op per removed one (with the selector values Amazon needs to find the instances).
- **delete**: gone from the catalogue and ``sync.on_removed: delete``.
- **unchanged**: Amazon holds this exact document, or refused this exact document already.
- **invalid**: local validation found ERRORs; not sent unless forced.
- **adopt**: a listing the state did not know that Amazon already holds exactly as the catalogue
  has it (see :mod:`listingsync.sync.adopt`): recorded, nothing sent. One Amazon holds with other
  values is an **update** (``adopt`` set): a PATCH of the differing attributes, never a PUT.

Parents are written before their children; deletions go children first. Only changed top-level
attributes are patched, so an unchanged ``child_parent_sku_relationship`` is never resent (Amazon
asks for that: it counts against the stricter relationship limits and slows feeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from listingsync.mapping.listing import Listing
from listingsync.schema.issues import Issue, Severity
from listingsync.sync.hashing import canonical, listing_hash
from listingsync.sync.store import PlanIndexEntry, StateStore

if TYPE_CHECKING:
    from listingsync.sync.adopt import Held

__all__ = [
    "DEFAULT_SELECTOR_KEYS",
    "Action",
    "Candidate",
    "Op",
    "Plan",
    "Planner",
    "issue_dict",
]

Key = tuple[str, str]

#: Keys that select attribute instances when the product type schema is not at hand: the union of
#: the ``selectors`` Amazon's schemas declare (``marketplace_id``, ``language_tag`` for most text,
#: ``type`` for identifiers, ``currency``/``audience`` for prices …). ``value`` is left out: only
#: a rare attribute selects on it, and a delete by value would not match a changed value anyway.
DEFAULT_SELECTOR_KEYS = (
    "marketplace_id",
    "language_tag",
    "type",
    "fulfillment_channel_code",
    "currency",
    "audience",
    "sku",
    "aspect",
    "marking_type",
    "regulation_type",
    "content_type",
    "content_language",
)

#: ``(product_type, marketplace_id, attribute) -> selectors`` from the schema, or None if unknown.
SelectorLookup = Callable[[str, str, str], Sequence[str] | None]


class Op(StrEnum):
    CREATE = "create"
    REPLACE = "replace"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    REMOVED = "removed"  # gone from the catalogue, kept on Amazon (on_removed: ignore)
    ADOPT = "adopt"  # already on Amazon as the catalogue has it: recorded, not sent

    @property
    def is_write(self) -> bool:
        return self in (Op.CREATE, Op.REPLACE, Op.UPDATE, Op.DELETE)


@dataclass(slots=True)
class Candidate:
    """A listing as built and validated: ``issues`` holds local validation and build problems."""

    listing: Listing
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]


@dataclass(slots=True)
class Action:
    op: Op
    sku: str
    marketplace_id: str
    product_type: str | None = None
    requirements: str | None = None
    hash: str | None = None
    #: The full desired document (create/replace/update): the new base once Amazon accepts it.
    attributes: dict[str, Any] | None = None
    patches: list[dict[str, Any]] | None = None
    issues: list[Issue] = field(default_factory=list)
    parent_sku: str | None = None
    parentage: str | None = None
    origin: str | None = None
    #: For the dry-run diff: attributes added/changed/removed, and the previous values.
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    previous: dict[str, Any] | None = None
    #: Planned against what Amazon held (a listing the state did not know): see ``sync.adopt``.
    adopt: bool = False

    @classmethod
    def removal(cls, op: Op, key: Key, entry: PlanIndexEntry) -> Action:
        """``op`` (delete or removed) for a listing the catalogue no longer has, as the state knows it."""
        return cls(
            op,
            key[0],
            key[1],
            product_type=entry.product_type,
            requirements=entry.requirements,
            parentage=entry.parentage,
        )

    @property
    def key(self) -> Key:
        return (self.sku, self.marketplace_id)

    @property
    def method(self) -> str:
        return {Op.CREATE: "PUT", Op.REPLACE: "PUT", Op.UPDATE: "PATCH", Op.DELETE: "DELETE"}.get(self.op, "")

    @property
    def order(self) -> int:
        """Parents first for writes; children first for deletes."""
        if self.op is Op.DELETE:
            return 3 if self.parentage == "parent" else 2
        return 0 if self.parentage == "parent" else 1


@dataclass(slots=True)
class Plan:
    actions: list[Action]
    #: Listings the store knows on Amazon in the planned marketplaces (the mass-deletion guard's base).
    known: int = 0

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.op.is_write]

    def counts(self) -> dict[str, int]:
        out = {op.value: 0 for op in Op}
        for a in self.actions:
            out[a.op.value] += 1
        return out


class Planner:
    def __init__(
        self,
        store: StateStore,
        *,
        on_removed: str = "ignore",
        force: bool = False,
        selectors: SelectorLookup | None = None,
        keep_previous: bool = False,
        on_drift: str = "report",
    ) -> None:
        self.store = store
        #: ``overwrite``: a listing changed or deleted on Amazon outside listingsync is restored.
        self.on_drift = on_drift
        self.on_removed = on_removed
        self.force = force
        self.selectors = selectors
        #: Keep the previous attribute values on actions (dry-run diffs); off for big runs.
        self.keep_previous = keep_previous

    def plan(
        self,
        candidates: Iterable[Candidate],
        *,
        marketplace_ids: Sequence[str] | None = None,
        complete: bool = True,
        removed_skus: Iterable[str] = (),
        protected_skus: Iterable[str] = (),
        index: dict[Key, PlanIndexEntry] | None = None,
        held: Mapping[Key, Held] | None = None,
    ) -> Plan:
        """``complete``: the candidates are the whole catalogue, so anything else known was removed.

        With an incremental read (``complete=False``) only ``removed_skus`` (records the source
        marked deleted) count as removed. ``protected_skus`` (records that could not be read this
        time) are never taken for removed. ``held``: what Amazon holds for listings the state does
        not know (``sync.adopt``), planned against as their bases.
        """
        if index is None:
            index = self.store.plan_index(marketplace_ids)
        on_amazon: Mapping[Key, Held] = held or {}
        actions: list[Action] = []
        updates: list[tuple[Action, Listing]] = []
        seen: set[Key] = set()
        restore: set[Key] = set()
        for cand in candidates:
            listing = cand.listing
            key = (listing.sku, listing.marketplace_id)
            seen.add(key)
            found = on_amazon.get(key)
            entry = found.entry() if found is not None else index.get(key)
            if entry is not None and entry.drift_kind and self.on_drift == "overwrite":
                if entry.drift_kind == "gone":
                    entry = None  # deleted on Amazon: created again
                else:  # changed on Amazon: planned against Amazon's values, so a PATCH restores ours
                    entry = replace(entry, sent_hash="drifted")
                    restore.add(key)
            action = self._classify(cand, entry)
            if found is not None:
                action.adopt = True
                if action.op is Op.UNCHANGED:
                    action.op = Op.ADOPT
            actions.append(action)
            if action.op is Op.UPDATE:
                updates.append((action, listing))
        if updates:
            bases = self.store.sent_attributes([a.key for a, _ in updates if not a.adopt])
            bases.update({k: h.attributes for k, h in on_amazon.items()})
            for key, drift in self.store.drifts(restore).items():
                amazon = {n: d.get("amazon") for n, d in (drift.get("attributes") or {}).items()}
                base = {**bases.get(key, {}), **{n: v for n, v in amazon.items() if v is not None}}
                bases[key] = {n: v for n, v in base.items() if amazon.get(n, v) is not None}
            for action, listing in updates:
                self._patch(action, listing, bases.get(action.key, {}))
                if action.adopt and action.op is Op.UNCHANGED:
                    action.op = Op.ADOPT
        removed = set(removed_skus)
        protected = set(protected_skus)
        for key, entry in index.items():
            if key in seen or entry.status == "deleted" or key[0] in protected:
                continue
            if not complete and key[0] not in removed:
                continue
            if marketplace_ids and key[1] not in marketplace_ids:
                continue
            if entry.sent_hash is None and entry.pending_op is None:
                continue  # never on Amazon (invalid or failed before acceptance): nothing to delete
            op = Op.DELETE if self.on_removed == "delete" else Op.REMOVED
            actions.append(Action.removal(op, key, entry))
        actions.sort(key=lambda a: a.order)  # stable: source order within each group
        known = sum(
            1
            for key, entry in index.items()
            if entry.status != "deleted"
            and (entry.sent_hash is not None or entry.pending_op is not None)
            and (not marketplace_ids or key[1] in marketplace_ids)
        )
        return Plan(actions, known)

    def _classify(self, cand: Candidate, state: PlanIndexEntry | None) -> Action:
        listing = cand.listing
        requirements = listing.requirements.value if listing.requirements else None
        h = listing_hash(listing.product_type, requirements, listing.attributes)
        action = Action(
            Op.UNCHANGED,
            listing.sku,
            listing.marketplace_id,
            product_type=listing.product_type,
            requirements=requirements,
            hash=h,
            attributes=listing.attributes,
            issues=list(cand.issues),
            parent_sku=listing.parent_sku,
            parentage=listing.parentage,
            origin=listing.origin,
        )
        if cand.errors and not self.force:
            action.op = Op.INVALID
            return action
        if state is not None and state.status == "invalid" and state.attempted_hash == h:
            return action  # Amazon refused this very document: resending gets the same answer
        if state is None or state.status == "deleted" or state.sent_hash is None:
            action.op = Op.CREATE
            action.changed = sorted(listing.attributes)
            return action
        if state.sent_hash == h:
            return action
        if state.product_type != listing.product_type or (state.requirements or None) != requirements:
            action.op = Op.REPLACE
            action.changed = sorted(listing.attributes)
            return action
        action.op = Op.UPDATE
        return action

    def _patch(self, action: Action, listing: Listing, base: dict[str, Any]) -> None:
        if not base and not action.adopt:  # the base went missing (an old store): a full PUT is right
            action.op = Op.REPLACE
            action.changed = sorted(listing.attributes)
            return
        patches: list[dict[str, Any]] = []
        for name in sorted(listing.attributes):
            value = listing.attributes[name]
            if name not in base or canonical(base[name]) != canonical(value):
                patches.append({"op": "replace", "path": f"/attributes/{name}", "value": value})
                action.changed.append(name)
        for name in sorted(set(base) - set(listing.attributes)):
            selectors = self._selectors(listing.product_type, listing.marketplace_id, name)
            patches.append(
                {
                    "op": "delete",
                    "path": f"/attributes/{name}",
                    "value": _selector_values(base[name], selectors),
                }
            )
            action.removed.append(name)
        if self.keep_previous:
            action.previous = {n: base.get(n) for n in (*action.changed, *action.removed)}
        if not patches:  # same attributes, different hash: only metadata moved; nothing to send
            action.op = Op.UNCHANGED
            return
        action.patches = patches

    def _selectors(self, product_type: str, marketplace_id: str, name: str) -> Sequence[str]:
        if self.selectors is not None:
            found = self.selectors(product_type, marketplace_id, name)
            if found:
                return found
        return DEFAULT_SELECTOR_KEYS


def _selector_values(old: Any, selectors: Sequence[str]) -> list[dict[str, Any]]:
    """One selector object per old instance: what Amazon needs to find what to delete."""
    out: list[dict[str, Any]] = []
    for instance in old if isinstance(old, list) else [old]:
        if not isinstance(instance, dict):
            continue
        picked = {k: instance[k] for k in selectors if k in instance}
        selector = picked or instance
        if selector not in out:
            out.append(selector)
    return out


def issue_dict(issue: Issue, source: str = "local") -> dict[str, Any]:
    """An :class:`Issue` in the shape Amazon's issues have, for the store and ``issues`` output."""
    return {
        "code": issue.code,
        "message": issue.message,
        "severity": issue.severity.value,
        "attributeNames": [issue.attribute] if issue.attribute else [],
        "path": issue.path,
        "source": source,
    }
