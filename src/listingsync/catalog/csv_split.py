"""A big CSV file read on two cores: the tail of the file parsed and fingerprinted in a helper process.

A no-change sync reads every row of the file to fingerprint it (:meth:`CsvSource.digests`), and
parsing CSV and hashing rows is CPU-bound Python: one core. For a big file a spawned helper
process takes the rows after a *split point* and sends them back as the stamps the main process
would have made (SKU, parent, deletion, line, fingerprint), while the main process reads the rows
before it. The main process then passes on the helper's stamps in order, so what comes out is what
one process reading the whole file gives, line numbers and problems included.

The split point is the start of a line where a new record starts. The helper finds it without
parsing: the first ``\\n`` past a share of the file with an even number of ``"`` before it (a line
break inside a quoted value has an odd number). It counts the line breaks before it the way the
reader does (``\\r\\n``, ``\\n`` and a bare ``\\r`` each end a line) and reports both. Whether the
guess was right is known exactly: the main process's reader must end a record on that very line
(:meth:`Handover.watch`). If it does not (a broken quote early in the file), or the helper reports
after the main process has passed the point, the helper is stopped and the main process reads on
by itself: slower, never different. A helper that dies later (killed, out of memory) is read after
the same way: the main process reads the tail itself from the stamp the helper's last batch ended on.

Only encodings in which these three bytes mean only these characters are split (UTF-8, the
single-byte code pages); UTF-16 files are read in one process.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

__all__ = ["HEAD_SHARE", "NEVER", "SPLIT_MIN_BYTES", "Handover", "find_split", "splittable"]

#: Files smaller than this are read in one process: a helper takes a few tenths of a second to start.
SPLIT_MIN_BYTES = 64 << 20
#: The share of the file the main process reads itself. Less than half: it also passes on every
#: stamp of the helper's share (the cross-record checks, the state lookups), the helper only parses.
#: A no-change sync of 300,000 SKUs took 5.5–6.5 s with 0.3, 6.6–6.7 s with 0.4, 7.5 s with 0.5
#: (medians of 3–4 runs on a busy 2-core machine).
HEAD_SHARE = 0.3
#: The line :meth:`Handover.watch` answers when there is nothing more to watch: never reached.
NEVER = 1 << 62
#: Stamps a message from the helper.
BATCH = 2000
#: How far past the share the helper looks for a line that starts a record before giving up.
_SEARCH = 1 << 20
_CHUNK = 1 << 20
_SPLITTABLE = {"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "ascii"}

log = logging.getLogger(__name__)


def splittable(encoding: str) -> bool:
    """Whether ``"``, ``\\n`` and ``\\r`` bytes in a file of this encoding are only those characters."""
    return codecs.lookup(encoding).name in _SPLITTABLE


def _breaks(data: bytes, after_cr: bool) -> int:
    """Line breaks in ``data`` as ``bytes.splitlines`` counts them, a ``\\r\\n`` split between the
    previous piece (``after_cr``: it ended in ``\\r``) and this one counted once."""
    count = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return count - 1 if after_cr and data.startswith(b"\n") else count


def find_split(path: Path, share: float) -> tuple[int, int] | None:
    """``(offset, lines before it)`` of the first line past ``share`` of the file that starts a
    record (see the module docstring), or None when none is found within a MiB past it."""
    target = int(path.stat().st_size * share)
    quotes = lines = done = 0
    after_cr = False
    with path.open("rb") as handle:
        while done < target:
            data = handle.read(min(_CHUNK, target - done))
            if not data:
                return None
            quotes += data.count(b'"')
            lines += _breaks(data, after_cr)
            after_cr = data.endswith(b"\r")
            done += len(data)
        data = handle.read(_SEARCH)
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            piece = data[start : newline + 1]
            quotes += piece.count(b'"')
            lines += _breaks(piece, after_cr)
            after_cr = False
            if not quotes % 2:
                return done + newline + 1, lines
            start = newline + 1
    return None


class Handover:
    """The main process's side of a split read: the helper process, its stamps as they come, and
    the line at which the main process stops and passes on the helper's stamps instead.

    ``watch(end)`` is asked as the main process reads (``end``: the last line its reader took)
    and answers the line at which to ask again; :attr:`reached` says the main process stopped on
    the split point, and :meth:`items` then gives the rest of the file's stamps.
    """

    #: Whether :meth:`watch` waits for the helper to say where the split point is, rather than
    #: read on. A file worth splitting takes seconds to reach it, the helper a fraction of one to
    #: say; a test's small file would be read before the helper started.
    patient = False

    def __init__(self, target: Callable[..., Iterator[Any]], args: tuple[Any, ...]) -> None:
        # Spawned, not forked: the main process runs threads whose locks a forked child would
        # inherit held (as for the mapping workers).
        self._target, self._args = target, args  # to read the tail here if the helper dies
        context = multiprocessing.get_context("spawn")
        self._link, sender = context.Pipe(duplex=False)
        self._process: SpawnProcess | None = context.Process(
            target=_serve, args=(target, args, sender), name="listingsync-csv-tail", daemon=True
        )
        self._process.start()
        sender.close()  # the helper's end only: its death is then an EOF here
        self.line: int | None = None  # the split point's line count, once the helper said it
        self.reached = False

    def watch(self, end: int) -> int:
        """Whether the helper said where the split point is; answer the next line to be asked
        at (a big number once there is nothing more to watch). Stops the helper when the main
        process passed the split point without ending a record on it."""
        if self._link.closed:
            return NEVER
        if self.line is None:
            try:
                if not self._link.poll(None if self.patient else 0):
                    return end + 1000
                kind, split = pickle.loads(self._link.recv_bytes())  # noqa: S301 - our own helper's
            except (EOFError, OSError):  # it died before saying: read on alone
                kind, split = "failed", None
            if kind != "split" or split is None:  # it failed, or found no split point
                self.close()
                return NEVER
            self.line = split[1]
        if end == self.line:
            self.reached = True
            return NEVER
        if end > self.line:
            self.close()  # a record spans the split point (a broken quote), or it said too late
            return NEVER
        return min(end + 1000, self.line)

    def items(self) -> Iterator[Any]:
        """The helper's stamps and problems, in order, to the end of the file. A helper that
        fails raises its error here; the rest of one that dies (killed) is read here."""
        assert self.reached
        given = 0
        try:
            while True:
                try:
                    message = self._link.recv_bytes()
                except (EOFError, OSError):  # it died, between messages or within one
                    break
                kind, payload = pickle.loads(message)  # noqa: S301 - our own helper's message
                if kind == "failed":
                    raise payload
                if kind == "end":
                    return
                given += len(payload)
                yield from payload
        finally:
            self.close()
        yield from self._read_on(given)

    def _read_on(self, given: int) -> Iterator[Any]:
        """The tail's items after the first ``given``, read in this process: the helper died."""
        log.warning(
            "the process reading the end of the catalogue ended unexpectedly after %d rows; "
            "reading the rest in this process",
            given,
        )
        items = self._target(*self._args)
        split = next(items)
        if split is None or split[1] != self.line:  # the same file gives the same split point
            raise RuntimeError("the catalogue file changed while it was read: run again")
        yield from itertools.islice(items, given, None)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join()
        self._link.close()


def _serve(target: Callable[..., Iterator[Any]], args: tuple[Any, ...], link: Connection) -> None:
    """The helper process: ``target(*args)`` yields the split point (or None), then the items,
    sent in batches; an error is sent to be raised in the main process.

    The batches are sent by a thread of their own, from a queue: the main process takes none
    until it reaches the split point, and a pipe holds some 64 KiB, so a send from this thread
    would stop the parsing at the first full pipe."""
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(outbox, link), name="listingsync-csv-send")
    sender.start()

    def put(kind: str, payload: Any) -> None:
        outbox.put(pickle.dumps((kind, payload), pickle.HIGHEST_PROTOCOL))

    batch: list[Any] = []
    try:
        items = target(*args)
        split = next(items)
        put("split", split)
        if split is None:
            return
        for item in items:
            batch.append(item)
            if len(batch) >= BATCH:
                put("items", batch)
                batch = []
        put("items", batch)
        put("end", None)
    except BaseException as exc:  # every failure is the main process's to raise
        with contextlib.suppress(pickle.PicklingError):
            put("failed", exc)
    finally:
        outbox.put(None)
        sender.join()
        link.close()


def _send_all(outbox: queue.SimpleQueue[bytes | None], link: Connection) -> None:
    while (message := outbox.get()) is not None:
        try:
            link.send_bytes(message)
        except OSError:  # the main process stopped listening (it read on alone)
            return
