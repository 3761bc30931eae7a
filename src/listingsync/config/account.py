"""The ``account:`` section: who sells, as what, where."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from listingsync.amazon import marketplaces as mp


class AccountType(StrEnum):
    VENDOR = "vendor"
    SELLER = "seller"


# Vendor codes are short alphanumerics (Vendor Central → Settings → Account Info, e.g. "C96QA").
_VENDOR_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
# Merchant tokens: "A" then 8-20 upper-case alphanumerics (A2EXAMPLE…, A1EXAMPLEMERCH).
_MERCHANT_TOKEN = re.compile(r"^A[A-Z0-9]{8,20}$")


class AccountConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: AccountType
    selling_partner_id: str = Field(min_length=1)
    marketplaces: list[str] = Field(min_length=1)
    region: mp.Region | None = None
    endpoint: str | None = None
    lwa_endpoint: str | None = None

    @field_validator("selling_partner_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("marketplaces")
    @classmethod
    def _known_marketplaces(cls, values: list[str]) -> list[str]:
        ids: list[str] = []
        for value in values:
            found = mp.find(str(value))
            if found is None:
                known = ", ".join(m.country for m in mp.MARKETPLACES)
                raise ValueError(
                    f"unknown country or marketplace id {value!r}; use one of {known} "
                    "or an Amazon marketplace id such as A1PA6795UKMFR9"
                )
            if found.marketplace_id in ids:
                raise ValueError(f"marketplace {value!r} is listed twice")
            ids.append(found.marketplace_id)
        regions = sorted({mp.by_id(m).region for m in ids})
        if len(regions) > 1:
            detail = "; ".join(
                f"{r.name}: {', '.join(mp.by_id(m).country for m in ids if mp.by_id(m).region is r)}"
                for r in regions
            )
            raise ValueError(
                f"marketplaces span several regions ({detail}). A refresh token is authorized for one "
                "region only: keep one region's marketplaces here and use a second config file "
                "(and a second authorization) for the other"
            )
        return ids

    @field_validator("endpoint", "lwa_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("selling_partner_id")
    @classmethod
    def _fits_account_type(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind is not None:
            _check_partner_id(kind, value)
        return value

    @field_validator("region")
    @classmethod
    def _region_matches(cls, value: mp.Region | None, info: ValidationInfo) -> mp.Region | None:
        ids = info.data.get("marketplaces")
        if value is not None and ids:
            region = mp.by_id(ids[0]).region
            if value is not region:
                raise ValueError(
                    f"region {value.value!r} does not match the marketplaces, which are in "
                    f"{region.value!r}; remove 'region' (it is derived from the marketplaces)"
                )
        return value

    @property
    def resolved_region(self) -> mp.Region:
        return self.region or mp.by_id(self.marketplaces[0]).region

    @property
    def marketplace_objects(self) -> list[mp.Marketplace]:
        return [mp.by_id(m) for m in self.marketplaces]

    @property
    def is_vendor(self) -> bool:
        return self.type is AccountType.VENDOR


def _check_partner_id(kind: AccountType, value: str) -> None:
    if kind is AccountType.VENDOR:
        if value.lower().startswith("amzn1."):
            raise ValueError(
                f"selling_partner_id {value!r} is an Amazon account id, not a vendor code. Use the "
                "short vendor code (e.g. C96QA) from Vendor Central → Settings → Account Info → "
                "Business Information"
            )
        if not _VENDOR_CODE.match(value):
            raise ValueError(
                f"selling_partner_id {value!r} does not look like a vendor code (3-10 upper-case "
                "letters and digits, e.g. C96QA); copy it from Vendor Central → Settings → Account Info"
            )
    elif not _MERCHANT_TOKEN.match(value):
        hint = (
            " (that looks like a vendor code: set account.type to vendor?)"
            if _VENDOR_CODE.match(value)
            else ""
        )
        raise ValueError(
            f"selling_partner_id {value!r} does not look like a merchant token (A followed by 8-20 "
            f"upper-case letters and digits, e.g. A2EXAMPLE1234){hint}; copy it from Seller Central → "
            "Settings → Account Info → Business Information → Merchant Token"
        )
