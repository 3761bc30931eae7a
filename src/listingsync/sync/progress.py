"""How the engine reports progress: phases with totals. The CLI draws them with Rich; tests ignore them."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullProgress", "Progress", "ProgressTask"]

#: The phases, in order: read, build, validate, plan, submit, wait for feed, reconcile.
PHASES = ("read", "build", "validate", "plan", "submit", "feed", "reconcile")


class ProgressTask(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def total(self, total: int | None) -> None: ...
    def done(self) -> None: ...


class Progress(Protocol):
    def phase(self, name: str, description: str, total: int | None = None) -> ProgressTask: ...
    def note(self, message: str) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass

    def total(self, total: int | None) -> None:
        pass

    def done(self) -> None:
        pass


class NullProgress:
    def phase(self, name: str, description: str, total: int | None = None) -> ProgressTask:
        return _NullTask()

    def note(self, message: str) -> None:
        pass
