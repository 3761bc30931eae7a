"""The ``source:`` section: where the catalogue comes from and how its columns are read.

File sources (``csv``, ``xlsx``, ``json``, ``jsonl``) need ``path`` (relative to the config file).
Column roles (SKU, parent, category, images, languages) are detected from common names; every
detection can be overridden here because the column names are the user's, not ours.

``saleslayer`` needs ``connector_id``; the connector's private key is a secret and never lives in
the YAML: it comes from ``LISTINGSYNC_SALESLAYER_SECRET`` or the keyring.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_SALESLAYER_API_URL", "FILE_TYPES", "SourceConfig", "SourceType"]

SourceType = Literal["csv", "xlsx", "json", "jsonl", "saleslayer"]
FILE_TYPES: frozenset[str] = frozenset({"csv", "xlsx", "json", "jsonl"})
DEFAULT_SALESLAYER_API_URL = "https://api.saleslayer.com"


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SourceType

    # --- files -------------------------------------------------------------------------------
    #: The catalogue file, relative to the config file's directory.
    path: str | None = None
    #: csv/json: detected when omitted (UTF-8, UTF-8 with BOM, else cp1252).
    encoding: str | None = None
    #: csv: sniffed from the header line when omitted (one of , ; tab |).
    delimiter: str | None = None
    #: xlsx: the sheet's name; the first sheet when omitted.
    sheet: str | None = None

    # --- column roles (files and Sales Layer) --------------------------------------------------
    #: The field holding a product's SKU (detected: sku, seller_sku, item_sku, reference, …).
    sku_field: str | None = None
    #: The field holding a variant's own SKU when variants sit in rows that also carry the
    #: product's SKU (detected: variant_sku, format_sku, child_sku, …); Sales Layer: the
    #: product_formats column with the variant SKU.
    variant_sku_field: str | None = None
    #: The field naming the parent's SKU of a variant (detected: parent_sku, parent, …).
    parent_field: str | None = None
    #: The field holding the category path (detected: category, category_path, categories).
    category_field: str | None = None
    #: Separator inside a category path value; detected (``>`` then ``/``) when omitted.
    category_separator: str | None = None
    #: Image fields in order; detected (image, image_1 … image_9, images, …) when omitted.
    image_fields: list[str] | None = None
    #: Separator between several values in one cell (image URLs): ``|`` by default.
    list_separator: str = "|"
    #: Language codes of per-language columns (``title_de``); detected when omitted.
    languages: list[str] | None = None
    #: The decimal mark of numbers written as text (``","``: 1.234,56; ``"."``: 1,234.56). When
    #: omitted, the one all the account's marketplaces write; if they differ, values such as
    #: ``1,234`` are refused (see ``mapping.numbers``).
    decimal_separator: Literal[",", "."] | None = None

    # --- Sales Layer connector API --------------------------------------------------------------
    connector_id: str | None = None
    api_url: str = DEFAULT_SALESLAYER_API_URL
    #: Items per page asked of Sales Layer (API 1.18 rounds it to its own ranges).
    pagination: int = Field(default=1000, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    #: Retries of errors 10, 11, 14 and network failures, with exponential backoff.
    max_retries: int = Field(default=5, ge=0)
    #: Remembers Sales Layer ID → SKU so deletions (``D`` rows carry only the ID) name their SKU.
    id_cache: str = ".listingsync/saleslayer-ids.sqlite"
    #: Variants take the product's fields, texts and images where their own are empty, as Sales
    #: Layer's own Amazon channel does.
    inherit_parent_fields: bool = True

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None:
            value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(value, value)
            if len(value) != 1:
                raise ValueError("must be a single character such as ',' ';' '|' or 'tab'")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r}; use utf-8, utf-8-sig, cp1252, latin-1 …"
                ) from None
        return value

    @model_validator(mode="after")
    def _needs_location(self) -> SourceConfig:
        if self.type in FILE_TYPES and not self.path:
            raise ValueError(
                f"a {self.type} source needs 'path:' (the catalogue file, relative to this config)"
            )
        if self.type == "saleslayer" and not self.connector_id:
            raise ValueError(
                "a saleslayer source needs 'connector_id:' (Sales Layer → Channels → your custom "
                "connector → Parameters → Connector ID)"
            )
        return self
