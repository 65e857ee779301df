"""The API's schema, and its reference page: the OpenAPI schema read into a page of the site
(reference.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from amniyat.api.reference import reference_in, schema_in
from amniyat.core.text import language_code


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (YAML or JSON), the same for every caller: generated once per
    language and process (:func:`schema_in`), and written out once per language, version and
    format (:func:`_schema_text`: writing the YAML took ~25 ms a request, longer than
    generating it from the cache), instead of on every request."""

    def _get_schema_response(self, request: Request) -> HttpResponse:
        # The API has one version (no versioning class): a caller's ``?version=`` is not
        # read, or every new value would generate and keep another copy of the schema.
        version = self.api_version or request.version
        renderer = request.accepted_renderer
        # The renderer's own media type, not the caller's (its parameters, ``indent=`` and
        # the like, would make a new copy for every variant anyone sends).
        media_type = renderer.media_type
        response = HttpResponse(
            _schema_text(language_code(), version, type(renderer), media_type),
            content_type=f"{media_type}; charset={renderer.charset}"
            if renderer.charset
            else media_type,
        )
        response["Content-Disposition"] = (
            f'inline; filename="{self._get_filename(request, version)}"'  # type: ignore[no-untyped-call]
        )
        return response


_WRITTEN: dict[tuple[str, str | None, str, str], bytes] = {}


def _schema_text(
    language: str, version: str | None, renderer: type[BaseRenderer], media_type: str
) -> bytes:
    """The schema written by ``renderer``, once per language, version and format and process;
    the same for every caller (see :func:`schema_in`)."""
    key = (language, version, f"{renderer.__module__}.{renderer.__qualname__}", media_type)
    if key not in _WRITTEN:
        _WRITTEN[key] = renderer().render(schema_in(language, version), media_type, {})
    return _WRITTEN[key]


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
