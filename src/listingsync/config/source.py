"""The ``source:`` section: where the catalogue comes from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["csv", "xlsx", "json", "jsonl", "saleslayer"]
    path: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sku_field: str | None = None
    variant_sku_field: str | None = None
    parent_field: str | None = None
    connector_id: str | None = None
    api_url: str | None = None
