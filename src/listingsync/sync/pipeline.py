"""Config → catalogue → listings → validation → the sync engine: what ``listingsync sync`` runs.

Catalogue problems (a record that cannot be read) are reported and their SKUs are left alone: never
taken for removed, never sent. A problem whose SKU is unknown (a broken CSV row) could be any
listing, so while one is there nothing is taken for removed at all. The catalogue checkpoint (Sales Layer's incremental reads) is
committed only after the whole run went through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import SPAPIClient
from listingsync.amazon.lwa import Credentials
from listingsync.catalog import CatalogProblem, open_source
from listingsync.catalog.inspect import empty_catalogue
from listingsync.config import Config
from listingsync.mapping.pipeline import MappingPipeline
from listingsync.sync.engine import SyncEngine, SyncOptions, SyncReport
from listingsync.sync.plan import Candidate
from listingsync.sync.progress import NullProgress, Progress
from listingsync.sync.store import StateStore, StateStoreError, parse_state_url, sqlite_path

#: Where product type schemas are cached, beside the config (the same place ``validate`` uses).
SCHEMA_CACHE_DIR = ".listingsync/schemas"

__all__ = ["CatalogRead", "check_account", "open_store", "read_candidates", "run_sync", "schema_provider"]


@dataclass(slots=True)
class CatalogRead:
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    removed_skus: set[str] = field(default_factory=set)
    #: SKUs of every product read (deleted records excepted), listings or not.
    read_skus: set[str] = field(default_factory=set)
    products: int = 0
    complete: bool = True
    #: A complete read that found no record at all (``problems`` says so too).
    empty: bool = False
    checkpoint: str | None = None

    @property
    def protected_skus(self) -> set[str]:
        """Never taken for removed: records that could not be read, and every product that was."""
        return self.read_skus | {p.sku for p in self.problems if p.sku and p.severity == "error"}

    @property
    def unattributed_problems(self) -> list[CatalogProblem]:
        """Records that could not be read and whose SKU is unknown: any known listing may be one."""
        if self.empty:  # the only problem is the empty export itself: the deletion guard's case
            return []
        return [p for p in self.problems if not p.sku and p.severity == "error"]


def open_store(config: Config, *, create: bool = True) -> StateStore:
    """The config's state database (``state:``), relative SQLite paths beside the config file.

    ``create=False`` (dry runs) never creates a SQLite file: a missing one reads as an empty store.
    """
    if not create:
        path = sqlite_path(parse_state_url(config.state), config.base_dir)
        if path is not None and not path.exists():
            return StateStore.open("sqlite://")
    return StateStore.open(config.state, config.base_dir)


def check_account(store: StateStore, config: Config, *, claim: bool) -> None:
    """One account per region in a state database: its rows say what *that* account holds on Amazon.

    A store filled by another vendor code or merchant token would make the planner patch listings
    this account never created (and, with ``on_removed: delete``, delete by someone else's state).
    ``claim``: record this account as the owner when none is recorded yet (sending runs).
    """
    region = config.account.resolved_region
    key = f"account/{region.value}"
    owner = store.checkpoint(key)
    mine = config.account.selling_partner_id
    if owner is None:
        if claim:
            store.set_checkpoint(mine, key)
        return
    if owner != mine:
        raise StateStoreError(
            f"this state database holds what account {owner} sent in region {region.value.upper()}; "
            f"the config is for {mine}",
            where="state",
            fix=f"give each account its own state: (e.g. state: sqlite:///.listingsync/{mine}.db), or "
            "correct account.selling_partner_id",
        )


async def schema_provider(config: Config, client: SPAPIClient | None) -> Callable[..., Any]:
    """Schemas for the mapping: the schema store beside the config (``.listingsync/schemas``, shared
    with ``validate``), refreshed through getDefinitionsProductType when there is a client; without
    one, what is cached there, else the schemas bundled with listingsync."""
    from listingsync.mapping.schemas import BundledSchemas, preload
    from listingsync.schema import SchemaStore

    cache_dir = config.resolve_path(SCHEMA_CACHE_DIR)
    seller_id = config.account.selling_partner_id
    if client is None:
        if cache_dir.is_dir() and any(cache_dir.iterdir()):
            return SchemaStore(None, cache_dir, seller_id).get_cached
        return BundledSchemas()
    store = SchemaStore(client, cache_dir, seller_id)
    await preload(config, store)  # failures surface per record as schema issues
    return store.get_cached


def read_candidates(
    config: Config,
    schemas: Callable[..., Any],
    *,
    since: str | None = None,
    progress: Progress | None = None,
) -> CatalogRead:
    progress = progress or NullProgress()
    source = open_source(config)
    out = CatalogRead()
    task = progress.phase("read", f"Reading {source.name or 'the catalogue'}")
    records = []
    for record in source.records(since=since if source.incremental else None):
        records.append(record)
        task.advance()
    task.done()
    out.complete = source.complete
    out.checkpoint = source.next_checkpoint
    if not records and source.complete:
        # An empty export is a broken pipeline far more often than an empty catalogue.
        out.empty = True
        out.problems.append(empty_catalogue(source.name or "the catalogue"))
    pipeline = MappingPipeline(config, schemas)
    pipeline.check()
    task = progress.phase("build", "Building and validating listings", len(records))
    for result in pipeline.run(records, columns=source.columns()):
        task.advance()
        if result.problem is not None:
            out.problems.append(result.problem)
            continue
        out.products += 1
        if result.deleted:
            out.removed_skus.add(result.sku)
            continue
        out.read_skus.add(result.sku)
        for lr in result.listings:
            out.candidates.append(Candidate(lr.listing, list(lr.issues)))
    task.done()
    return out


async def run_sync(
    config: Config,
    options: SyncOptions,
    *,
    credentials: Credentials | None = None,
    client: SPAPIClient | None = None,
    progress: Progress | None = None,
    store: StateStore | None = None,
    transport: Any = None,
) -> tuple[SyncReport, CatalogRead]:
    """One whole sync. ``client`` or ``credentials`` are needed unless ``options.mode`` is dry-run."""
    progress = progress or NullProgress()
    own_store = store is None
    store = store or open_store(config, create=options.mode == "send")
    own_client = client is None and credentials is not None
    if client is None and credentials is not None:
        client = SPAPIClient.from_account(config.account, credentials, transport=transport)
    try:
        check_account(store, config, claim=options.mode == "send")
        engine = SyncEngine(
            store, client, config.account.selling_partner_id, options=options, progress=progress
        )
        recovered = None
        if options.mode != "dry-run" and client is not None:
            # Credentials first: a refused client secret or refresh token is one clear error
            # (LWAError names the fix), not a failure per SKU or a quiet "nothing to send".
            await client.lwa.access_token()
        if options.mode == "send" and client is not None:
            # Finish a killed run's feeds and writes before reading what to send next.
            recovered = await engine.recover()
        schemas = await schema_provider(config, client)
        catalog = read_candidates(config, schemas, since=store.checkpoint(), progress=progress)
        unattributed = catalog.unattributed_problems
        report = await engine.run(
            catalog.candidates,
            marketplace_ids=config.account.marketplaces,
            # A record read as broken with no SKU might be any listing: take none for removed.
            complete=catalog.complete and not unattributed,
            removed_skus=catalog.removed_skus,
            protected_skus=catalog.protected_skus,
            recovered=recovered,
        )
        if unattributed and catalog.complete and options.on_removed == "delete":
            report.notes.append(
                f"{len(unattributed)} catalogue record(s) could not be read and their SKU is unknown "
                f"(first: {unattributed[0].origin}), so no listing was taken for removed this run "
                "(sync.on_removed: delete waits); fix those records and sync again"
            )
        # Advance the catalogue checkpoint only when nothing is left to retry: an incremental read
        # would not bring back a record whose write failed (invalid records stay recorded as such).
        unfinished = any(r.status in ("error", "pending") for r in report.results)
        if options.mode == "send" and not unfinished and catalog.checkpoint is not None:
            store.set_checkpoint(catalog.checkpoint)
        return report, catalog
    finally:
        if own_client and client is not None:
            await client.aclose()
        if own_store:
            store.close()
