"""Template filters that write lists, quotes, dates and numbers in the reader's language.

``{% load amniyat_text %}``, then ``{{ day|local_date }}`` ("19-aprel 2021"),
``{{ month|local_date:"month" }}``, ``{{ labels|local_list }}`` ("a, b va c"),
``{{ name|quoted }}``, ``{{ share|local_percent }}`` (a 0–1 share), ``{{ value|local_number:1 }}``.
Thin wrappers: the rules live in :mod:`amniyat.core.text`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django import template
from django.utils import timezone

from amniyat.core import text

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
