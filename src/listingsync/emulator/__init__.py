"""A faithful local SP-API (+ LWA, + Sales Layer) for the demo, the tests and the benchmarks.

Use it in-process::

    from listingsync.emulator import EmulatorSettings, run_in_thread
    with run_in_thread(EmulatorSettings(rate_scale=100)) as server:
        server.url                  # http://127.0.0.1:PORT
        server.endpoint("eu")       # http://127.0.0.1:PORT/eu   (SP-API base URL of a region)
        server.lwa_url              # http://127.0.0.1:PORT/auth/o2/token
        server.state                # live State: listings, write_log, counters
        server.reset()              # forget everything (cheap, between tests)

Tests get this from the ``emulator`` fixture in ``tests/conftest.py``. Built-in demo accounts
(``settings.default_accounts``): vendor ``DEMOV`` (EU: FR, DE, IT, ES, refresh token
``Atzr|listingsync-demo-vendor-eu``) and seller ``A3DEMOSELLER01`` (NA: US, CA, MX, refresh token
``Atzr|listingsync-demo-seller-na``), both with client id ``DEMO_CLIENT_ID`` / ``DEMO_CLIENT_SECRET``.

Plugging in a route module (emulator-2's ``definitions``, ``feeds``, ``catalog_items``): a module
``listingsync.emulator.<name>`` listed in ``app.REGION_MODULES`` exposes

- ``routes(ctx: EmulatorContext) -> list[BaseRoute]``: mounted under ``/na``, ``/eu`` and ``/fe``;
  paths as in Amazon's model (``/feeds/2021-06-30/feeds``). A handler calls
  ``caller = ctx.guard(request, "<operationId>")`` (403/429 raised for it, counted, rate header
  set) and raises :class:`~listingsync.emulator.errors.ApiError` for error answers;
  ``region_of(request)`` gives the region.
- optionally ``root_routes(ctx)`` (mounted at ``/``, e.g. presigned document upload URLs) and
  ``introspection_routes(ctx)`` (mounted under ``/_emulator``).

``ctx.state.extra[<name>]`` is the module's persisted, resettable storage; ``ctx.limiter.take(key,
op)`` with :data:`ratelimit.RATES` names its operations' limits (``"createFeed:JSON_LISTINGS_FEED"``
keyed by region); ``ctx.product_types`` is the schema registry (``get(type, marketplace_id)``);
``listingsync.schema.requirements.derive(schema, requirements)`` narrows a LISTING schema;
``ctx.validation.issues(type, marketplace_id, requirements, attributes)`` judges a submission as
putListingsItem does (cached), and ``items.build_item`` / ``items.amazon_issue`` /
``listings.apply_patches`` give the Listings API's shapes and patch semantics (feeds reuse them).

Fault spec (``EmulatorSettings.faults`` / ``--faults``), see ``faults.py``:
``error=0.05,storm=0.01:20,latency=5-50ms,drop=0.01,expire_every=100,lose=0.01``
(``lose``: the write is applied, then its answer dropped; ``lose_ops=createFeed`` narrows it).
"""

from listingsync.emulator.context import Caller, EmulatorContext, region_of
from listingsync.emulator.server import EmulatorServer, run_in_thread, serve
from listingsync.emulator.settings import Account, EmulatorSettings, default_accounts, load_accounts

__all__ = [
    "Account",
    "Caller",
    "EmulatorContext",
    "EmulatorServer",
    "EmulatorSettings",
    "default_accounts",
    "load_accounts",
    "region_of",
    "run_in_thread",
    "serve",
]
