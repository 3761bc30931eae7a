"""Amazon marketplaces: country → marketplace id → region → hosts → currency → language.

One table, from ../shared/reference/spapi.md §2 (Amazon's "marketplace-ids" page). Language tags
marked unconfirmed there are defaults only: the product type schema fetched for a marketplace
declares the tags it really accepts (``$defs.language_tag``), and that wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Region(StrEnum):
    NA = "na"
    EU = "eu"
    FE = "fe"

    @property
    def production_host(self) -> str:
        return f"https://sellingpartnerapi-{self.value}.amazon.com"

    @property
    def sandbox_host(self) -> str:
        return f"https://sandbox.sellingpartnerapi-{self.value}.amazon.com"


#: Login with Amazon serves the SP-API apps of every region from this one host.
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


@dataclass(frozen=True, slots=True)
class Marketplace:
    country: str
    marketplace_id: str
    region: Region
    currency: str
    language_tag: str
    name: str
    domain: str

    @property
    def production_host(self) -> str:
        return self.region.production_host

    @property
    def sandbox_host(self) -> str:
        return self.region.sandbox_host


def _m(
    country: str, mid: str, region: Region, currency: str, lang: str, name: str, domain: str
) -> Marketplace:
    return Marketplace(country, mid, region, currency, lang, name, domain)


MARKETPLACES: tuple[Marketplace, ...] = (
    _m("US", "ATVPDKIKX0DER", Region.NA, "USD", "en_US", "United States", "amazon.com"),
    _m("CA", "A2EUQ1WTGCTBG2", Region.NA, "CAD", "en_CA", "Canada", "amazon.ca"),
    _m("MX", "A1AM78C64UM0Y8", Region.NA, "MXN", "es_MX", "Mexico", "amazon.com.mx"),
    _m("BR", "A2Q3Y263D00KWC", Region.NA, "BRL", "pt_BR", "Brazil", "amazon.com.br"),
    _m("IE", "A28R8C7NBKEWEA", Region.EU, "EUR", "en_IE", "Ireland", "amazon.ie"),
    _m("ES", "A1RKKUPIHCS9HS", Region.EU, "EUR", "es_ES", "Spain", "amazon.es"),
    _m("GB", "A1F83G8C2ARO7P", Region.EU, "GBP", "en_GB", "United Kingdom", "amazon.co.uk"),
    _m("FR", "A13V1IB3VIYZZH", Region.EU, "EUR", "fr_FR", "France", "amazon.fr"),
    _m("BE", "AMEN7PMS3EDWL", Region.EU, "EUR", "fr_BE", "Belgium", "amazon.com.be"),
    _m("NL", "A1805IZSGTT6HS", Region.EU, "EUR", "nl_NL", "Netherlands", "amazon.nl"),
    _m("DE", "A1PA6795UKMFR9", Region.EU, "EUR", "de_DE", "Germany", "amazon.de"),
    _m("IT", "APJ6JRA9NG5V4", Region.EU, "EUR", "it_IT", "Italy", "amazon.it"),
    _m("SE", "A2NODRKZP88ZB9", Region.EU, "SEK", "sv_SE", "Sweden", "amazon.se"),
    _m("ZA", "AE08WJ6YKNBMC", Region.EU, "ZAR", "en_ZA", "South Africa", "amazon.co.za"),
    _m("PL", "A1C3SOZRARQ6R3", Region.EU, "PLN", "pl_PL", "Poland", "amazon.pl"),
    _m("EG", "ARBP9OOSHTCHU", Region.EU, "EGP", "en_AE", "Egypt", "amazon.eg"),
    _m("TR", "A33AVAJ2PDY3EV", Region.EU, "TRY", "tr_TR", "Turkey", "amazon.com.tr"),
    _m("SA", "A17E79C6D8DWNP", Region.EU, "SAR", "en_AE", "Saudi Arabia", "amazon.sa"),
    _m("AE", "A2VIGQ35RCS4UG", Region.EU, "AED", "en_AE", "United Arab Emirates", "amazon.ae"),
    _m("IN", "A21TJRUUN4KGV", Region.EU, "INR", "en_IN", "India", "amazon.in"),
    _m("SG", "A19VAU5U5O7RUS", Region.FE, "SGD", "en_SG", "Singapore", "amazon.sg"),
    _m("AU", "A39IBJ37TRP1C6", Region.FE, "AUD", "en_AU", "Australia", "amazon.com.au"),
    _m("JP", "A1VC38T7YXB528", Region.FE, "JPY", "ja_JP", "Japan", "amazon.co.jp"),
)

#: getDefinitionsProductType's ``locale`` enum (definitionsProductTypes_2020-09-01.json): the language
#: of a schema's labels, not a listing's ``language_tag``.
PTD_LOCALES: tuple[str, ...] = (
    "DEFAULT",
    *("ar", "ar_AE", "de", "de_DE", "en", "en_AE", "en_AU", "en_CA", "en_GB", "en_IN", "en_SG"),
    *("en_US", "es", "es_ES", "es_MX", "es_US", "fr", "fr_CA", "fr_FR", "it", "it_IT", "ja"),
    *("ja_JP", "nl", "nl_NL", "pl", "pl_PL", "pt", "pt_BR", "pt_PT", "sv", "sv_SE", "tr"),
    *("tr_TR", "zh", "zh_CN", "zh_TW"),
)

_BY_COUNTRY = {m.country: m for m in MARKETPLACES}
_BY_ID = {m.marketplace_id: m for m in MARKETPLACES}
# Amazon's docs say UK, its APIs answer GB: accept both.
_ALIASES = {"UK": "GB"}


class UnknownMarketplaceError(ValueError):
    """A country code or marketplace id that is not in the table."""


def find(code_or_id: str) -> Marketplace | None:
    """The marketplace for a country code (``DE``, ``uk``) or a marketplace id, or ``None``."""
    key = code_or_id.strip()
    upper = key.upper()
    if upper in _BY_COUNTRY or upper in _ALIASES:
        return _BY_COUNTRY[_ALIASES.get(upper, upper)]
    return _BY_ID.get(key)


def get(code_or_id: str) -> Marketplace:
    """Like :func:`find`, but raises :class:`UnknownMarketplaceError` naming the valid codes."""
    found = find(code_or_id)
    if found is None:
        known = ", ".join(sorted(_BY_COUNTRY))
        raise UnknownMarketplaceError(
            f"unknown marketplace {code_or_id!r}: use a country code ({known}) or a marketplace id"
        )
    return found


def by_id(marketplace_id: str) -> Marketplace:
    try:
        return _BY_ID[marketplace_id]
    except KeyError:
        raise UnknownMarketplaceError(f"unknown marketplace id {marketplace_id!r}") from None


def is_amazon_marketplace(marketplace_id: str) -> bool:
    """True for Amazon's retail marketplaces (getMarketplaceParticipations also lists non-Amazon ones)."""
    return marketplace_id in _BY_ID


def in_region(region: Region) -> tuple[Marketplace, ...]:
    return tuple(m for m in MARKETPLACES if m.region is region)
