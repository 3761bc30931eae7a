"""The service: a workspace of connections, their encrypted secrets, schedules, runs, the executor seam.

::

    from listingsync.service import Workspace, add_connection, create_run, execute_run

    ws = Workspace.open("sqlite:///.listingsync/workspace.db")   # or postgresql+psycopg://…
    add_connection(ws, "vendor-eu", yaml.safe_load(text), base_dir=".", secrets={
        "lwa_client_id": …, "lwa_client_secret": …, "lwa_refresh_token": …})
    run = create_run(ws, "vendor-eu", trigger="api", mode="send")   # a queued row
    execute_run(ws, run.id)     # THE run function: the in-process executor and Celery tasks call it

Dependency direction: ``service/`` uses ``sync/`` (through its public functions) and below;
``web/`` and ``worker/`` use ``service/``.
"""

from listingsync.service.connections import (
    SECRET_NAMES,
    Connection,
    ConnectionError,
    add_connection,
    get_connection,
    list_connections,
    remove_connection,
    set_secrets,
    update_connection,
)
from listingsync.service.executor import Executor, InProcessExecutor, make_executor
from listingsync.service.runs import (
    RunBusyError,
    RunNotFound,
    RunRecord,
    cancel_run,
    create_run,
    execute_run,
    get_run,
    list_runs,
    prune_runs,
    recover_interrupted,
)
from listingsync.service.workspace import DB_ENV, DEFAULT_DB_URL, Workspace, resolve_db_url

__all__ = [
    "DB_ENV",
    "DEFAULT_DB_URL",
    "SECRET_NAMES",
    "Connection",
    "ConnectionError",
    "Executor",
    "InProcessExecutor",
    "RunBusyError",
    "RunNotFound",
    "RunRecord",
    "Workspace",
    "add_connection",
    "cancel_run",
    "create_run",
    "execute_run",
    "get_connection",
    "get_run",
    "list_connections",
    "list_runs",
    "make_executor",
    "prune_runs",
    "recover_interrupted",
    "remove_connection",
    "resolve_db_url",
    "set_secrets",
    "update_connection",
]
