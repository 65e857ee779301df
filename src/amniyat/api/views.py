"""The API's reference page: the OpenAPI schema read into a page of the site (reference.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from amniyat.api.reference import reference_in
from amniyat.core.text import language_code


@login_required
def reference(request: HttpRequest) -> HttpResponse:
    """Every endpoint, in the reader's language, with links to the schema for tools. The
    schema needs a signed-in caller, so the page does too."""
    return render(
        request,
        "api/reference.html",
        {
            "reference": reference_in(language_code()),
            "account_url": reverse("accounts:account"),
        },
    )
