"""schemathesis against the service's own OpenAPI document (derandomized, bounded).

For every operation it generates requests (path names pointing at a real connection and run half of
the time, so the 2xx paths are reached too), sends them with a valid token and checks: no server
error, a documented status code, a body matching the documented schema and content type. The
``ignored_auth`` check resends each case without the token and with a wrong one: every operation
but health must refuse those.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# A hard import: an acceptance test (dev dependency), never silently skipped.
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from service_helpers import add_sample_connection

from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, create_run, execute_run
from listingsync.service.executor import InProcessExecutor
from listingsync.service.tokens import create_token
from listingsync.web import create_app

MAX_EXAMPLES = 15


class Recorder(InProcessExecutor):
    """Runs queued through the API are recorded, not executed: generated configs never reach Amazon."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws, max_workers=1)
        self.ids: list[int] = []

    def submit(self, run_id: int) -> None:
        self.ids.append(run_id)


@pytest.fixture
def service(workspace: Workspace, emulator: EmulatorServer, tmp_path: Path) -> Iterator[tuple[Any, str, int]]:
    name = add_sample_connection(workspace, "vendor", emulator, tmp_path)
    run = execute_run(workspace, create_run(workspace, name, trigger="manual").id)
    _, token = create_token(workspace, "schemathesis")
    app = create_app(workspace, executor=Recorder(workspace))
    yield app, token, run.id


def _fuzz(operation: Any, token: str, run_id: int) -> list[int]:
    """Run the generated cases of one operation; returns the statuses seen."""
    label = f"{operation.method.upper()} {operation.path}"
    seen: list[int] = []
    path: dict[str, Any] = {}
    if "{name}" in operation.path:
        path["name"] = st.sampled_from(["vendor-eu", "vendor-eu", "missing"])
    if "{run_id}" in operation.path:
        path["run_id"] = st.sampled_from([run_id, run_id + 999])
    checks = [status_code_conformance, response_schema_conformance, content_type_conformance]
    if not operation.path.endswith("/health"):
        checks.append(ignored_auth)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(), path=st.fixed_dictionaries(path))
    def check(case: Any, path: dict[str, Any]) -> None:
        if case.path_parameters is not None:
            case.path_parameters.update(path)
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        seen.append(response.status_code)
        assert response.status_code < 500, (label, response.status_code, response.text[:500])
        case.validate_response(response, checks=checks, headers={"Authorization": f"Bearer {token}"})

    check()
    return seen


def test_the_api_conforms_to_its_own_openapi_document(service: tuple[Any, str, int]) -> None:
    app, token, run_id = service
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    # Removals last: the other operations need the connection and its run to reach their 2xx paths.
    operations = sorted((op.ok() for op in schema.get_all_operations()), key=lambda op: op.method == "delete")
    assert len(operations) >= 13
    statuses = {f"{op.method.upper()} {op.path}": _fuzz(op, token, run_id) for op in operations}
    assert all(statuses.values()), statuses
    # The 2xx paths were reached, not only the refusals.
    reached = {label for label, codes in statuses.items() if any(200 <= c < 300 for c in codes)}
    assert {
        "GET /api/v1/connections/{name}/listings",
        "GET /api/v1/runs/{run_id}",
        "GET /api/v1/health",
    } <= reached
