"""The sync engine: recover → plan → send (items or feed) → reconcile, over candidate listings.

It takes listings already built and validated (:class:`Candidate`), so it can be driven by the
catalogue pipeline (:mod:`listingsync.sync.pipeline`), by a script, or by a benchmark that makes
its own listings.

``--via auto`` picks the path by the number of writes: below :data:`AUTO_FEED_THRESHOLD` the
Listings Items API (5 requests/s per account: 1,000 writes take ~200 s and every SKU gets its
answer at once); above it JSON_LISTINGS_FEED, whose turnaround (typically 5-20 minutes per feed
of up to 25,000 messages, 5 feeds per 5 minutes) beats 5 rps from about 1,500-6,000 writes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from listingsync.amazon import SPAPIClient
from listingsync.sync.adopt import Held, look_up, needs_look_up
from listingsync.sync.drift import DriftReport, check_listings
from listingsync.sync.feeds import FeedExecutor, FeedLimits, FeedSink
from listingsync.sync.guard import DeleteGuard
from listingsync.sync.items import ItemsExecutor, PreviewResult
from listingsync.sync.plan import Action, Candidate, Op, Plan, Planner, issue_dict
from listingsync.sync.progress import NullProgress, Progress, ProgressTask
from listingsync.sync.recovery import RecoveryReport, reconcile, recover
from listingsync.sync.results import LazyResults, ResultLines, ResultLog
from listingsync.sync.store import Outcome, PlanIndexEntry, StateStore

__all__ = [
    "AUTO_FEED_THRESHOLD",
    "Batch",
    "SkuResult",
    "SyncEngine",
    "SyncOptions",
    "SyncReport",
]

#: Writes at or above this go by JSON_LISTINGS_FEED under ``via: auto`` (see the module docstring).
AUTO_FEED_THRESHOLD = 1000

Key = tuple[str, str]

Mode = Literal["send", "dry-run", "preview"]
Via = Literal["auto", "items", "feed"]


@dataclass(slots=True)
class SyncOptions:
    mode: Mode = "send"
    via: Via = "auto"
    #: Send listings with local validation ERRORs anyway (Amazon then judges them).
    force: bool = False
    on_removed: str = "ignore"
    concurrency: int = 16
    #: Read accepted listings back after an items run (getListingsItem issues and summaries).
    reconcile: bool = True
    #: ... but only up to this many (20 per search call at 5 rps).
    reconcile_limit: int = 2000
    #: Seconds reconciliation may wait for Amazon to finish processing accepted listings (Amazon
    #: applies a write minutes after ACCEPTED); it stops as soon as every one is live or invalid.
    reconcile_wait: float = 0.0
    #: Seconds Amazon may take to process an accepted write: recovery does not resend an
    #: interrupted write it cannot see until this long after its intent (it may still be queued).
    processing_window: float = 0.0
    feed_limits: FeedLimits = field(default_factory=FeedLimits)
    #: Follow submitted feeds to their end in this run. False (Celery workers): submit and finish;
    #: the feeds stay ``submitted`` for a polling task or the next run's recovery.
    follow_feeds: bool = True
    auto_threshold: int = AUTO_FEED_THRESHOLD
    #: The mass-deletion guard (``sync.max_delete_share``, ``sync.delete_guard_min``) ...
    delete_guard: DeleteGuard = field(default_factory=DeleteGuard)
    #: ... and the user's ``--allow-mass-delete``.
    allow_mass_delete: bool = False
    #: Look up listings the state does not know on Amazon before writing them (``sync.adopt``).
    adopt: bool = True
    #: ``overwrite``: restore listings changed or deleted on Amazon outside listingsync.
    on_drift: str = "report"
    #: Share of ``reconcile_limit`` (the read budget) spent re-checking the oldest-checked listings.
    reconcile_share: float = 0.25
    #: Exit 1 for listings known invalid from earlier runs too (not only for what broke this run).
    fail_on_invalid: bool = False
    #: Seconds to wait for another run holding the state database's lock (0: refuse at once).
    lock_wait: float = 0.0


@dataclass(slots=True)
class SkuResult:
    sku: str
    marketplace_id: str
    op: str
    status: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    asin: str | None = None
    origin: str | None = None
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    previous: dict[str, Any] | None = None
    patches: list[dict[str, Any]] | None = None
    #: Planned against what Amazon held before listingsync knew the listing (``sync.adopt``).
    adopt: bool = False
    #: Already invalid before this run: reported, not a new failure (unless ``--fail-on-invalid``).
    was_invalid: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sku": self.sku,
            "marketplace_id": self.marketplace_id,
            "op": self.op,
            "status": self.status,
            "issues": self.issues,
        }
        for name in ("asin", "origin", "patches", "previous"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.changed:
            out["changed"] = self.changed
        if self.removed:
            out["removed"] = self.removed
        if self.adopt:
            out["adopt"] = True
        return out


#: What a run did not get done (:attr:`SyncReport.failed`).
_NOT_DONE = frozenset({"invalid", "error", "pending"})


@dataclass(slots=True)
class SyncReport:
    mode: str
    via: str | None
    run_id: int | None
    plan: dict[str, int]
    results: ResultLog
    statuses: dict[str, int]
    stats: dict[str, Any]
    elapsed: float
    recovery: RecoveryReport | None = None
    preview: list[PreviewResult] = field(default_factory=list)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    #: Things the user should know that are not per SKU (a feed left to poll next run …).
    notes: list[str] = field(default_factory=list)
    #: Why a real sync would refuse this plan (mass deletion); dry runs and previews report it.
    refused: str | None = None
    #: What the rolling read-back (``sync.reconcile_share``) found this run.
    drift: DriftReport | None = None
    #: Listings the state holds as invalid after this run (in the run's marketplaces).
    known_invalid: int = 0
    fail_on_invalid: bool = False

    @property
    def failed(self) -> int:
        """SKUs not done: refused, failed, or still pending (held, or a feed not finished)."""
        return sum(n for (status, _), n in self.results.tally().items() if status in _NOT_DONE)

    @property
    def new_failures(self) -> int:
        """Failures this run caused: errors, and listings invalid now that were not before."""
        return sum(
            n
            for (status, was_invalid), n in self.results.tally().items()
            if status in ("error", "pending") or (status == "invalid" and not was_invalid)
        )

    @property
    def run_status(self) -> str:
        """``succeeded`` (nothing new broke), ``partial`` (some listings failed), ``failed`` (all did)."""
        new_failures = self.new_failures
        if not new_failures:
            return "succeeded"
        return "failed" if new_failures == len(self.results) else "partial"

    @property
    def exit_code(self) -> int:
        """0 when the run did what it could and nothing new broke (a scheduler's success): known
        invalid listings from earlier runs are reported, not failures, unless ``fail_on_invalid``."""
        if self.refused:
            return 1
        if self.mode == "preview":
            # Listings held back by local validation count too, as in a dry run or a real sync.
            return 1 if self.failed or any(p.status != "VALID" for p in self.preview) else 0
        if self.fail_on_invalid and (self.failed or self.known_invalid):
            return 1
        if self.mode == "dry-run":
            return 1 if self.failed else 0
        return 1 if self.new_failures else 0

    def as_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """``lazy``: ``results`` as a :class:`~listingsync.sync.results.LazyResults`, read back one
        at a time as an indented JSON encoder writes it (``listingsync sync --json``)."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "via": self.via,
            "run_id": self.run_id,
            "plan": self.plan,
            "statuses": self.statuses,
            "stats": self.stats,
            "elapsed_s": round(self.elapsed, 3),
            "results": LazyResults(self.results) if lazy else [r.as_dict() for r in self.results],
        }
        if self.recovery is not None and self.recovery.anything:
            out["recovery"] = {
                "feeds_resumed": self.recovery.feeds_resumed,
                "feeds_abandoned": self.recovery.feeds_abandoned,
                "writes_found_on_amazon": self.recovery.landed,
                "writes_to_resend": self.recovery.resend,
            }
        if self.preview:
            out["preview"] = [
                {
                    "sku": p.sku,
                    "marketplace_id": p.marketplace_id,
                    "status": p.status,
                    "asin": p.asin,
                    "issues": p.issues,
                }
                for p in self.preview
            ]
        if self.feeds:
            out["feeds"] = self.feeds
        if self.notes:
            out["notes"] = self.notes
        if self.refused:
            out["refused"] = self.refused
        if self.drift is not None:
            out["drift"] = drift_dict(self.drift)
        out["known_invalid"] = self.known_invalid
        out["run_status"] = self.run_status
        return out


class SyncEngine:
    def __init__(
        self,
        store: StateStore,
        client: SPAPIClient | None,
        seller_id: str,
        *,
        options: SyncOptions | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.seller_id = seller_id
        self.options = options or SyncOptions()
        self.progress: Progress = progress or NullProgress()

    def planner(self) -> Planner:
        return Planner(
            self.store,
            on_drift=self.options.on_drift,
            on_removed=self.options.on_removed,
            force=self.options.force,
            keep_previous=self.options.mode == "dry-run",
        )

    async def recover(self, run_id: int | None = None) -> RecoveryReport:
        """Finish what a killed run left (feeds by id, interrupted writes by lookup)."""
        client = self._client()
        feeds = FeedExecutor(
            client, self.store, self.seller_id, run_id=run_id, limits=self.options.feed_limits
        )
        return await recover(
            client, self.store, self.seller_id, feeds, run_id=run_id, window=self.options.processing_window
        )

    async def run(
        self,
        candidates: Iterable[Candidate],
        *,
        marketplace_ids: Sequence[str] | None = None,
        complete: bool = True,
        removed_skus: Iterable[str] = (),
        protected_skus: Iterable[str] = (),
        recovered: RecoveryReport | None = None,
        skipped: int = 0,
    ) -> SyncReport:
        """``skipped``: listings left out of ``candidates`` because nothing that built them changed
        (they count as unchanged; their SKUs must be among ``protected_skus``)."""
        if self.options.mode != "send":
            return await self._run(
                None, candidates, marketplace_ids, complete, removed_skus, protected_skus, recovered, skipped
            )

        async def whole(run_id: int) -> SyncReport:
            listed = list(candidates)  # inside the run: a source failing here aborts it
            seen = {(c.listing.sku, c.listing.marketplace_id) for c in listed}
            protected = set(protected_skus)
            return await self._run_stream(
                run_id,
                [Batch(listed)],
                marketplace_ids,
                complete,
                set(removed_skus),
                lambda key: key in seen or key[0] in protected,
                recovered,
                lambda: skipped,
                complete and not skipped and not listed,
            )

        return await self._running(whole)

    async def run_stream(
        self,
        batches: Iterable[Batch],
        *,
        marketplace_ids: Sequence[str] | None = None,
        complete: bool = True,
        removed_skus: Iterable[str] = (),
        present: Callable[[Key], bool] = lambda key: False,
        recovered: RecoveryReport | None = None,
        skipped: Callable[[], int] = lambda: 0,
        empty_catalogue: bool = False,
        present_on_amazon: int | None = None,
        removal_counts: tuple[int, int] | None = None,
    ) -> SyncReport:
        """A sending run over candidates that come in batches (consumed one at a time, lazily).

        What the catalogue holds must be known before the first batch (``present``: a listing
        the catalogue still has, or a record that could not be read), so the listings it no
        longer has are planned, and a mass deletion refused, before anything is sent. Each batch
        is planned against the state's entries for its SKUs only, written (items) or added to the
        open feed documents (feed), and its results logged; ``skipped`` is read at the end
        (listings the producer left out because nothing that built them changed).
        ``present_on_amazon``: how many listings on Amazon the records read have, when the
        producer counted them (see :meth:`_removals`); ``removal_counts``: the state's own
        (``StateStore.removal_counts``), when the producer counted them after recovery.
        """

        async def streamed(run_id: int) -> SyncReport:
            return await self._run_stream(
                run_id,
                batches,
                marketplace_ids,
                complete,
                set(removed_skus),
                present,
                recovered,
                skipped,
                empty_catalogue,
                present_on_amazon,
                removal_counts if recovered is not None else None,
            )

        return await self._running(streamed)

    async def _running(self, body: Callable[[int], Awaitable[SyncReport]]) -> SyncReport:
        """``body`` within a run row that every exit path closes."""
        run_id = self.store.begin_run("sync", self.options.via)
        try:
            return await body(run_id)
        except BaseException as exc:
            # Every exit path closes the run row: a run is never left 'running' (refusals and
            # normal ends closed it already; this is a crash, Ctrl-C or an error that escaped).
            stopped = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            self.store.finish_run(
                run_id,
                "interrupted" if stopped else "aborted",
                {"error": f"{type(exc).__name__}: {exc}"[:500]},
                only_if_running=True,
            )
            raise

    async def _run_stream(
        self,
        run_id: int,
        batches: Iterable[Batch],
        marketplace_ids: Sequence[str] | None,
        complete: bool,
        removed: set[str],
        present: Callable[[Key], bool],
        recovered: RecoveryReport | None,
        skipped: Callable[[], int],
        empty_catalogue: bool,
        present_on_amazon: int | None = None,
        removal_counts: tuple[int, int] | None = None,
    ) -> SyncReport:
        started = time.perf_counter()
        opts = self.options
        recovery = recovered
        if recovery is None and self.client is not None:
            recovery = await self.recover(run_id)
        held = recovery.held if recovery is not None else set()
        report = SyncReport(
            opts.mode, None, run_id, {op.value: 0 for op in Op}, ResultLog(), {}, {}, 0.0, recovery
        )
        report.fail_on_invalid = opts.fail_on_invalid
        # 1. What the catalogue no longer has, from the whole index a page at a time: the guard
        #    decides on it before anything is sent; the deletions themselves go last.
        gone, known, drifted = self._removals(
            marketplace_ids, complete, removed, present, present_on_amazon, removal_counts
        )
        for action in gone:
            report.plan[action.op.value] += 1
        if drifted and opts.on_drift == "report":
            report.notes.append(
                f"{drifted} listing(s) were changed or deleted on Amazon outside listingsync and are "
                "left as Amazon has them (sync.on_drift: report); `listingsync status --drifted` lists "
                "them, sync.on_drift: overwrite restores the catalogue's values"
            )
        self._guard(Plan(gone, known), report, empty_catalogue=empty_catalogue)
        # 2. The catalogue's listings, a batch at a time: the next slices are looked up and planned
        #    while this one's writes leave (lookups and writes draw on different rate limits).
        sender = _Sender(self, run_id, report)
        ahead = _PlanAhead(self, run_id, report, marketplace_ids, held)
        try:
            await _overlapped(ahead.slices(batches), sender)
            ahead.done()
            # 3. Deletions (children first), after every write.
            deletions = sorted((a for a in gone if a.op is Op.DELETE), key=lambda a: a.order)
            for action in deletions:
                report.results.append(_result(action, "pending"))
            await sender.add([a for a in deletions if a.key not in held], [])
            await sender.finish()
        finally:
            sender.close()
        report.plan[Op.UNCHANGED.value] += skipped()
        report.via = sender.via
        if ahead.unverified:
            report.notes.append(
                f"did not send {ahead.unverified} listing(s) the state does not know: Amazon could not be "
                f"reached to look them up ({ahead.reason}); a PUT could replace a listing that exists, so "
                "the next sync looks them up again"
            )
        # 4. What Amazon accepted, read back; then every result's status, issues and ASIN as the
        #    state holds them, a chunk at a time.
        await self._reconcile_stream(run_id, sender, report)
        statuses: Counter[str] = Counter()
        reported: set[Key] = set()

        def fill(chunk: list[SkuResult]) -> None:
            keys = [(r.sku, r.marketplace_id) for r in chunk if r.status == "pending"]
            states = self.store.reported(keys) if keys else {}
            for r in chunk:
                key = (r.sku, r.marketplace_id)
                if r.status == "pending":  # not an error decided before sending (LS-ADOPT-LOOKUP)
                    state = states.get(key)
                    if state is None:
                        r.status = "pending"
                    else:
                        r.status, r.issues, r.asin = state
                if key in held:
                    r.status = "pending"
                    r.issues = [*r.issues, _held_issue()]
                    reported.add(key)
                statuses[r.status] += 1

        tally = report.results.tally()
        if held or any(status == "pending" for status, _ in tally):
            report.results = report.results.rewritten(fill)
        else:  # every result is final already (a no-change run's known-invalid listings)
            for (status, _), n in tally.items():
                statuses[status] += n
        for sku, mp in sorted(held - reported):
            report.results.append(SkuResult(sku, mp, "held", "pending", [_held_issue()]))
            statuses["pending"] += 1
        report.statuses = dict(statuses)
        if recovery is not None and recovery.errors:
            report.notes.extend(f"{e}; the next sync tries again" for e in recovery.errors)
        await self._rolling_check(report, marketplace_ids, run_id)
        report.known_invalid = self.store.counts(marketplace_ids).get("invalid", 0)
        report.stats = self.client.stats.as_dict() if self.client is not None else {}
        report.elapsed = time.perf_counter() - started
        self.store.finish_run(
            run_id,
            report.run_status,
            {
                "plan": report.plan,
                "statuses": report.statuses,
                "via": report.via,
                "stats": report.stats,
                "new_failures": report.new_failures,
                "known_invalid": report.known_invalid,
            },
        )
        return report

    def _adopting(self) -> bool:
        opts = self.options
        return opts.adopt and self.client is not None and opts.mode != "preview"

    def _removals(
        self,
        marketplace_ids: Sequence[str] | None,
        complete: bool,
        removed: set[str],
        present: Callable[[Key], bool],
        present_on_amazon: int | None = None,
        counts: tuple[int, int] | None = None,
    ) -> tuple[list[Action], int, int]:
        """The listings the catalogue no longer has (``delete`` or ``removed`` actions), how many
        the store knows on Amazon (the guard's base), and how many drifted. Only keys are walked
        (a no-change run reads no listing row): the few listings found gone are then read.

        When the producer counted the listings on Amazon of the records it read (each key once)
        and that count is the store's, every such listing has its record: nothing is walked.
        ``counts``: the store's counts, when the producer read them already."""
        known, drifted = counts if counts is not None else self.store.removal_counts(marketplace_ids)
        gone: list[Key] = []
        walked = () if present_on_amazon == known else self.store.removal_keys(marketplace_ids)
        for keys in walked:
            gone.extend(k for k in keys if not present(k) and (complete or k[0] in removed))
        op = Op.DELETE if self.options.on_removed == "delete" else Op.REMOVED
        out: list[Action] = []
        if gone:
            index = self.store.plan_index(marketplace_ids, skus=[sku for sku, _mp in gone])
            for key in gone:
                entry = index.get(key)
                if entry is None:  # pragma: no cover - the run lock keeps other writers out
                    continue
                out.append(Action.removal(op, key, entry))
        return out, known, drifted

    async def _reconcile_stream(self, run_id: int, sender: _Sender, report: SyncReport) -> None:
        """Read back what Amazon accepted (up to ``reconcile_limit`` listings, as a whole run does)."""
        if self.client is None or sender.overflowed:
            return
        if sender.via == "feed":
            sent = sender.sent
            skus = sorted({sku for sku, _ in sent})
            landed = {
                (st.sku, st.marketplace_id)
                for st in self.store.listings(skus=skus, statuses=["accepted", "live"])
            }
            accepted = [k for k in sent if k in landed]
        else:
            accepted = sender.accepted
        await self._reconcile(self.client, run_id, accepted, report)

    async def _run(
        self,
        run_id: None,
        candidates: Iterable[Candidate],
        marketplace_ids: Sequence[str] | None,
        complete: bool,
        removed_skus: Iterable[str],
        protected_skus: Iterable[str],
        recovered: RecoveryReport | None,
        skipped: int = 0,
    ) -> SyncReport:
        started = time.perf_counter()
        opts = self.options
        recovery = recovered
        candidates = list(candidates)
        index = self.store.plan_index(marketplace_ids)
        on_amazon, _, adopt_note = await self._look_up(candidates, index)
        task = self.progress.phase("plan", "Planning against the state store")
        plan = self.planner().plan(
            candidates,
            marketplace_ids=marketplace_ids,
            complete=complete,
            removed_skus=removed_skus,
            protected_skus=protected_skus,
            index=index,
            held=on_amazon,
        )
        task.done()
        writes = plan.writes
        via = self._via(len(writes))
        counts = plan.counts()
        counts[Op.UNCHANGED.value] += skipped
        report = SyncReport(
            opts.mode, via if writes else None, run_id, counts, ResultLog(), {}, {}, 0.0, recovery
        )
        report.fail_on_invalid = opts.fail_on_invalid
        if adopt_note:
            report.notes.append(adopt_note)
        drifted = sum(1 for e in index.values() if e.drift_kind)
        if drifted and opts.on_drift == "report":
            report.notes.append(
                f"{drifted} listing(s) were changed or deleted on Amazon outside listingsync and are "
                "left as Amazon has them (sync.on_drift: report); `listingsync status --drifted` lists "
                "them, sync.on_drift: overwrite restores the catalogue's values"
            )
        self._guard(plan, report, empty_catalogue=complete and not skipped and not plan_has_candidates(plan))
        if opts.mode == "dry-run":
            report.results = ResultLog(
                _result(a, _planned_status(a)) for a in plan.actions if a.op is not Op.UNCHANGED
            )
            report.elapsed = time.perf_counter() - started
            return report
        if opts.mode == "preview":
            client = self._client()
            task = self.progress.phase("submit", "Previewing with Amazon (VALIDATION_PREVIEW)", len(writes))
            executor = ItemsExecutor(
                client, self.store, self.seller_id, run_id=None, concurrency=4, task=task
            )
            report.preview = await executor.preview(writes)
            task.done()
            report.results = ResultLog(_result(a, "invalid") for a in plan.actions if a.op is Op.INVALID)
            report.stats = client.stats.as_dict()
            report.elapsed = time.perf_counter() - started
            return report
        raise AssertionError("a sending run goes through run_stream")

    async def _rolling_check(
        self, report: SyncReport, marketplace_ids: Sequence[str] | None, run_id: int
    ) -> None:
        """Read back the listings checked longest ago, within ``reconcile_share`` of the read budget
        (not the ones this run wrote or recorded: their answers are fresh)."""
        opts = self.options
        share = int(opts.reconcile_limit * opts.reconcile_share)
        if self.client is None or share <= 0 or (report.notes and _unreachable(report)):
            return
        states = [s for s in self.store.oldest_checked(share, marketplace_ids) if s.last_run_id != run_id]
        if not states:
            return
        task = self.progress.phase("check", "Checking the oldest-checked listings on Amazon", len(states))
        try:
            report.drift = await check_listings(
                self.client, self.store, self.seller_id, states, task=task, settling=opts.processing_window
            )
        except Exception as exc:  # a read-back never fails the run it follows
            report.notes.append(
                f"could not re-check the oldest-checked listings ({exc}); the next sync tries again"
            )
            return
        finally:
            task.done()
        found = report.drift
        if found.anything:
            report.notes.append(
                f"read back {found.checked} listing(s) checked longest ago: {len(found.gone)} gone from "
                f"Amazon, {len(found.changed)} changed outside listingsync, {len(found.new_issues)} with "
                "new issues (`listingsync status --drifted`; `listingsync reconcile --all` checks every one)"
            )

    async def _look_up(
        self,
        candidates: list[Candidate],
        index: dict[tuple[str, str], PlanIndexEntry],
        task: ProgressTask | None = None,
    ) -> tuple[dict[tuple[str, str], Held], list[Candidate], str | None]:
        """What Amazon holds for the listings about to be written that the state does not know.

        Returns what was found, the candidates that could not be looked up (a real sync does not
        send them: a PUT could replace a listing that exists) and a note for the user.
        """
        client = self.client
        if client is None or not self._adopting():
            return {}, [], None
        unknown = self._unknown(candidates, index)
        if not unknown:
            return {}, [], None
        own = task is None
        if task is None:
            task = self.progress.phase(
                "adopt", "Looking up on Amazon the listings the state does not know", len(unknown)
            )
        try:
            held, failed = await look_up(client, self.seller_id, unknown, task=task)
            reason = "Amazon kept failing to answer"
        except Exception as exc:  # any failure: nothing unverified is sent
            held, failed = {}, {_key(c) for c in unknown}
            reason = str(exc)
        finally:
            if own:
                task.done()
        if not failed:
            return held, [], None
        if self.options.mode != "send":
            return (
                held,
                [],
                (
                    f"could not look up {len(failed)} listing(s) the state does not know on Amazon "
                    f"({reason}); a real sync looks them up first and adopts or patches the ones that exist"
                ),
            )
        unverified = [c for c in unknown if _key(c) in failed]
        return held, unverified, reason

    def _unknown(
        self, candidates: list[Candidate], index: dict[tuple[str, str], PlanIndexEntry]
    ) -> list[Candidate]:
        """The candidates to look up on Amazon before writing: sendable, and not known to the state."""
        force = self.options.force
        return [c for c in candidates if (force or not c.errors) and needs_look_up(index.get(_key(c)))]

    def _guard(self, plan: Plan, report: SyncReport, *, empty_catalogue: bool) -> None:
        """Refuse a mass deletion before anything is sent (a dry run or preview reports it)."""
        if self.options.allow_mass_delete:
            return
        guard = self.options.delete_guard
        reason = guard.refusal(plan.counts()["delete"], plan.known, empty_catalogue=empty_catalogue)
        if reason is None:
            return
        if self.options.mode != "send":
            report.refused = str(guard.error(reason, dry_run=True))
            return
        assert report.run_id is not None
        self.store.finish_run(report.run_id, "refused", {"plan": report.plan, "refused": reason})
        raise guard.error(reason)

    async def _reconcile(
        self, client: SPAPIClient, run_id: int, accepted: list[tuple[str, str]], report: SyncReport
    ) -> None:
        """Read what Amazon accepted back, waiting within ``reconcile_wait`` for its verdicts."""
        opts = self.options
        if opts.reconcile and accepted and len(accepted) <= opts.reconcile_limit:
            task = self.progress.phase(
                "reconcile", "Reading accepted listings back from Amazon", len(accepted)
            )
            counts = await reconcile(
                client,
                self.store,
                self.seller_id,
                accepted,
                run_id=run_id,
                task=task,
                wait=opts.reconcile_wait,
            )
            task.done()
            if counts.get("unread"):
                report.notes.append(
                    f"{counts['unread']} accepted listing(s) could not be read back (Amazon kept "
                    "answering with transient errors); their status stays as Amazon's answer gave it"
                )

    def _record_local_invalid(self, run_id: int, plan: Plan) -> None:
        outcomes = [
            Outcome(
                a.sku,
                a.marketplace_id,
                "invalid",
                [issue_dict(i) for i in a.issues],
                product_type=a.product_type,
                requirements=a.requirements,
                parent_sku=a.parent_sku,
                parentage=a.parentage,
                origin=a.origin,
                local=True,
            )
            for a in plan.actions
            if a.op is Op.INVALID
        ]
        self.store.record_outcomes(run_id, outcomes)

    def _via(self, writes: int) -> str:
        if self.options.mode == "preview":
            return "items"
        if self.options.via != "auto":
            return self.options.via
        return "feed" if writes >= self.options.auto_threshold else "items"

    def _client(self) -> SPAPIClient:
        if self.client is None:
            raise RuntimeError("this sync mode talks to Amazon: give the engine an SPAPIClient")
        return self.client


@dataclass(slots=True)
class Batch:
    """Candidates of a streamed run, and what to call once their listings are in the state (the
    pipeline records what built them then: the rows exist once planned, written or intended)."""

    candidates: list[Candidate]
    recorded: Callable[[], None] | None = None
    #: Listings refused by validation before, whose record and mapping did not change since: not
    #: built again (``sync.rawskip``), their results as the state holds them (status, issues, ASIN).
    invalid: ResultLines | None = None


def _held_issue() -> dict[str, Any]:
    return {
        "code": "LS-RECOVERY-PENDING",  # invented: our marker, not an Amazon code
        "message": "an earlier run's write could not be checked on Amazon (transient errors); "
        "nothing was sent for this listing, the next sync checks it again",
        "severity": "WARNING",
        "attributeNames": [],
        "categories": [],
        "source": "listingsync",
    }


#: Candidates looked up on Amazon (five search calls of 20 SKUs) before their writes can leave: the
#: first write waits for one slice's lookups, not a whole batch's (1,000 SKUs: 50 calls, 10 s at 5 rps).
LOOKUP_SLICE = 100
#: Slices planned ahead of the sender at most: with the batch being built and the slices being
#: sent, what running ahead holds in memory (about three batches instead of one).
SLICES_AHEAD = 10

Slice = tuple[list[Action], Callable[[], None] | None]


class _PlanAhead:
    """Looks up, plans and records a streamed run's batches for the sender, a slice at a time.

    Batches are cut in slices of :data:`LOOKUP_SLICE`, parents first as the planner orders them, so
    the first writes wait for a few lookups and the rest are looked up while they leave. The last
    slice of a batch carries its ``recorded`` call.
    """

    def __init__(
        self,
        engine: SyncEngine,
        run_id: int,
        report: SyncReport,
        marketplace_ids: Sequence[str] | None,
        held: set[Key],
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.report = report
        self.marketplace_ids = marketplace_ids
        self.held = held
        self.planner = engine.planner()
        self.plan_task = engine.progress.phase("plan", "Planning against the state store")
        self.adopt_task: ProgressTask | None = None
        #: Listings not sent because Amazon could not be reached to look them up, and why.
        self.unverified = 0
        self.reason = ""
        #: Why a lookup of the batch being planned failed: its later slices are not looked up (the
        #: one failing attempt per batch a whole-batch lookup made), the next batch tries again.
        self.down: str | None = None

    async def slices(self, batches: Iterable[Batch]) -> AsyncGenerator[Slice, None]:
        engine = self.engine
        for batch in batches:
            cands = batch.candidates
            index = engine.store.plan_index(self.marketplace_ids, skus=[c.listing.sku for c in cands])
            if (
                self.adopt_task is None
                and engine._adopting()
                and any(needs_look_up(index.get(_key(c))) for c in cands)
            ):
                self.adopt_task = engine.progress.phase(
                    "adopt", "Looking up on Amazon the listings the state does not know"
                )
            # Parents first, as the planner orders a batch: a child's slice never goes before its
            # parent's.
            cands = sorted(cands, key=lambda c: 0 if c.listing.parentage == "parent" else 1)
            self.down = None
            for start in range(0, max(len(cands), 1), LOOKUP_SLICE):
                part = cands[start : start + LOOKUP_SLICE]
                # The slice's own entries: the planner walks its index for removals, once a slice.
                known = {key: index[key] for key in map(_key, part) if key in index}
                writes = await self._plan(part, known)
                if start + LOOKUP_SLICE < len(cands):
                    yield writes, None
                    continue
                if batch.invalid is not None:
                    self.report.plan[Op.INVALID.value] += len(batch.invalid)
                    self.report.results.extend_lines(batch.invalid)
                yield writes, batch.recorded

    async def _plan(self, cands: list[Candidate], index: dict[Key, PlanIndexEntry]) -> list[Action]:
        engine, report = self.engine, self.report
        if self.down is None:
            on_amazon, unverified, reason = await engine._look_up(cands, index, self.adopt_task)
            if unverified:
                self.down = reason or ""
        else:
            on_amazon, unverified, reason = {}, engine._unknown(cands, index), self.down
        if unverified:
            unsent = {_key(c) for c in unverified}
            cands = [c for c in cands if _key(c) not in unsent]
            self.unverified += len(unverified)
            self.reason = self.reason or reason or ""
        plan = self.planner.plan(
            cands, marketplace_ids=self.marketplace_ids, complete=False, index=index, held=on_amazon
        )
        self.plan_task.advance(len(plan.actions))
        for action in plan.actions:
            report.plan[action.op.value] += 1
        engine._record_local_invalid(self.run_id, plan)
        engine.store.record_adopted(
            self.run_id, [(a, on_amazon[a.key]) for a in plan.actions if a.adopt and a.key in on_amazon]
        )
        for action in plan.actions:
            if action.op.is_write or action.op in (Op.INVALID, Op.ADOPT):
                result = _result(action, "pending")
                previous = index.get(action.key)
                result.was_invalid = previous is not None and previous.status == "invalid"
                report.results.append(result)
        report.results.extend(_not_looked_up(c) for c in unverified)
        return [a for a in plan.writes if a.key not in self.held]

    def done(self) -> None:
        self.plan_task.done()
        if self.adopt_task is not None:
            self.adopt_task.done()


async def _overlapped(slices: AsyncGenerator[Slice, None], sender: _Sender) -> None:
    """Sends each slice's writes while the next slices are planned.

    What was planned while a send went on goes out in one ``add``: the items executor's workers
    drain once for it, not once a slice. A failure while planning still sends what was planned
    before it, then raises; a failure while sending stops the planning.
    """
    queue: asyncio.Queue[Slice | None] = asyncio.Queue(maxsize=SLICES_AHEAD)
    failed: list[Exception] = []

    async def plan() -> None:
        try:
            async with contextlib.aclosing(slices) as planned:
                async for item in planned:
                    await queue.put(item)
        except Exception as exc:
            failed.append(exc)
        await queue.put(None)

    async def send() -> None:
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            ready = [item for item in items if item is not None]
            if ready:
                hooks = [hook for _, hook in ready if hook is not None]
                await sender.add([a for writes, _ in ready for a in writes], hooks)
            if items[-1] is None:
                return

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(plan())
            group.create_task(send())
    except BaseExceptionGroup as group_failed:
        raise group_failed.exceptions[0] from None
    if failed:
        raise failed[0]


def _key(cand: Candidate) -> Key:
    return (cand.listing.sku, cand.listing.marketplace_id)


class _Sender:
    """Where a streamed run's writes go, batch by batch: the Listings Items API or feed documents.

    ``via: auto`` holds writes (and their batches' ``recorded`` calls) until there are
    ``auto_threshold`` of them (then feeds, from there on) or the run ends with fewer (items): a
    bounded wait, never the whole plan. The keys kept for reconciliation stop at
    ``reconcile_limit`` (a bigger run is not read back, as before).
    """

    def __init__(self, engine: SyncEngine, run_id: int, report: SyncReport) -> None:
        self.engine = engine
        self.opts = engine.options
        self.run_id = run_id
        self.report = report
        self.via: str | None = None if self.opts.via == "auto" else self.opts.via
        self.sent_any = False
        self._waiting: list[Action] = []
        self._hooks: list[Callable[[], None]] = []
        self._sink: FeedSink | None = None
        self._feeds: FeedExecutor | None = None
        self._items: ItemsExecutor | None = None
        self._tasks: list[ProgressTask] = []
        #: Feed path: written keys (not deletions); items path: accepted keys; up to the limit.
        self.sent: list[Key] = []
        self.accepted: list[Key] = []
        self.overflowed = False

    async def add(self, writes: list[Action], recorded: list[Callable[[], None]]) -> None:
        """Send ``writes``, then call their batches' ``recorded`` hooks."""
        if self.via is None:
            self._waiting.extend(writes)
            self._hooks.extend(recorded)
            if len(self._waiting) >= self.opts.auto_threshold:
                self.via = "feed"
                await self._flush()
            return
        await self._send(writes)
        for hook in recorded:
            hook()

    async def finish(self) -> None:
        if self.via is None:
            self.via = "items"
            await self._flush()
        if self._sink is not None and self._feeds is not None:
            results = await self._sink.finish()
            feeds = self._feeds
            self.report.notes.extend(f"{e}; the next sync polls it again" for e in feeds.errors)
            if feeds.submitted:
                self.report.notes.append(
                    f"{len(feeds.submitted)} feed(s) submitted and left to Amazon; their outcomes are "
                    "recorded when they are polled (listingsync worker) or by the next sync"
                )
            self.report.feeds = [
                {
                    "feed_id": f.feed_id,
                    "marketplace_id": f.marketplace_id,
                    "processing_status": f.processing_status,
                    "messages": f.messages,
                    "feed_issues": f.feed_issues,
                }
                for f in results
            ]
        if self._items is not None and self._items.unreachable is not None:
            self.report.notes.append(
                f"stopped sending: Amazon could not be reached ({self._items.unreachable}); the listings "
                "not sent stay as they were and the next sync sends them"
            )
        for task in self._tasks:
            task.done()
        if not self.sent_any:
            self.via = None

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()

    async def _flush(self) -> None:
        writes, self._waiting = self._waiting, []
        hooks, self._hooks = self._hooks, []
        await self._send(writes)
        for hook in hooks:
            hook()

    def _keep(self, bucket: list[Key], keys: Iterable[Key]) -> None:
        if self.overflowed:
            return
        bucket.extend(keys)
        if len(bucket) > self.opts.reconcile_limit:
            self.overflowed = True
            bucket.clear()

    async def _send(self, writes: list[Action]) -> None:
        if not writes:
            return
        self.sent_any = True
        client = self.engine._client()
        progress = self.engine.progress
        if self.via == "feed":
            if self._sink is None:
                submit = progress.phase("submit", "Submitting JSON_LISTINGS_FEED documents")
                wait = progress.phase("feed", "Waiting for Amazon to process the feeds")
                self._tasks += [submit, wait]
                self._feeds = FeedExecutor(
                    client,
                    self.engine.store,
                    self.engine.seller_id,
                    run_id=self.run_id,
                    limits=self.opts.feed_limits,
                    submit_task=submit,
                    wait_task=wait,
                    wait=self.opts.follow_feeds,
                )
                self._sink = self._feeds.sink()
            await self._sink.add(writes)
            self._keep(self.sent, (a.key for a in writes if a.op is not Op.DELETE))
            return
        if self._items is None:
            task = progress.phase("submit", "Sending to the Listings Items API")
            self._tasks.append(task)
            self._items = ItemsExecutor(
                client,
                self.engine.store,
                self.engine.seller_id,
                run_id=self.run_id,
                concurrency=self.opts.concurrency,
                task=task,
            )
        outcomes = await self._items.execute(writes)
        self._keep(
            self.accepted, ((o.sku, o.marketplace_id) for o in outcomes if o.kind in ("accepted", "live"))
        )


def _not_looked_up(cand: Candidate) -> SkuResult:
    issue = {
        "code": "LS-ADOPT-LOOKUP",  # invented: ours, not Amazon's
        "message": "not sent: Amazon could not be reached to look up whether it already holds this "
        "listing (a PUT would replace it); the next sync looks it up again",
        "severity": "ERROR",
        "attributeNames": [],
        "source": "listingsync",
    }
    listing = cand.listing
    return SkuResult(listing.sku, listing.marketplace_id, "create", "error", [issue], origin=listing.origin)


def _unreachable(report: SyncReport) -> bool:
    return any(n.startswith("stopped sending: Amazon could not be reached") for n in report.notes)


def drift_dict(found: DriftReport) -> dict[str, Any]:
    return {
        "checked": found.checked,
        "gone": [{"sku": s.sku, "marketplace_id": s.marketplace_id} for s in found.gone],
        "changed": [
            {"sku": s.sku, "marketplace_id": s.marketplace_id, "attributes": sorted(d)}
            for s, d in found.changed
        ],
        "new_issues": [
            {"sku": s.sku, "marketplace_id": s.marketplace_id, "issues": i} for s, i in found.new_issues
        ],
        "not_shown": [
            {"sku": s.sku, "marketplace_id": s.marketplace_id, "amazon_status": st}
            for s, st in found.not_shown
        ],
    }


def plan_has_candidates(plan: Plan) -> bool:
    """Whether the catalogue gave any listing (deletions and "removed" marks are not from it)."""
    return any(a.op not in (Op.DELETE, Op.REMOVED) for a in plan.actions)


def _planned_status(action: Action) -> str:
    return "invalid" if action.op is Op.INVALID else "planned"


def _result(action: Action, status: str) -> SkuResult:
    return SkuResult(
        action.sku,
        action.marketplace_id,
        action.op.value,
        status,
        [issue_dict(i) for i in action.issues],
        origin=action.origin,
        changed=list(action.changed),
        removed=list(action.removed),
        previous=action.previous,
        patches=action.patches,
        adopt=action.adopt,
    )
