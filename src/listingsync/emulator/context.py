"""The context every emulator route module receives: settings, state, auth, limits, schemas.

A route module exposes ``routes(ctx: EmulatorContext) -> list[BaseRoute]``; ``app.py`` mounts the
list under each region prefix (``/na``, ``/eu``, ``/fe``). A handler starts with::

    caller = ctx.guard(request, "getFeed")          # 403 / 429 raised as ApiError
    ...
    return ctx.respond(request, body)               # JSON + x-amzn-RateLimit-Limit

``guard`` authenticates the ``x-amz-access-token``, checks the token's region against the path
prefix, counts the request and spends a token of the (selling partner, operation) bucket.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from listingsync.amazon.marketplaces import Region
from listingsync.emulator.amazon_catalog import SeededCatalog, load_catalog
from listingsync.emulator.auth import Authenticator
from listingsync.emulator.clock import Clock
from listingsync.emulator.errors import json_response, quota_exceeded
from listingsync.emulator.faults import Faults
from listingsync.emulator.product_types import ProductTypeRegistry
from listingsync.emulator.ratelimit import RateLimiter
from listingsync.emulator.settings import Account, EmulatorSettings
from listingsync.emulator.state import State
from listingsync.emulator.validation import SubmissionValidator

if TYPE_CHECKING:
    from listingsync.emulator.processing import Processor

__all__ = [
    "FEED_MARKETPLACES_SCOPE_KEY",
    "RATE_SCOPE_KEY",
    "REGION_SCOPE_KEY",
    "Caller",
    "EmulatorContext",
    "region_of",
]

#: ASGI scope keys set by the app: the region of the path prefix, the rate header to send.
REGION_SCOPE_KEY = "listingsync.region"
RATE_SCOPE_KEY = "listingsync.rate_limit"
#: Set on the feed processor's internal listings calls: every marketplace of the feed (values of
#: one message may be for any of them). Scope keys cannot be sent by a client.
FEED_MARKETPLACES_SCOPE_KEY = "listingsync.feed_marketplaces"


def region_of(request: Request) -> Region:
    region = request.scope.get(REGION_SCOPE_KEY)
    if not isinstance(region, Region):
        raise RuntimeError("route not mounted under a region prefix")
    return region


@dataclass(frozen=True, slots=True)
class Caller:
    account: Account
    region: Region
    operation: str

    @property
    def seller_id(self) -> str:
        return self.account.selling_partner_id


class EmulatorContext:
    def __init__(self, settings: EmulatorSettings, state: State | None = None) -> None:
        self.settings = settings
        self.state = state if state is not None else State(settings.state_file)
        self.auth = Authenticator(settings, self.state)
        self.limiter = RateLimiter(enabled=settings.limits, scale=settings.rate_scale)
        self.faults = Faults.parse(settings.faults, seed=settings.seed)
        #: Emulated time: processing delays, feed durations and BUYABLE times are read off it.
        self.clock = Clock()
        #: Amazon's catalogue (built-in products + ``settings.catalog_file``), loaded at start so
        #: a bad file is reported before the server listens.
        self.catalog: SeededCatalog = load_catalog(settings.catalog_file)
        #: Seeded randomness for anything else that must repeat run to run.
        self.random = random.Random(settings.seed)
        self._lock = threading.Lock()

    @cached_property
    def product_types(self) -> ProductTypeRegistry:
        """Product type schemas: bundled ones plus ``settings.product_type_dirs`` (loaded lazily)."""
        return ProductTypeRegistry(self.settings.product_type_dirs)

    @cached_property
    def validation(self) -> SubmissionValidator:
        """Judges submissions with the reference validator (cached per type/marketplace/requirements)."""
        return SubmissionValidator(self.product_types)

    @cached_property
    def processing(self) -> Processor:
        """The queue of accepted writes, applied when due (``processing.py``)."""
        from listingsync.emulator.listings import patcher
        from listingsync.emulator.processing import Processor

        return Processor(self.settings, self.state, self.clock, self.validation, self.catalog, patcher(self))

    def guard(
        self, request: Request, operation: str, *, limit_key: str | None = None, limit_as: str | None = None
    ) -> Caller:
        """Authenticate, check the region, count, rate-limit. Raises ``ApiError`` (403/429).

        ``limit_as`` charges another operation's bucket (e.g. "validationPreview"); ``limit_key``
        replaces the selling partner as the bucket key (e.g. the region for JSON_LISTINGS_FEED).
        """
        region = region_of(request)
        account = self.auth.authenticate(request, region)
        bucket = limit_as or operation
        key = limit_key or account.selling_partner_id
        if not self.limiter.take(key, bucket):
            self.state.count(operation, throttled=True)
            raise quota_exceeded()
        self.state.count(operation)
        if self.state.extra.get("processing"):  # (never build the processor for reads alone)
            self.processing.settle()  # what Amazon finished processing by now is visible to this call
        if self.limiter.enabled:
            request.scope[RATE_SCOPE_KEY] = self.limiter.rate(bucket).header
        return Caller(account, region, operation)

    def respond(self, request: Request, body: Any, status: int = 200) -> Response:
        """A JSON answer; the app middleware adds the request id and the rate-limit header."""
        return json_response(body, status)

    def reset(self, *, keep_tokens: bool = False) -> None:
        self.state.reset(keep_tokens=keep_tokens)  # the processing queue lives in state.extra
        self.limiter.reset()
        self.faults.reset()
