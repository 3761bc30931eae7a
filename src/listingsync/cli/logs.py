"""Where the command line's log records go: stderr, as text or JSON lines, at the level asked for.

The level is ``--log-level`` if given, else ``-v`` (INFO) / ``-vv`` (DEBUG) / ``-q`` (ERROR), else
``$LISTINGSYNC_LOG_LEVEL``, else WARNING; the format is ``--log-format`` or
``$LISTINGSYNC_LOG_FORMAT`` (``text`` or ``json``: one object per line with time, level, logger and
message, for log collectors). Every record passes the redaction filter before it is written.
Library users configure logging themselves: ``listingsync`` only adds a NullHandler, so nothing of
ours reaches their stderr unless they ask for it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

__all__ = ["LEVELS", "resolve_level", "setup_logging"]

LEVELS = ("debug", "info", "warning", "error", "critical")
_HANDLER_NAME = "listingsync-cli"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.levelno <= logging.DEBUG:
            text = f"{record.levelname.lower()} [{record.name}]: {record.getMessage()}"
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def resolve_level(log_level: str | None, verbose: int, quiet: bool) -> int:
    """The level the options and ``$LISTINGSYNC_LOG_LEVEL`` ask for (see the module docstring)."""
    if log_level:
        return logging.getLevelNamesMapping()[log_level.upper()]
    if quiet:
        return logging.ERROR
    if verbose:
        return logging.DEBUG if verbose > 1 else logging.INFO
    env = os.environ.get("LISTINGSYNC_LOG_LEVEL", "").strip().upper()
    return logging.getLevelNamesMapping().get(env, logging.WARNING) if env else logging.WARNING


def _quiet_http(record: logging.LogRecord) -> bool:
    """httpx logs every request at INFO: that detail belongs to -vv (its warnings always pass)."""
    return record.levelno >= logging.WARNING or not record.name.startswith(("httpx", "httpcore"))


def setup_logging(level: int, fmt: str | None = None) -> logging.Handler:
    """One stderr handler on the root logger (replacing the one a previous call added)."""
    from listingsync.redaction import install_log_redaction

    fmt = (fmt or os.environ.get("LISTINGSYNC_LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    handler.setLevel(level)
    if level > logging.DEBUG:
        handler.addFilter(_quiet_http)
    root.addHandler(handler)
    root.setLevel(min(level, root.level) if root.level else level)
    install_log_redaction()
    return handler
