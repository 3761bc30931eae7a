"""From a request to an authenticated account: ``x-amz-access-token`` → account, region checked.

Amazon answers every token problem with 403 ``Unauthorized`` "Access to requested resource is
denied." and a ``details`` line saying which (spapi.md §6.2). A token used against another region's
host is refused the same way (issue #1179), which the emulator models by path prefix.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from listingsync.amazon.marketplaces import Region
from listingsync.emulator.errors import unauthorized
from listingsync.emulator.settings import Account, EmulatorSettings
from listingsync.emulator.state import State

__all__ = ["Authenticator"]

MISSING = "Access token is missing in the request header."
EXPIRED = "The access token you provided has expired."
INVALID = "The access token you provided is revoked, malformed or invalid."


class Authenticator:
    def __init__(self, settings: EmulatorSettings, state: State) -> None:
        self.state = state
        self.by_refresh_token = {a.refresh_token: a for a in settings.accounts}

    def account_for_token(self, token: str | None) -> Account:
        """The account behind an access token, or ``ApiError`` 403 naming what is wrong."""
        if not token:
            raise unauthorized(MISSING)
        record = self.state.tokens.get(token)
        if record is None:
            raise unauthorized(INVALID)
        account = self.by_refresh_token.get(record.refresh_token)
        if account is None or account.revoked:
            raise unauthorized(INVALID)
        if time.time() >= record.expires_at:
            raise unauthorized(EXPIRED)
        return account

    def authenticate(self, request: Request, region: Region) -> Account:
        account = self.account_for_token(request.headers.get("x-amz-access-token"))
        if account.region is not region:
            # Amazon sends the bare denial here; the hint is ours, to save users an afternoon.
            raise unauthorized(
                f"The access token was issued for the {account.region.name} region, not {region.name}."
            )
        return account

    def expire(self, token: str) -> None:
        """Make a token expired now (fault injection ``expire_every``)."""
        with self.state.lock:
            record = self.state.tokens.get(token)
            if record is not None:
                self.state.tokens[token] = type(record)(record.refresh_token, 0.0)
