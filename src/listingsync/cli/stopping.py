"""SIGTERM and Ctrl-C stop a running command cleanly instead of killing it mid-step.

A scheduler (cron, systemd, Kubernetes) stops a job with SIGTERM; a user with Ctrl-C. Either
cancels the command's coroutine at its next ``await``: state database transactions are never cut
in half (they run between awaits), writes already answered are recorded, and writes in flight stay
as committed intents that the next run settles against Amazon (see ``sync.recovery``). The command
then says so and exits 130 (Ctrl-C) or 143 (SIGTERM), the shells' convention for "stopped by signal".
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Stopped", "run_stoppable"]

T = TypeVar("T")


class Stopped(Exception):
    """The command was stopped by a signal; ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def run_stoppable(main: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(main())``, with SIGINT and SIGTERM cancelling it and raising :class:`Stopped`."""

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        received: list[int] = []

        def stop(signum: int) -> None:
            if not received:  # a second signal while stopping changes nothing
                received.append(signum)
                task.cancel()

        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop, signum)
                installed.append(signum)
            except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
                pass
        try:
            return await main()
        except asyncio.CancelledError:
            if received:
                raise Stopped(received[0]) from None
            raise
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    return asyncio.run(guarded())
