"""The ``sync:`` section: what to do with changes and how to send them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on_removed: Literal["ignore", "delete"] = "ignore"
    via: Literal["auto", "items", "feed"] = "auto"
