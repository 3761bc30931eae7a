"""Amazon's answers → one status per SKU and marketplace.

Statuses: ``pending`` (intent recorded, no answer yet), ``accepted`` (Amazon queued the write),
``live`` (Amazon shows the listing BUYABLE or DISCOVERABLE, no ERROR issue), ``invalid``
(local validation or Amazon refused it, issues say why), ``error`` (the write failed: network,
5xx after retries …; the next run resends it), ``deleted``.

The sources merge in time order: the submission response (or the feed report) first, then
reconciliation (getListingsItem / searchListingsItems issues and summaries), which can turn an
``accepted`` listing into ``live`` or ``invalid`` when Amazon's catalogue processing finishes.
"""

from __future__ import annotations

from typing import Any

from listingsync.amazon import NotFound, SPAPIError
from listingsync.sync.plan import Action, Op
from listingsync.sync.store import Outcome

__all__ = [
    "amazon_issues",
    "outcome_from_error",
    "outcome_from_submission",
    "status_from_item",
]


def amazon_issues(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "code": str(i.get("code") or ""),
            "message": str(i.get("message") or ""),
            "severity": str(i.get("severity") or "ERROR"),
            "attributeNames": list(i.get("attributeNames") or []),
            "categories": list(i.get("categories") or []),
            "source": "amazon",
        }
        for i in raw or []
        if isinstance(i, dict)
    ]


def outcome_from_submission(action: Action, response: dict[str, Any]) -> Outcome:
    """A ListingsItemSubmissionResponse: ``ACCEPTED`` → accepted, ``INVALID`` → invalid."""
    issues = amazon_issues(response.get("issues"))
    status = str(response.get("status") or "").upper()
    submission = response.get("submissionId")
    if status == "ACCEPTED":
        kind = "deleted" if action.op is Op.DELETE else "accepted"
    elif status == "INVALID" or any(i["severity"] == "ERROR" for i in issues):
        kind = "invalid"
    else:  # an answer Amazon's model does not define: keep the intent's data, resend next run
        kind = "error"
        issues.append(_local_issue("LS-UNEXPECTED-STATUS", f"unexpected submission status {status!r}"))
    return Outcome(action.sku, action.marketplace_id, kind, issues, str(submission) if submission else None)


def outcome_from_error(action: Action, exc: Exception) -> Outcome:
    """A failed request: 400 → invalid (resending the same body cannot help); else → error."""
    if isinstance(exc, NotFound) and action.op is Op.DELETE:
        return Outcome(action.sku, action.marketplace_id, "deleted")  # already gone: that is the goal
    if isinstance(exc, SPAPIError):
        issue = {
            "code": exc.code,
            "message": exc.amazon_message,
            "severity": "ERROR",
            "attributeNames": [],
            "categories": [],
            "source": "amazon",
            "http_status": exc.status,
            "request_id": exc.request_id,
        }
        kind = "invalid" if exc.status in (400, 413, 415) else "error"
        return Outcome(action.sku, action.marketplace_id, kind, [issue])
    # invented code (not Amazon's): the request never got an SP-API answer
    return Outcome(action.sku, action.marketplace_id, "error", [_local_issue("LS-REQUEST-FAILED", str(exc))])


def status_from_item(
    item: dict[str, Any], marketplace_id: str
) -> tuple[str, str | None, list[dict[str, Any]]]:
    """(status, asin, issues) of a getListingsItem/searchListingsItems ``Item``."""
    issues = [
        i
        for i in amazon_issues(item.get("issues"))
        if not _issue_mps(item, i) or marketplace_id in _issue_mps(item, i)
    ]
    asin = None
    live = False
    for summary in item.get("summaries") or []:
        if summary.get("marketplaceId") in (None, marketplace_id):
            asin = summary.get("asin") or asin
            live = live or bool(set(summary.get("status") or []) & {"BUYABLE", "DISCOVERABLE"})
    if any(i["severity"] == "ERROR" for i in issues):
        return "invalid", asin, issues
    return ("live" if live else "accepted"), asin, issues


def _issue_mps(item: dict[str, Any], issue: dict[str, Any]) -> list[str]:
    for raw in item.get("issues") or []:
        if raw.get("code") == issue["code"] and raw.get("message") == issue["message"]:
            return list(raw.get("marketplaceIds") or [])
    return []


def _local_issue(code: str, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [],
        "categories": [],
        "source": "listingsync",
    }
