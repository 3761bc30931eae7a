"""Canary secrets never reach logs, error text or reprs."""

from __future__ import annotations

import logging

import pytest

from listingsync.amazon import Credentials, LWAError, SPAPIError
from listingsync.redaction import MASK, RedactingFilter, install_log_redaction, redact, register_secret

CANARY_SECRET = "canary-client-secret-7f3a9"
CANARY_REFRESH = "Atzr|canary-refresh-token-c0ffee"
CANARY_ACCESS = "Atza|canary-access-token-beef"


def test_registered_values_and_amazon_token_shapes_are_masked() -> None:
    register_secret("my-own-secret-value")
    text = redact("a my-own-secret-value b Atza|unregistered-token c amzn1.oa2-cs.v1.abcdef d")
    assert text == f"a {MASK} b {MASK} c {MASK} d"


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert redact("abc") == "abc"


def test_credentials_register_their_secrets() -> None:
    creds = Credentials("amzn1.application-oa2-client.x", CANARY_SECRET, CANARY_REFRESH)
    assert CANARY_SECRET not in repr(creds) and CANARY_REFRESH not in str(creds)
    assert redact(f"secret={CANARY_SECRET}") == f"secret={MASK}"


def test_log_filter_masks_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    Credentials("amzn1.application-oa2-client.x", CANARY_SECRET, CANARY_REFRESH)
    logger = logging.getLogger("listingsync.test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.info("token %s and secret %s", CANARY_ACCESS, CANARY_SECRET)
        logger.warning(f"inline {CANARY_REFRESH}")
        try:
            raise RuntimeError(f"boom with {CANARY_SECRET}")
        except RuntimeError:
            logger.exception("failed")
    output = caplog.text
    for canary in (CANARY_SECRET, CANARY_REFRESH, CANARY_ACCESS):
        assert canary not in output
    assert output.count(MASK) >= 4


def test_install_attaches_to_root_handlers_once() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        install_log_redaction()
        install_log_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


def test_errors_mask_echoed_secrets() -> None:
    register_secret(CANARY_SECRET)
    lwa = LWAError("invalid_client", f"client_secret {CANARY_SECRET} is wrong")
    api = SPAPIError(403, "Unauthorized", f"token {CANARY_ACCESS} revoked", details=CANARY_SECRET)
    for err in (lwa, api):
        assert CANARY_SECRET not in str(err) + repr(err)
        assert CANARY_ACCESS not in str(err) + repr(err)


def test_presigned_url_credentials_are_masked() -> None:
    url = "https://s3.test/doc?X-Amz-Credential=AKIA123%2Fx&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok"
    text = redact(f'HTTP Request: GET {url} "HTTP/1.1 200 OK"')
    assert "deadbeef" not in text and "AKIA123" not in text and "=tok" not in text
    assert "X-Amz-Signature=***" in text and "https://s3.test/doc?" in text
