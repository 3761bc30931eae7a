"""Sellers API v1: getMarketplaceParticipations and getAccount (``GET /sellers/v1/account``).

For sellers: one entry per marketplace of the account, plus one non-Amazon marketplace entry, as
real payloads carry (spapi.md §6.1; clients must filter to Amazon's marketplace ids).

For vendors: **403 Unauthorized** (our choice; Amazon's behaviour is UNCONFIRMED, spapi.md §11.5).
The Sellers API describes seller accounts and a vendor authorisation is not expected to hold a
role for it; a connector should check vendors with getListingsItem on a sentinel SKU instead.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listingsync.amazon import marketplaces as mp
from listingsync.emulator.context import EmulatorContext
from listingsync.emulator.errors import unauthorized
from listingsync.emulator.settings import Account

__all__ = ["NON_AMAZON_MARKETPLACE", "routes"]

#: A non-Amazon entry like those in real payloads (a "si-prod" store marketplace).
NON_AMAZON_MARKETPLACE: dict[str, Any] = {
    "marketplace": {
        "id": "A38D8NSA03LJTC",
        "name": "SI Prod Marketplace",
        "countryCode": "DE",
        "defaultCurrencyCode": "EUR",
        "defaultLanguageCode": "de_DE",
        "domainName": "si-prod-marketplace-de.stores.amazon.de",
    },
    "storeName": "",
    "participation": {"isParticipating": True, "hasSuspendedListings": False},
}


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    def participation_list(account: Account) -> list[dict[str, Any]]:
        payload: list[dict[str, Any]] = []
        for marketplace_id in account.marketplace_ids:
            m = mp.by_id(marketplace_id)
            payload.append(
                {
                    "marketplace": {
                        "id": m.marketplace_id,
                        "name": f"Amazon.{m.domain.split('amazon.', 1)[1]}",
                        "countryCode": m.country,
                        "defaultCurrencyCode": m.currency,
                        "defaultLanguageCode": m.language_tag,
                        "domainName": f"www.{m.domain}",
                    },
                    "storeName": account.store_name or account.name,
                    "participation": {"isParticipating": True, "hasSuspendedListings": False},
                }
            )
        payload.append(NON_AMAZON_MARKETPLACE)
        return payload

    async def participations(request: Request) -> Response:
        account = ctx.guard(request, "getMarketplaceParticipations").account
        if account.is_vendor:
            raise unauthorized("")
        return ctx.respond(request, {"payload": participation_list(account)})

    async def get_account(request: Request) -> Response:
        """getAccount: the account and its marketplaces (model ``Account``: businessType, sellingPlan
        and marketplaceParticipationList required; business details are the demo's own)."""
        account = ctx.guard(request, "getAccount").account
        if account.is_vendor:
            raise unauthorized("")
        home = mp.by_id(account.marketplace_ids[0])
        name = account.store_name or account.name
        payload = {
            "marketplaceParticipationList": participation_list(account),
            "businessType": "PRIVATE_LIMITED",
            "sellingPlan": "PROFESSIONAL",
            "business": {
                "name": name,
                "registeredBusinessAddress": {"addressLine1": "1 Emulator Way", "countryCode": home.country},
            },
        }
        return ctx.respond(request, {"payload": payload})

    return [
        Route("/sellers/v1/marketplaceParticipations", participations, methods=["GET"]),
        Route("/sellers/v1/account", get_account, methods=["GET"]),
    ]
