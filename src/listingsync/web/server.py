"""``listingsync serve``: the API (uvicorn), the scheduler's tick loop and the executor in one process.

Start: runs left ``running`` by a process that died are recorded as failed and each such connection
gets a ``recovery`` run at once (it settles the dead run's writes with Amazon before sending
anything, as ``sync`` does); runs still ``queued`` are handed to the executor again.

SIGTERM / Ctrl-C: uvicorn stops taking requests, the scheduler stops, the runs in progress are
asked to stop (their writes in flight stay as intents the next run settles) and awaited.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from listingsync.redaction import install_log_redaction
from listingsync.service import create_run, list_runs, make_executor, recover_interrupted
from listingsync.service.executor import Executor, InProcessExecutor
from listingsync.service.runs import RunBusyError, cancel_run
from listingsync.service.scheduler import Scheduler
from listingsync.service.workspace import Workspace

__all__ = ["TICK_SECONDS", "recover_at_start", "run_service"]

log = logging.getLogger("listingsync.serve")

#: How often the scheduler looks at the connections.
TICK_SECONDS = 1.0


def recover_at_start(ws: Workspace, executor: Executor) -> list[int]:
    """Record dead runs as failed, queue a recovery run for their connections, resubmit queued runs."""
    queued: list[int] = []
    for dead in recover_interrupted(ws):
        if dead.connection is None:
            continue
        try:
            run = create_run(ws, dead.connection, trigger="recovery")
        except RunBusyError:
            continue
        log.warning(
            "run #%s of %s was interrupted; recovery run #%s queued", dead.id, dead.connection, run.id
        )
        queued.append(run.id)
        executor.submit(run.id)
    if isinstance(executor, InProcessExecutor):
        # The queue of an in-process executor died with its process: the database still has it.
        for run in list_runs(ws, statuses=["queued"], limit=10_000):
            if run.id not in queued:
                executor.submit(run.id)
                queued.append(run.id)
    return queued


def _tick_loop(scheduler: Scheduler, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            scheduler.tick()
        except Exception:  # the database was busy or away: the next tick tries again
            log.exception("scheduler tick failed")
        stop.wait(TICK_SECONDS)


def _server(config: Any) -> Any:
    """uvicorn's server, except that SIGTERM/SIGINT only stop it: uvicorn would raise the signal
    again once it stopped, ending the process before the runs in progress are wound down."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(signum: int, frame: Any) -> None:
                log.info("listingsync serve: %s, stopping", signal.Signals(signum).name)
                self.should_exit = True

            previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


def run_service(
    ws: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 4,
    broker: str | None = None,
    grace: float = 30.0,
) -> None:
    import uvicorn

    from listingsync.web.api import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    executor = make_executor(ws, broker=broker, max_workers=workers)
    app = create_app(ws, executor=executor)
    recover_at_start(ws, executor)
    scheduler = Scheduler(ws, executor)
    stop = threading.Event()
    ticker = threading.Thread(target=_tick_loop, args=(scheduler, stop), name="scheduler", daemon=True)
    ticker.start()
    log.info("listingsync serve: API on http://%s:%s/api/v1 (workspace %r)", host, port, ws)
    server = _server(uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="off"))
    try:
        server.run()  # returns on SIGTERM / SIGINT
    finally:
        stop.set()
        ticker.join(timeout=grace)
        for run in list_runs(ws, statuses=["running"], limit=10_000):
            if isinstance(executor, InProcessExecutor) and run.id in executor.futures:
                cancel_run(ws, run.id)  # stops within a heartbeat; writes in flight stay as intents
        executor.shutdown(wait=True)
        log.info("listingsync serve: stopped")
