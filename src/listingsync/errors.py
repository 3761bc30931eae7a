"""The error base every listingsync error derives from.

Errors are values a user can act on: each says what was wrong, where (file:line, SKU, attribute
path, config key) and what to do about it. The CLI prints them in that order.
"""

from __future__ import annotations


class ListingSyncError(Exception):
    """Something the user can fix; ``where`` and ``fix`` are shown beside the message."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.fix = fix

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return " — ".join(parts)
