"""Error pages in the person's language, and JSON for the API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _respond(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": text}, status=status)
    return render(request, "error.html", {"title": title, "text": text}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(request, 403, _("Not allowed"), _("You may not do this."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _respond(
        request,
        404,
        _("Not found"),
        _("There is nothing here, or you do not have access to it."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _respond(
        request, 500, _("Something went wrong"), _("The error has been logged. Please try again.")
    )
