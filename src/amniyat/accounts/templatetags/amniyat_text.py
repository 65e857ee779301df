"""Template filters that write lists, quotes, dates and numbers in the reader's language.

``{% load amniyat_text %}``, then ``{{ day|local_date }}`` ("19-aprel 2021"),
``{{ month|local_date:"month" }}``, ``{{ labels|local_list }}`` ("a, b va c"),
``{{ name|quoted }}``, ``{{ share|local_percent }}`` (a 0–1 share), ``{{ value|local_number:1 }}``,
``{{ cost|local_money }}`` (django-money's ``Money``),
and content people name in the reader's language: ``{{ group|tr:"name" }}``.
Thin wrappers: the rules live in :mod:`amniyat.core.text`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _

from amniyat.core import text
from amniyat.core.i18n import LANGUAGE_NAMES, Translated

register = template.Library()


@register.filter
def local_date(value: datetime.date | None, format: str = "long") -> str:
    """A date (or an aware datetime, in local time) as the reader writes it; "" for none."""
    if not isinstance(value, datetime.date):
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return text.format_date(value, format=cast(text.DateFormat, format))


@register.filter
def local_list(items: Iterable[Any] | None, style: str = "standard") -> str:
    """Items joined as the reader's language joins them: "a, b and c", "a, b и c"."""
    return text.format_list(items or [], style=cast(text.ListStyle, style))


@register.filter
def quoted(value: Any) -> str:
    """The value in the reader's quotation marks: “…” or «…»."""
    return text.quoted(value)


@register.filter
def local_number(value: float | int | Decimal | None, decimals: int | None = None) -> str:
    """A number with the reader's separators; "" for none."""
    if value is None or value == "":
        return ""
    return text.format_number(value, decimals=None if decimals is None else int(decimals))


@register.filter
def local_percent(value: float | int | Decimal | None, decimals: int = 0) -> str:
    """A share between 0 and 1 as a percentage in the reader's style; "" for none."""
    if value is None or value == "":
        return ""
    return text.format_percent(value, decimals=int(decimals))


@register.filter
def local_percent_points(value: float | int | Decimal | None, decimals: int = 0) -> str:
    """A percentage given as 0–100 (not a share) in the reader's style; "" for none."""
    if value is None or value == "":
        return ""
    return text.format_percent(float(value) / 100, decimals=int(decimals))


@register.filter
def local_money(value: Any) -> str:
    """An amount with its currency as the reader writes it ("1 500,00 TJS"); "" for none."""
    if value is None or value == "":
        return ""
    return text.format_money(value)


@register.filter
def tr(value: Any, field: str = "") -> str:
    """Content in the reader's language: ``{{ group|tr:"name" }}`` for a translatable object
    (or a place or code), ``{{ row.name|tr }}`` for a text already translated. Where there is
    no translation yet the text is shown as written, marked with its language (``lang`` for
    screen readers, a small badge for the eye)."""
    if value is None or value == "":
        return ""
    if field:
        value = value.translated(field)
    if not isinstance(value, Translated) or not value.fallback:
        return conditional_escape(value)
    return format_html(
        '<span lang="{}" class="untranslated" data-language="{}" title="{}">{}</span>',
        value.language,
        value.language.upper(),
        _("Not translated yet: shown as written, in %(language)s.")
        % {"language": LANGUAGE_NAMES.get(value.language, value.language)},
        str(value),
    )


@register.filter
def tr_text(value: Any, field: str) -> str:
    """The plain text of ``tr``, for attributes, titles and options."""
    if value is None or value == "":
        return ""
    return str(value.translated(field))


@register.filter
def verbose_name(obj: Any) -> str:
    """What kind of thing ``obj`` is, in the reader's language ("driver map")."""
    return str(obj._meta.verbose_name) if hasattr(obj, "_meta") else ""
