"""Connection secrets at rest: Fernet (``cryptography``), with the key kept outside the database.

The key comes from ``LISTINGSYNC_SECRET_KEY`` (every machine of a cluster sets the same one), else
the OS keyring (entry ``LISTINGSYNC_SECRET_KEY`` of service ``listingsync``; a 0600 file where no
keyring works, as for ``connect``), where a new key is made on first use. Several keys separated by
commas rotate: the first encrypts, all decrypt (``MultiFernet``).

A database dump without the key holds ciphertexts only. Plaintexts are registered with
:mod:`listingsync.redaction` as they are decrypted, so they are masked in any log or error.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from listingsync.errors import ListingSyncError
from listingsync.redaction import register_secret

__all__ = ["KEY_NAME", "SecretBox", "SecretKeyError", "load_secret_key"]

KEY_NAME = "LISTINGSYNC_SECRET_KEY"
_FIX_KEY = (
    f"set {KEY_NAME} to a key made by: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())' (the same key on every machine that runs this workspace)"
)


class SecretKeyError(ListingSyncError):
    """The workspace's secret key is missing, malformed or not the one the secrets were sealed with."""


def load_secret_key(*, create: bool = True) -> str:
    """The key from the environment or the keyring; a new one is made and kept there when ``create``."""
    from listingsync.credentials import default_store

    store = default_store()
    found = store.get(KEY_NAME)
    if found is not None:
        return found.value
    if not create:
        raise SecretKeyError(f"no {KEY_NAME} in the environment or the keyring", fix=_FIX_KEY)
    key = Fernet.generate_key().decode()
    store.set(KEY_NAME, key)
    return key


class SecretBox:
    """Seals and opens secret values with the workspace key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = MultiFernet(
                [Fernet(part.strip().encode()) for part in key.split(",") if part.strip()]
            )
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{KEY_NAME} is not a Fernet key (32 url-safe base64 bytes)", fix=_FIX_KEY
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(key=***)"

    def seal(self, value: str) -> str:
        register_secret(value)
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, ciphertext: str, *, what: str = "a secret") -> str:
        try:
            value = self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"{what} cannot be decrypted with this {KEY_NAME}",
                fix="use the key the workspace was set up with, or set the secret again "
                "(listingsync connections secret NAME KEY)",
            ) from None
        register_secret(value)
        return value
