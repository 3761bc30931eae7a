from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from listingsync.sync import tables as t
from listingsync.sync.engine import SkuResult
from listingsync.sync.rawskip import state_lookup
from listingsync.sync.store import Intent, Outcome, StateStore, StateStoreError, resolve_state_url

MP = "A1PA6795UKMFR9"


def _intent(sku: str, op: str = "PUT", h: str = "h1", attrs: dict[str, Any] | None = None) -> Intent:
    return Intent(
        sku, MP, op, h, attrs if attrs is not None else {"item_name": [{"value": sku}]}, "HOME", "LISTING"
    )


def test_open_migrates_and_reopens(state_url: str) -> None:
    with StateStore.open(state_url) as store:
        assert store.counts() == {}
    with StateStore.open(state_url) as store:  # second open: already at head, no error
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {"ls_listings", "ls_runs", "ls_feeds", "ls_feed_messages", "alembic_version"} <= tables


def test_opening_a_fresh_sqlite_file_waits_for_the_one_that_holds_it(tmp_path: Path) -> None:
    """Turning a fresh file to WAL needs it alone, and SQLite answers "database is locked" at
    once, without busy_timeout's wait, when another connection is writing (it would deadlock): a
    second sync opening the file at the same moment failed so. Now it waits for the other to let
    go, within the same budget as busy_timeout."""
    import sqlite3
    import threading

    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other_process (x)")  # a fresh file, still in rollback-journal mode
    holder.execute("BEGIN IMMEDIATE")  # the other process, writing
    holder.execute("INSERT INTO other_process VALUES (1)")
    outcome: list[object] = []

    def open_store() -> None:
        try:
            outcome.append(StateStore.open(f"sqlite:///{path}"))
        except Exception as exc:  # what the test reports
            outcome.append(exc)

    opener = threading.Thread(target=open_store)
    opener.start()
    opener.join(0.5)
    assert opener.is_alive() and not outcome, outcome  # waiting, not failed
    holder.execute("COMMIT")
    opener.join()
    holder.close()
    (store,) = outcome
    assert isinstance(store, StateStore), store
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_no_change_lookups_read_only_the_sync_index(state_url: str) -> None:
    """Migration 0006: the columns a no-change sync reads of every listing are in one index (on
    PostgreSQL the key plus INCLUDE), and on SQLite the lookup is answered from it alone."""
    c = t.listings.c
    carried = [
        "status",
        "pending_op",
        "source_fp",
        "mapping_fp",
        "product_type",
        "requirements",
        "sent_hash",
        "drift",
    ]
    with StateStore.open(state_url) as store:
        found = {ix["name"]: ix for ix in sa.inspect(store.engine).get_indexes("ls_listings")}
        index = found["ix_ls_listings_sync"]
        in_flight = found["ix_ls_listings_pending"]
        assert in_flight["column_names"] == ["scope", "sku", "marketplace_id"]
        where = in_flight["dialect_options"].get(f"{store.engine.dialect.name}_where")
        assert "pending_op IS NOT NULL" in str(where), in_flight
        if store.engine.dialect.name == "postgresql":
            assert index["column_names"] == ["scope", "sku", "marketplace_id"]
            assert index["dialect_options"]["postgresql_include"] == carried
            return
        assert index["column_names"] == ["scope", "sku", "marketplace_id", *carried]
        lookup = state_lookup(store, [MP]).params(skus=["A", "B"])
        with store.engine.connect() as conn:
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    sa.text(
                        "EXPLAIN QUERY PLAN "
                        + str(
                            lookup.compile(
                                store.engine,
                                compile_kwargs={"literal_binds": True, "render_postcompile": True},
                            )
                        )
                    )
                )
            )
        assert "COVERING INDEX ix_ls_listings_sync" in plan, plan
        with store.engine.connect() as conn:
            # Migration 0007: the closing count of invalid listings reads the status index alone.
            count = sa.select(c.status, sa.func.count()).where(
                store.mine(t.listings), c.marketplace_id.in_([MP])
            )
            sql = str(count.group_by(c.status).compile(store.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
        assert "COVERING INDEX ix_ls_listings_scope_status" in plan, plan
        # Migration 0008: recovery's listings with a write in flight come from a partial index.
        pending = sa.select(t.listings).where(store.mine(t.listings), c.pending_op.is_not(None))
        sql = str(
            pending.order_by(c.sku, c.marketplace_id).compile(
                store.engine, compile_kwargs={"literal_binds": True}
            )
        )
        with store.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
        assert "INDEX ix_ls_listings_pending" in plan and "TEMP B-TREE" not in plan, plan


def test_oldest_checked_never_checked_first_then_by_age(store: StateStore) -> None:
    """The rolling read-back's slice: listings on Amazon with nothing in flight, never-checked
    ones first in key order, then the longest ago checked; the limit spans both."""
    from listingsync.sync.store import Check

    run = store.begin_run("sync", "items")
    store.record_intents(run, [_intent(s) for s in ("A", "B", "C", "D", "E", "F")])
    store.record_outcomes(run, [Outcome(s, MP, "accepted") for s in ("A", "B", "C", "D", "E", "F")])
    store.record_intents(run, [_intent("E", h="h2")])  # a write in flight: not read back
    store.record_intents(run, [_intent("F", op="DELETE")])
    store.record_outcomes(run, [Outcome("F", MP, "deleted")])
    store.record_intents(run, [_intent("N")])  # never on Amazon: nothing to read back
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store.record_checks(
        [
            Check("A", MP, t0 + dt.timedelta(hours=2), "BUYABLE", None, "live", []),
            Check("C", MP, t0, "BUYABLE", None, "live", []),
        ]
    )
    assert [s.sku for s in store.oldest_checked(10)] == ["B", "D", "C", "A"]
    assert [s.sku for s in store.oldest_checked(3, [MP])] == ["B", "D", "C"]
    assert [s.sku for s in store.oldest_checked(1)] == ["B"]
    assert store.oldest_checked(10, ["A13V1IB3VIYZZH"]) == []


def test_raw_pass_lookup_answers_as_its_statement(store: StateStore) -> None:
    """rawskip runs ``state_lookup`` as the driver's SQL, compiled once for a full batch: on
    either database it must answer what the statement itself answers (a short batch padded, the
    JSON path into ``drift`` processed), with each listing's "on Amazon" as the removal pass
    counts it."""
    from listingsync.sync.rawskip import _Lookup

    run = store.begin_run("sync", "items")
    store.record_intents(run, [_intent(s) for s in ("A", "B", "C", "D")])
    store.record_outcomes(run, [Outcome(s, MP, "accepted") for s in ("A", "B", "C")])
    store.record_intents(run, [_intent("C", op="DELETE")])
    store.record_outcomes(run, [Outcome("C", MP, "deleted")])
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.listings).where(t.listings.c.sku == "B").values(drift={"kind": "changed"}))
    wanted = ["A", "B", "C", "D", "X"]
    with store.engine.connect() as conn:
        expected = sorted(tuple(r) for r in conn.execute(state_lookup(store, [MP]), {"skus": wanted}))
    found = sorted(tuple(r) for r in _Lookup(store, [MP])(wanted))
    assert found == expected
    by_sku = {r[0]: r for r in found}
    assert set(by_sku) == {"A", "B", "C", "D"}
    assert by_sku["B"][8] == "changed" and by_sku["A"][8] is None
    # On Amazon: A and B (bases), D (a write in flight); not C (deleted).
    assert {sku for sku, r in by_sku.items() if r[9]} == {"A", "B", "D"}
    assert store.removal_counts([MP])[0] == 3


def test_packaged_head_is_alembics() -> None:
    """StateStore.open compares the database with the head read from the migration file names
    (no Alembic import when nothing is to upgrade): it must be the head Alembic itself finds."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from listingsync.sync import store as module

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(module._MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == module._HEAD


def test_intent_then_accepted_becomes_base(store: StateStore) -> None:
    run = store.begin_run("sync", "items")
    store.record_intents(run, [_intent("A"), _intent("B")])
    pending = store.listings(pending_only=True)
    assert [p.sku for p in pending] == ["A", "B"] and pending[0].status == "pending"
    store.record_outcomes(run, [Outcome("A", MP, "accepted", submission_id="s1")])
    a = store.get("A", MP)
    assert a is not None
    assert (a.status, a.sent_hash, a.pending_op, a.last_submission_id) == ("accepted", "h1", None, "s1")
    assert a.sent_attributes == {"item_name": [{"value": "A"}]}
    assert store.sent_attributes([("A", MP), ("B", MP)]) == {("A", MP): {"item_name": [{"value": "A"}]}}
    store.finish_run(run, "done", {"created": 1})
    assert store.runs()[0]["summary"] == {"created": 1}


def test_invalid_keeps_previous_base(store: StateStore) -> None:
    store.record_intents(1, [_intent("A", h="h1")])
    store.record_outcomes(1, [Outcome("A", MP, "accepted")])
    store.record_intents(2, [_intent("A", op="PATCH", h="h2", attrs={"x": [1]})])
    issue = {"code": "90220", "message": "missing", "severity": "ERROR", "attributeNames": ["x"]}
    store.record_outcomes(2, [Outcome("A", MP, "invalid", issues=[issue])])
    a = store.get("A", MP)
    assert a is not None
    assert (a.status, a.sent_hash, a.attempted_hash, a.issues) == ("invalid", "h1", "h2", [issue])
    assert a.sent_attributes == {"item_name": [{"value": "A"}]}


def test_delete_intent_keeps_metadata_and_deleted_clears_base(store: StateStore) -> None:
    store.record_intents(1, [_intent("A")])
    store.record_outcomes(1, [Outcome("A", MP, "accepted")])
    store.record_intents(2, [Intent("A", MP, "DELETE", None, None)])
    a = store.get("A", MP)
    assert a is not None and a.product_type == "HOME" and a.pending_op == "DELETE"
    store.record_outcomes(2, [Outcome("A", MP, "deleted", submission_id="d1")])
    a = store.get("A", MP)
    assert a is not None and (a.status, a.sent_hash, a.sent_attributes) == ("deleted", None, None)


def test_local_invalid_upserts_without_intent(store: StateStore) -> None:
    issue = {"code": "LS-X", "message": "bad", "severity": "ERROR", "attributeNames": []}
    store.record_outcomes(
        1, [Outcome("Z", MP, "invalid", issues=[issue], product_type="HOME", origin="p.csv:3", local=True)]
    )
    z = store.get("Z", MP)
    assert z is not None and (z.status, z.origin, z.sent_hash) == ("invalid", "p.csv:3", None)


def test_feed_records_and_window(store: StateStore) -> None:
    feed = store.create_feed(1, MP, [(1, "A", "UPDATE"), (2, "B", "DELETE")])
    assert [f.state for f in store.open_feeds()] == ["building"]
    assert store.feed_messages(feed) == {1: ("A", "UPDATE"), 2: ("B", "DELETE")}
    store.feed_submitted(feed, "doc-1", "F1")
    (rec,) = store.open_feeds()
    assert (rec.feed_id, rec.state, rec.document_id) == ("F1", "submitted", "doc-1")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert len(store.feed_submission_times(since)) == 1
    store.feed_finished(feed, state="done", processing_status="DONE", result_document_id="r", summary={})
    assert store.open_feeds() == []


def test_checkpoint(store: StateStore) -> None:
    assert store.checkpoint() is None
    store.set_checkpoint("1700000000")
    store.set_checkpoint("1700000001")
    assert store.checkpoint() == "1700000001"


def test_many_intents_and_outcomes_in_chunks(store: StateStore) -> None:
    intents = [_intent(f"S{i:05d}") for i in range(2500)]
    store.record_intents(1, intents)
    store.record_outcomes(1, [Outcome(i.sku, MP, "accepted") for i in intents])
    assert store.counts() == {"accepted": 2500}
    assert len(store.plan_index()) == 2500


def test_no_secret_columns() -> None:
    from listingsync.sync import tables

    names = {c.name for table in tables.metadata.tables.values() for c in table.columns}
    assert not {n for n in names if any(w in n for w in ("secret", "token", "password"))}


def test_relative_sqlite_resolves_against_config_dir(tmp_path: Path) -> None:
    url = resolve_state_url("sqlite:///.listingsync/state.db", tmp_path)
    assert url == f"sqlite:///{tmp_path / '.listingsync' / 'state.db'}"
    assert (tmp_path / ".listingsync").is_dir()


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(StateStoreError) as info:
        StateStore.open("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2")
    assert "hunter2" not in str(info.value)
    assert info.value.where == "state"


def test_current_index_holds_the_skus_current_by_the_state(store: StateStore) -> None:
    """rawskip's index, read in one grouped pass on either database: a SKU is in it when each
    configured marketplace has its listing, built from one row by today's mapping, nothing
    unsettled; its totals count the listings on Amazon and the mirrored SKUs of those alone."""
    from listingsync.sync.mirror import CatalogMirror
    from listingsync.sync.rawskip import CurrentIndex

    de = "A1PA6795UKMFR9"
    fr = "A13V1IB3VIYZZH"
    # Fingerprints in several buckets of the index's query (their first hex digit); I's is not hex.
    fp = {sku: f"{i * 0x23 + 1:02x}" * 20 for i, sku in enumerate("ABCDEFGH")} | {"I": "zz" * 20}

    def mapping(product_type: str | None, mp: str, requirements: str | None) -> str:
        return f"map-{mp}"

    run = store.begin_run("sync", "items")
    skus = list("ABCDEFGHI")
    intents = [
        Intent(s, mp, "PUT", "h1", {"item_name": [{"value": s}]}, "HOME", "LISTING")
        for s in skus
        for mp in (fr, de)
    ]
    store.record_intents(run, [i for i in intents if (i.sku, i.marketplace_id) != ("E", de)])
    outcomes = [
        Outcome(i.sku, i.marketplace_id, "accepted")
        for i in intents
        if (i.sku, i.marketplace_id) != ("E", de)
    ]
    store.record_outcomes(run, [o for o in outcomes if (o.sku, o.marketplace_id) != ("C", fr)])
    store.record_outcomes(run, [Outcome("C", fr, "error")])  # C: a write failed
    built = [(s, mp, fp[s], f"map-{mp}") for s in skus for mp in (fr, de) if (s, mp) != ("E", de)]
    built = [(s, mp, "ff" * 20 if (s, mp) == ("D", de) else src, m) for s, mp, src, m in built]  # D: two rows
    built = [(s, mp, src, "stale" if s == "F" else m) for s, mp, src, m in built]  # F: an old mapping
    store.set_built(built)
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.listings).where(t.listings.c.sku == "G").values(drift={"kind": "changed"}))
    store.record_intents(run, [Intent("H", fr, "DELETE", "h1", {}, "HOME", "LISTING")])
    store.record_outcomes(run, [Outcome("H", fr, "deleted")])  # H: current, one listing on Amazon
    mirror = CatalogMirror(store)
    with store.engine.begin() as conn:
        conn.execute(
            t.catalog.insert(),
            [{"scope": store.scope, "sku": s, "fingerprint": "x", "document": {}} for s in ("A", "C")],
        )
    assert len(mirror) == 2

    index = CurrentIndex.read(store, [fr, de], mapping)
    hexed = {s: bytes.fromhex(f) for s, f in fp.items() if s != "I"}
    holding = {s for s in hexed if index.holds(hexed[s])}
    # C unsettled, D built from two rows, E without its DE listing, F an old mapping, G drifted,
    # I's fingerprint not one listingsync writes (not current: looked up like a changed row).
    assert holding == {"A", "B", "H"}
    assert not index.holds(bytes.fromhex("ff" * 20))
    assert (len(index), index.on_amazon, index.mirrored, index.skus) == (3, 5, 1, 9)
    assert index.removal_counts == store.removal_counts([fr, de]) == (15, 2)  # counted in the same pass
    # Over one marketplace, E's FR listing is current too.
    only_fr = CurrentIndex.read(store, [fr], mapping)
    assert {s for s in hexed if only_fr.holds(hexed[s])} == {"A", "B", "D", "E", "H"}
    # A mapping changed everywhere: nothing is current, every SKU still counted.
    remapped = CurrentIndex.read(store, [fr, de], lambda *key: "new")
    assert (len(remapped), remapped.skus, remapped.on_amazon) == (0, 9, 0)


def test_a_newer_schema_is_refused_by_name(state_url: str) -> None:
    """A state database migrated by a newer listingsync (a downgrade, or two versions sharing a
    database) is refused with what happened and what to do, and left as it is."""
    with StateStore.open(state_url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StateStoreError, match="schema 9999, written by a newer listingsync") as caught:
        StateStore.open(state_url)
    assert "upgrade listingsync" in str(caught.value.fix)
    engine = sa.create_engine(resolve_state_url(state_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    engine.dispose()


def test_known_invalid_results_are_written_by_the_database(store: StateStore) -> None:
    """rawskip reports the listings still invalid as JSON lines the database writes: on either
    database each line is the ``SkuResult`` the state's row gives (stored issues, text outside
    ASCII included, ASIN, ``was_invalid``), without a round trip through Python."""
    from listingsync.sync.rawskip import _result_line

    fr = "A13V1IB3VIYZZH"
    issues = [{"code": "LS-ENUM", "message": "'Atlantis' n'est pas autorisé — “quotes”", "path": "/x/0"}]
    run = store.begin_run("sync", "items")
    store.record_outcomes(
        run,
        [
            Outcome("A", fr, "invalid", issues, local=True, product_type="HOME"),
            Outcome("B", fr, "invalid", [], local=True, product_type="HOME"),
        ],
    )
    with store.engine.begin() as conn:  # B: on Amazon before an edit made it invalid
        conn.execute(sa.update(t.listings).where(t.listings.c.sku == "B").values(asin="B0TESTASIN"))
    query = sa.select(_result_line(store)).where(t.listings.c.status == "invalid").order_by(t.listings.c.sku)
    with store.engine.connect() as conn:
        lines = conn.execute(query).scalars().all()
    results = [SkuResult(**orjson.loads(line)) for line in lines]
    assert results == [
        SkuResult("A", fr, "invalid", "invalid", issues, None, was_invalid=True),
        SkuResult("B", fr, "invalid", "invalid", [], "B0TESTASIN", was_invalid=True),
    ]
