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


def request_too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413: the request is larger than this page or API endpoint takes (``limit`` bytes). It
    is answered before its body is read, so the file's name is not known yet."""
    text = _(
        "The upload is too large: at most {limit} MB can be sent here. Nothing was stored."
    ).format(limit=-(-limit // 2**20))
    if request.path.startswith("/collect/"):
        from amniyat.fieldwork.openrosa import responses

        return responses.message(request, text, status=413, nature="error")
    return _respond(request, 413, _("Too large"), text)


def database_busy(request: HttpRequest) -> HttpResponse:
    """503, to send again later: the database stayed locked for the whole wait (on SQLite, by
    a large import's transaction). ODK Collect keeps the form and sends it again."""
    text = _("The server is busy storing a large import. Nothing was lost: try again in a minute.")
    if request.path.startswith("/collect/"):
        from amniyat.fieldwork.openrosa import responses

        response = responses.message(request, text, status=503, nature="error")
    else:
        response = _respond(request, 503, _("Busy"), text)
    response["Retry-After"] = "60"
    return response
