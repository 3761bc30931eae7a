"""The emulator's clock: wall time plus an offset that tests (and the demo) can move forward.

Everything that Amazon does "later" in the emulator (a write's processing, a feed leaving the queue,
an offer turning BUYABLE) is read off this clock, never off ``time.time()`` directly. Moving it
forward (``POST /_emulator/clock/advance``) makes later things happen now, so a test asserts what
is seen before and after the processing delay without sleeping.
"""

from __future__ import annotations

import threading
import time

__all__ = ["Clock"]


class Clock:
    """``now()`` = wall clock + ``offset``; the offset only grows."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward (never back: time is monotonic for every reader)."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds
            return self.now()

    def advance_to(self, moment: float) -> float:
        """Move the clock forward to ``moment`` (a no-op when it is already later)."""
        with self._lock:
            gap = moment - (time.time() + self._offset)
            if gap > 0:
                self._offset += gap
            return time.time() + self._offset
