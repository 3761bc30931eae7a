"""Where secrets come from: the environment, then the OS keyring, else a 0600 file (with a warning).

Lookup order for a secret ``NAME`` (e.g. ``LISTINGSYNC_LWA_CLIENT_SECRET``) in a ``scope``:

1. the environment variable ``NAME`` (CI, containers, ``${VAR}`` users);
2. the OS keyring, service ``listingsync``, entry ``NAME:scope`` then ``NAME``;
3. ``secrets.json`` in the user config dir (platformdirs), mode 0600, same entry names. Used only
   when no keyring backend is usable (headless servers); saving there logs a warning.

Scopes let one machine hold several accounts: the client secret is scoped by client id (one app,
one secret), the refresh token by client id + selling partner + region (one authorisation per
region), the client id by selling partner + region. :func:`load_secret` is the generic entry point
other parts call (the Sales Layer source loads ``LISTINGSYNC_SALESLAYER_SECRET`` with it).

Every value loaded is registered with :mod:`listingsync.redaction`, so it is masked in logs and
errors from then on. Errors here never contain a secret value, only names.

When ``LISTINGSYNC_LWA_CLIENT_ID`` / ``…_CLIENT_SECRET`` / ``…_REFRESH_TOKEN`` are not in the
environment, python-amazon-sp-api's names ``LWA_APP_ID`` / ``LWA_CLIENT_SECRET`` /
``SP_API_REFRESH_TOKEN`` are read (with a note, once). Warnings about the keyring or the plain file
are logged once per process and secret, not on every read.

Environment knobs (tests, CI): ``LISTINGSYNC_SECRETS_FILE`` overrides the file path;
``LISTINGSYNC_KEYRING=off`` skips the keyring.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listingsync.amazon.lwa import Credentials
from listingsync.amazon.marketplaces import Region
from listingsync.errors import ListingSyncError
from listingsync.redaction import register_secret

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FOREIGN_NAMES",
    "REFRESH_TOKEN",
    "SALESLAYER_KEY_WHERE",
    "SALESLAYER_SECRET",
    "SERVICE",
    "MissingCredentialsError",
    "SecretStore",
    "SecretStoreError",
    "account_scope",
    "default_store",
    "load_credentials",
    "load_secret",
    "provided_secrets",
    "save_credentials",
    "store_secret",
]

log = logging.getLogger(__name__)

SERVICE = "listingsync"
CLIENT_ID = "LISTINGSYNC_LWA_CLIENT_ID"
CLIENT_SECRET = "LISTINGSYNC_LWA_CLIENT_SECRET"
REFRESH_TOKEN = "LISTINGSYNC_LWA_REFRESH_TOKEN"
SALESLAYER_SECRET = "LISTINGSYNC_SALESLAYER_SECRET"
#: Where a Sales Layer connector's private key is shown (reference saleslayer.md §2, custom connector
#: setup); every message that asks for the key uses these words.
SALESLAYER_KEY_WHERE = "Sales Layer → Channels → your connector → Parameters tab → Private key"

#: Where each credential comes from in Developer Central (used in "missing" messages).
WHERE_TO_FIND = {
    CLIENT_ID: "Seller/Vendor Central → Apps and Services → Develop Apps → your app → LWA credentials → View → Client identifier",
    CLIENT_SECRET: "Develop Apps → your app → LWA credentials → View → Client secret (rotates every 180 days)",
    REFRESH_TOKEN: "Develop Apps → your app → Edit App → Authorize → choose the region → Authorize app → Refresh Token",
    SALESLAYER_SECRET: SALESLAYER_KEY_WHERE,
}

#: The names python-amazon-sp-api (and tools built on it) read the same credentials from; used when
#: ours are not set in the environment, with a note saying so.
FOREIGN_NAMES = {
    CLIENT_ID: "LWA_APP_ID",
    CLIENT_SECRET: "LWA_CLIENT_SECRET",
    REFRESH_TOKEN: "SP_API_REFRESH_TOKEN",
}

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning once per process for ``key``: a headless box reads the file on every call."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message, *args)


class SecretStoreError(ListingSyncError):
    """The secrets file or the keyring could not be read or written."""


class MissingCredentialsError(ListingSyncError):
    """Some credentials are not set anywhere; ``missing`` names them (never any value)."""

    def __init__(self, missing: list[str], scope: str) -> None:
        self.missing = missing
        steps = "; ".join(f"{name}: {WHERE_TO_FIND.get(name, 'see the README')}" for name in missing)
        super().__init__(
            f"missing credential{'s' if len(missing) > 1 else ''} {', '.join(missing)} (looked in the "
            f"environment, the OS keyring and the secrets file for account {scope})",
            fix=f"run 'listingsync connect', or export {' and '.join(missing)}. Where to find them: {steps}",
        )


@dataclass(frozen=True)
class Found:
    value: str
    source: str  # "environment", "keyring", or the file path

    def __repr__(self) -> str:
        return f"Found(value='***', source={self.source!r})"


def _entry(name: str, scope: str | None) -> str:
    return f"{name}:{scope}" if scope else name


class SecretStore:
    """Environment → keyring → file. Construct with explicit parts in tests; use :func:`default_store`."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        keyring_backend: Any | None = None,
        use_keyring: bool = True,
        file: Path | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._keyring = keyring_backend if use_keyring else None
        if use_keyring and keyring_backend is None:
            self._keyring = _usable_keyring()
        self.file = file or _default_file()

    @property
    def has_keyring(self) -> bool:
        return self._keyring is not None

    def describe(self) -> str:
        return "the OS keyring" if self._keyring is not None else f"{self.file} (plain file, mode 0600)"

    def get(self, name: str, scope: str | None = None) -> Found | None:
        value = self._env.get(name)
        if value:
            return Found(value.strip(), "environment")
        foreign = FOREIGN_NAMES.get(name)
        value = self._env.get(foreign) if foreign else None
        if foreign and value:
            _warn_once(
                f"foreign:{foreign}",
                "using %s from the environment (python-amazon-sp-api's name) because %s is not set",
                foreign,
                name,
            )
            return Found(value.strip(), f"environment ({foreign})")
        entries = [_entry(name, scope), name] if scope else [name]
        if self._keyring is not None:
            for entry in entries:
                try:
                    found = self._keyring.get_password(SERVICE, entry)
                except Exception as exc:  # a locked or broken keyring must not hide the file
                    _warn_once(
                        "keyring-read",
                        "cannot read the OS keyring (%s); trying the secrets file",
                        type(exc).__name__,
                    )
                    break
                if found:
                    return Found(found, "keyring")
        data = self._read_file()
        for entry in entries:
            if data.get(entry):
                _warn_once(
                    f"file:{self.file}:{entry}",
                    "read %s from %s: a plain file, not the OS keyring",
                    entry,
                    self.file,
                )
                return Found(data[entry], str(self.file))
        return None

    def set(self, name: str, value: str, scope: str | None = None) -> str:
        """Store a secret; returns where it went ("the OS keyring" or the file path)."""
        entry = _entry(name, scope)
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, entry, value)
                return "the OS keyring"
            except Exception as exc:
                log.warning("cannot write to the OS keyring (%s); using %s", type(exc).__name__, self.file)
        data = self._read_file()
        data[entry] = value
        self._write_file(data)
        log.warning(
            "no usable OS keyring: stored %s in %s (mode 0600). Anyone with access to this account "
            "can read it; install a keyring backend (e.g. Secret Service, keyrings.alt) to avoid this",
            entry,
            self.file,
        )
        return str(self.file)

    def delete(self, name: str, scope: str | None = None) -> None:
        entry = _entry(name, scope)
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(SERVICE, entry)
        data = self._read_file()
        if entry in data:
            del data[entry]
            self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        try:
            st = self.file.stat()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretStoreError(
                f"cannot read the secrets file: {exc.strerror}", where=str(self.file)
            ) from None
        if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            _warn_once(
                f"mode:{self.file}",
                "%s is readable by other users (mode %o); run: chmod 600 %s",
                self.file,
                stat.S_IMODE(st.st_mode),
                self.file,
            )
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretStoreError(
                f"the secrets file is not readable JSON ({type(exc).__name__})",
                where=str(self.file),
                fix="delete it and run 'listingsync connect' again",
            ) from None
        secrets = data.get("secrets") if isinstance(data, dict) else None
        if not isinstance(secrets, dict):
            raise SecretStoreError(
                "the secrets file has no 'secrets' object",
                where=str(self.file),
                fix="delete it and run 'listingsync connect' again",
            )
        return {str(k): str(v) for k, v in secrets.items()}

    def _write_file(self, data: dict[str, str]) -> None:
        directory = self.file.parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Write a 0600 temp file beside the target and rename it: never a moment where the
            # secrets sit in a file with default permissions, never a half-written file.
            fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=directory)  # mkstemp: mode 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"version": 1, "secrets": data}, fh, indent=2, sort_keys=True)
                os.replace(tmp, self.file)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise SecretStoreError(
                f"cannot write the secrets file: {exc.strerror}",
                where=str(self.file),
                fix="set LISTINGSYNC_SECRETS_FILE to a writable path, or export the secrets as environment variables",
            ) from None


def _default_file() -> Path:
    override = os.environ.get("LISTINGSYNC_SECRETS_FILE")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("listingsync")) / "secrets.json"


def _usable_keyring() -> Any | None:
    if os.environ.get("LISTINGSYNC_KEYRING", "").lower() in {"0", "off", "no", "false"}:
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return backend


def default_store() -> SecretStore:
    return SecretStore()


#: Secrets the caller holds already (the service decrypts a connection's): looked up before anything
#: else, in this thread or task only, so connections running side by side never see each other's.
_provided: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "listingsync_provided_secrets", default=None
)


@contextlib.contextmanager
def provided_secrets(values: Mapping[str, str]) -> Iterator[None]:
    """Within this block, :func:`load_secret` answers ``name`` from ``values`` (names as env vars)."""
    register_secret(*values.values())
    token = _provided.set(dict(values))
    try:
        yield
    finally:
        _provided.reset(token)


def load_secret(name: str, scope: str | None = None, *, store: SecretStore | None = None) -> str | None:
    """The secret ``name`` (an environment variable name) for ``scope``, or ``None`` if set nowhere."""
    provided = _provided.get()
    if provided is not None:
        return provided.get(name)
    found = (store or default_store()).get(name, scope)
    if found is None:
        return None
    register_secret(found.value)
    return found.value


def store_secret(name: str, value: str, scope: str | None = None, *, store: SecretStore | None = None) -> str:
    register_secret(value)
    return (store or default_store()).set(name, value, scope)


def account_scope(selling_partner_id: str, region: Region | str) -> str:
    """``DEMOV@eu``: one authorisation is one partner in one region."""
    return f"{selling_partner_id}@{Region(region).value}"


def load_credentials(
    selling_partner_id: str, region: Region | str, *, store: SecretStore | None = None
) -> Credentials:
    """The LWA credentials for an account; :class:`MissingCredentialsError` names whatever is missing."""
    store = store or default_store()
    scope = account_scope(selling_partner_id, region)
    # The client id is an identifier, not a secret: it is shown in messages, so not registered for masking.
    found_id = store.get(CLIENT_ID, scope)
    client_id = found_id.value if found_id else None
    secret = load_secret(CLIENT_SECRET, client_id, store=store) if client_id else None
    token = load_secret(REFRESH_TOKEN, f"{client_id}/{scope}", store=store) if client_id else None
    if not token and not client_id:
        token = load_secret(REFRESH_TOKEN, None, store=store)
    missing = [
        n for n, v in ((CLIENT_ID, client_id), (CLIENT_SECRET, secret), (REFRESH_TOKEN, token)) if not v
    ]
    if missing or client_id is None or secret is None or token is None:
        raise MissingCredentialsError(missing, scope)
    return Credentials(client_id, secret, token)


def save_credentials(
    credentials: Credentials,
    selling_partner_id: str,
    region: Region | str,
    *,
    store: SecretStore | None = None,
) -> str:
    """Store all three under the account's scopes; returns where they went."""
    store = store or default_store()
    scope = account_scope(selling_partner_id, region)
    store.set(CLIENT_ID, credentials.client_id, scope)
    store_secret(CLIENT_SECRET, credentials.client_secret, credentials.client_id, store=store)
    return store_secret(
        REFRESH_TOKEN, credentials.refresh_token, f"{credentials.client_id}/{scope}", store=store
    )
