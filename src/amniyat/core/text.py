"""Lists, quotes, dates and numbers written the way a reader of each language expects.

Generated text ("Coded with a, b and c.", "No member since aprel 2021.") is read by people in
English, Russian, Tajik and Uzbek; joining with ``", "``, wrapping in “…” or formatting with
``f"{x:.1f}"`` writes English punctuation into every language. These helpers take Babel's locale
data (Unicode CLDR) and correct it only where CLDR's data for Tajik or Uzbek is incomplete or
disagrees with the language's own rules; each such correction says why next to it.

Every function takes the app's language code (``en``, ``ru``, ``tg``, ``uz``; ``uz`` is Uzbek in
Latin script), or ``None`` for the language of the current request. Django is imported only to
find that language, so modules that import no Django (``amniyat.analysis``) can use these
helpers with an explicit language.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Literal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_month_names
from babel.lists import format_list as babel_format_list
from babel.numbers import format_decimal, get_decimal_symbol

if TYPE_CHECKING:
    from moneyed import Money

__all__ = [
    "DateFormat",
    "ListStyle",
    "format_date",
    "format_datetime",
    "format_interval",
    "format_list",
    "format_number",
    "format_percent",
    "quoted",
]

# The interface is written in British English ("programme", "organisation"), so English dates
# and lists follow en_GB: "9 April 2021", "a, b and c".
_LOCALES = {"en": "en_GB", "ru": "ru", "tg": "tg", "uz": "uz_Latn"}
_FALLBACK = "en"

# Quotation marks, outer then inner. Russian and Tajik typography use «ёлочки» with „лапки“
# inside (CLDR has no quotation data for Tajik; Tajik print follows the Russian convention);
# Uzbek Latin uses “…” with ‘…’ inside, as CLDR's uz data says.
_QUOTES: dict[str, tuple[str, str, str, str]] = {
    "en": ("“", "”", "‘", "’"),
    "ru": ("«", "»", "„", "“"),
    "tg": ("«", "»", "„", "“"),
    "uz": ("“", "”", "‘", "’"),
}

# CLDR's Tajik list data is at "basic" coverage: a list of three or more has no conjunction at
# all ("a, b, c") and "or" puts a comma before ё ("a, ё b"). Tajik, like Russian, joins the last
# item with the conjunction and no comma: "a, b ва c", "a, b ё c".
_LIST_PATTERNS: dict[tuple[str, str], dict[str, str]] = {
    ("tg", "standard"): {
        "start": "{0}, {1}",
        "middle": "{0}, {1}",
        "end": "{0} ва {1}",
        "2": "{0} ва {1}",
    },
    ("tg", "or"): {"start": "{0}, {1}", "middle": "{0}, {1}", "end": "{0} ё {1}", "2": "{0} ё {1}"},
}

ListStyle = Literal[
    "standard",
    "standard-short",
    "or",
    "or-short",
    "unit",
    "unit-short",
    "unit-narrow",
]
DateFormat = Literal["short", "medium", "long", "full", "month"]

# Date patterns (CLDR syntax) where the language's rules differ from CLDR's data:
# - Uzbek writes "19-aprel 2021": no comma between day-month and year (CLDR's "19-aprel, 2021"
#   copies the English comma); dd.MM.y is the numeric form used in Uzbekistan and in Django's
#   Uzbek formats, so a date reads the same in a table and in a form field.
# - Tajik: no leading zero on the day (CLDR's "dd MMMM y" gives "09"), and dd.MM.y as in
#   Django's Tajik formats, instead of CLDR's "dd/MM/yy" with a two-digit year. Month names are
#   lower-cased below.
# - "month" (month and year) is CLDR's yMMMM skeleton, except for Uzbek (no comma).
_DATE_PATTERNS: dict[str, dict[str, str]] = {
    "uz": {
        "short": "dd.MM.y",
        "medium": "d-MMM y",
        "long": "d-MMMM y",
        "full": "EEEE, d-MMMM y",
        "month": "MMMM y",
    },
    "tg": {
        "short": "dd.MM.y",
        "medium": "d MMM y",
        "long": "d MMMM y",
        "full": "EEEE, d MMMM y",
        "month": "MMMM y",
    },
}
# Tajik, like Russian, writes month names in lower case ("19 апрел 2021", as Django's own Tajik
# catalogue does); CLDR's Tajik data capitalises them.
_LOWERCASE_MONTHS = frozenset({"tg"})


def language_code(language: str | None = None) -> str:
    """The app's code (en, ru, tg, uz) for ``language`` or the current request's language."""
    if not language:
        from django.utils.translation import get_language

        language = get_language()
    code = (language or _FALLBACK).lower().replace("_", "-").split("-")[0]
    return code if code in _LOCALES else _FALLBACK


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(_LOCALES[code])


def format_list(
    items: Iterable[object], language: str | None = None, style: ListStyle = "standard"
) -> str:
    """``["a", "b", "c"]`` as "a, b and c", "a, b и c", "a, b ва c", "a, b va c".

    ``style="or"`` joins alternatives ("a, b or c"); ``"unit"`` lists without a conjunction.
    """
    words = [str(item) for item in items]
    code = language_code(language)
    patterns = _LIST_PATTERNS.get((code, style))
    if patterns is not None:
        return _join(words, patterns)
    try:
        return babel_format_list(words, style=style, locale=_locale(code))
    except KeyError:
        # A style the locale's data has only in part (Tajik "standard-short"): the plain one.
        return format_list(words, code, "or" if style.startswith("or") else "standard")


def _join(words: list[str], patterns: dict[str, str]) -> str:
    """CLDR's list algorithm: the pair pattern for two, else start, middles and end."""
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    if len(words) == 2:
        return patterns["2"].format(*words)
    text = patterns["start"].format(words[0], words[1])
    for word in words[2:-1]:
        text = patterns["middle"].format(text, word)
    return patterns["end"].format(text, words[-1])


def quoted(text: object, language: str | None = None, *, inner: bool = False) -> str:
    """``text`` in the language's quotation marks: “…” (en, uz) or «…» (ru, tg).

    ``inner=True`` gives the marks for a quotation inside a quotation: ‘…’ or „…“.
    """
    start, end, inner_start, inner_end = _QUOTES[language_code(language)]
    if inner:
        return f"{inner_start}{text}{inner_end}"
    return f"{start}{text}{end}"


def format_date(
    date: datetime.date, language: str | None = None, format: DateFormat = "long"
) -> str:
    """A date as the reader writes it. For 19 April 2021, ``"long"`` gives "19 April 2021",
    "19 апреля 2021 г.", "19 апрел 2021", "19-aprel 2021"; ``"month"`` gives the month and
    year ("April 2021", "апрель 2021 г.", "апрел 2021", "aprel 2021"); ``"short"`` the numeric
    form; ``"medium"`` abbreviates the month; ``"full"`` adds the weekday.

    A datetime is shown as its date (convert it to local time first).
    """
    code = language_code(language)
    locale = _locale(code)
    day = date.date() if isinstance(date, datetime.datetime) else date
    pattern = _DATE_PATTERNS.get(code, {}).get(format)
    if pattern is None:
        if format == "month":
            pattern = str(locale.datetime_skeletons["yMMMM"])
        else:
            pattern = str(locale.date_formats[format])
    text = babel_format_date(day, pattern, locale=locale)
    if code in _LOWERCASE_MONTHS:
        for width in ("wide", "abbreviated"):
            name = get_month_names(width, "format", locale)[day.month]
            text = text.replace(name, name.lower())
    return text


def format_number(
    value: float | int | Decimal, language: str | None = None, *, decimals: int | None = None
) -> str:
    """A number with the language's separators: 1,234.5 (en) or 1 234,5 (ru, tg, uz), the
    group separator being a no-break space. ``decimals`` fixes the digits after the separator;
    without it, up to three are shown and trailing zeros are dropped."""
    locale = _locale(language_code(language))
    if decimals is None:
        return format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=locale)


def format_money(value: Money, language: str | None = None) -> str:
    """An amount with its currency in the language's style, through Babel (py-moneyed's
    formatter): "TJS 1,500.50" (en), "1 500,50 TJS" (ru, tg), "2 500 000,00 soʻm" (uz).
    Babel does not apply CLDR's currency spacing, which keeps a symbol of letters apart from
    the digits by a no-break space ("TJS1,500.50" otherwise): it is applied here."""
    # Imported here: py-moneyed builds its table of every currency on import, which the
    # command line's analysis (that writes numbers through this module) does not need.
    from moneyed.l10n import format_money as moneyed_format

    formatted = moneyed_format(value, locale=language_code(language))
    return _LETTERS_AGAINST_DIGITS.sub("\u00a0", formatted)


_LETTERS_AGAINST_DIGITS = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def format_percent(
    value: float | int | Decimal, language: str | None = None, *, decimals: int = 0
) -> str:
    """A share (0.256) as a percentage: "26%" (en, tg, uz) or "26 %" (ru, with a no-break
    space), ``decimals`` digits after the separator ("25,6%" with ``decimals=1``)."""
    locale = _locale(language_code(language))
    pattern = str(locale.percent_formats[None].pattern)
    if decimals > 0:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_decimal(value, format=pattern, locale=locale)


def format_datetime(
    moment: datetime.datetime, language: str | None = None, format: DateFormat = "long"
) -> str:
    """A date and time as the reader writes them: the date as :func:`format_date` writes it
    and the 24-hour time, joined by the language's pattern: "19 April 2021, 17:05",
    "19-aprel 2021, 17:05", "19 апрел 2021 17:05". The time is shown as ``moment`` holds it
    (convert it to local time first, or say which zone it is in)."""
    code = language_code(language)
    locale = _locale(code)
    day = format_date(moment, code, format)
    time = babel_format_time(moment.time(), "short", locale=locale)
    glue = str(locale.datetime_formats["medium" if format == "month" else format])
    return glue.replace("{1}", day).replace("{0}", time)


def format_interval(low: str, high: str, language: str | None = None) -> str:
    """Two numbers already formatted as the bounds of an interval: "[25.6, 30.1]" where the
    decimal separator is a point, "[25,6; 30,1]" where it is a comma (a comma between the
    bounds would read as one more decimal separator, so Russian, Tajik and Uzbek texts
    separate them with a semicolon)."""
    locale = _locale(language_code(language))
    separator = "; " if get_decimal_symbol(locale) == "," else ", "
    return f"[{low}{separator}{high}]"
