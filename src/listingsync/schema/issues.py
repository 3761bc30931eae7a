"""Validation issues, shaped to sit beside Amazon's own (code, message, severity, attribute names)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Amazon's code for "required attribute missing" (its message: "'x' is required but not supplied").
CODE_MISSING = "90220"

#: Issue code per failed keyword. All but 90220 are invented by listingsync.
KEYWORD_CODES: dict[str, str] = {
    "required": CODE_MISSING,
    "dependentRequired": CODE_MISSING,
    "enum": "LS-ENUM",
    "const": "LS-ENUM",
    "anyOf": "LS-ENUM",
    "oneOf": "LS-ONE-OF",
    "type": "LS-TYPE",
    "maxLength": "LS-MAX-LENGTH",
    "minLength": "LS-MIN-LENGTH",
    "maxItems": "LS-MAX-ITEMS",
    "minItems": "LS-MIN-ITEMS",
    "maximum": "LS-MAXIMUM",
    "minimum": "LS-MINIMUM",
    "exclusiveMaximum": "LS-MAXIMUM",
    "exclusiveMinimum": "LS-MINIMUM",
    "multipleOf": "LS-MULTIPLE-OF",
    "pattern": "LS-PATTERN",
    "format": "LS-FORMAT",
    "additionalProperties": "LS-UNKNOWN-ATTRIBUTE",
    "unevaluatedProperties": "LS-UNKNOWN-ATTRIBUTE",
    "not": "LS-NOT-ALLOWED",
    "uniqueItems": "LS-DUPLICATE",
    "contains": "LS-CONTAINS",
    "minContains": "LS-CONTAINS",
    "maxContains": "LS-CONTAINS",
    "maxProperties": "LS-MAX-PROPERTIES",
    "minProperties": "LS-MIN-PROPERTIES",
    "maxUniqueItems": "LS-MAX-UNIQUE-ITEMS",
    "minUniqueItems": "LS-MIN-UNIQUE-ITEMS",
    "maxUtf8ByteLength": "LS-MAX-UTF8-BYTES",
    "minUtf8ByteLength": "LS-MIN-UTF8-BYTES",
}


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


def one_per_cause(issues: list[Issue]) -> list[Issue]:
    """Drop an issue that only restates another at the same path.

    A URL attribute has ``format: uri`` and a ``pattern`` such as ``^(https?|s3)://``: a value that is
    not a URL fails both, for one cause. The LS-FORMAT issue stays (it says what the value must be),
    the LS-PATTERN one goes. Both validators call this, so they keep reporting the same issues.
    """
    formats = {i.path for i in issues if i.code == "LS-FORMAT"}
    if not formats:
        return issues
    return [i for i in issues if not (i.code == "LS-PATTERN" and i.path in formats)]
