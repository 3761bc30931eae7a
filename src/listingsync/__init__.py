"""listingsync: keep Amazon listings in sync with a product catalogue."""

from __future__ import annotations

import logging
from functools import cache

__all__ = ["__version__"]

__version__: str  # computed on first use by __getattr__ below

# A library logs; the application decides where to. Without this, Python's last-resort handler
# would print our warnings on the stderr of every program that imports us.
logging.getLogger("listingsync").addHandler(logging.NullHandler())


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("listingsync")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __getattr__(name: str) -> str:
    # importlib.metadata costs ~60 ms at start-up; only --version and the User-Agent need it.
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'listingsync' has no attribute {name!r}")
