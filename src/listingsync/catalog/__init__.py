"""Catalogue sources: Sales Layer's connector API, CSV, Excel (.xlsx), JSON and JSON Lines.

::

    from listingsync.catalog import open_source, Product, CatalogProblem

    source = open_source(config)              # config: listingsync.config.Config
    for record in source.records(since=checkpoint):
        if isinstance(record, CatalogProblem):
            ...                                 # file:line (or table ID) + reason; others go on
        else:
            ...                                 # a Product (record.is_deleted, record.is_variant)
    checkpoint = source.next_checkpoint         # store it only after your run succeeded

Records stream in source order; cross-record checks (duplicate SKU, missing parent, parent cycle)
run as they pass. How columns become products is described in :mod:`listingsync.catalog.rows`.
"""

from __future__ import annotations

from listingsync.catalog.model import CatalogProblem, Origin, Product, ProductStatus
from listingsync.catalog.source import CatalogError, CatalogSource, CrossRecordChecker, Record
from listingsync.config import Config
from listingsync.config.source import SourceConfig

__all__ = [
    "CatalogError",
    "CatalogProblem",
    "CatalogSource",
    "CrossRecordChecker",
    "Origin",
    "Product",
    "ProductStatus",
    "Record",
    "open_source",
    "source_from_settings",
]


def open_source(config: Config) -> CatalogSource:
    """The catalogue source the config's ``source:`` section describes (nothing is read yet)."""
    if config.source is None:
        raise CatalogError(
            "the config has no 'source:' section",
            where="listingsync.yaml",
            fix="add one, e.g. 'source: {type: csv, path: products.csv}' (or xlsx, json, saleslayer; see the README)",
        )
    return source_from_settings(config.source, config)


def source_from_settings(settings: SourceConfig, config: Config | None = None) -> CatalogSource:
    """A source from a ``source:`` section; paths resolve against ``config``'s directory."""
    if settings.type == "saleslayer":
        from listingsync.catalog.saleslayer import SalesLayerSource

        return SalesLayerSource.from_config(settings, config)
    assert settings.path is not None  # SourceConfig requires it for file types
    path = config.resolve_path(settings.path) if config is not None else None
    if path is None:
        from pathlib import Path

        path = Path(settings.path)
    name = settings.path
    if settings.type == "csv":
        from listingsync.catalog.csv_source import CsvSource

        return CsvSource(path, settings, name)
    if settings.type == "xlsx":
        from listingsync.catalog.xlsx_source import XlsxSource

        return XlsxSource(path, settings, name)
    from listingsync.catalog.json_source import JsonSource

    return JsonSource(path, settings, name, lines=True if settings.type == "jsonl" else None)
