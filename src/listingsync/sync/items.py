"""The items executor: Listings Items API writes, concurrent enough to keep the rate limit busy.

Pacing is the client's job (its token buckets per partner and operation); this executor only
keeps enough requests in flight that a token never waits for a request. Intents are committed in
small chunks just ahead of the workers (write-ahead), outcomes as each answer arrives.
Parents go before children: each ``Action.order`` group finishes before the next starts.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from listingsync.amazon import SPAPIClient, marketplaces
from listingsync.amazon.errors import LWAError, SPAPIConnectionError
from listingsync.sync import killpoints
from listingsync.sync.outcomes import amazon_issues, outcome_from_error, outcome_from_submission
from listingsync.sync.plan import Action, Op
from listingsync.sync.progress import NullProgress, ProgressTask
from listingsync.sync.store import Intent, Outcome, StateStore

__all__ = ["ItemsExecutor", "PreviewResult", "intent_for"]

PREVIEW = "VALIDATION_PREVIEW"


def intent_for(action: Action, feed: int | None = None) -> Intent:
    return Intent(
        action.sku,
        action.marketplace_id,
        action.method,
        action.hash,
        action.attributes if action.op is not Op.DELETE else None,
        action.product_type,
        action.requirements,
        action.parent_sku,
        action.parentage,
        action.origin,
        feed,
    )


@dataclass(slots=True)
class PreviewResult:
    sku: str
    marketplace_id: str
    status: str  # VALID | INVALID | ERROR
    issues: list[dict[str, Any]] = field(default_factory=list)
    asin: str | None = None


class ItemsExecutor:
    def __init__(
        self,
        client: SPAPIClient,
        store: StateStore,
        seller_id: str,
        *,
        run_id: int | None,
        concurrency: int = 16,
        intent_chunk: int = 32,
        task: ProgressTask | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.seller_id = seller_id
        self.run_id = run_id
        self.concurrency = max(1, concurrency)
        self.intent_chunk = max(1, intent_chunk)
        self.task = task or NullProgress().phase("submit", "")
        #: Set when a request could not reach Amazon at all; the remaining writes are not tried.
        self.unreachable: Exception | None = None

    async def execute(self, actions: Sequence[Action]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        writes = [a for a in actions if a.op.is_write]
        for _, group in itertools.groupby(writes, key=lambda a: a.order):
            outcomes.extend(await self._phase(list(group)))
        return outcomes

    async def _phase(self, actions: list[Action]) -> list[Outcome]:
        queue: asyncio.Queue[Action | None] = asyncio.Queue(maxsize=self.concurrency * 2)
        results: list[Outcome] = []
        workers = min(self.concurrency, len(actions))

        async def produce() -> None:
            for start in range(0, len(actions), self.intent_chunk):
                chunk = actions[start : start + self.intent_chunk]
                # Write-ahead: these intents are durable before any of them is sent. The store
                # works in a thread so the event loop keeps requests leaving on their pace.
                killpoints.reached("items.before-intent")
                await asyncio.to_thread(
                    self.store.record_intents, self.run_id, [intent_for(a) for a in chunk]
                )
                killpoints.reached("items.after-intent")
                for action in chunk:
                    await queue.put(action)
            for _ in range(workers):
                await queue.put(None)

        buffer: list[Outcome] = []
        loop = asyncio.get_running_loop()
        flushed_at = loop.time()
        writes: list[asyncio.Task[None]] = []

        def flush() -> None:
            nonlocal flushed_at
            if buffer:
                batch = list(buffer)
                buffer.clear()
                writes.append(
                    asyncio.create_task(asyncio.to_thread(self.store.record_outcomes, self.run_id, batch))
                )
                self.task.advance(len(batch))
            flushed_at = loop.time()

        async def work() -> None:
            while (action := await queue.get()) is not None:
                outcome = await self.send(action)
                results.append(outcome)
                buffer.append(outcome)
                # Outcomes are committed in small groups (one transaction per ~32 answers or
                # 0.2 s): a crash in between only costs a lookup, the intents are already durable.
                if len(buffer) >= self.intent_chunk or loop.time() - flushed_at > 0.2:
                    flush()

        await asyncio.gather(produce(), *(work() for _ in range(workers)))
        flush()
        await asyncio.gather(*writes)
        return results

    async def send(self, action: Action) -> Outcome:
        if self.unreachable is not None:
            # Amazon (or LWA) could not be reached even after the client's retries: the rest would
            # each wait through the same retries to the same answer. The next sync sends them.
            return outcome_from_error(action, self.unreachable)
        try:
            if action.op is Op.DELETE:
                response = await self.client.listings.delete_listings_item(
                    self.seller_id,
                    action.sku,
                    marketplace_ids=[action.marketplace_id],
                    issue_locale=_locale(action.marketplace_id),
                )
            else:
                response = await self._write(action, included_data=["issues"])
            killpoints.reached("items.after-request")
        except (SPAPIConnectionError, LWAError) as exc:
            self.unreachable = exc
            return outcome_from_error(action, exc)
        except Exception as exc:  # one failed SKU never stops the others
            return outcome_from_error(action, exc)
        return outcome_from_submission(action, response)

    async def preview(self, actions: Sequence[Action]) -> list[PreviewResult]:
        """``mode=VALIDATION_PREVIEW`` (1 request/s per account: the client paces it); stores nothing."""
        out: list[PreviewResult] = []
        sem = asyncio.Semaphore(self.concurrency)

        async def one(action: Action) -> None:
            async with sem:
                out.append(await self._preview_one(action))
                self.task.advance()

        await asyncio.gather(*(one(a) for a in actions if a.op in (Op.CREATE, Op.REPLACE, Op.UPDATE)))
        return out

    async def _preview_one(self, action: Action) -> PreviewResult:
        try:
            response = await self._write(action, included_data=["issues", "identifiers"], mode=PREVIEW)
        except Exception as exc:
            outcome = outcome_from_error(action, exc)
            return PreviewResult(action.sku, action.marketplace_id, "ERROR", outcome.issues)
        asin = None
        for ident in response.get("identifiers") or []:
            if ident.get("marketplaceId") in (None, action.marketplace_id):
                asin = ident.get("asin") or asin
        return PreviewResult(
            action.sku,
            action.marketplace_id,
            str(response.get("status") or "ERROR"),
            amazon_issues(response.get("issues")),
            asin,
        )

    async def _write(self, action: Action, *, included_data: list[str], mode: str | None = None) -> Any:
        """PUT (create, replace) or PATCH (update) one listing; ``mode``: Amazon's VALIDATION_PREVIEW."""
        options: dict[str, Any] = {
            "marketplace_ids": [action.marketplace_id],
            "included_data": included_data,
            "issue_locale": _locale(action.marketplace_id),
            "mode": mode,
        }
        if action.op is Op.UPDATE:
            body = {"productType": action.product_type, "patches": action.patches}
            return await self.client.listings.patch_listings_item(self.seller_id, action.sku, body, **options)
        return await self.client.listings.put_listings_item(
            self.seller_id, action.sku, _put_body(action), **options
        )


def _put_body(action: Action) -> dict[str, Any]:
    body: dict[str, Any] = {"productType": action.product_type, "attributes": action.attributes}
    if action.requirements:
        body["requirements"] = action.requirements
    return body


def _locale(marketplace_id: str) -> str | None:
    found = marketplaces.find(marketplace_id)
    return found.language_tag if found else None
