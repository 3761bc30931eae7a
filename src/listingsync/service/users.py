"""People who sign in to the dashboard: users with a role, argon2 password hashes, server-side sessions.

Roles, from least to most:

- ``viewer``: reads runs, listings and issues; never sees a secret (none is ever shown to anyone)
  and never starts a write;
- ``editor``: also edits connections and mappings, starts runs and resends listings;
- ``admin``: also manages users.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so a copy of
the database opens no session. Each session carries its own CSRF token for the forms it renders.
Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on sign-in when they change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine

from listingsync.errors import ListingSyncError
from listingsync.service import tables as t
from listingsync.service.utc import as_utc, utc_now

__all__ = [
    "ROLES",
    "LoginThrottle",
    "Session",
    "User",
    "UserError",
    "UserStore",
    "csrf_matches",
]

ROLES = ("viewer", "editor", "admin")
#: How long a dashboard session lives without use, and at most.
SESSION_IDLE = dt.timedelta(hours=8)
SESSION_MAX = dt.timedelta(days=7)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserError(ListingSyncError):
    """A user could not be added, changed or found."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this user holds ``role`` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    """Users and their sessions in the workspace database."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    # -- users --------------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str) -> User:
        name = name.strip()
        if not name or len(name) > 100 or any(ch.isspace() for ch in name):
            raise UserError(f"user name {name!r} is not usable", fix="use 1 to 100 characters without spaces")
        _check_role(role)
        _check_password(password)
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(t.users.c.name).where(t.users.c.name == name)).first()
            if exists:
                raise UserError(
                    f"user {name!r} exists already",
                    fix=f"choose another name, or `listingsync users passwd {name}` to change the password",
                )
            conn.execute(
                t.users.insert().values(
                    name=name, role=role, password_hash=_hasher.hash(password), created_at=self._clock()
                )
            )
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        with self.engine.begin() as conn:
            done = conn.execute(
                t.users.update().where(t.users.c.name == name).values(password_hash=_hasher.hash(password))
            )
            if not done.rowcount:
                raise UserError(f"no user {name!r}", fix="`listingsync users list` shows who exists")
            # A new password ends every session opened with the old one.
            conn.execute(t.web_sessions.delete().where(t.web_sessions.c.user_name == name))

    def set_role(self, name: str, role: str) -> None:
        _check_role(role)
        with self.engine.begin() as conn:
            done = conn.execute(t.users.update().where(t.users.c.name == name).values(role=role))
            if not done.rowcount:
                raise UserError(f"no user {name!r}", fix="`listingsync users list` shows who exists")

    def remove(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.web_sessions.delete().where(t.web_sessions.c.user_name == name))
            done = conn.execute(t.users.delete().where(t.users.c.name == name))
            if not done.rowcount:
                raise UserError(f"no user {name!r}", fix="`listingsync users list` shows who exists")

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.users.c.name, t.users.c.role).order_by(t.users.c.name))
            return [User(name, role) for name, role in rows]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs; None otherwise (same cost either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.users.c.role, t.users.c.password_hash).where(t.users.c.name == name)
            ).first()
        stored = row.password_hash if row else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    t.users.update()
                    .where(t.users.c.name == name)
                    .values(password_hash=_hasher.hash(password))
                )
        return User(name, row.role)

    # -- sessions -----------------------------------------------------------------------------

    def open_session(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: the cookie's token (never stored) and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(user, secrets.token_urlsafe(32), now + SESSION_MAX)
        with self.engine.begin() as conn:
            conn.execute(
                t.web_sessions.insert().values(
                    token_hash=_digest(token),
                    user_name=user.name,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    last_seen=now,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    def session(self, token: str | None) -> Session | None:
        """The live session behind a cookie's token, its idle time renewed; None if none."""
        if not token:
            return None
        now = self._clock()
        s, u = t.web_sessions.c, t.users.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(s.csrf_token, s.expires_at, s.last_seen, u.name, u.role)
                .join(t.users, u.name == s.user_name)
                .where(s.token_hash == _digest(token))
            ).first()
            if row is None:
                return None
            if as_utc(row.expires_at) <= now or as_utc(row.last_seen) + SESSION_IDLE <= now:
                conn.execute(t.web_sessions.delete().where(s.token_hash == _digest(token)))
                return None
            conn.execute(t.web_sessions.update().where(s.token_hash == _digest(token)).values(last_seen=now))
        return Session(User(row.name, row.role), row.csrf_token, as_utc(row.expires_at))

    def close_session(self, token: str | None) -> None:
        if token:
            with self.engine.begin() as conn:
                conn.execute(t.web_sessions.delete().where(t.web_sessions.c.token_hash == _digest(token)))


def csrf_matches(session: Session, sent: str | None) -> bool:
    """Whether a form's (or header's) CSRF token is this session's, compared in constant time."""
    return bool(sent) and hmac.compare_digest(session.csrf_token, sent or "")


class LoginThrottle:
    """At most ``limit`` failed sign-ins per user name and per client address within ``window`` s.

    Kept in memory: one serve process answers the dashboard; a restart forgets the failures, which
    costs an attacker a restart per ``limit`` guesses.
    """

    def __init__(
        self, limit: int = 5, window: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until a sign-in may be tried again for this name or address (0: now)."""
        now = self._clock()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for key in (f"user:{name.lower()}", f"addr:{address}")
                if len(times := self._recent(key, now)) >= self.limit
            ]
        return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (f"user:{name.lower()}", f"addr:{address}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name.lower()}", None)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}", fix=f"use one of: {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"the password is too short ({len(password)} characters)",
            fix=f"use at least {MIN_PASSWORD} characters",
        )
