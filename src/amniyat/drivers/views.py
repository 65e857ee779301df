"""The drivers area's landing page: what evidence, codebook, maps and priorities the user may
open in this programme, each counted in full, the first maps and priority lists named."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render

from amniyat.accounts import policies
from amniyat.accounts.http import AuthenticatedRequest
from amniyat.accounts.selectors import programme_get
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.maps import selectors as maps_selectors
from amniyat.drivers.priorities import selectors as priorities_selectors

OVERVIEW_LISTED = 12  # maps and priority lists named on the page; all are counted
TRANSLATABLE = ("content_language", "translations")
MAP_COLUMNS = (
    "title",
    "perspective",
    "published_at",
    *TRANSLATABLE,
    *(f"place__name_{language}" for language in CONTENT_LANGUAGES),
)
LIST_COLUMNS = (
    "title",
    "agreed_on",
    *TRANSLATABLE,
    "group__name",
    *(f"group__{column}" for column in TRANSLATABLE),
)


def _count(listed: list[Any], queryset: QuerySet[Any]) -> int:
    """How many there are: those listed, when the list is not full."""
    return len(listed) if len(listed) < OVERVIEW_LISTED else queryset.count()


@login_required
def drivers_index(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    user = request.user
    may_read_sources = policies.can(user, "source.view_any", programme)
    may_read_codebook = policies.can(user, "codebook.view", programme)
    driver_maps = maps_selectors.driver_map_list(user=user, programme=programme)
    priority_lists = priorities_selectors.priority_list_list(user=user, programme=programme)
    # What the page names of the first maps and lists (counted without them).
    listed_maps = list(
        driver_maps.select_related(None)
        .select_related("place")
        .only(*MAP_COLUMNS)[:OVERVIEW_LISTED]
    )
    listed_lists = list(
        priority_lists.select_related(None)
        .select_related("group")
        .only(*LIST_COLUMNS)[:OVERVIEW_LISTED]
    )
    return render(
        request,
        "drivers/index.html",
        {
            "programme": programme,
            "tab": "index",
            "source_count": (
                coding_selectors.source_list(user=user, programme=programme).count()
                if may_read_sources
                else None
            ),
            "excerpt_count": (
                coding_selectors.excerpt_list(user=user, programme=programme).count()
                if may_read_sources
                else None
            ),
            "code_count": (
                codebook_selectors.code_list(user=user, programme=programme).count()
                if may_read_codebook
                else None
            ),
            "map_count": _count(listed_maps, driver_maps),
            "maps": listed_maps,
            "priority_list_count": _count(listed_lists, priority_lists),
            "priority_lists": listed_lists,
        },
    )
