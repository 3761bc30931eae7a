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


def _encodings(secret: str, client_id: str) -> list[str]:
    import base64
    import json
    from urllib.parse import quote, urlencode

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return [
        urlencode({"grant_type": "refresh_token", "refresh_token": secret, "client_secret": secret}),
        f"body: refresh_token={quote(secret, safe='')}&client_id={client_id}",
        f"lower-case hex: {quote(secret, safe='').replace('%7C', '%7c')}",
        json.dumps({"echo": secret, "nested": json.dumps({"v": secret})}),
        json.dumps({"client_secret": secret}).replace("/", "\\/"),
        f"Authorization: Basic {basic}",
        f"base64 alone: {base64.b64encode(secret.encode()).decode()} and url-safe "
        f"{base64.urlsafe_b64encode(('xy' + secret).encode()).decode()}",
    ]


@pytest.mark.parametrize(
    "secret",
    ["Atzr|IwEBIJ+canary/refresh=token-c0ffee", "canary-client-secret+7f3a9/xyz", "sécret-ünïcode-canary"],
)
def test_registered_secrets_are_masked_in_every_encoding(secret: str) -> None:
    import base64
    from urllib.parse import quote, quote_plus

    register_secret(secret)
    client_id = "amzn1.application-oa2-client.canary"
    shown = [redact(text) for text in _encodings(secret, client_id)]
    forms = {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode()}
    for text in shown:
        assert not any(form in text for form in forms), text
        assert MASK in text
    # Any run of the base64 of "client_id:secret" long enough to carry the secret's bytes is masked.
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    assert basic[len(client_id) * 4 // 3 + 4 : -4] not in shown[5]


def test_unregistered_credentials_are_masked_by_parameter_name_and_token_shape() -> None:
    text = redact(
        "grant_type=refresh_token&refresh_token=Atzr%7Cnever-registered-1&client_secret=s3cr3t-unreg"
        ' {"access_token": "unregistered \\"quoted\\" token", "expires_in": 3600}'
        " Authorization: Bearer abcdefgh12345678"
    )
    assert text == (
        f"grant_type=refresh_token&refresh_token={MASK}&client_secret={MASK}"
        f' {{"access_token": "{MASK}", "expires_in": 3600}}'
        f" Authorization: Bearer {MASK}"
    )
    assert (
        redact("count=5 refresh token was used, Basic plan") == "count=5 refresh token was used, Basic plan"
    )
