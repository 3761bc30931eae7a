"""The ``listings:`` section: how catalogue records become Amazon listings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProductTypeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str
    product_type: str


class ListingsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product_type: str | None = None
    rules: list[ProductTypeRule] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
