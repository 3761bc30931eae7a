"""Validation issues, shaped to sit beside Amazon's own (code, message, severity, attribute names)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"


@dataclass(frozen=True, slots=True)
class Issue:
    #: JSON pointer-ish path into the attributes document: ``/item_name/0/value``.
    path: str
    severity: Severity
    #: Amazon's code where one exists (90220 missing attribute …); ours are prefixed ``LS-``.
    code: str
    message: str

    @property
    def attribute(self) -> str:
        """Top-level attribute name (Amazon's ``attributeNames`` entry) or '' for the document."""
        return self.path.strip("/").split("/", 1)[0]

    def __str__(self) -> str:
        return f"{self.severity.value} {self.path or '/'}: {self.message} [{self.code}]"
