"""The product model every catalogue source produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ProductStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from, for error messages: ``products.csv:42`` or ``products/ID 17``."""

    source: str
    line: int | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.record_id is not None:
            return f"{self.source} ID {self.record_id}"
        return self.source


@dataclass(slots=True)
class Product:
    """One catalogue record: a product or a variant (a variant has ``parent_sku``)."""

    sku: str
    origin: Origin
    source_id: str | None = None
    parent_sku: str | None = None
    category_path: tuple[str, ...] = ()
    #: Plain fields by the user's own column names: ``{"brand": "Acme", "price": "9.90"}``.
    fields: dict[str, Any] = field(default_factory=dict)
    #: Per-language fields: ``{"title": {"de": "Tisch", "fr": "Table"}}``; language keys as the source
    #: writes them (``de``, ``de_DE``).
    localized: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    #: True when the source says the images did not change (Sales Layer ``U`` or an empty image
    #: value in an incremental export): ``images`` is then empty and the consumer keeps the
    #: images it last sent. It never means "remove all images".
    images_unchanged: bool = False
    status: ProductStatus = ProductStatus.ACTIVE
    #: The record as read, for previews.
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_deleted(self) -> bool:
        return self.status is ProductStatus.DELETED

    @property
    def is_variant(self) -> bool:
        return self.parent_sku is not None


@dataclass(frozen=True, slots=True)
class CatalogProblem:
    """A record that could not be read as it stands; the others go on."""

    origin: Origin
    message: str
    sku: str | None = None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        sku = f" (SKU {self.sku})" if self.sku else ""
        return f"{self.origin}{sku}: {self.message}"
