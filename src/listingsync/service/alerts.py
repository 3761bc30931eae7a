"""Alerts: a JSON POST to the connection's webhook when a run fails or leaves listings with ERRORs.

The webhook URL is a secret of the connection (``alert_webhook``: chat webhooks carry their own
credentials). Delivery is retried (:mod:`listingsync.retrying`, full jitter so the alerts of many
failing runs do not come back together) on network errors and 5xx/429 answers: an alert delivered
twice is better than none. A webhook that never takes it is logged (its URL never is) and does not
change the run's outcome.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from listingsync.retrying import RetryPolicy
from listingsync.service.connections import Connection, alert_webhook
from listingsync.service.workspace import Workspace

if TYPE_CHECKING:
    from listingsync.service.runs import RunRecord as RunLike

__all__ = ["ATTEMPTS", "notify", "payload", "post"]

log = logging.getLogger(__name__)

ATTEMPTS = 4
_RETRY = RetryPolicy(max_attempts=ATTEMPTS, base=1.0, cap=8.0, budget=60.0)
#: Per-SKU details in one alert (the count says how many there were).
SKU_LIMIT = 100


def payload(ws: Workspace, connection: Connection, run: RunLike) -> dict[str, Any] | None:
    """The alert for this run, or None when there is nothing to say (it went through)."""
    if run.status not in ("failed", "partial"):
        return None
    skus: list[dict[str, Any]] = []
    total = 0
    keys: list[str] = []
    if run.status == "partial":
        store = ws.store(connection.name)
        state_run = run.state_run_id
        for state in store.listings(statuses=["invalid", "error"]):
            if state_run is not None and state.last_run_id != state_run:
                continue  # failed before this run: alerted then
            errors = [i for i in state.issues if str(i.get("severity", "")).upper() == "ERROR"]
            if not errors and state.status != "error":
                continue
            total += 1
            keys.append(
                f"{state.sku}\t{state.marketplace_id}\t{','.join(sorted(str(i.get('code')) for i in errors))}"
            )
            if len(skus) < SKU_LIMIT:
                skus.append(
                    {
                        "sku": state.sku,
                        "marketplace_id": state.marketplace_id,
                        "status": state.status,
                        "issues": [
                            {
                                "code": i.get("code"),
                                "message": i.get("message"),
                                "attributes": list(i.get("attributeNames") or []),
                            }
                            for i in errors
                        ],
                    }
                )
        if not total:
            return None
        # Only what is new: the same listings failing for the same reasons were alerted before.
        digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
        if _previous_digest(ws, connection, run.id) == digest:
            return None
        _keep_digest(ws, run.id, digest)
    return {
        "event": "run_failed" if run.status == "failed" else "listings_with_errors",
        "connection": connection.name,
        "run": {"id": run.id, "status": run.status, "trigger": run.trigger, "mode": run.mode},
        "error": run.error,
        "fix": run.fix,
        "skus_with_errors": total,
        "skus": skus,
    }


def _previous_digest(ws: Workspace, connection: Connection, run_id: int) -> str | None:
    from listingsync.service.runs import list_runs

    for earlier in list_runs(ws, connection=connection.name, statuses=["partial"], before=run_id, limit=20):
        if earlier.mode == "send":
            return (earlier.counts or {}).get("alerted_digest")
    return None


def _keep_digest(ws: Workspace, run_id: int, digest: str) -> None:
    from listingsync.service.runs import get_run
    from listingsync.service.tables import runs

    counts = {**(get_run(ws, run_id).counts or {}), "alerted_digest": digest}
    with ws.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(counts=counts))


def post(
    url: str,
    body: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``body``; retried on network errors, 429 and 5xx. True when the webhook took it."""
    with httpx.Client(timeout=10.0, transport=transport) as client:

        def attempt() -> bool:
            response = client.post(url, json=body)
            if response.status_code == 429 or response.status_code >= 500:
                raise _NotTaken(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                log.warning("alert webhook refused the alert: HTTP %s", response.status_code)
                return False
            return True

        try:
            return _RETRY.retrying(_transient, sleep=sleep)(attempt)
        except (_NotTaken, httpx.HTTPError) as exc:
            reason = str(exc) if isinstance(exc, _NotTaken) else type(exc).__name__
            log.warning("alert webhook did not take the alert after %s attempts (%s)", ATTEMPTS, reason)
            return False


class _NotTaken(Exception):
    """The webhook answered 429 or 5xx: worth another attempt."""


def _transient(failure: BaseException) -> bool:
    return isinstance(failure, _NotTaken | httpx.HTTPError)


def notify(ws: Workspace, connection: Connection, run: RunLike) -> None:
    if run.mode != "send":
        return
    try:
        url = alert_webhook(ws, connection)
        if not url:
            return
        body = payload(ws, connection, run)
        if body is not None:
            post(url, body)
    except Exception:  # an alert must never turn a run into a crash
        log.warning("alert for run %s of %s could not be sent", run.id, connection.name, exc_info=True)
