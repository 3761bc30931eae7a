"""What grows with a catalogue, kept on disk: listings, the write log and document bytes.

A realistic listing is ~3 KB of JSON and ~11 KB as Python dicts. A first sync of a million SKUs in
two marketplaces leaves 2 M listings, 2 M write-log entries and ~6 GB of feed documents with the
emulator: held as objects that is tens of GB. Here they live in an SQLite file of the state's own
(a temporary directory, removed with the state), each row its bytes (listings zlib-compressed
JSON), so the emulator's memory no longer grows with the catalogue.

The views keep the shapes callers had: :class:`ListingTable` is a mutable mapping of
``(seller, marketplace, sku)`` → :class:`ListingRecord` in insertion order, :class:`WriteLog` a
list-like sequence of dicts, :class:`BlobStore` a mapping of key → bytes. A record read from the
table is a copy: changing it changes nothing until it is put back (``state.put_listing``).
Persistence (``--state FILE``) still goes through ``State.to_json``/``load``, which read and fill
these views.

The file needs no durability of its own (it dies with the process; the state file is the
persistent copy), so journaling and syncing are off. One connection, shared by the event loop
and the feed worker thread, behind one lock.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

import orjson

if TYPE_CHECKING:
    from listingsync.emulator.state import ListingRecord

__all__ = ["BlobStore", "Disk", "ListingTable", "WriteLog"]

Key = tuple[str, str, str]
#: Rows read per query when iterating: bounded memory, no lock held between pages.
_PAGE = 1000

_SCHEMA = """
CREATE TABLE listings (
    id INTEGER PRIMARY KEY,
    seller TEXT NOT NULL,
    marketplace TEXT NOT NULL,
    sku TEXT NOT NULL,
    asin TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (seller, marketplace, sku)
);
CREATE INDEX listings_asin ON listings (asin, marketplace);
CREATE TABLE write_log (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL);
"""


def _close(conn: sqlite3.Connection, directory: str) -> None:
    conn.close()
    shutil.rmtree(directory, ignore_errors=True)


class Disk:
    """The SQLite file behind one state (removed when the state is garbage or the process ends)."""

    def __init__(self) -> None:
        directory = tempfile.mkdtemp(prefix="listingsync-emulator-")
        self.conn = sqlite3.connect(
            os.path.join(directory, "state.db"), check_same_thread=False, isolation_level=None
        )
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "temp_store=MEMORY"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close, self.conn, directory)

    def close(self) -> None:
        self._finalizer()

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``executemany`` in one transaction (a feed's writes, a loaded state file)."""
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany(sql, rows)
            finally:
                self.conn.execute("COMMIT")


def _encode(record: ListingRecord) -> bytes:
    return zlib.compress(orjson.dumps(record.to_json()), 1)


def _decode(data: bytes) -> ListingRecord:
    from listingsync.emulator.state import ListingRecord

    return ListingRecord.from_json(orjson.loads(zlib.decompress(data)))


class ListingTable(MutableMapping[Key, "ListingRecord"]):
    """``(seller, marketplace, sku)`` → :class:`ListingRecord`, in insertion order, on disk."""

    _UPSERT = (
        "INSERT INTO listings (seller, marketplace, sku, asin, data) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (seller, marketplace, sku) DO UPDATE SET asin = excluded.asin, data = excluded.data"
    )

    def __init__(self, disk: Disk) -> None:
        self._disk = disk

    def __getitem__(self, key: Key) -> ListingRecord:
        with self._disk.lock:
            row = self._disk.conn.execute(
                "SELECT data FROM listings WHERE seller = ? AND marketplace = ? AND sku = ?", key
            ).fetchone()
        if row is None:
            raise KeyError(key)
        return _decode(row[0])

    def get(self, key: Key, default: ListingRecord | None = None) -> ListingRecord | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: Key, record: ListingRecord) -> None:
        data = _encode(record)
        with self._disk.lock:
            self._disk.conn.execute(self._UPSERT, (*key, record.asin, data))

    def put_many(self, records: Iterable[ListingRecord]) -> None:
        rows = ((r.seller_id, r.marketplace_id, r.sku, r.asin, _encode(r)) for r in records)
        self._disk.many(self._UPSERT, rows)

    def __delitem__(self, key: Key) -> None:
        with self._disk.lock:
            gone = self._disk.conn.execute(
                "DELETE FROM listings WHERE seller = ? AND marketplace = ? AND sku = ?", key
            ).rowcount
        if not gone:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        with self._disk.lock:
            row = self._disk.conn.execute(
                "SELECT 1 FROM listings WHERE seller = ? AND marketplace = ? AND sku = ?", key
            ).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._disk.lock:
            return int(self._disk.conn.execute("SELECT count(*) FROM listings").fetchone()[0])

    _PAGES: ClassVar[dict[str, str]] = {
        "keys": "SELECT id, seller, marketplace, sku FROM listings WHERE id > ? ORDER BY id LIMIT ?",
        "values": "SELECT id, data FROM listings WHERE id > ? ORDER BY id LIMIT ?",
        "items": "SELECT id, seller, marketplace, sku, data FROM listings WHERE id > ? ORDER BY id LIMIT ?",
    }

    def _pages(self, what: str) -> Iterator[tuple[Any, ...]]:
        last = 0
        while True:
            with self._disk.lock:
                rows = self._disk.conn.execute(self._PAGES[what], (last, _PAGE)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for row in rows:
                yield row[1:]

    def __iter__(self) -> Iterator[Key]:
        return ((seller, marketplace, sku) for seller, marketplace, sku in self._pages("keys"))

    def values(self) -> Iterator[ListingRecord]:  # type: ignore[override]
        return (_decode(data) for (data,) in self._pages("values"))

    def items(self) -> Iterator[tuple[Key, ListingRecord]]:  # type: ignore[override]
        return (
            ((seller, marketplace, sku), _decode(data))
            for seller, marketplace, sku, data in self._pages("items")
        )

    def clear(self) -> None:
        with self._disk.lock:
            self._disk.conn.execute("DELETE FROM listings")

    def has_asin(self, asin: str, marketplace_id: str) -> bool:
        with self._disk.lock:
            row = self._disk.conn.execute(
                "SELECT 1 FROM listings WHERE asin = ? AND marketplace = ? LIMIT 1", (asin, marketplace_id)
            ).fetchone()
        return row is not None

    def __repr__(self) -> str:
        return f"ListingTable({len(self)} listings)"


class WriteLog(Sequence[dict[str, Any]]):
    """The accepted writes in order, each a dict whose ``seq`` (1, 2, …) is its position."""

    def __init__(self, disk: Disk) -> None:
        self._disk = disk

    def append(self, entry: dict[str, Any]) -> None:
        """Store ``entry`` with the next ``seq`` (set on the dict)."""
        with self._disk.lock:
            conn = self._disk.conn
            entry["seq"] = int(conn.execute("SELECT coalesce(max(seq), 0) FROM write_log").fetchone()[0]) + 1
            conn.execute(
                "INSERT INTO write_log (seq, data) VALUES (?, ?)", (entry["seq"], orjson.dumps(entry))
            )

    def extend(self, entries: Iterable[dict[str, Any]]) -> None:
        self._disk.many(
            "INSERT INTO write_log (seq, data) VALUES (?, ?)", ((e["seq"], orjson.dumps(e)) for e in entries)
        )

    def __len__(self) -> int:
        with self._disk.lock:
            return int(self._disk.conn.execute("SELECT coalesce(max(seq), 0) FROM write_log").fetchone()[0])

    def since(self, seq: int) -> Iterator[dict[str, Any]]:
        """Entries after ``seq``, a page at a time."""
        while True:
            with self._disk.lock:
                rows = self._disk.conn.execute(
                    "SELECT seq, data FROM write_log WHERE seq > ? ORDER BY seq LIMIT ?", (seq, _PAGE)
                ).fetchall()
            if not rows:
                return
            seq = rows[-1][0]
            for _, data in rows:
                yield orjson.loads(data)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.since(0)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        size = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(size)
            if step != 1:
                return list(self)[index]
            if stop <= start:
                return []
            with self._disk.lock:
                rows = self._disk.conn.execute(
                    "SELECT data FROM write_log WHERE seq > ? AND seq <= ? ORDER BY seq", (start, stop)
                ).fetchall()
            return [orjson.loads(data) for (data,) in rows]
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("write log index out of range")
        with self._disk.lock:
            row = self._disk.conn.execute(
                "SELECT data FROM write_log WHERE seq = ?", (position + 1,)
            ).fetchone()
        loaded: dict[str, Any] = orjson.loads(row[0])
        return loaded

    def clear(self) -> None:
        with self._disk.lock:
            self._disk.conn.execute("DELETE FROM write_log")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WriteLog | list):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:  # mutable, like a list
        raise TypeError("unhashable type: 'WriteLog'")

    def __repr__(self) -> str:
        return f"WriteLog({len(self)} writes)"


class BlobStore(MutableMapping[str, bytes]):
    """Bytes by key (the Feeds API's documents: uploads and processing reports)."""

    def __init__(self, disk: Disk) -> None:
        self._disk = disk

    def __getitem__(self, key: str) -> bytes:
        with self._disk.lock:
            row = self._disk.conn.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: str, data: bytes) -> None:
        with self._disk.lock:
            self._disk.conn.execute(
                "INSERT INTO blobs (key, data) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                (key, data),
            )

    def __delitem__(self, key: str) -> None:
        with self._disk.lock:
            gone = self._disk.conn.execute("DELETE FROM blobs WHERE key = ?", (key,)).rowcount
        if not gone:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._disk.lock:
            keys = [k for (k,) in self._disk.conn.execute("SELECT key FROM blobs ORDER BY rowid")]
        return iter(keys)

    def __len__(self) -> int:
        with self._disk.lock:
            return int(self._disk.conn.execute("SELECT count(*) FROM blobs").fetchone()[0])

    def clear(self) -> None:
        with self._disk.lock:
            self._disk.conn.execute("DELETE FROM blobs")
