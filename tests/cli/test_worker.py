"""``listingsync worker``: what it refuses before starting, and what its help documents."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from listingsync.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_broker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LISTINGSYNC_BROKER_URL", "LISTINGSYNC_LIMITER_URL", "LISTINGSYNC_QUEUE_PREFIX"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_broker_it_names_the_flag_and_the_variable() -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "no broker is configured" in result.output
    assert "LISTINGSYNC_BROKER_URL" in result.output


def test_an_unknown_broker_scheme_is_refused() -> None:
    result = runner.invoke(app, ["worker", "--broker", "kafka://127.0.0.1:9092"])
    assert result.exit_code == 2
    assert "unsupported broker URL scheme in 'kafka'" in result.output


def test_an_unknown_queue_is_refused_with_the_known_ones() -> None:
    result = runner.invoke(app, ["worker", "--broker", "redis://127.0.0.1:6379/0", "--queues", "runs,feeds"])
    assert result.exit_code == 2
    assert "unknown queue(s) feeds" in result.output and "runs, chunks" in result.output


def test_help_documents_concurrency_queues_and_the_broker() -> None:
    result = runner.invoke(app, ["worker", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in (
        "--concurrency",
        "--broker",
        "--queues",
        "listingsync.runs",
        "listingsync.chunks",
        "RabbitMQ",
    ):
        assert text in result.output
