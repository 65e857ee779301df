"""The drivers area's landing page: what evidence, codebook, maps and priorities the user may
open in this programme."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from amniyat.accounts import policies
from amniyat.accounts.selectors import programme_get
from amniyat.core.http import AuthenticatedRequest
from amniyat.drivers import selectors


@login_required
def drivers_index(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    programme = programme_get(user=request.user, slug=slug)
    user = request.user
    may_read_sources = policies.can(user, "source.view_any", programme)
    may_read_codebook = policies.can(user, "codebook.view", programme)
    return render(
        request,
        "drivers/index.html",
        {
            "programme": programme,
            "tab": "index",
            "source_count": (
                selectors.source_list(user=user, programme=programme).count()
                if may_read_sources
                else None
            ),
            "excerpt_count": (
                selectors.excerpt_list(user=user, programme=programme).count()
                if may_read_sources
                else None
            ),
            "code_count": (
                selectors.code_list(user=user, programme=programme).count()
                if may_read_codebook
                else None
            ),
            "maps": selectors.driver_map_list(user=user, programme=programme)[:12],
            "priority_lists": selectors.priority_list_list(user=user, programme=programme)[:12],
        },
    )
