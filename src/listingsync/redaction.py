"""Keep secrets out of output, logs, exceptions and anything else that gets written down.

Two layers, because neither alone is enough:

* a **registry** of the exact secret values this process has loaded (client secret, refresh token,
  access tokens, the Sales Layer secret). :class:`listingsync.amazon.Credentials` and
  :func:`listingsync.credentials.load_secret` register what they load, so even a secret with an
  unusual format is caught;
* **patterns** for Amazon's token formats (``Atza|…``, ``Atzr|…``, ``amzn1.oa2-cs.v1.…``, plain or
  URL-encoded), which catch a token that was never registered (e.g. one echoed back by a server in
  an error body), for the values of credential parameters by name (``refresh_token=…``,
  ``"client_secret": "…"``, ``Authorization: Basic …``), and for the signature/credential
  parameters of pre-signed S3 URLs (which httpx logs at INFO).

A secret travels in more encodings than its own: URL- and form-encoded in a token request body
(``Atzr%7C…``), JSON-escaped in an echoed body, base64 inside ``Authorization: Basic`` (joined to the
client id, so at any byte alignment). Registering a secret registers each of those forms too.

:func:`redact` is used when formatting errors; :class:`RedactingFilter` is a ``logging.Filter`` that
applies it to every record a handler emits; :func:`install_log_redaction` attaches it to the root
logger's handlers.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "RedactingFilter",
    "forget_secrets",
    "install_log_redaction",
    "redact",
    "redact_value",
    "register_secret",
    "registered_count",
]

MASK = "***"

# Shorter values are not registered: masking "abc" everywhere would mangle ordinary text, and no
# real credential is that short.
_MIN_SECRET_LENGTH = 6

# Amazon token formats. LWA access tokens start "Atza|", refresh tokens "Atzr|"; client secrets
# issued since 2023 start "amzn1.oa2-cs.v1.". The character class stops at quotes, whitespace and
# the delimiters that surround tokens in JSON, headers and form bodies.
_PATTERNS = (
    re.compile(r"Atz[ar](?:\||%7[cC]|\\u007[cC])[^\s\"'&,;<>]+"),
    re.compile(r"amzn1\.oa2-cs\.v1\.[^\s\"'&,;<>]+"),
    # Credential parameters by name: form/query (``refresh_token=…``) and JSON (``"client_secret": "…"``).
    re.compile(
        r"(?<![A-Za-z0-9_])((?:(?:refresh|access)_token|client_secret|private_key|key256|password)=)"
        r"[^&\s\"'<>]+"
    ),
    re.compile(
        r'("(?:(?:refresh|access)_token|client_secret|private_key|password)"\s*:\s*)"(?:[^"\\]|\\.)*"'
    ),
    re.compile(r"(?<![A-Za-z0-9_])((?:Basic|Bearer) )[A-Za-z0-9+/=._~-]{8,}"),
)
# Pre-signed S3 URLs (feed documents, schema links) carry credentials in their query; httpx logs URLs.
_URL_CREDENTIALS = re.compile(
    r"((?:X-Amz-(?:Signature|Security-Token|Credential))=)[^&\s\"'<>]+", re.IGNORECASE
)

_lock = threading.Lock()
_secrets: set[str] = set()
_sorted: tuple[str, ...] = ()  # longest first, so a secret containing another is masked whole


def _mask_match(match: re.Match[str]) -> str:
    """The match masked, keeping the parameter name of a by-name pattern (its group 1)."""
    if not match.re.groups:
        return MASK
    kept = match.group(1)
    return kept + (f'"{MASK}"' if match.group(0)[len(kept) :].startswith('"') else MASK)


def encoded_forms(value: str) -> set[str]:
    """``value`` as it appears URL-encoded, form-encoded, JSON-escaped and base64-encoded.

    Base64 of a longer text (``client_id:client_secret`` in Basic auth) holds the secret at one of
    three byte alignments; for each, the characters that encode only the secret's bytes are the
    same whatever surrounds it, and those are what is returned.
    """
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value, safe="/")}
    forms |= {form.replace("%7C", "%7c") for form in forms}  # lower-case hex, as some clients write
    escaped = json.dumps(value)[1:-1]
    forms |= {escaped, escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]}
    raw = value.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of the secret's bits only
        last = 8 * (offset + len(raw)) // 6  # one past the last such character
        core = encoded[first:last]
        forms |= {core, core.replace("+", "-").replace("/", "_")}  # base64 and base64url
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def register_secret(*values: str | None) -> None:
    """Remember secret values (in every encoding they travel in) so :func:`redact` masks them."""
    global _sorted
    with _lock:
        changed = False
        for value in values:
            if value and len(value) >= _MIN_SECRET_LENGTH and value not in _secrets:
                _secrets.update(encoded_forms(value))
                changed = True
        if changed:
            _sorted = tuple(sorted(_secrets, key=len, reverse=True))


def forget_secrets() -> None:
    """Clear the registry (tests use this; a long-running process has no reason to)."""
    global _sorted
    with _lock:
        _secrets.clear()
        _sorted = ()


def registered_count() -> int:
    return len(_secrets)


def redact(text: str) -> str:
    """``text`` with every registered secret and every Amazon token replaced by ``***``."""
    if not text:
        return text
    for secret in _sorted:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(_mask_match, text)
    if "=" in text:
        text = _URL_CREDENTIALS.sub(rf"\1{MASK}", text)
    return text


def redact_value(value: Any) -> Any:
    """Redact strings inside plain data (dicts, lists, tuples) and return a redacted copy."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) with secrets masked.

    The message is formatted here (``record.getMessage()``) and the args dropped, so a secret passed
    as a ``%s`` argument is masked as surely as one inside the format string. Exception text is
    rendered and masked too, because ``logger.exception`` would otherwise print the raw traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we have, masked
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            # The formatter would render exc_info again from scratch; the masked text must win.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_log_redaction(loggers: Iterable[logging.Logger] | None = None) -> RedactingFilter:
    """Attach the filter to the handlers of ``loggers`` (default: the root logger).

    Filters on a *logger* do not see records propagated from child loggers; filters on *handlers*
    see everything they emit, so that is where this goes. Calling it twice adds nothing twice.
    """
    for logger in loggers if loggers is not None else (logging.getLogger(),):
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    return _FILTER
