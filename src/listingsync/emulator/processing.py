"""Amazon's asynchronous processing of accepted writes.

On Amazon, ``ACCEPTED`` only means queued: the write is applied minutes later, and until then
getListingsItem answers 404 for a new SKU or shows the old version ("Listings Items API: the
submission is accepted for processing"; selling-partner-api-models issue #3987 and
jlevers/selling-partner-api issue #838 show issues that only appear after processing). The emulator
keeps each accepted PUT, PATCH or DELETE in a queue with a due time: ``now + delay``, the delay
drawn from ``settings.processing_delay`` (seeded, so a seed repeats a run) and divided by
``rate_scale``. Writes to one SKU are applied in the order they were accepted.

Processing applies the write as Amazon's catalogue does:

- PATCH is applied to the item as it is *then* (a PATCH of a SKU that does not exist was accepted
  and now shows Amazon's 90220 "required but not supplied" issues on an item without summaries);
- a listing whose GTIN matches a product of Amazon's catalogue (``amazon_catalog``) is attached to
  its ASIN, or gets 8541 when its brand, title or product type contradict the catalogue; an
  offer-only listing needs an existing ASIN or a matching identifier (else 13013); other listings
  get a new ASIN;
- the offer turns BUYABLE a little later than the item turns DISCOVERABLE (a second, shorter delay);
- late issues (``late_issue_share``) are rolled.

Nothing happens on a timer: every SP-API request and introspection read first *settles* the queue
(applies what is due on the emulator's :class:`~listingsync.emulator.clock.Clock`), so tests move
the clock (``/_emulator/clock/advance``) or flush the queue instead of sleeping. With
``settings.instant`` writes are applied within the request, as before.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from typing import Any

from listingsync.emulator.amazon_catalog import SeededCatalog, listing_gtins
from listingsync.emulator.amazon_checks import (
    CODE_CATALOG_CONFLICT,
    CODE_NOT_IN_CATALOG,
    processing_issue,
)
from listingsync.emulator.clock import Clock
from listingsync.emulator.items import amazon_issue, deterministic_asin, late_issue_for
from listingsync.emulator.settings import EmulatorSettings
from listingsync.emulator.state import ListingRecord, State
from listingsync.emulator.validation import SubmissionValidator
from listingsync.schema.issues import Severity

__all__ = ["Processor"]

_KEY = "processing"
#: The offer turns BUYABLE this share of the processing delay after the item turned DISCOVERABLE.
BUYABLE_LAG = 0.25

Patcher = Callable[[dict[str, Any], Any, str, str], dict[str, Any]]


class Processor:
    """The queue of accepted writes and what applying one does."""

    def __init__(
        self,
        settings: EmulatorSettings,
        state: State,
        clock: Clock,
        validation: SubmissionValidator,
        catalog: SeededCatalog,
        patcher: Patcher,
    ) -> None:
        self.settings = settings
        self.state = state
        self.clock = clock
        self.validation = validation
        self.catalog = catalog
        #: ``patcher(attributes, patches, product_type, marketplace_id)``: listings.apply_patches.
        self.patcher = patcher

    # -- the queue (in state.extra so it is persisted and reset with the rest) ----------------------

    def _data(self) -> dict[str, Any]:
        data = self.state.extra.get(_KEY)
        if data is None:
            data = self.state.extra[_KEY] = {"queue": [], "seq": 0, "last": {}}
        return data

    def delay(self, seq: int) -> float:
        """Seconds until the write numbered ``seq`` is applied (seeded, scaled by rate_scale)."""
        low, high = self.settings.processing_delay
        if self.settings.instant or high <= 0:
            return 0.0
        digest = hashlib.sha256(f"{self.settings.seed}\x00processing\x00{seq}".encode()).digest()
        share = int.from_bytes(digest[:8], "big") / 2**64
        return (low + (high - low) * share) / self.settings.rate_scale

    def submit(self, write: dict[str, Any]) -> float:
        """Queue an accepted write (``op``, ``seller_id``, ``marketplace_id``, ``sku`` …); its due time."""
        with self.state.lock:
            data = self._data()
            data["seq"] += 1
            key = _key(**_where(write))
            due = self.clock.now() + self.delay(data["seq"])
            # Writes to one SKU are applied in the order they were accepted.
            due = max(due, float(data["last"].get(key, 0.0)) + 1e-6)
            data["last"][key] = due
            write["submitted"] = self.clock.now()
            heapq.heappush(data["queue"], [due, data["seq"], write])
            self.state.mark_dirty()
        if self.settings.instant:
            self.settle()
        return due

    def settle(self) -> int:
        """Apply every write that is due; the number applied. Cheap when nothing is due."""
        data = self.state.extra.get(_KEY)
        if not data or not data["queue"] or data["queue"][0][0] > self.clock.now():
            return 0
        applied = 0
        with self.state.lock:
            queue = data["queue"]
            now = self.clock.now()
            while queue and queue[0][0] <= now:
                due, _, write = heapq.heappop(queue)
                key = _key(**_where(write))
                if data["last"].get(key) == due:
                    del data["last"][key]
                self._apply(write, due)
                applied += 1
            self.state.mark_dirty()
        return applied

    def process_now(self, seller_id: str, marketplace_ids: list[str], skus: list[str]) -> int:
        """Apply now, in order, every queued write to these SKUs (however far their due time is):
        a JSON_LISTINGS_FEED with ``includedData`` reports what Amazon did *after* accepting its
        submissions, so its minutes IN_PROGRESS stand for their processing. The number applied."""
        wanted = {_key(seller_id, m, s) for m in marketplace_ids for s in skus}
        with self.state.lock:
            data = self._data()
            mine = sorted(
                (e for e in data["queue"] if _key(**_where(e[2])) in wanted), key=lambda e: (e[0], e[1])
            )
            if not mine:
                return 0
            data["queue"] = [e for e in data["queue"] if _key(**_where(e[2])) not in wanted]
            heapq.heapify(data["queue"])
            now = self.clock.now()
            for due, _, write in mine:
                key = _key(**_where(write))
                if data["last"].get(key) == due:
                    del data["last"][key]
                self._apply(write, min(due, now))
            self.state.mark_dirty()
        return len(mine)

    def pending(self) -> list[dict[str, Any]]:
        """The writes not applied yet, in the order they will be."""
        with self.state.lock:
            queue = sorted(self._data()["queue"], key=lambda e: (e[0], e[1]))
            return [{"due": due, "seq": seq, **write} for due, seq, write in queue]

    def last_due(self) -> float | None:
        with self.state.lock:
            queue = self._data()["queue"]
            return max(e[0] for e in queue) if queue else None

    # -- applying one write ----------------------------------------------------------------------

    def _apply(self, write: dict[str, Any], due: float) -> None:
        seller_id, marketplace_id, sku = write["seller_id"], write["marketplace_id"], write["sku"]
        if write["op"] == "DELETE":
            self.state.delete_listing(seller_id, marketplace_id, sku)
            return
        existing = self.state.get_listing(seller_id, marketplace_id, sku)
        if write["op"] == "PATCH":
            base = existing.attributes if existing is not None else {}
            attributes = self.patcher(base, write["patches"], write["product_type"], marketplace_id)
            requirements = existing.requirements if existing is not None else write["requirements"]
        else:
            attributes, requirements = write["attributes"], write["requirements"]
        product_type = write["product_type"]
        if (
            existing is not None
            and existing.attributes == attributes
            and existing.product_type == product_type
            and existing.requirements == requirements
        ):
            return  # an identical write: lastUpdatedDate only moves on a real change
        lang = write.get("lang", "en")
        asin, issues = self.match(
            seller_id, sku, marketplace_id, product_type, requirements, attributes, lang
        )
        if existing is not None and existing.asin and not issues:
            asin = existing.asin  # a listing keeps its ASIN
        if write["op"] == "PATCH":
            # The patched item is judged whole now (at submission only the patched values were).
            errors = [
                i
                for i in self.validation.issues(
                    product_type, marketplace_id, requirements, attributes, vendor=self._is_vendor(seller_id)
                )
                if i.severity is Severity.ERROR
            ]
            if errors:
                issues = [amazon_issue(i, marketplace_id, lang) for i in errors]
                asin = existing.asin if existing is not None else ""
        record = ListingRecord(
            seller_id=seller_id,
            sku=sku,
            marketplace_id=marketplace_id,
            product_type=product_type,
            requirements=requirements,
            attributes=attributes,
            asin=asin,
            created=existing.created if existing is not None else due,
            updated=due,
        )
        record.buyable_at = due + BUYABLE_LAG * (due - float(write.get("submitted", due)))
        record.late_issues = issues + late_issue_for(
            record, self.settings.late_issue_share, self.settings.seed
        )
        self.state.put_listing(record)

    def _is_vendor(self, seller_id: str) -> bool:
        """Vendors' items are judged with the vendor's view of the schema (as at submission)."""
        return any(a.is_vendor and a.selling_partner_id == seller_id for a in self.settings.accounts)

    def _known_asin(self, asin: str, marketplace_id: str) -> bool:
        if self.catalog.get(asin, marketplace_id) is not None:
            return True
        return self.state.listings.has_asin(asin, marketplace_id)  # indexed, not a scan

    def match(
        self,
        seller_id: str,
        sku: str,
        marketplace_id: str,
        product_type: str,
        requirements: str,
        attributes: dict[str, Any],
        lang: str,
    ) -> tuple[str, list[dict[str, Any]]]:
        """(ASIN, issues) of a listing as Amazon's catalogue matches it."""
        suggested = _first_value(attributes, "merchant_suggested_asin")
        product = self.catalog.by_gtins(listing_gtins(attributes), marketplace_id)
        if requirements == "LISTING_OFFER_ONLY":
            if suggested and self._known_asin(suggested, marketplace_id):
                return suggested, []
            if product is not None:
                return product.asin, []
            issue = processing_issue(
                CODE_NOT_IN_CATALOG,
                marketplace_id,
                lang,
                attributes=("merchant_suggested_asin",),
                categories=("INVALID_ATTRIBUTE",),
                suppressed=True,
            )
            return "", [issue]
        if product is not None:
            conflicts = self.catalog.conflicts(product, product_type, attributes)
            if conflicts:
                pairs = ", ".join(
                    f'"{name}" (Seller: "{ours}" / Amazon: "{theirs}")' for name, ours, theirs in conflicts
                )
                issue = processing_issue(
                    CODE_CATALOG_CONFLICT,
                    marketplace_id,
                    lang,
                    attributes=tuple(name for name, _, _ in conflicts if name != "product_type"),
                    categories=("INVALID_ATTRIBUTE",),
                    asin=product.asin,
                    pairs=pairs,
                )
                return "", [issue]
            return product.asin, []
        if suggested and self._known_asin(suggested, marketplace_id):
            return suggested, []
        return deterministic_asin(seller_id, sku), []


def _key(seller_id: str, marketplace_id: str, sku: str) -> str:
    return f"{seller_id}\x00{marketplace_id}\x00{sku}"


def _where(write: dict[str, Any]) -> dict[str, str]:
    return {"seller_id": write["seller_id"], "marketplace_id": write["marketplace_id"], "sku": write["sku"]}


def _first_value(attributes: dict[str, Any], name: str) -> str | None:
    for entry in attributes.get(name) or ():
        if isinstance(entry, dict) and isinstance(entry.get("value"), str) and entry["value"]:
            return str(entry["value"])
    return None
