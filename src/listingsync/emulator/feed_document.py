"""Reading a JSON_LISTINGS_FEED document the way Amazon's feed processor does.

The uploaded bytes are gunzipped when they carry the gzip magic, decoded as UTF-8, parsed as JSON
and checked against Amazon's ``listings-feed-schema-v2.json`` (draft-07). What happens next depends
on *where* the document breaks the schema:

- anything outside ``messages[i]`` (not JSON, no header, wrong version, no messages, more than
  25,000 messages) makes the whole feed unusable: :class:`FeedDocumentError`, the feed ends FATAL
  and the processing report carries the reason;
- a message that breaks the message part of the schema (Amazon also publishes it on its own as
  ``listings-feed-message-schema-v2.json``, a sign that messages are judged one by one) is rejected
  alone as a :class:`RejectedMessage`; the other messages are still applied. A bad record never
  stops the others.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import gzip
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final

import jsonschema_rs
import orjson
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from listingsync.errors import ListingSyncError

__all__ = [
    "MAX_MESSAGES",
    "FeedDocument",
    "FeedDocumentError",
    "FeedMessage",
    "RejectedMessage",
    "decode_document_bytes",
    "parse_feed_document",
]

#: ``messages.maxItems`` in listings-feed-schema-v2.json (raised from 10,000 on 2025-05-06).
MAX_MESSAGES: Final = 25_000

_GZIP_MAGIC: Final = b"\x1f\x8b"


class FeedDocumentError(ListingSyncError):
    """The document as a whole cannot be processed; the feed ends FATAL with this reason."""


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One valid message, ready to be applied like a Listings Items API call."""

    message_id: int
    sku: str
    operation_type: str  # UPDATE | PARTIAL_UPDATE | PATCH | DELETE
    product_type: str | None = None
    requirements: str | None = None
    attributes: dict[str, Any] | None = None
    patches: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A message that breaks the message schema; reported, never applied."""

    message_id: int | None
    sku: str | None
    #: one line per problem, each naming the path inside the message.
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedDocument:
    seller_id: str
    issue_locale: str | None
    #: ``header.report.includedData``; empty when the feed asked for no items in its report.
    included_data: tuple[str, ...]
    report_api_version: str | None
    messages: tuple[FeedMessage | RejectedMessage, ...] = field(default_factory=tuple)

    @property
    def wants_items(self) -> bool:
        return bool(self.included_data)


def _load_schema(name: str) -> dict[str, Any]:
    text = resources.files("listingsync").joinpath("data/schemas/" + name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validators() -> tuple[Draft7Validator, Draft7Validator, Any]:
    """(envelope validator, message validator, fast message check), cut from the one feed schema.

    Messages are first checked with jsonschema-rs (fast, yes/no); only a message that fails is
    walked again by python ``jsonschema`` to say why. A 25,000-message feed then parses in well
    under a second instead of seconds.
    """
    feed_schema = _load_schema("listings-feed-schema-v2.json")
    message_schema = feed_schema["properties"]["messages"]["items"]
    envelope = copy.deepcopy(feed_schema)
    # Messages are judged one by one below; the envelope keeps minItems/maxItems/type.
    del envelope["properties"]["messages"]["items"]
    fast = jsonschema_rs.Draft7Validator(message_schema)
    return Draft7Validator(envelope), Draft7Validator(message_schema), fast


def decode_document_bytes(data: bytes, *, what: str = "feed document") -> Any:
    """Bytes as uploaded (plain or gzip) → JSON value; :class:`FeedDocumentError` names the fault."""
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedDocumentError(
                f"The {what} starts like gzip but cannot be decompressed ({exc}).",
                fix="Upload the gzip file whole, or upload plain JSON.",
            ) from None
    if not data.strip():
        raise FeedDocumentError(
            f"The {what} is empty: nothing was uploaded to its URL before createFeed.",
            fix="PUT the JSON document to the url from createFeedDocument, then call createFeed.",
        )
    if not data.startswith(codecs.BOM_UTF8):
        # orjson parses valid UTF-8 JSON straight from the bytes, several times faster than
        # decoding to a str and json.loads (a 25,000-message document is ~90 MB). What it refuses
        # (invalid UTF-8 or JSON, or what only Python's parser accepts, e.g. NaN) goes the slow way
        # below, which accepts the same documents as before and names the fault.
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedDocumentError(
            f"The {what} is not UTF-8 (invalid byte at offset {exc.start}).",
            fix="Encode the document as UTF-8 (contentType 'application/json; charset=UTF-8').",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedDocumentError(
            f"The {what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
            fix="Fix the JSON syntax at that position and submit a new feed.",
        ) from None


def _path(error: ValidationError, prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for piece in error.absolute_path:
        parts.append(f"[{piece}]" if isinstance(piece, int) else f".{piece}")
    return "".join(parts).lstrip(".") or "(document)"


_OPERATIONS: Final = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")


def _explain_one_of(error: ValidationError, message: Mapping[str, Any]) -> list[str]:
    """A failed operationType ``oneOf`` → what the message breaks in the branch it meant to use.

    jsonschema only says "is not valid under any of the given schemas"; the branch whose
    ``operationType`` const matches the message holds the actionable reasons (missing
    ``productType``, ``patches`` not allowed for UPDATE …). An unknown operationType is already
    reported by the ``enum`` check, so it adds nothing here.
    """
    wanted = message.get("operationType")
    if wanted not in _OPERATIONS:
        return []
    branches: list[dict[str, Any]] = (
        list(error.schema.get("oneOf", ())) if isinstance(error.schema, dict) else []
    )
    for branch in branches:
        properties = branch.get("properties", {})
        if properties.get("operationType", {}).get("const") != wanted:
            continue
        article = "an" if wanted[0] in "AEIOU" else "a"
        problems = [
            f"{name}: not allowed in {article} {wanted} message"
            for name, rule in properties.items()
            if rule is False and name in message
        ]
        problems += [
            f"{name}: required in {article} {wanted} message"
            for name in branch.get("required", ())
            if name not in message
        ]
        return problems or [f"(message): does not follow the {wanted} rules of the feed schema"]
    return [f"(message): {error.message}"]


def _message_problems(validator: Draft7Validator, message: Any) -> list[str]:
    problems: list[str] = []
    errors = sorted(validator.iter_errors(message), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        if error.validator == "oneOf":
            if isinstance(message, Mapping):
                problems.extend(_explain_one_of(error, message))
            continue
        problems.append(f"{_path(error, '') if error.absolute_path else '(message)'}: {error.message}")
    return problems


def _envelope_problems(validator: Draft7Validator, document: Any) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "maxItems" and list(error.absolute_path) == ["messages"]:
            problems.append(
                f"messages: the feed has {len(error.instance)} messages; "
                f"a JSON_LISTINGS_FEED takes at most {MAX_MESSAGES}"
            )
        else:
            problems.append(f"{_path(error)}: {error.message}")
    return problems


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _messages(
    raw_messages: Iterable[Any], validator: Draft7Validator, fast: Any
) -> list[FeedMessage | RejectedMessage]:
    out: list[FeedMessage | RejectedMessage] = []
    seen: set[int] = set()
    for raw in raw_messages:
        problems = [] if fast.is_valid(raw) else _message_problems(validator, raw)
        fields = raw if isinstance(raw, Mapping) else {}
        message_id = _as_int(fields.get("messageId"))
        sku = _as_str(fields.get("sku"))
        if message_id is not None and message_id in seen:
            problems.append(f"messageId: {message_id} is used by an earlier message; ids must be unique")
        if message_id is not None:
            seen.add(message_id)
        if problems:
            out.append(RejectedMessage(message_id, sku, tuple(problems)))
            continue
        assert message_id is not None and sku is not None  # guaranteed by the schema
        out.append(
            FeedMessage(
                message_id=message_id,
                sku=sku,
                operation_type=fields["operationType"],
                product_type=fields.get("productType"),
                requirements=fields.get("requirements"),
                attributes=fields.get("attributes"),
                patches=fields.get("patches"),
            )
        )
    return out


def parse_feed_document(data: bytes) -> FeedDocument:
    """Uploaded bytes → :class:`FeedDocument`, or :class:`FeedDocumentError` saying why it is FATAL."""
    document = decode_document_bytes(data)
    envelope, message_validator, fast = _validators()
    problems = _envelope_problems(envelope, document)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        raise FeedDocumentError(
            f"The feed document does not follow listings-feed-schema-v2: {shown}.",
            fix="Correct the document against Amazon's JSON_LISTINGS_FEED v2 schema and submit a new feed.",
        )
    header = document["header"]
    report = header.get("report") or {}
    return FeedDocument(
        seller_id=header["sellerId"],
        issue_locale=header.get("issueLocale"),
        included_data=tuple(report.get("includedData", ())),
        report_api_version=report.get("apiVersion"),
        messages=tuple(_messages(document["messages"], message_validator, fast)),
    )
