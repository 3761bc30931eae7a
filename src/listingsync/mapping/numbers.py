"""Numbers written as text in the catalogue's locale: ``1.234,56`` (de) and ``1,234.56`` (en).

The catalogue's decimal separator is ``source.decimal_separator`` (``","`` or ``"."``) or, when it
is not set, the one every marketplace of the account writes (de, fr, es, it, nl, pl, sv, tr, pt:
comma; en, ja, es_MX: point); with marketplaces that disagree it is unknown.

A value is read only when it has one reading: both separators present (the last one is the
decimal mark), one separator repeated (``1.234.567``: thousands), or one separator not followed by
exactly three digits (``9,90``, ``84.82``: a decimal mark whatever the locale). ``1,234`` and
``1.234`` are a thousand or one-and-a-bit depending on the locale: with the separator known they
are read by it, without it they are refused (:class:`AmbiguousNumber`), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["AmbiguousNumber", "decimal_separator_for", "parse_number"]

_COMMA_LANGUAGES = frozenset({"de", "fr", "es", "it", "nl", "pl", "sv", "tr", "pt"})
_POINT_LANGUAGES = frozenset({"en", "ja", "zh"})
#: Locales whose language alone would mislead (es_MX writes 1,234.56; en_ZA often 1 234,56).
_EXCEPTIONS = {"es_MX": ".", "en_ZA": None}
_GROUPED = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{3})+$")


class AmbiguousNumber(ValueError):
    """Text that is one number in a comma locale and another in a point locale."""

    def __init__(self, text: str, readings: tuple[Decimal, Decimal]) -> None:
        super().__init__(text)
        self.text = text
        self.readings = readings


def decimal_separator_for(language_tags: Iterable[str]) -> str | None:
    """The decimal separator all these locales write, or None when unknown or they disagree."""
    found: set[str | None] = set()
    for tag in language_tags:
        if tag in _EXCEPTIONS:
            found.add(_EXCEPTIONS[tag])
            continue
        language = tag.split("_")[0].lower()
        found.add("," if language in _COMMA_LANGUAGES else "." if language in _POINT_LANGUAGES else None)
    return found.pop() if len(found) == 1 else None


def parse_number(value: Any, decimal_separator: str | None) -> Decimal | None:
    """``value`` as a finite Decimal; None when it is no number; :class:`AmbiguousNumber` when
    only the catalogue's decimal separator (unknown here) could tell which number it is."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        return number if number.is_finite() else None
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    sign = ""
    if text and text[0] in "+-":
        sign, text = text[0], text[1:]
    commas, points = text.count(","), text.count(".")
    if commas and points:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = _normalise(text, decimal)
    elif commas or points:
        mark = "," if commas else "."
        whole, _, fraction = text.rpartition(mark)
        if commas + points > 1:
            text = _normalise(text, "," if mark == "." else ".")  # 1.234.567: only thousands
        elif not (len(fraction) == 3 and fraction.isdigit() and whole.isdigit() and len(whole) <= 3) or (
            whole.startswith("0")
        ):
            text = _normalise(text, mark)  # 9,90 / 84.82 / 0,125: a decimal mark
        elif decimal_separator is None:
            as_decimal = _decimal(sign + _normalise(text, mark))
            as_thousands = _decimal(sign + _normalise(text, "," if mark == "." else "."))
            if as_decimal is None or as_thousands is None:
                return None
            raise AmbiguousNumber(sign + text, (as_decimal, as_thousands))
        else:
            text = _normalise(text, decimal_separator)
    return _decimal(sign + text) if text else None


def _normalise(text: str, decimal: str) -> str:
    """Drop the thousands separators (the other mark, in groups of three) and make ``decimal`` a point."""
    thousands = "." if decimal == "," else ","
    whole, _, fraction = text.rpartition(decimal) if decimal in text else (text, "", "")
    if thousands in whole:
        if not _GROUPED.match(whole):
            return "x"  # 12.34,5 or 1,23.4: separators in the wrong places, not a number
        whole = whole.replace(thousands, "")
    if thousands in fraction:
        return "x"
    return f"{whole}.{fraction}" if decimal in text else whole


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
