"""A page of a long list on an HTML page: the groups, places and notes of a national programme
run to hundreds, and a page that drew them all would take as long as it has rows. Lists that
are short (every list of the demo) fit on one page and show no links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.http import urlencode


def page_of(request: HttpRequest, items: Sequence[Any] | Any, *, size: int) -> Page[Any]:
    """The page of ``items`` (a list or a queryset) that ``?page=`` names (the first for none
    or one that is not a number, the last for one past it), carrying the rest of the query
    string for its links (``page.query``: ``kind=cswg&`` or empty)."""
    page = Paginator(items, size).get_page(request.GET.get("page"))
    others = [
        (key, value) for key in request.GET if key != "page" for value in request.GET.getlist(key)
    ]
    page.query = urlencode(others) + "&" if others else ""  # type: ignore[attr-defined]
    return page
