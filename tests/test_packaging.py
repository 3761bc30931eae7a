"""Packaging: optional parts are extras, every install is pinned by constraints.txt (``make lock``)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_emulator_and_postgres_packages_are_extras_not_core() -> None:
    core = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"starlette", "uvicorn", "jsonschema"} <= {_name(r) for r in extras["emulator"]}
    assert {_name(r) for r in extras["postgres"]} == {"psycopg"}
    assert not core & {"starlette", "uvicorn", "httptools", "jsonschema", "referencing", "psycopg"}
    # make demo / make test install everything: dev pulls in every other extra.
    dev_extras = next(r for r in extras["dev"] if r.startswith("listingsync["))
    assert set(dev_extras[len("listingsync[") : -1].split(",")) == set(extras) - {"dev"}


def test_every_dependency_is_pinned_in_the_constraints_file_the_makefile_uses() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "LOCK := constraints.txt" in makefile and "-c $(LOCK)" in makefile and "\nlock:" in makefile
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#") and any("make lock" in line for line in lines if line.startswith("#"))
    pinned = {_name(line): line for line in lines if line and not line.startswith("#")}
    assert all("==" in line for line in pinned.values())
    wanted = list(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        wanted += [r for r in extra if not r.startswith("listingsync[")]
    unpinned = sorted({_name(r) for r in wanted} - set(pinned))
    assert not unpinned, f"run 'make lock' after adding {unpinned} to pyproject.toml"


_WITHOUT_EXTRAS = """
import sys
for name in ("starlette", "uvicorn", "jsonschema", "referencing", "psycopg"):
    sys.modules[name] = None  # import raises ModuleNotFoundError, as when the extra is not installed
"""


def _run_without_extras(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS + code], capture_output=True, text=True, timeout=120
    )


def test_the_connector_works_without_the_extras(tmp_path: Path) -> None:
    done = _run_without_extras(
        "import listingsync.sync.pipeline, listingsync.mapping, listingsync.catalog, listingsync.amazon.client\n"
        "from listingsync.sync.store import StateStore, StateStoreError\n"
        f"StateStore.open('sqlite:///{tmp_path}/state.db').close()\n"
        "try:\n"
        "    StateStore.open('postgresql+psycopg://u@127.0.0.1/db')\n"
        "except StateStoreError as exc:\n"
        "    print(exc.message, '|', exc.fix)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "'psycopg'" in done.stdout and "pip install 'listingsync[postgres]'" in done.stdout


def test_emulator_and_demo_name_the_extra_when_it_is_missing() -> None:
    for command in ("emulator", "demo"):
        done = _run_without_extras(f"from listingsync.cli import app\napp(['{command}'])")
        assert done.returncode == 2, done.stderr
        assert "pip install 'listingsync[emulator]'" in done.stderr
