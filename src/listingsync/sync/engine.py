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
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from listingsync.amazon import SPAPIClient
from listingsync.sync.adopt import Held, look_up, needs_look_up
from listingsync.sync.drift import DriftReport, check_listings
from listingsync.sync.feeds import FeedExecutor, FeedLimits
from listingsync.sync.guard import DeleteGuard
from listingsync.sync.items import ItemsExecutor, PreviewResult
from listingsync.sync.plan import Action, Candidate, Op, Plan, Planner, issue_dict
from listingsync.sync.progress import NullProgress, Progress
from listingsync.sync.recovery import RecoveryReport, reconcile, recover
from listingsync.sync.store import Outcome, PlanIndexEntry, StateStore

__all__ = [
    "AUTO_FEED_THRESHOLD",
    "SkuResult",
    "SyncEngine",
    "SyncOptions",
    "SyncReport",
]

#: Writes at or above this go by JSON_LISTINGS_FEED under ``via: auto`` (see the module docstring).
AUTO_FEED_THRESHOLD = 1000

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


@dataclass(slots=True)
class SyncReport:
    mode: str
    via: str | None
    run_id: int | None
    plan: dict[str, int]
    results: list[SkuResult]
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
        return sum(1 for r in self.results if r.status in ("invalid", "error", "pending"))

    @property
    def new_failures(self) -> int:
        """Failures this run caused: errors, and listings invalid now that were not before."""
        return sum(
            1
            for r in self.results
            if r.status in ("error", "pending") or (r.status == "invalid" and not r.was_invalid)
        )

    @property
    def run_status(self) -> str:
        """``succeeded`` (nothing new broke), ``partial`` (some listings failed), ``failed`` (all did)."""
        if not self.new_failures:
            return "succeeded"
        return "failed" if self.new_failures == len(self.results) else "partial"

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

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "via": self.via,
            "run_id": self.run_id,
            "plan": self.plan,
            "statuses": self.statuses,
            "stats": self.stats,
            "elapsed_s": round(self.elapsed, 3),
            "results": [r.as_dict() for r in self.results],
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
            client, self.store, self.seller_id, feeds, run_id=run_id, wait=self.options.reconcile_wait
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
        run_id = self.store.begin_run("sync", self.options.via)
        try:
            return await self._run(
                run_id,
                candidates,
                marketplace_ids,
                complete,
                removed_skus,
                protected_skus,
                recovered,
                skipped,
            )
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

    async def _run(
        self,
        run_id: int | None,
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
        if run_id is not None and recovery is None and self.client is not None:
            recovery = await self.recover(run_id)
        candidates = list(candidates)
        index = self.store.plan_index(marketplace_ids)
        on_amazon, unverified, adopt_note = await self._look_up(candidates, index)
        if unverified:
            unsent = {(c.listing.sku, c.listing.marketplace_id) for c in unverified}
            candidates = [c for c in candidates if (c.listing.sku, c.listing.marketplace_id) not in unsent]
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
        held = recovery.held if recovery is not None and opts.mode == "send" else set()
        if held:
            # Their interrupted writes could not be settled: sending now could race a feed or a
            # write Amazon still applies. They stay pending (reported so) until a run settles them.
            writes = [a for a in writes if a.key not in held]
        via = self._via(len(writes))
        counts = plan.counts()
        counts[Op.UNCHANGED.value] += skipped
        report = SyncReport(opts.mode, via if writes else None, run_id, counts, [], {}, {}, 0.0, recovery)
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
            report.results = [
                _result(a, _planned_status(a)) for a in plan.actions if a.op is not Op.UNCHANGED
            ]
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
            report.results = [_result(a, "invalid") for a in plan.actions if a.op is Op.INVALID]
            report.stats = client.stats.as_dict()
            report.elapsed = time.perf_counter() - started
            return report
        assert run_id is not None
        self._record_local_invalid(run_id, plan)
        self.store.record_adopted(
            run_id, [(a, on_amazon[a.key]) for a in plan.actions if a.adopt and a.key in on_amazon]
        )
        if writes:
            client = self._client()
            await self._send(client, run_id, via, writes, report)
        self._collect(plan, report, index)
        report.results.extend(_not_looked_up(c) for c in unverified)
        if recovery is not None and recovery.errors:
            report.notes.extend(f"{e}; the next sync tries again" for e in recovery.errors)
        if held:
            self._report_held(held, report)
        await self._rolling_check(report, marketplace_ids, {a.key for a in writes})
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

    async def _rolling_check(
        self, report: SyncReport, marketplace_ids: Sequence[str] | None, written: set[tuple[str, str]]
    ) -> None:
        """Read back the listings checked longest ago, within ``reconcile_share`` of the read budget."""
        opts = self.options
        share = int(opts.reconcile_limit * opts.reconcile_share)
        if self.client is None or share <= 0 or (report.notes and _unreachable(report)):
            return
        states = [s for s in self.store.oldest_checked(share, marketplace_ids) if s.key not in written]
        if not states:
            return
        task = self.progress.phase("check", "Checking the oldest-checked listings on Amazon", len(states))
        try:
            report.drift = await check_listings(self.client, self.store, self.seller_id, states, task=task)
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
        self, candidates: list[Candidate], index: dict[tuple[str, str], PlanIndexEntry]
    ) -> tuple[dict[tuple[str, str], Held], list[Candidate], str | None]:
        """What Amazon holds for the listings about to be written that the state does not know.

        Returns what was found, the candidates that could not be looked up (a real sync does not
        send them: a PUT could replace a listing that exists) and a note for the user.
        """
        opts = self.options
        if not opts.adopt or self.client is None or opts.mode == "preview":
            return {}, [], None
        unknown = [
            c
            for c in candidates
            if (opts.force or not c.errors)
            and needs_look_up(index.get((c.listing.sku, c.listing.marketplace_id)))
        ]
        if not unknown:
            return {}, [], None
        task = self.progress.phase(
            "adopt", "Looking up on Amazon the listings the state does not know", len(unknown)
        )
        try:
            held, failed = await look_up(self.client, self.seller_id, unknown, task=task)
            reason = "Amazon kept failing to answer"
        except Exception as exc:  # any failure: nothing unverified is sent
            held, failed = {}, {(c.listing.sku, c.listing.marketplace_id) for c in unknown}
            reason = str(exc)
        finally:
            task.done()
        if not failed:
            return held, [], None
        if opts.mode != "send":
            return (
                held,
                [],
                (
                    f"could not look up {len(failed)} listing(s) the state does not know on Amazon "
                    f"({reason}); a real sync looks them up first and adopts or patches the ones that exist"
                ),
            )
        unverified = [c for c in unknown if (c.listing.sku, c.listing.marketplace_id) in failed]
        return (
            held,
            unverified,
            (
                f"did not send {len(unverified)} listing(s) the state does not know: Amazon could not be "
                f"reached to look them up ({reason}); a PUT could replace a listing that exists, so the "
                "next sync looks them up again"
            ),
        )

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

    async def _send(
        self, client: SPAPIClient, run_id: int, via: str, writes: list[Action], report: SyncReport
    ) -> None:
        opts = self.options
        if via == "feed":
            submit = self.progress.phase("submit", "Submitting JSON_LISTINGS_FEED documents", len(writes))
            wait = self.progress.phase("feed", "Waiting for Amazon to process the feeds", len(writes))
            feeds = FeedExecutor(
                client,
                self.store,
                self.seller_id,
                run_id=run_id,
                limits=opts.feed_limits,
                submit_task=submit,
                wait_task=wait,
                wait=opts.follow_feeds,
            )
            results = await feeds.execute(writes)
            report.notes.extend(f"{e}; the next sync polls it again" for e in feeds.errors)
            if feeds.submitted:
                report.notes.append(
                    f"{len(feeds.submitted)} feed(s) submitted and left to Amazon; their outcomes are "
                    "recorded when they are polled (listingsync worker) or by the next sync"
                )
            submit.done()
            wait.done()
            report.feeds = [
                {
                    "feed_id": f.feed_id,
                    "marketplace_id": f.marketplace_id,
                    "processing_status": f.processing_status,
                    "messages": f.messages,
                    "feed_issues": f.feed_issues,
                }
                for f in results
            ]
            # A DONE feed only says Amazon accepted its messages; their items are processed later.
            sent = [(a.sku, a.marketplace_id) for a in writes if a.op is not Op.DELETE]
            skus = sorted({sku for sku, _ in sent})
            landed = {
                (st.sku, st.marketplace_id)
                for st in self.store.listings(skus=skus, statuses=["accepted", "live"])
            }
            await self._reconcile(client, run_id, [k for k in sent if k in landed], report)
            return
        task = self.progress.phase("submit", "Sending to the Listings Items API", len(writes))
        items = ItemsExecutor(
            client, self.store, self.seller_id, run_id=run_id, concurrency=opts.concurrency, task=task
        )
        outcomes = await items.execute(writes)
        task.done()
        if items.unreachable is not None:
            report.notes.append(
                f"stopped sending: Amazon could not be reached ({items.unreachable}); the listings "
                "not sent stay as they were and the next sync sends them"
            )
        accepted = [(o.sku, o.marketplace_id) for o in outcomes if o.kind in ("accepted", "live")]
        await self._reconcile(client, run_id, accepted, report)

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

    def _report_held(self, held: set[tuple[str, str]], report: SyncReport) -> None:
        issue = {
            "code": "LS-RECOVERY-PENDING",  # invented: our marker, not an Amazon code
            "message": "an earlier run's write could not be checked on Amazon (transient errors); "
            "nothing was sent for this listing, the next sync checks it again",
            "severity": "WARNING",
            "attributeNames": [],
            "categories": [],
            "source": "listingsync",
        }
        reported = set()
        for result in report.results:
            if (result.sku, result.marketplace_id) in held:
                result.status = "pending"
                result.issues = [*result.issues, issue]
                reported.add((result.sku, result.marketplace_id))
        for sku, mp in sorted(held - reported):
            report.results.append(SkuResult(sku, mp, "held", "pending", [issue]))
        report.statuses = dict(Counter(r.status for r in report.results))

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

    def _collect(self, plan: Plan, report: SyncReport, before: dict[tuple[str, str], PlanIndexEntry]) -> None:
        keys = [a for a in plan.actions if a.op.is_write or a.op in (Op.INVALID, Op.ADOPT)]
        states = {s.key: s for s in self.store.listings(skus=sorted({a.sku for a in keys}))} if keys else {}
        statuses: Counter[str] = Counter()
        for a in keys:
            state = states.get(a.key)
            status = state.status if state else "pending"
            result = _result(a, status)
            previous = before.get(a.key)
            result.was_invalid = previous is not None and previous.status == "invalid"
            if state is not None:
                result.issues = state.issues
                result.asin = state.asin
            report.results.append(result)
            statuses[status] += 1
        report.statuses = dict(statuses)

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
