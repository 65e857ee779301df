"""Error pages in the person's language, and JSON for the API."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

# A message in the format of a protocol that has its own (OpenRosa, for ODK Collect): the app
# that serves it registers it for its path, so that the ground knows no app above it.
MessageFormat = Callable[[HttpRequest, str, int], HttpResponse]
_message_formats: dict[str, MessageFormat] = {}


def register_message_format(path_prefix: str, respond: MessageFormat) -> None:
    """Answer the 413 and 503 of requests under ``path_prefix`` with ``respond(request, text,
    status)``, so that the client shows the message to the person using it."""
    _message_formats[path_prefix] = respond


def _protocol_message(request: HttpRequest, text: str, status: int) -> HttpResponse | None:
    for prefix, respond in _message_formats.items():
        if request.path.startswith(prefix):
            return respond(request, text, status)
    return None


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
    return _protocol_message(request, text, 413) or _respond(request, 413, _("Too large"), text)


def database_busy(request: HttpRequest) -> HttpResponse:
    """503, to send again later: the database stayed locked for the whole wait (on SQLite, by
    a large import's transaction). ODK Collect keeps the form and sends it again."""
    text = _("The server is busy storing a large import. Nothing was lost: try again in a minute.")
    response = _protocol_message(request, text, 503) or _respond(request, 503, _("Busy"), text)
    response["Retry-After"] = "60"
    return response
