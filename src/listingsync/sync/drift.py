"""Drift reconciliation: read listings back from Amazon and record what changed outside listingsync.

A listing written weeks ago may since have been deleted or edited in Seller/Vendor Central,
suppressed, or given an issue by Amazon's later catalogue processing. :func:`check_listings` reads
each one (searchListingsItems, 20 SKUs a call) and records on its state row when it was checked,
Amazon's status (``BUYABLE``/``DISCOVERABLE``, or ``NONE``: suppressed or not listed), its issues,
and its drift, one of:

- ``{"kind": "gone"}``: Amazon no longer has it;
- ``{"kind": "changed", "attributes": {name: {"ours": …, "amazon": …}}}``: attributes listingsync
  sent hold other values on Amazon (attributes it never sent are not its business).

``sync.on_drift: overwrite`` makes the next sync restore the catalogue's values (a PATCH of the
changed attributes, a PUT for a gone listing); ``report`` leaves Amazon's as they are and says so.

A write Amazon accepted moments ago may not be readable yet (Amazon processes asynchronously;
GET answers 404 until it has): an ``accepted`` listing last written within :data:`SETTLE_TIME` is
"not visible yet", never "gone". Likewise, within ``settling`` seconds of our last write (the
rolling check of a sync passes Amazon's processing time), values that differ are Amazon's before
ours: "not visible yet", never "changed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import SPAPIClient
from listingsync.sync.adopt import summary_status
from listingsync.sync.hashing import canonical
from listingsync.sync.outcomes import status_from_item
from listingsync.sync.progress import ProgressTask
from listingsync.sync.recovery import fetch_items
from listingsync.sync.store import Check, ListingState, StateStore

__all__ = ["SETTLE_TIME", "DriftReport", "check_listings", "parse_age"]

#: How long an accepted write may stay invisible before its absence counts as "gone" (Amazon
#: usually shows a listing within minutes; invented bound, generous on purpose).
SETTLE_TIME = dt.timedelta(hours=1)


@dataclass(slots=True)
class DriftReport:
    checked: int = 0
    gone: list[ListingState] = field(default_factory=list)
    changed: list[tuple[ListingState, dict[str, Any]]] = field(default_factory=list)
    #: Listings with issues Amazon did not show at the last check: ``(state, new issues)``.
    new_issues: list[tuple[ListingState, list[dict[str, Any]]]] = field(default_factory=list)
    #: Listings Amazon holds but does not show to buyers (no BUYABLE/DISCOVERABLE status).
    not_shown: list[tuple[ListingState, str | None]] = field(default_factory=list)
    #: Written moments ago and not readable yet (or not applied yet): not judged this time.
    not_visible_yet: list[ListingState] = field(default_factory=list)
    #: Amazon kept failing to answer for these: not judged this time.
    unreadable: list[ListingState] = field(default_factory=list)

    @property
    def drifted(self) -> int:
        return len(self.gone) + len(self.changed)

    @property
    def anything(self) -> bool:
        return bool(self.drifted or self.new_issues)


def parse_age(text: str) -> dt.timedelta:
    """``7d``, ``12h``, ``30m`` (``--older-than``)."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.isdigit():
        raise ValueError(f"{text!r} is not an age such as 7d, 12h or 30m")
    return dt.timedelta(**{units[unit]: int(value)})


def _issue_key(issue: dict[str, Any]) -> tuple[str, str]:
    return (str(issue.get("code")), str(issue.get("message")))


def attribute_diff(ours: dict[str, Any], held: dict[str, Any]) -> dict[str, Any]:
    """Per attribute we sent: our value and Amazon's, where they differ."""
    return {
        name: {"ours": value, "amazon": held.get(name)}
        for name, value in sorted(ours.items())
        if name not in held or canonical(held[name]) != canonical(value)
    }


async def check_listings(
    client: SPAPIClient,
    store: StateStore,
    seller_id: str,
    states: Sequence[ListingState],
    *,
    now: dt.datetime | None = None,
    task: ProgressTask | None = None,
    settling: float = 0.0,
) -> DriftReport:
    """Read ``states`` back from Amazon, record each check, and report what drifted."""
    now = now or dt.datetime.now(dt.UTC)
    report = DriftReport()
    by_mp: dict[str, list[ListingState]] = {}
    for state in states:
        if state.sent_hash is not None and state.pending_op is None and state.status != "deleted":
            by_mp.setdefault(state.marketplace_id, []).append(state)
    checks: list[Check] = []
    for mp, group in by_mp.items():
        failed: dict[str, str] = {}
        included = ["summaries", "attributes", "issues"]
        items = await fetch_items(
            client, seller_id, mp, [s.sku for s in group], included, task, failed=failed
        )
        for state in group:
            if state.sku in failed:
                report.unreadable.append(state)  # not judged: Amazon kept failing to answer
                continue
            report.checked += 1
            item = items.get(state.sku)
            if item is None:
                written = state.updated_at or now
                if state.status == "accepted" and now - written < SETTLE_TIME:
                    report.not_visible_yet.append(state)
                    continue
                report.gone.append(state)
                checks.append(Check(state.sku, mp, now, None, {"kind": "gone"}, state.status, state.issues))
                continue
            status, asin, issues = status_from_item(item, mp)
            shown = summary_status(item, mp)
            diff = attribute_diff(state.sent_attributes or {}, item.get("attributes") or {})
            if diff and now - (state.updated_at or now) < dt.timedelta(seconds=settling):
                report.not_visible_yet.append(state)  # Amazon may not have applied our write yet
                continue
            drift = {"kind": "changed", "attributes": diff} if diff else None
            if diff:
                report.changed.append((state, diff))
            known = {_issue_key(i) for i in state.issues}
            fresh = [i for i in issues if _issue_key(i) not in known]
            if fresh:
                report.new_issues.append((state, fresh))
            if not shown or not set(shown.split(",")) & {"BUYABLE", "DISCOVERABLE"}:
                report.not_shown.append((state, shown))
            checks.append(Check(state.sku, mp, now, shown, drift, status, issues, asin))
    store.record_checks(checks)
    return report
