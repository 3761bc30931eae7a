"""The mass-deletion guard: a broken export must not wipe the listings off Amazon.

With ``sync.on_removed: delete`` every listing missing from a complete catalogue read is deleted.
An export cut short (a CSV with only its header, a PIM connector that returned nothing, a filter
gone wrong) would then delete the whole catalogue on Amazon, and putting it back takes a full sync
plus Amazon's processing time while the products cannot be bought. So a run that would delete
everything from an empty catalogue, or more than ``sync.max_delete_share`` of the known listings
(and more than ``sync.delete_guard_min`` of them), is refused unless the user says
``--allow-mass-delete``.
"""

from __future__ import annotations

from dataclasses import dataclass

from listingsync.errors import ListingSyncError

__all__ = ["ALLOW_FLAG", "DeleteGuard", "MassDeleteError"]

#: The command-line flag that lets a refused run through; named in every refusal.
ALLOW_FLAG = "--allow-mass-delete"


class MassDeleteError(ListingSyncError):
    """A sync refused because it would delete too many listings (nothing was sent)."""


@dataclass(frozen=True, slots=True)
class DeleteGuard:
    #: Refuse when more than this share of the known listings would be deleted ...
    max_share: float = 0.2
    #: ... and more than this many (deleting a handful of listings is ordinary catalogue churn).
    min_count: int = 10

    def refusal(self, deletes: int, known: int, *, empty_catalogue: bool) -> str | None:
        """Why a run with ``deletes`` of ``known`` listings must not go ahead, or None when it may."""
        if deletes <= 0:
            return None
        if empty_catalogue:
            return (
                f"the catalogue has no products, so this sync would delete all {deletes} listing(s) "
                "listingsync knows on Amazon"
            )
        share = deletes / known if known else 1.0
        if deletes > self.min_count and share > self.max_share:
            return (
                f"this sync would delete {deletes} of {known} listing(s) ({share:.0%}), more than "
                f"sync.max_delete_share ({self.max_share:.0%}) and sync.delete_guard_min ({self.min_count})"
            )
        return None

    def error(self, reason: str, *, dry_run: bool = False) -> MassDeleteError:
        """The refusal; ``dry_run``: worded for a plan that was only shown."""
        head = "a real sync would be refused" if dry_run else "refused"
        return MassDeleteError(
            f"{head}: {reason}; nothing was sent",
            fix=(
                "check that the catalogue export is complete (`listingsync catalog inspect`, "
                "`listingsync sync --dry-run` lists each deletion); if the deletions are meant, run "
                f"again with {ALLOW_FLAG}, or raise sync.max_delete_share / sync.delete_guard_min"
            ),
        )
