"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED, as Amazon runs it (spapi.md §5).

    POST   /feeds/2021-06-30/documents                 createFeedDocument → 201 {feedDocumentId, url}
    PUT    <url>                                        upload (plain or gzip), like S3
    POST   /feeds/2021-06-30/feeds                      createFeed → 202 {feedId}
    GET    /feeds/2021-06-30/feeds/{feedId}             getFeed
    GET    /feeds/2021-06-30/feeds                      getFeeds (feedTypes … | nextToken alone)
    DELETE /feeds/2021-06-30/feeds/{feedId}             cancelFeed (only IN_QUEUE)
    GET    /feeds/2021-06-30/documents/{documentId}     getFeedDocument → {feedDocumentId, url, compressionAlgorithm?}
    GET    /_emulator/feeds[/{feedId}]                  introspection: feeds, statuses, reports

The presigned URLs behave like S3's: they expire after 5 minutes, are signed for one verb, and an
upload whose ``Content-Type`` differs from the one given to createFeedDocument is refused with
S3's ``SignatureDoesNotMatch`` (403, XML body).

A feed waits IN_QUEUE, then IN_PROGRESS, then ends DONE (or FATAL, or CANCELLED). The emulator
reads the status off the clock: :data:`QUEUE_SECONDS` in the queue and :data:`PROCESS_SECONDS` plus
:data:`PER_MESSAGE_SECONDS` per message in progress, all divided by ``rate_scale``; in realistic mode
(``settings.instant`` false) Amazon's minutes instead (:data:`AMAZON_QUEUE_SECONDS` …), read off the
emulator clock, so a test moves ``/_emulator/clock`` rather than waiting. Feeds are processed one after another on one worker thread,
started by a timer set at createFeed for when the clock says the feed is done (or by the first
getFeed/getFeeds that sees it due). A getFeed waits at most :data:`WAIT_SECONDS` for it, then
answers IN_PROGRESS until the last message is applied: DONE always means the report exists.

Each message is applied exactly like the Listings Items API call it stands for (``UPDATE`` =
putListingsItem, ``PARTIAL_UPDATE`` = patchListingsItem with ``replace`` of each given attribute,
``PATCH`` = patchListingsItem, ``DELETE`` = deleteListingsItem), for every marketplace of
createFeed's ``marketplaceIds`` (see ``feed_apply.py``). JSON_LISTINGS_FEED submissions have their
own budget, 5 per 5 minutes per selling partner and region; other feed types are accepted and end
FATAL (the legacy listing feeds are no longer accepted by Amazon since 2025-07-31).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.amazon import marketplaces as mp
from listingsync.emulator.context import Caller, EmulatorContext, region_of
from listingsync.emulator.errors import bad_request, json_response, not_found
from listingsync.emulator.feed_apply import apply_messages, report_item
from listingsync.emulator.feed_document import FeedDocumentError, FeedMessage, parse_feed_document
from listingsync.emulator.feed_report import INVALID_MESSAGE_CODE, ReportBuilder, fatal_report
from listingsync.emulator.feed_store import (
    DOCUMENT_TTL,
    FEED_TTL,
    PROCESSING,
    FeedStore,
    is_document_id,
    is_feed_id,
)

__all__ = [
    "JSON_LISTINGS_FEED",
    "PER_MESSAGE_SECONDS",
    "PROCESS_SECONDS",
    "QUEUE_SECONDS",
    "WAIT_SECONDS",
    "FeedsService",
    "introspection_routes",
    "root_routes",
    "routes",
    "service",
]

_log = logging.getLogger(__name__)

JSON_LISTINGS_FEED: Final = "JSON_LISTINGS_FEED"
#: Legacy listing feeds no longer accepted since 2025-07-31: they end FATAL (spapi.md §5.2).
LEGACY_LISTING_FEEDS: Final = frozenset(
    {
        "POST_PRODUCT_DATA",
        "POST_INVENTORY_AVAILABILITY_DATA",
        "POST_PRODUCT_PRICING_DATA",
        "POST_PRODUCT_IMAGE_DATA",
        "POST_PRODUCT_RELATIONSHIP_DATA",
        "POST_FLAT_FILE_LISTINGS_DATA",
        "POST_FLAT_FILE_INVLOADER_DATA",
        "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
    }
)
QUEUE_SECONDS: Final = 1.0
PROCESS_SECONDS: Final = 2.0
PER_MESSAGE_SECONDS: Final = 0.0002
#: Amazon-like durations (realistic mode, before rate_scale): a JSON_LISTINGS_FEED waits minutes
#: IN_QUEUE and takes minutes IN_PROGRESS (Amazon: "processing can take up to 15 minutes or more",
#: Feeds API use case guide; issue 10 observed minutes, IN_QUEUE sometimes long).
AMAZON_QUEUE_SECONDS: Final = 120.0
AMAZON_PROCESS_SECONDS: Final = 180.0
AMAZON_PER_MESSAGE_SECONDS: Final = 0.05
#: Presigned URLs "expire in 5 minutes" (model: createFeedDocument, getFeedDocument).
URL_TTL: Final = 300
#: Reports above this size are stored gzip-compressed (``compressionAlgorithm: GZIP``); clients
#: must honour the field either way, so the emulator exercises both paths.
GZIP_THRESHOLD: Final = 8 * 1024
MAX_MARKETPLACES: Final = 25
#: How long a getFeed/getFeeds waits for a due feed to be applied before answering IN_PROGRESS.
WAIT_SECONDS: Final = 0.5
_STATUSES: Final = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")


def _parse_time(name: str, value: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(
            f"Invalid '{name}' {value!r}.", "Use an ISO 8601 date-time such as 2025-01-31T12:00:00Z."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _csv(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for raw in values:
        out.extend(v.strip() for v in raw.split(","))
    return [v for v in out if v]


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


class FeedsService:
    """The Feeds API over one emulator context (one per app)."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.store = FeedStore(ctx.state, ctx.clock.now)
        # Signs presigned URLs; derived from the seed so a restarted emulator honours its URLs.
        self._key = hashlib.sha256(f"listingsync-emulator-s3:{ctx.settings.seed}".encode()).digest()
        # Feeds are processed one at a time, in order, on one worker thread; a handler never
        # waits for a big feed longer than WAIT_SECONDS (the feed shows IN_PROGRESS meanwhile).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-feeds")
        self._running: dict[str, Future[None]] = {}
        # Guards the IN_QUEUE → PROCESSING claim against a concurrent cancelFeed.
        self._claim = threading.Lock()
        for feed in self.store.feeds():  # a feed interrupted by a restart is processed again
            if feed["status"] == PROCESSING:
                self.store.update_feed(feed["feedId"], status="IN_QUEUE")

    # -- presigned URLs ----------------------------------------------------------------------------

    def _signature(self, doc_id: str, verb: str, expires: int, content_type: str) -> str:
        message = f"{verb}\n{doc_id}\n{expires}\n{content_type}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def presigned_url(
        self, request: Request, doc: Mapping[str, Any], verb: str, *, content_encoding: bool = False
    ) -> str:
        expires = int(self.ctx.clock.now()) + URL_TTL
        content_type = doc["content_type"] if verb == "PUT" else ""
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Expires": str(URL_TTL),
            "X-Amz-Date": str(expires - URL_TTL),
            "X-Amz-SignedHeaders": "content-type;host" if verb == "PUT" else "host",
            "X-Amz-Signature": self._signature(doc["id"], verb, expires, content_type),
        }
        if content_encoding:
            query["response-content-encoding"] = "gzip"
            query["X-Amz-Signature"] = self._signature(doc["id"], verb + "+gzip", expires, content_type)
        base = f"{request.url.scheme}://{request.url.netloc}"
        return f"{base}/_s3/feeds/{quote(doc['id'], safe='')}?{urlencode(query)}"

    def _check_url(self, request: Request, doc_id: str, verb: str, content_type: str) -> Response | None:
        """None when the presigned URL is valid for this request, else S3's error answer."""
        params = request.query_params
        try:
            expires = int(params["X-Amz-Date"]) + int(params["X-Amz-Expires"])
            signature = params["X-Amz-Signature"]
        except (KeyError, ValueError):
            return _s3_error(
                403, "AccessDenied", "Query-string authentication requires the X-Amz-* parameters."
            )
        signed_verb = verb + ("+gzip" if params.get("response-content-encoding") == "gzip" else "")
        expected = self._signature(doc_id, signed_verb, expires, content_type)
        if not hmac.compare_digest(signature, expected):
            if verb == "PUT":
                return _s3_error(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    "The Content-Type of the upload must equal the contentType given to createFeedDocument.",
                )
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if self.ctx.clock.now() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        return None

    # -- processing --------------------------------------------------------------------------------

    def _durations(self, messages: int) -> tuple[float, float]:
        settings = self.ctx.settings
        scale = settings.rate_scale
        if settings.instant:
            return QUEUE_SECONDS / scale, (PROCESS_SECONDS + PER_MESSAGE_SECONDS * messages) / scale
        process = AMAZON_PROCESS_SECONDS + AMAZON_PER_MESSAGE_SECONDS * messages
        return AMAZON_QUEUE_SECONDS / scale, process / scale

    def _run(self, feed_id: str) -> None:
        """Worker thread: claim a due feed and apply it (once)."""
        with self._claim:
            feed = self.store.feed(feed_id)
            if feed is None or not self.store.due(feed):
                return
            feed = self.store.update_feed(feed_id, status=PROCESSING)
        try:
            self._process(feed)
        except Exception as exc:  # an emulator bug must end the feed, not leave it IN_PROGRESS forever
            _log.exception("feed %s could not be processed", feed_id)
            reason = (
                f"The feed could not be processed ({type(exc).__name__}); "
                "some, none or all of its messages may have been applied."
            )
            self._finish(feed, "FATAL", fatal_report(feed["seller_id"], feed_id, reason), 0)

    def start(self, feed_id: str) -> Future[None]:
        """Queue a feed for the worker (idempotent); the future ends when it has been processed."""
        with self._claim:
            running = self._running.get(feed_id)
            if running is None or running.done():
                running = self._running[feed_id] = self._worker.submit(self._run, feed_id)
            return running

    async def settle(self, feed_ids: Sequence[str]) -> None:
        """Start the due feeds and give them up to WAIT_SECONDS to finish before answering."""
        futures = [asyncio.wrap_future(self.start(f)) for f in feed_ids]
        if futures:
            await asyncio.wait(futures, timeout=WAIT_SECONDS)

    def due_ids(self) -> list[str]:
        return [f["feedId"] for f in sorted(self.store.feeds(), key=lambda f: f["end"]) if self.store.due(f)]

    def _finish(self, feed: Mapping[str, Any], status: str, report: dict[str, Any], messages: int) -> None:
        data = json.dumps(report, ensure_ascii=False).encode("utf-8")
        compression = None
        if len(data) > GZIP_THRESHOLD:
            data, compression = gzip.compress(data, mtime=0), "GZIP"
        doc = self.store.new_document(feed["seller_id"], feed["region"], "application/json", kind="result")
        self.store.write_document(doc["id"], data, compression=compression, feed_id=feed["feedId"])
        summary = report.get("summary", {})
        self.store.update_feed(
            feed["feedId"],
            status=status,
            result=doc["id"],
            finished=max(feed["end"], feed["start"]),
            summary={**summary, "messages": messages},
        )

    def _process(self, feed: Mapping[str, Any]) -> None:
        seller_id, feed_id = feed["seller_id"], feed["feedId"]
        if feed["feedType"] != JSON_LISTINGS_FEED:
            reason = (
                f"Feed type {feed['feedType']} is no longer accepted for listings (since 2025-07-31); "
                "use JSON_LISTINGS_FEED or the Listings Items API."
                if feed["feedType"] in LEGACY_LISTING_FEEDS
                else f"Feed type {feed['feedType']} is not supported by the listingsync emulator, "
                "which processes JSON_LISTINGS_FEED only."
            )
            self._finish(feed, "FATAL", fatal_report(seller_id, feed_id, reason), 0)
            return
        doc = self.store.document(feed["input"])
        data = self.store.document_bytes(doc) if doc is not None else None
        try:
            document = parse_feed_document(data or b"")
        except FeedDocumentError as exc:
            reason = exc.message + (f" {exc.fix}" if exc.fix else "")
            self._finish(feed, "FATAL", fatal_report(seller_id, feed_id, reason), 0)
            return
        if document.seller_id != seller_id:
            reason = (
                f"header.sellerId '{document.seller_id}' does not match the selling partner that "
                f"submitted the feed ('{seller_id}'). Put the merchant token or vendor code of the "
                "authorising account in header.sellerId."
            )
            self._finish(feed, "FATAL", fatal_report(seller_id, feed_id, reason), len(document.messages))
            return
        account = next(
            (
                a
                for a in self.ctx.settings.accounts
                if a.selling_partner_id == seller_id and a.region.value == feed["region"]
            ),
            None,
        )
        builder = ReportBuilder(
            seller_id, feed_id, included_data=document.included_data, api_version=document.report_api_version
        )
        valid = [m for m in document.messages if isinstance(m, FeedMessage)]
        outcomes = iter(
            apply_messages(
                self.ctx, account, valid, feed["marketplaceIds"], issue_locale=document.issue_locale
            )
        )
        reported: dict[str, None] = {}
        for message in document.messages:
            if not isinstance(message, FeedMessage):
                for problem in message.problems:
                    builder.add_issue(
                        "ERROR",
                        f"The message does not follow listings-feed-schema-v2: {problem}",
                        message_id=message.message_id,
                        sku=message.sku,
                        code=INVALID_MESSAGE_CODE,
                    )
                builder.message_done(accepted=False)
                continue
            outcome = next(outcomes)
            builder.add_api_issues(message.message_id, message.sku, outcome.issues)
            builder.message_done(accepted=outcome.accepted)
            if outcome.accepted and message.operation_type != "DELETE":
                reported[message.sku] = None
            elif message.operation_type == "DELETE":
                reported.pop(message.sku, None)
        if document.wants_items:
            # Amazon: with includedData "the report includes a list of issues that occur after the
            # acceptance of your listing submission" (SP-API changelog, 2025-02-26): the report
            # waits for the processing of the feed's writes, which this feed's time stands for.
            if account is not None:
                self.ctx.processing.process_now(seller_id, list(feed["marketplaceIds"]), list(reported))
            for sku in reported:
                item = report_item(
                    self.ctx,
                    seller_id,
                    sku,
                    feed["marketplaceIds"],
                    document.included_data,
                    is_vendor=account is not None and account.is_vendor,
                )
                if item is not None:
                    builder.add_item(item)
        self._finish(feed, "DONE", builder.build(), len(document.messages))

    def schedule(self, feed_id: str, at: float) -> None:
        """Process the feed when it is due, without waiting for a getFeed."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        def fire() -> None:
            with contextlib.suppress(RuntimeError):  # shutting down: the next getFeed starts it
                self.start(feed_id)

        loop.call_later(max(0.0, at - self.ctx.clock.now()) + 0.001, fire)

    # -- handlers ----------------------------------------------------------------------------------

    async def _json_body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            raise bad_request("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        return body

    def _own_feed(self, caller: Caller, feed_id: str) -> dict[str, Any]:
        if not is_feed_id(feed_id):
            raise bad_request(f"Invalid feedId '{feed_id}'.", "A feedId is the number createFeed returned.")
        feed = self.store.feed(feed_id)
        if feed is None or feed["seller_id"] != caller.seller_id:
            raise not_found(f"Feed '{feed_id}' was not found.")
        return feed

    async def create_feed_document(self, request: Request) -> Response:
        caller = self.ctx.guard(request, "createFeedDocument")
        body = await self._json_body(request)
        content_type = body.get("contentType")
        if not isinstance(content_type, str) or not content_type.strip():
            raise bad_request(
                "Missing required field 'contentType'.",
                'e.g. {"contentType": "application/json; charset=UTF-8"}',
            )
        self.store.purge()
        doc = self.store.new_document(caller.seller_id, caller.region.value, content_type, kind="input")
        url = self.presigned_url(request, doc, "PUT")
        return self.ctx.respond(request, {"feedDocumentId": doc["id"], "url": url}, status=201)

    async def create_feed(self, request: Request) -> Response:
        region = region_of(request)
        account = self.ctx.auth.authenticate(request, region)  # 403 before any 400
        body = await self._json_body(request)
        feed_type = body.get("feedType")
        if not isinstance(feed_type, str) or not feed_type:
            raise bad_request("Missing required field 'feedType'.")
        # JSON_LISTINGS_FEED has its own budget: 5 submissions per 5 minutes per region (changelog
        # 2025-05-06), for each selling partner like every usage plan (spapi.md §9).
        if feed_type == JSON_LISTINGS_FEED:
            caller = self.ctx.guard(
                request,
                "createFeed",
                limit_as="createFeed:JSON_LISTINGS_FEED",
                limit_key=f"{account.selling_partner_id}@{region.value}",
            )
        else:
            caller = self.ctx.guard(request, "createFeed")
        marketplace_ids = body.get("marketplaceIds")
        if (
            not isinstance(marketplace_ids, list)
            or not marketplace_ids
            or not all(isinstance(m, str) for m in marketplace_ids)
        ):
            raise bad_request("'marketplaceIds' must be a list of 1 to 25 marketplace identifiers.")
        if len(marketplace_ids) > MAX_MARKETPLACES:
            raise bad_request(
                f"'marketplaceIds' takes at most {MAX_MARKETPLACES} values; got {len(marketplace_ids)}."
            )
        for mid in marketplace_ids:
            found = mp.find(mid)
            if found is None or found.marketplace_id != mid:
                raise bad_request(f"Invalid marketplace identifier '{mid}' in 'marketplaceIds'.")
            if found.region is not region:
                raise bad_request(
                    f"Marketplace '{mid}' ({found.country}) is not in the {region.name} region of this endpoint."
                )
        doc_id = body.get("inputFeedDocumentId")
        if not isinstance(doc_id, str) or not doc_id:
            raise bad_request("Missing required field 'inputFeedDocumentId'.")
        if not is_document_id(doc_id):
            raise bad_request(
                f"Invalid inputFeedDocumentId '{doc_id}'.",
                "Use the feedDocumentId createFeedDocument returned.",
            )
        doc = self.store.document(doc_id)
        if doc is None or doc["seller_id"] != caller.seller_id or doc["kind"] != "input":
            raise bad_request(f"Feed document '{doc_id}' does not exist for this selling partner.")
        if doc["feed_id"] is None and self.ctx.clock.now() - doc["created"] > DOCUMENT_TTL:
            raise bad_request(f"Feed document '{doc_id}' has expired (2 days without a feed).")
        options = body.get("feedOptions")
        if options is not None and (
            not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values())
        ):
            raise bad_request("'feedOptions' must map option names to string values.")
        size = 0
        raw = self.store.document_bytes(doc)
        if raw is not None:
            size = raw.count(b'"messageId"')  # estimate for the processing time only
        queue, process = self._durations(size)
        feed = self.store.new_feed(
            seller_id=caller.seller_id,
            region=region.value,
            feed_type=feed_type,
            marketplace_ids=marketplace_ids,
            input_document_id=doc_id,
            feed_options=options,
            queue_seconds=queue,
            processing_seconds=process,
        )
        self.store.link_document(doc_id, feed["feedId"])
        self.schedule(feed["feedId"], feed["end"])
        return self.ctx.respond(request, {"feedId": feed["feedId"]}, status=202)

    async def get_feed(self, request: Request) -> Response:
        caller = self.ctx.guard(request, "getFeed")
        feed = self._own_feed(caller, request.path_params["feedId"])
        if self.store.due(feed):
            await self.settle([feed["feedId"]])
            feed = self.store.feed(feed["feedId"]) or feed
        return self.ctx.respond(request, self.store.public(feed))

    async def cancel_feed(self, request: Request) -> Response:
        caller = self.ctx.guard(request, "cancelFeed")
        feed = self._own_feed(caller, request.path_params["feedId"])
        with self._claim:
            feed = self.store.feed(feed["feedId"]) or feed
            status = self.store.status(feed)
            if status != "IN_QUEUE":
                raise bad_request(
                    f"Feed '{feed['feedId']}' is {status} and can no longer be cancelled.",
                    "Only feeds IN_QUEUE can be cancelled.",
                )
            self.store.update_feed(feed["feedId"], status="CANCELLED", finished=self.ctx.clock.now())
        return Response(status_code=200)

    def _query_feeds(self, caller: Caller, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        now = self.ctx.clock.now()
        since = query["createdSince"]
        until = query["createdUntil"]
        out = []
        for feed in self.store.feeds():
            if feed["seller_id"] != caller.seller_id or feed["region"] != caller.region.value:
                continue
            if now - feed["created"] > FEED_TTL:
                continue
            if feed["feedType"] not in query["feedTypes"]:
                continue
            if query["marketplaceIds"] and not set(query["marketplaceIds"]) & set(feed["marketplaceIds"]):
                continue
            if (
                query["processingStatuses"]
                and self.store.status(feed, now) not in query["processingStatuses"]
            ):
                continue
            if not since <= feed["created"] <= until:
                continue
            out.append(feed)
        out.sort(key=lambda f: (-f["created"], -int(f["feedId"])))
        return out

    def _feeds_query(self, request: Request) -> dict[str, Any]:
        params = request.query_params
        token = params.get("nextToken")
        if token is not None:
            others = sorted(k for k in params if k != "nextToken")
            if others:
                raise bad_request(
                    f"'nextToken' must be the only parameter; remove {', '.join(others)}.",
                    "Call getFeeds with nextToken alone to get the next page.",
                )
            try:
                query: dict[str, Any] = orjson.loads(
                    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
                )
                if not isinstance(query, dict) or "offset" not in query:
                    raise ValueError(token)
            except (ValueError, orjson.JSONDecodeError):
                raise bad_request(
                    "Invalid 'nextToken'.", "Pass nextToken exactly as getFeeds returned it."
                ) from None
            return query
        feed_types = _csv(params.getlist("feedTypes"))
        if not feed_types:
            raise bad_request("'feedTypes' is required unless 'nextToken' is given.")
        if len(feed_types) > 10:
            raise bad_request(f"'feedTypes' takes at most 10 values; got {len(feed_types)}.")
        marketplace_ids = _csv(params.getlist("marketplaceIds"))
        if len(marketplace_ids) > 10:
            raise bad_request(f"'marketplaceIds' takes at most 10 values; got {len(marketplace_ids)}.")
        statuses = _csv(params.getlist("processingStatuses"))
        bad = [s for s in statuses if s not in _STATUSES]
        if bad:
            raise bad_request(
                f"Invalid processingStatuses value(s): {', '.join(bad)}.", f"Allowed: {', '.join(_STATUSES)}."
            )
        raw_size = params.get("pageSize", "10")
        try:
            page_size = int(raw_size)
        except ValueError:
            raise bad_request(f"'pageSize' must be an integer, not {raw_size!r}.") from None
        if not 1 <= page_size <= 100:
            raise bad_request(f"'pageSize' must be between 1 and 100; got {page_size}.")
        now = self.ctx.clock.now()
        since = (
            _parse_time("createdSince", params["createdSince"])
            if params.get("createdSince")
            else now - FEED_TTL
        )
        until = _parse_time("createdUntil", params["createdUntil"]) if params.get("createdUntil") else now
        if since > until:
            raise bad_request("'createdSince' must be before 'createdUntil'.")
        return {
            "feedTypes": feed_types,
            "marketplaceIds": marketplace_ids,
            "processingStatuses": statuses,
            "pageSize": page_size,
            "createdSince": since,
            "createdUntil": until,
            "offset": 0,
        }

    async def get_feeds(self, request: Request) -> Response:
        caller = self.ctx.guard(request, "getFeeds")
        query = self._feeds_query(request)
        await self.settle(self.due_ids())
        feeds = self._query_feeds(caller, query)
        offset, size = int(query["offset"]), int(query["pageSize"])
        body: dict[str, Any] = {"feeds": [self.store.public(f) for f in feeds[offset : offset + size]]}
        if offset + size < len(feeds):
            token = orjson.dumps({**query, "offset": offset + size})
            body["nextToken"] = base64.urlsafe_b64encode(token).decode().rstrip("=")
        return self.ctx.respond(request, body)

    async def get_feed_document(self, request: Request) -> Response:
        caller = self.ctx.guard(request, "getFeedDocument")
        doc_id = request.path_params["feedDocumentId"]
        if not is_document_id(doc_id):
            raise bad_request(f"Invalid feedDocumentId '{doc_id}'.")
        doc = self.store.document(doc_id)
        if doc is None or doc["seller_id"] != caller.seller_id:
            raise not_found(f"Feed document '{doc_id}' was not found.")
        flag = request.query_params.get("enableContentEncodingUrlHeader", "false").lower()
        if flag not in ("true", "false"):
            raise bad_request("'enableContentEncodingUrlHeader' must be true or false.")
        encoding = flag == "true" and doc.get("compression") == "GZIP"
        body: dict[str, Any] = {
            "feedDocumentId": doc_id,
            "url": self.presigned_url(request, doc, "GET", content_encoding=encoding),
        }
        if doc.get("compression"):
            body["compressionAlgorithm"] = doc["compression"]
        return self.ctx.respond(request, body)

    # -- the S3 stand-in ----------------------------------------------------------------------------

    async def s3_put(self, request: Request) -> Response:
        doc_id = request.path_params["documentId"]
        doc = self.store.document(doc_id)
        if doc is None or doc["kind"] != "input":
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        content_type = request.headers.get("content-type", "")
        error = self._check_url(request, doc_id, "PUT", content_type)
        if error is not None:
            return error
        data = await request.body()
        self.store.write_document(doc_id, data)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return Response(status_code=200, headers={"ETag": f'"{etag}"'})

    async def s3_get(self, request: Request) -> Response:
        doc_id = request.path_params["documentId"]
        doc = self.store.document(doc_id)
        data = self.store.document_bytes(doc) if doc is not None else None
        if doc is None or data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        error = self._check_url(request, doc_id, "GET", "")
        if error is not None:
            return error
        headers = {}
        if request.query_params.get("response-content-encoding") == "gzip":
            headers["Content-Encoding"] = "gzip"
        return Response(data, status_code=200, media_type=doc["content_type"], headers=headers)

    # -- introspection ------------------------------------------------------------------------------

    async def intro_feeds(self, request: Request) -> Response:
        await self.settle(self.due_ids())
        now = self.ctx.clock.now()
        feeds = []
        for feed in sorted(self.store.feeds(), key=lambda f: int(f["feedId"])):
            feeds.append(
                {
                    **self.store.public(feed, now),
                    "sellerId": feed["seller_id"],
                    "region": feed["region"],
                    "inputFeedDocumentId": feed["input"],
                    "summary": feed.get("summary"),
                }
            )
        return json_response({"feeds": feeds, "count": len(feeds)})

    async def intro_feed(self, request: Request) -> Response:
        feed_id = request.path_params["feedId"]
        if (found := self.store.feed(feed_id)) is not None and self.store.due(found):
            await self.settle([feed_id])
        feed = self.store.feed(feed_id)
        if feed is None:
            return json_response({"error": f"no feed {feed_id}"}, 404)
        report = None
        if feed.get("result"):
            doc = self.store.document(feed["result"])
            data = self.store.document_bytes(doc) if doc is not None else None
            if data is not None:
                if doc is not None and doc.get("compression") == "GZIP":
                    data = gzip.decompress(data)
                report = orjson.loads(data)
        return json_response(
            {
                **self.store.public(feed),
                "sellerId": feed["seller_id"],
                "region": feed["region"],
                "inputFeedDocumentId": feed["input"],
                "report": report,
            }
        )


_SERVICES_LOCK = threading.Lock()


def service(ctx: EmulatorContext) -> FeedsService:
    """The one :class:`FeedsService` of a context (routes, root routes and introspection share it).

    Kept in the context's own ``__dict__`` so it lives and dies with the context.
    """
    with _SERVICES_LOCK:
        found = vars(ctx).get("_feeds_service")
        if not isinstance(found, FeedsService):
            found = vars(ctx)["_feeds_service"] = FeedsService(ctx)
        return found


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    svc = service(ctx)
    return [
        Route("/feeds/2021-06-30/documents", svc.create_feed_document, methods=["POST"]),
        Route("/feeds/2021-06-30/documents/{feedDocumentId}", svc.get_feed_document, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds", svc.create_feed, methods=["POST"]),
        Route("/feeds/2021-06-30/feeds", svc.get_feeds, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds/{feedId}", svc.get_feed, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds/{feedId}", svc.cancel_feed, methods=["DELETE"]),
    ]


def root_routes(ctx: EmulatorContext) -> list[BaseRoute]:
    svc = service(ctx)
    return [
        Route("/_s3/feeds/{documentId}", svc.s3_put, methods=["PUT"]),
        Route("/_s3/feeds/{documentId}", svc.s3_get, methods=["GET"]),
    ]


def introspection_routes(ctx: EmulatorContext) -> list[BaseRoute]:
    svc = service(ctx)
    return [
        Route("/feeds", svc.intro_feeds, methods=["GET"]),
        Route("/feeds/{feedId}", svc.intro_feed, methods=["GET"]),
    ]
