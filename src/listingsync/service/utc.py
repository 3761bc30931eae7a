"""UTC instants for the service's tables.

SQLite hands datetimes back naive and PostgreSQL aware; every value the service stores is UTC, so a
naive one read back is UTC too.
"""

from __future__ import annotations

import datetime as dt
from typing import overload


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the UTC offset, as the API and the CLI's JSON show times."""
    return None if value is None else as_utc(value).isoformat()
