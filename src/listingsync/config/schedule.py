"""The ``schedule:`` section: when the service (``listingsync serve``) runs a connection.

``every: 15m`` or ``cron: "0 * * * *"`` (a cron expression, read by croniter), optionally with
``watch: 1m`` (also look at the source this often and run when it changed: a file's content, or a
Sales Layer incremental read that returns something) and ``jitter`` (spreads the start of
connections sharing a schedule; by default a tenth of the interval, at most a minute). A single
``listingsync sync`` ignores this section.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["ScheduleConfig", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h"``, ``"1d"``; ``ValueError`` names the form."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 1h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 15m, 1h or 1d")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


class ScheduleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Run this often (seconds once parsed).
    every: float | None = None
    #: Run at these times (UTC), a five-field cron expression.
    cron: str | None = None
    #: Look at the source this often and run when it changed.
    watch: float | None = None
    #: Start up to this much later than due (a fixed offset per connection).
    jitter: float | None = None

    @field_validator("every", "watch", "jitter", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(
                f"{value!r} is not a cron expression; write five fields (minute hour day month weekday), "
                'e.g. "0 * * * *" for every hour'
            )
        return value

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleConfig:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either 'every' or 'cron', not both")
        if self.every is None and self.cron is None and self.watch is None:
            raise ValueError("say when to run: 'every: 15m', 'cron: \"0 * * * *\"' and/or 'watch: 1m'")
        return self

    @property
    def interval(self) -> float | None:
        """The nominal time between scheduled runs (for cron: between its next two times)."""
        if self.every is not None:
            return self.every
        if self.cron is not None:
            import datetime as dt

            from croniter import croniter

            it = croniter(self.cron, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
            first, second = it.get_next(float), it.get_next(float)
            return float(second - first)
        return None

    @property
    def jitter_seconds(self) -> float:
        if self.jitter is not None:
            return self.jitter
        interval = self.interval or self.watch or 0.0
        return min(60.0, interval / 10)
