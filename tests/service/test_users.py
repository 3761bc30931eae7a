"""Dashboard users: argon2 hashes, roles, sessions that end, sign-in throttling (real SQLite)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from listingsync.service import Workspace
from listingsync.service import tables as t
from listingsync.service.users import LoginThrottle, UserError, UserStore, csrf_matches


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("LISTINGSYNC_SECRET_KEY", Fernet.generate_key().decode())
    return Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", directory=tmp_path)


def test_passwords_are_argon2_hashes_and_checked(ws: Workspace) -> None:
    users = UserStore(ws.engine)
    users.add("ana", "editor", "a long password")
    with ws.connect() as conn:
        stored = conn.execute(sa.select(t.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert users.authenticate("ana", "a long password") == users.list()[0]
    assert users.authenticate("ana", "a wrong password") is None
    assert users.authenticate("nobody", "a long password") is None


def test_bad_users_are_refused_with_the_fix(ws: Workspace) -> None:
    users = UserStore(ws.engine)
    with pytest.raises(UserError, match="too short") as short:
        users.add("ana", "editor", "short")
    assert short.value.fix and "10" in short.value.fix
    with pytest.raises(UserError, match="unknown role"):
        users.add("ana", "owner", "a long password")
    users.add("ana", "viewer", "a long password")
    with pytest.raises(UserError, match="exists already"):
        users.add("ana", "admin", "another long password")


def test_sessions_keep_only_a_digest_and_end(ws: Workspace) -> None:
    now = [dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)]
    users = UserStore(ws.engine, clock=lambda: now[0])
    user = users.add("ana", "admin", "a long password")
    token, session = users.open_session(user)
    with ws.connect() as conn:
        assert token not in str(conn.execute(sa.select(t.web_sessions)).all())
    found = users.session(token)
    assert found is not None and found.user == user and csrf_matches(found, session.csrf_token)
    assert not csrf_matches(found, "forged") and not csrf_matches(found, None)
    now[0] += dt.timedelta(hours=9)  # idle longer than the idle limit
    assert users.session(token) is None
    token, _ = users.open_session(user)
    users.set_password("ana", "a new long password")  # a new password ends every session
    assert users.session(token) is None


def test_roles_order_what_a_user_may_do(ws: Workspace) -> None:
    users = UserStore(ws.engine)
    viewer = users.add("vic", "viewer", "a long password")
    editor = users.add("eve", "editor", "a long password")
    assert (
        not viewer.can("editor") and editor.can("viewer") and editor.can("editor") and not editor.can("admin")
    )


def test_login_throttle_counts_failures_per_name_and_address() -> None:
    now = [1000.0]
    throttle = LoginThrottle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("ana", "10.0.0.1") == 0
        throttle.failed("ana", "10.0.0.1")
    assert throttle.retry_after("ana", "10.0.0.9") > 0  # the name is locked from any address
    assert throttle.retry_after("bob", "10.0.0.1") > 0  # and the address for any name
    assert throttle.retry_after("bob", "10.0.0.2") == 0
    now[0] += 61
    assert throttle.retry_after("ana", "10.0.0.1") == 0


def test_users_command_reads_the_password_from_stdin_and_never_prints_it(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "LISTINGSYNC_SECRET_KEY": Fernet.generate_key().decode()}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "listingsync", "users", *args, "--db", db],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=tmp_path,
        )

    added = run("add", "ana", "--role", "editor", stdin="a secret password\n")
    assert added.returncode == 0, added.stderr
    assert "a secret password" not in added.stdout + added.stderr
    listed = run("list")
    assert "ana\teditor" in listed.stdout
    short = run("add", "bob", "--role", "viewer", stdin="short\n")
    assert short.returncode == 2 and "too short" in short.stderr and "at least 10" in short.stderr
    ws = Workspace.open(db, directory=tmp_path)
    assert UserStore(ws.engine).authenticate("ana", "a secret password") is not None
    ws.close()
