"""The JSON_LISTINGS_FEED processing report (``listings-feed-processing-report-schema-v2.json``).

:class:`ReportBuilder` collects what happened to each message while a feed is applied and renders
the document Amazon's schema describes: ``header`` (sellerId, version "2.0", feedId, and the
``report`` options the feed asked for), ``issues`` (one per problem, with messageId and sku;
feed-level problems have neither), ``summary`` (errors, warnings, messages processed / accepted /
invalid, plus ``itemSummary`` when items were asked for) and ``items`` (the listings as the
Listings Items API shows them after the feed, only when ``header.report.includedData`` was set).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft7Validator

__all__ = [
    "FATAL_CODE",
    "INVALID_MESSAGE_CODE",
    "ReportBuilder",
    "fatal_report",
    "report_schema_errors",
]

# Codes Amazon does not publish for these cases: invented, and prefixed LS- like every code of ours
# (schema/issues.py). The report schema makes ``code`` optional, and Amazon's own feed-level
# issues often carry none.
#: Invented: the message breaks the message part of listings-feed-schema-v2.
INVALID_MESSAGE_CODE: Final = "LS-FEED-MESSAGE-SCHEMA"
#: Invented: the document cannot be processed at all (the feed ends FATAL).
FATAL_CODE: Final = "LS-FEED-FATAL"


def _report_schema() -> dict[str, Any]:
    text = (
        resources.files("listingsync")
        .joinpath("data/schemas/listings-feed-processing-report-schema-v2.json")
        .read_text("utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _report_validator() -> Draft7Validator:
    return Draft7Validator(_report_schema())


def report_schema_errors(report: Any) -> list[str]:
    """Every way ``report`` breaks Amazon's processing report schema (empty when it conforms)."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(report)'}: {e.message}"
        for e in _report_validator().iter_errors(report)
    ]


def _issue(
    severity: str,
    message: str,
    *,
    message_id: int | None = None,
    sku: str | None = None,
    code: str | None = None,
    attribute_name: str | None = None,
) -> dict[str, Any]:
    issue: dict[str, Any] = {}
    if message_id is not None:
        issue["messageId"] = message_id
    if sku:
        issue["sku"] = sku
    if code:
        issue["code"] = code
    issue["severity"] = severity
    issue["message"] = message or "(no message)"  # minLength 1 in the schema
    if attribute_name:
        issue["attributeName"] = attribute_name
    return issue


class ReportBuilder:
    """Accumulates one feed's outcome; :meth:`build` renders the report document."""

    def __init__(
        self,
        seller_id: str,
        feed_id: str,
        *,
        included_data: Iterable[str] = (),
        api_version: str | None = None,
    ) -> None:
        self.seller_id = seller_id
        self.feed_id = feed_id
        self.included_data = tuple(included_data)
        self.api_version = api_version or "2021-08-01"
        self.issues: list[dict[str, Any]] = []
        self.items: list[dict[str, Any]] = []
        self.processed = 0
        self.accepted = 0
        self.invalid = 0

    def add_issue(
        self,
        severity: str,
        message: str,
        *,
        message_id: int | None = None,
        sku: str | None = None,
        code: str | None = None,
        attribute_name: str | None = None,
    ) -> None:
        self.issues.append(
            _issue(
                severity, message, message_id=message_id, sku=sku, code=code, attribute_name=attribute_name
            )
        )

    def add_api_issues(self, message_id: int, sku: str, issues: Iterable[Mapping[str, Any]]) -> None:
        """Listings API issues (``attributeNames[]``) → report issues (one ``attributeName``)."""
        for issue in issues:
            names = issue.get("attributeNames") or [None]
            self.add_issue(
                str(issue.get("severity", "ERROR")),
                str(issue.get("message", "")),
                message_id=message_id,
                sku=sku,
                code=str(issue["code"]) if issue.get("code") else None,
                attribute_name=names[0],
            )

    def message_done(self, *, accepted: bool) -> None:
        self.processed += 1
        if accepted:
            self.accepted += 1
        else:
            self.invalid += 1

    def add_item(self, item: dict[str, Any]) -> None:
        self.items.append(item)

    def _count(self, issues: Iterable[Mapping[str, Any]], severity: str) -> int:
        return sum(1 for i in issues if i.get("severity") == severity)

    def build(self) -> dict[str, Any]:
        header: dict[str, Any] = {"sellerId": self.seller_id, "version": "2.0", "feedId": self.feed_id}
        summary: dict[str, Any] = {
            "errors": self._count(self.issues, "ERROR"),
            "warnings": self._count(self.issues, "WARNING"),
            "messagesProcessed": self.processed,
            "messagesAccepted": self.accepted,
            "messagesInvalid": self.invalid,
        }
        report: dict[str, Any] = {"header": header, "issues": self.issues, "summary": summary}
        if self.included_data:
            header["report"] = {"includedData": list(self.included_data), "apiVersion": self.api_version}
            item_issues = [i for item in self.items for i in item.get("issues", ())]
            summary["itemSummary"] = {
                "items": len(self.items),
                "errors": self._count(item_issues, "ERROR"),
                "warnings": self._count(item_issues, "WARNING"),
            }
            report["items"] = self.items
        return report


def fatal_report(seller_id: str, feed_id: str, reason: str) -> dict[str, Any]:
    """The report of a feed that could not be processed: one feed-level ERROR saying why."""
    builder = ReportBuilder(seller_id, feed_id)
    builder.add_issue("ERROR", reason, code=FATAL_CODE)
    return builder.build()
