"""The API's schema, and its reference page: the OpenAPI schema read into a page of the site
(reference.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from amniyat.api.reference import reference_in, schema_in
from amniyat.core.text import language_code


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (YAML or JSON), the same for every caller: generated once per
    language and process (:func:`schema_in`) instead of on every request."""

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)  # type: ignore[no-untyped-call]
        return Response(
            data=schema_in(language_code(), version),
            headers={
                "Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'  # type: ignore[no-untyped-call]
            },
        )


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
