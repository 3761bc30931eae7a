"""A blocking face over :class:`SPAPIClient` for plain scripts and notebooks.

The async client runs on a private event loop in a daemon thread; each sync call submits the
coroutine there and waits. This works even when the caller already runs an event loop (Jupyter),
where ``asyncio.run`` would refuse.

    with SyncSPAPIClient(credentials, "eu") as client:
        client.listings.get_listings_item("C96QA", "SKU-1", marketplace_ids=["A1PA6795UKMFR9"])
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Self, TypeVar

from listingsync.amazon.client import ClientStats, SPAPIClient, account_options
from listingsync.amazon.lwa import Credentials

if TYPE_CHECKING:
    from listingsync.config import AccountConfig

__all__ = ["SyncSPAPIClient"]

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="listingsync-spapi", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _SyncAPI:
    """Each coroutine method of the wrapped API becomes a blocking method of the same name."""

    def __init__(self, api: object, runner: _LoopThread) -> None:
        self._api = api
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        method: Callable[..., Coroutine[Any, Any, Any]] = attr

        @functools.wraps(method)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._runner.run(method(*args, **kwargs))

        return blocking

    def __dir__(self) -> list[str]:
        return [n for n in dir(self._api) if not n.startswith("_")]


class SyncSPAPIClient:
    """Same constructor and attributes as :class:`SPAPIClient`; every call blocks."""

    def __init__(self, credentials: Credentials, region: Any, *args: Any, **kwargs: Any) -> None:
        self._runner = _LoopThread()
        self._async = SPAPIClient(credentials, region, *args, **kwargs)
        self.sellers: Any = _SyncAPI(self._async.sellers, self._runner)
        self.listings: Any = _SyncAPI(self._async.listings, self._runner)
        self.definitions: Any = _SyncAPI(self._async.definitions, self._runner)
        self.feeds: Any = _SyncAPI(self._async.feeds, self._runner)
        self.catalog: Any = _SyncAPI(self._async.catalog, self._runner)
        self._closed = False

    @classmethod
    def from_account(cls, account: AccountConfig, credentials: Credentials, **kwargs: Any) -> Self:
        return cls(credentials, **account_options(account), **kwargs)

    @property
    def async_client(self) -> SPAPIClient:
        return self._async

    @property
    def stats(self) -> ClientStats:
        return self._async.stats

    def fetch_url(self, url: str) -> bytes:
        return self._runner.run(self._async.fetch_url(url))

    def access_token(self) -> str:
        return self._runner.run(self._async.lwa.access_token())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._runner.run(self._async.aclose())
            self._runner.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sync{self._async!r}"
