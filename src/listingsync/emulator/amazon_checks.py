"""Amazon's checks beyond the product type schema, with Amazon's issue codes and wording.

Each code's source is given beside it. Where Amazon's code is not public the code is ours and
starts with ``LS-`` (schema/issues.py says the same of the validators' codes). Messages exist in
English and French, the languages of the bundled schemas; ``issueLocale`` picks one (Amazon
localises issue messages by ``issueLocale``, model: putListingsItem), English otherwise.

Submission checks (``submission_issues``): run when the request arrives, ERROR → ``INVALID``:

- GTIN format and check digit of ``externally_assigned_product_identifier`` (8602);
- ``currency`` of offers, prices and a vendor's cost price is the marketplace's, ``marketplace_id``
  of every value is the listing's marketplace, ``language_tag`` is one of the marketplace's
  languages, a price is above 0;
- no product creation with the generic ``PRODUCT`` type (4000004), known product types (4000003).

Processing issues (``processing_issue``): raised when Amazon's catalogue processes an accepted
write (8541 conflict with the catalogue, 13013 offer without a product, 90220 on a PATCH that made
an incomplete item); they show on getListingsItem afterwards.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from listingsync.amazon import marketplaces as mp
from listingsync.emulator.amazon_catalog import GTIN_TYPES
from listingsync.schema.issues import Issue, Severity

__all__ = [
    "CODE_CATALOG_CONFLICT",
    "CODE_INVALID_PRODUCT_TYPE",
    "CODE_NOT_IN_CATALOG",
    "CODE_PRODUCT_CREATION",
    "language",
    "message",
    "processing_issue",
    "submission_issues",
]

#: "Creating products is not supported with the "PRODUCT" Amazon product type …" (putListingsItem
#: answer quoted in selling-partner-api-models issue #2427).
CODE_PRODUCT_CREATION: Final = "4000004"
#: "The Amazon product type specified is invalid or not supported." (same issue #2427, and
#: selling-partner-api-docs issue #864).
CODE_INVALID_PRODUCT_TYPE: Final = "4000003"
#: "Invalid StandardProductID value." (Seller Central help, error 8602: sellercentral.amazon.co.uk
#: gp/help/24741): the identifier does not meet its type's length or check digit.
CODE_INVALID_GTIN: Final = "8602"
#: The listing differs from the catalogue's data for the ASIN its identifier matched (issue #4969).
CODE_CATALOG_CONFLICT: Final = "8541"
#: The offer cannot be added: the product is not in the catalogue (issue #5311, LISTING_SUPPRESSED).
CODE_NOT_IN_CATALOG: Final = "13013"
#: Amazon's "'x' is required but not supplied." (examples/listings-getListingsItem.json, issue #2755).
CODE_MISSING: Final = "90220"
# Ours: Amazon's codes for these are not public.
CODE_CURRENCY: Final = "LS-CURRENCY-MARKETPLACE"
CODE_MARKETPLACE: Final = "LS-MARKETPLACE-MISMATCH"
CODE_LANGUAGE: Final = "LS-LANGUAGE-MARKETPLACE"
CODE_PRICE: Final = "LS-PRICE-NOT-POSITIVE"

_MESSAGES: Final[dict[str, dict[str, str]]] = {
    CODE_PRODUCT_CREATION: {
        "en": 'Creating products is not supported with the "PRODUCT" Amazon product type. Either specify '
        "a specific Amazon product type or specify an offer-only requirements set.",
        "fr": "La création de produits n'est pas prise en charge avec le type de produit Amazon "
        '"PRODUCT". Indiquez un type de produit Amazon précis ou un ensemble d\'exigences '
        "limité à l'offre.",
    },
    CODE_INVALID_PRODUCT_TYPE: {
        "en": "The Amazon product type specified is invalid or not supported.",
        "fr": "Le type de produit Amazon indiqué n'est pas valide ou n'est pas pris en charge.",
    },
    CODE_INVALID_GTIN: {
        "en": "Invalid StandardProductID value. '{value}' is not a valid {kind}: {reason}.",
        "fr": "Valeur StandardProductID non valide. '{value}' n'est pas un {kind} valide : {reason}.",
    },
    CODE_CATALOG_CONFLICT: {
        "en": "The listing data you provided differs from what is already in Amazon's catalog. The "
        "standard product identifiers (such as UPC, ISBN, EAN, or JAN codes) you supplied match the "
        "ASIN {asin}, but some of the listing details contradict the data already in Amazon's "
        "catalog. The following listing attribute values conflict with the catalog values: {pairs}.",
        "fr": "Les données que vous avez fournies diffèrent de celles du catalogue Amazon. Les "
        "identifiants produit standard (UPC, ISBN, EAN ou JAN) que vous avez fournis correspondent "
        "à l'ASIN {asin}, mais certaines informations contredisent les données du catalogue. Les "
        "valeurs suivantes sont en conflit avec celles du catalogue : {pairs}.",
    },
    CODE_NOT_IN_CATALOG: {
        "en": "Your offer for this SKU cannot be added because the product is not in the catalog. "
        "Provide an existing ASIN or a product identifier (UPC, EAN, GTIN) that matches a product "
        "in the catalog.",
        "fr": "Votre offre pour ce SKU ne peut pas être ajoutée, car le produit n'est pas présent dans "
        "le catalogue. Indiquez un ASIN existant ou un identifiant produit (UPC, EAN, GTIN) "
        "correspondant à un produit du catalogue.",
    },
    CODE_MISSING: {
        "en": "'{attribute}' is required but not supplied.",
        "fr": "'{attribute}' est obligatoire mais n'a pas été fourni.",
    },
    CODE_CURRENCY: {
        "en": "The currency '{value}' is not the currency of marketplace {marketplace} ({expected}).",
        "fr": "La devise '{value}' n'est pas celle de la place de marché {marketplace} ({expected}).",
    },
    CODE_MARKETPLACE: {
        "en": "The value is for marketplace '{value}', but the listing is submitted for {marketplace}.",
        "fr": "La valeur concerne la place de marché '{value}', mais l'offre est soumise pour {marketplace}.",
    },
    CODE_LANGUAGE: {
        "en": "The language tag '{value}' is not a language of marketplace {marketplace} (use {expected}).",
        "fr": "La balise de langue '{value}' n'est pas une langue de la place de marché {marketplace} "
        "(utilisez {expected}).",
    },
    CODE_PRICE: {
        "en": "The price {value} must be greater than 0.",
        "fr": "Le prix {value} doit être supérieur à 0.",
    },
}

#: Languages a marketplace takes besides its default (Amazon's bilingual stores).
_EXTRA_LANGUAGES: Final = {
    "US": ("es_US",),
    "CA": ("fr_CA",),
    "BE": ("nl_BE",),
    "IN": ("hi_IN",),
    "AE": ("ar_AE",),
    "SA": ("ar_SA",),
}
#: Attributes whose ``currency`` is an offer's price currency (the marketplace's); a vendor's cost
#: price too (Amazon pays it in the marketplace's currency, ItemProcurement.costPrice).
_PRICED: Final = ("purchasable_offer", "list_price", "cost_price")
_GTIN_LENGTHS: Final = {
    "ean": (8, 13),
    "upc": (12,),
    "gtin": (8, 12, 13, 14),
    "jan": (8, 13),
    "isbn": (10, 13),
}


def language(issue_locale: str | None) -> str:
    """The message language for ``issueLocale`` (``fr_FR`` → fr); English for anything else."""
    lang = (issue_locale or "").replace("-", "_").split("_", 1)[0].lower()
    return lang if lang in ("en", "fr") else "en"


def message(code: str, lang: str, **values: Any) -> str:
    texts = _MESSAGES[code]
    return texts.get(lang, texts["en"]).format(**values)


def _check_digit_ok(digits: str) -> bool:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(reversed(digits)))
    return total % 10 == 0


def _gtin_problem(kind: str, value: str) -> str | None:
    if kind == "isbn" and len(value) == 10 and value[:9].isdigit() and value[9] in "0123456789Xx":
        return None  # an ISBN-10 (mod 11 check digit, not a GTIN)
    if not value.isdigit():
        return "only digits are allowed"
    lengths = _GTIN_LENGTHS[kind]
    if len(value) not in lengths:
        return f"it must have {' or '.join(map(str, lengths))} digits, not {len(value)}"
    if not _check_digit_ok(value):
        return "its check digit is wrong"
    return None


def _issue(path: str, code: str, lang: str, **values: Any) -> Issue:
    return Issue(path, Severity.ERROR, code, message(code, lang, **values))


def _entries(attributes: Mapping[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (name, index, entry)
        for name, values in attributes.items()
        if isinstance(values, list)
        for index, entry in enumerate(values)
        if isinstance(entry, dict)
    ]


def _prices(entry: dict[str, Any]) -> list[Any]:
    """Amounts of a purchasable_offer (our_price/discounted_price schedules) or a list_price."""
    amounts: list[Any] = []
    for key in (
        "our_price",
        "discounted_price",
        "minimum_seller_allowed_price",
        "maximum_seller_allowed_price",
    ):
        for price in entry.get(key) or ():
            for schedule in (price.get("schedule") or ()) if isinstance(price, dict) else ():
                if isinstance(schedule, dict):
                    amounts.extend(schedule.get(k) for k in ("value_with_tax", "value") if k in schedule)
    if "value" in entry or "value_with_tax" in entry:
        amounts.extend(entry.get(k) for k in ("value_with_tax", "value") if k in entry)
    return amounts


def submission_issues(
    product_type: str,
    requirements: str,
    attributes: Mapping[str, Any],
    marketplace_id: str,
    *,
    creating: bool,
    lang: str,
    also: Collection[str] = (),
) -> list[Issue]:
    """Amazon's checks beyond the schema for one listing in one marketplace (ERROR issues only).

    ``also``: other marketplaces the same submission goes to (a feed's ``marketplaceIds``), whose
    values may sit beside this marketplace's."""
    if product_type == "PRODUCT" and creating and requirements != "LISTING_OFFER_ONLY":
        return [_issue("", CODE_PRODUCT_CREATION, lang)]
    allowed = {marketplace_id, *also}
    issues: list[Issue] = []
    for name, index, entry in _entries(attributes):
        path = f"/{name}/{index}"
        # A value is for the marketplace it names (or the listing's): its language and currency
        # are that marketplace's.
        target = entry.get("marketplace_id", marketplace_id)
        if target not in allowed:
            issues.append(
                _issue(
                    f"{path}/marketplace_id", CODE_MARKETPLACE, lang, value=target, marketplace=marketplace_id
                )
            )
            continue
        marketplace = mp.by_id(str(target))
        languages = (marketplace.language_tag, *_EXTRA_LANGUAGES.get(marketplace.country, ()))
        tag = entry.get("language_tag")
        if isinstance(tag, str) and tag not in languages:
            issues.append(
                _issue(
                    f"{path}/language_tag",
                    CODE_LANGUAGE,
                    lang,
                    value=tag,
                    marketplace=target,
                    expected=" or ".join(languages),
                )
            )
        if name in _PRICED:
            currency = entry.get("currency")
            if isinstance(currency, str) and currency != marketplace.currency:
                issues.append(
                    _issue(
                        f"{path}/currency",
                        CODE_CURRENCY,
                        lang,
                        value=currency,
                        marketplace=target,
                        expected=marketplace.currency,
                    )
                )
            for amount in _prices(entry):
                if isinstance(amount, int | float) and not isinstance(amount, bool) and amount <= 0:
                    issues.append(_issue(path, CODE_PRICE, lang, value=amount))
        if name == "externally_assigned_product_identifier":
            kind = str(entry.get("type", "")).lower()
            value = str(entry.get("value", ""))
            problem = _gtin_problem(kind, value) if kind in GTIN_TYPES else None
            if problem is not None:
                issues.append(
                    _issue(
                        f"{path}/value",
                        CODE_INVALID_GTIN,
                        lang,
                        value=value,
                        kind=kind.upper(),
                        reason=problem,
                    )
                )
    return issues


def processing_issue(
    code: str,
    marketplace_id: str,
    lang: str,
    *,
    attributes: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    suppressed: bool = False,
    **values: Any,
) -> dict[str, Any]:
    """An issue in the Listings API ``Issue`` shape, raised when Amazon processed the write."""
    issue: dict[str, Any] = {
        "code": code,
        "message": message(code, lang, **values),
        "severity": Severity.ERROR.value,
        "categories": list(categories),
        "marketplaceIds": [marketplace_id],
    }
    if attributes:
        issue["attributeNames"] = list(attributes)
    if suppressed:
        issue["enforcements"] = {
            "actions": [{"action": "LISTING_SUPPRESSED"}],
            "exemption": {"status": "NOT_EXEMPT"},
        }
    return issue
