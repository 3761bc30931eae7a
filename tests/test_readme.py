"""Every code block of the README runs as written (issue 15 item 1).

* ``python`` blocks run in a fresh interpreter against the emulator over loopback (the README's
  ``127.0.0.1:8765`` is pointed at the test's emulator port), with the demo vendor's credentials in
  the environment, as the README tells readers to export them. A block that needs services beyond
  the emulator says so in an HTML comment right above it: ``<!-- readme-test: needs celery-worker -->``.
* ``yaml`` blocks load: a whole config through the config loader, a section (``source:``,
  ``listings:``, ``sync:``, ``state:``) inside a minimal config, an emulator accounts file through the
  emulator's loader.
* ``sh`` blocks: each ``listingsync …`` line names a command that exists and only options its
  ``--help`` lists; each ``make X`` line a target of the Makefile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.config import parse_config
from listingsync.emulator import EmulatorServer, load_accounts
from listingsync.emulator.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<mark>[^>]*?) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S
)
BLOCKS = [
    (m.group("lang"), m.group("body"), README[: m.start()].count("\n") + 2, m.group("mark") or "")
    for m in _BLOCK.finditer(README)
]
ACCOUNT = "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [FR, DE]}\n"


def _ids(lang: str) -> list[tuple[str, int, str]]:
    return [(body, line, mark) for kind, body, line, mark in BLOCKS if kind == lang]


def test_the_readme_has_blocks_of_each_kind() -> None:
    assert len(_ids("python")) >= 2 and len(_ids("yaml")) >= 5 and len(_ids("sh")) >= 5


@pytest.mark.parametrize(
    ("body", "line", "mark"), _ids("python"), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_python_blocks_run_against_the_emulator(
    body: str, line: int, mark: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    if mark.startswith("needs"):
        pytest.skip(f"README.md:{line}: {mark}")
    code = body.replace("http://127.0.0.1:8765", emulator.url.rstrip("/"))
    env = {
        **os.environ,
        "LISTINGSYNC_LWA_CLIENT_ID": DEMO_CLIENT_ID,
        "LISTINGSYNC_LWA_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "LISTINGSYNC_LWA_REFRESH_TOKEN": "Atzr|listingsync-demo-vendor-eu",
        "LISTINGSYNC_KEYRING": "off",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"README.md:{line}:\n{done.stderr}"


def _config_text(body: str) -> str | None:
    """The block as a whole config, or inside a minimal one; None for an emulator accounts file."""
    keys = {m.group(1) for m in re.finditer(r"^([a-z_]+):", body, re.M)}
    if keys == {"accounts"}:
        return None
    return body if "account" in keys else ACCOUNT + body


@pytest.mark.parametrize(
    ("body", "line", "mark"), _ids("yaml"), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_yaml_blocks_load(body: str, line: int, mark: str, tmp_path: Path) -> None:
    text = _config_text(body)
    if text is None:
        path = tmp_path / "accounts.yaml"
        path.write_text(body, encoding="utf-8")
        assert load_accounts(path), f"README.md:{line}"
        return
    included = re.search(r"^listings_file: (\S+)", text, re.M)
    if included:  # the file it names is the reader's own mapping
        (tmp_path / included.group(1)).write_text("listings: {product_type: HOME}\n", encoding="utf-8")
    config = parse_config(text, file=f"README.md:{line}", base_dir=tmp_path)
    assert config.account.selling_partner_id


_HELP: dict[tuple[str, ...], str] = {}


def _help(command: tuple[str, ...]) -> str:
    if command not in _HELP:
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"listingsync {' '.join(command)} --help: {result.output}"
        _HELP[command] = result.output
    return _HELP[command]


def _listingsync_lines(body: str) -> list[str]:
    """Commands, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\n\s+(?=\[|--)", " ", body)  # the emulator's option list spans lines
    return [
        line.split("  #", 1)[0].strip()
        for line in joined.splitlines()
        if line.strip().startswith("listingsync ")
    ]


@pytest.mark.parametrize(
    ("body", "line", "mark"), _ids("sh"), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_sh_blocks_name_real_commands_and_options(body: str, line: int, mark: str) -> None:
    targets = set(re.findall(r"^([a-z][\w.-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    for make in re.findall(r"^make (\w+)", body, re.M):
        assert make in targets, f"README.md:{line}: no Makefile target {make!r}"
    root_help = _help(())
    for command_line in _listingsync_lines(body):
        words = command_line.split()[1:]
        command: tuple[str, ...] = ()
        options = [w for w in words if w.startswith("-")]
        for word in words:
            if word.startswith(("-", "[")) or not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            candidate = (*command, word)
            listing = _help(command) if command else root_help
            if re.search(rf"^\s+{re.escape(word)}\s", listing, re.M):
                command = candidate
            else:
                break
        assert command, f"README.md:{line}: {command_line!r} names no listingsync command"
        text = _help(command) + root_help
        for option in options:
            name = re.match(r"-{1,2}[a-z][a-z-]*", option.lstrip("["))
            assert name and re.search(rf"{re.escape(name.group(0))}\b", text), (
                f"README.md:{line}: {command_line!r}: listingsync {' '.join(command)} has no {option}"
            )
