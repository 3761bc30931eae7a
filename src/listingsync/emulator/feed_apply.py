"""Applying one JSON_LISTINGS_FEED message through the Listings Items API logic (placeholder)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.feed_document import FeedMessage
from listingsync.emulator.settings import Account

__all__ = ["MessageOutcome", "apply_message", "report_item"]


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    accepted: bool
    issues: list[dict[str, Any]] = field(default_factory=list)


def apply_message(
    ctx: EmulatorContext,
    account: Account | None,
    message: FeedMessage,
    marketplace_ids: Sequence[str],
    *,
    issue_locale: str | None = None,
) -> MessageOutcome:
    raise NotImplementedError("waiting for the Listings Items logic")


def report_item(
    ctx: EmulatorContext,
    seller_id: str,
    sku: str,
    marketplace_ids: Sequence[str],
    included_data: Sequence[str],
    *,
    issue_locale: str | None = None,
) -> dict[str, Any] | None:
    raise NotImplementedError("waiting for the Listings Items logic")
