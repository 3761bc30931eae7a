"""The emulator's memory: listings, access tokens, counters, the write log, and other modules' data.

Small things live in plain dicts behind one lock; what grows with a catalogue (listings, the write
log, document bytes in :attr:`State.blobs`) lives on disk behind mapping and list views
(``disk.py``), so a million-SKU sync does not hold millions of listings as Python objects. The
state serialises to JSON (``--state FILE``): saved atomically (temp file + rename) at most once a
second after writes, and on shutdown. Other emulator modules keep their data in
:attr:`State.extra` under their own key (e.g. ``extra["feeds"]``), which is persisted and reset
with the rest.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from listingsync.emulator.disk import BlobStore, Disk, ListingTable, WriteLog
from listingsync.errors import ListingSyncError

__all__ = ["ListingRecord", "State", "TokenRecord"]

_FORMAT = 1


@dataclass(slots=True)
class ListingRecord:
    """One SKU of one selling partner in one marketplace, as stored after an accepted write."""

    seller_id: str
    sku: str
    marketplace_id: str
    product_type: str
    requirements: str
    attributes: dict[str, Any]
    asin: str
    created: float
    updated: float
    #: Issues Amazon raises after acceptance, shown on GET (late catalogue processing).
    late_issues: list[dict[str, Any]] = field(default_factory=list)
    #: When the offer turns BUYABLE (emulator clock): Amazon shows DISCOVERABLE first.
    buyable_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "sku": self.sku,
            "marketplace_id": self.marketplace_id,
            "product_type": self.product_type,
            "requirements": self.requirements,
            "attributes": self.attributes,
            "asin": self.asin,
            "created": self.created,
            "updated": self.updated,
            "late_issues": self.late_issues,
            "buyable_at": self.buyable_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListingRecord:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    #: Index of the account in ``settings.accounts``'s refresh tokens, by refresh token.
    refresh_token: str
    expires_at: float  # wall clock (time.time) so it survives a restart


class State:
    """All mutable emulator data. Use ``with state.lock:`` around multi-step changes."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self._disk = Disk()
        #: (seller, marketplace, sku) → record; on disk: a record read is a copy (put it back).
        self.listings = ListingTable(self._disk)
        self.tokens: dict[str, TokenRecord] = {}  # access token → record
        self.requests: Counter[str] = Counter()  # operation → requests seen
        self.throttled: Counter[str] = Counter()  # operation → 429 answers
        self.write_log = WriteLog(self._disk)
        #: Bytes by key, for other modules (the Feeds API's documents), persisted with the state.
        self.blobs = BlobStore(self._disk)
        self.extra: dict[str, Any] = {}
        self._dirty = False
        self._saved_at = 0.0
        if path is not None and path.exists():
            self.load(path)

    # -- listings ---------------------------------------------------------------------------------

    def get_listing(self, seller_id: str, marketplace_id: str, sku: str) -> ListingRecord | None:
        return self.listings.get((seller_id, marketplace_id, sku))

    def put_listing(self, record: ListingRecord) -> None:
        with self.lock:
            self.listings[(record.seller_id, record.marketplace_id, record.sku)] = record
            self._dirty = True

    def delete_listing(self, seller_id: str, marketplace_id: str, sku: str) -> ListingRecord | None:
        with self.lock:
            self._dirty = True
            return self.listings.pop((seller_id, marketplace_id, sku), None)

    def log_write(self, **entry: Any) -> None:
        """Record an accepted write (sku, op, marketplace, time …): proof of what was created when."""
        with self.lock:
            entry.setdefault("time", time.time())
            self.write_log.append(entry)  # numbers it (``seq``)
            self._dirty = True

    def count(self, operation: str, *, throttled: bool = False) -> None:
        with self.lock:
            self.requests[operation] += 1
            if throttled:
                self.throttled[operation] += 1

    def mark_dirty(self) -> None:
        self._dirty = True

    def reset(self, *, keep_tokens: bool = False) -> None:
        """Forget everything; issued access tokens too unless ``keep_tokens``."""
        with self.lock:
            self.listings.clear()
            if not keep_tokens:
                self.tokens.clear()
            self.requests.clear()
            self.throttled.clear()
            self.write_log.clear()
            self.blobs.clear()
            self.extra.clear()
            self._dirty = True

    # -- persistence ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": _FORMAT,
                "listings": [r.to_json() for r in self.listings.values()],
                # Access tokens are bearer secrets: they are not persisted. A restart therefore
                # invalidates them (clients get 403 and refresh, as after an expiry).
                "requests": dict(self.requests),
                "throttled": dict(self.throttled),
                "write_log": list(self.write_log),
                "extra": self.extra,
                "blobs": {key: base64.b64encode(self.blobs[key]).decode("ascii") for key in self.blobs},
            }

    def load(self, path: Path) -> None:
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ListingSyncError(
                f"cannot read the emulator state file: {exc}",
                where=str(path),
                fix="delete the file to start from an empty state",
            ) from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ListingSyncError(
                "not an emulator state file (unknown format)",
                where=str(path),
                fix="delete the file or pass another --state path",
            )
        with self.lock:
            self.listings.clear()
            self.listings.put_many(ListingRecord.from_json(r) for r in data["listings"])
            self.requests = Counter(data.get("requests", {}))
            self.throttled = Counter(data.get("throttled", {}))
            self.write_log.clear()
            self.write_log.extend(data.get("write_log", []))
            self.blobs.clear()
            for key, encoded in (data.get("blobs") or {}).items():
                self.blobs[key] = base64.b64decode(encoded)
            self.extra = dict(data.get("extra", {}))
            self._dirty = False

    def save(self, path: Path | None = None) -> None:
        """Write the state atomically: a reader never sees a half-written file."""
        target = path or self.path
        if target is None:
            return
        with self.lock:
            payload = orjson.dumps(self.to_json())
            self._dirty = False
            self._saved_at = time.monotonic()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)

    def save_if_due(self, interval: float = 1.0) -> None:
        """Save when something changed and the last save is older than ``interval`` seconds."""
        if self.path is not None and self._dirty and time.monotonic() - self._saved_at >= interval:
            self.save()
