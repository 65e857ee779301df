"""Speak to a signed-in person in the language they chose last time; refuse a request larger
than its route takes before reading it; answer 503, not 500, when the database stayed
locked; compress pages but not files that are compressed already."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

from amniyat.core.errors import database_busy, request_too_large
from amniyat.core.http import request_limit


class UserLanguageMiddleware:
    """Copy the session's chosen language into the cookie LocaleMiddleware reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.session.get("_language") if hasattr(request, "session") else None
        if chosen and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = chosen
        return self.get_response(request)


class UploadLimitMiddleware:
    """413 for a request whose body is larger than its route takes (``upload_limit``, else
    ``AMNIYAT_MAX_REQUEST_BYTES``), before a byte of the body is read.

    Django's own limits do not cover files: ``DATA_UPLOAD_MAX_MEMORY_SIZE`` counts only a
    form's other fields, and ``FILE_UPLOAD_MAX_MEMORY_SIZE`` only decides when a file goes to
    a temporary file on disk. Without this, a file of any size is streamed to disk before a
    view can refuse it, and the CSRF check reads the whole body of every POST before the view
    runs: this must stand before ``CsrfViewMiddleware``. The declared ``Content-Length`` is
    all Django ever reads (under WSGI the body is a stream cut off at it; without it there is
    no body), so refusing on it is enough."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # Django reads no body then
        limit = request_limit(view)
        if length > limit:
            return request_too_large(request, limit)
        return None


class DatabaseBusyMiddleware:
    """A request that waited the whole timeout for SQLite's write lock answers 503 with
    ``Retry-After`` instead of failing with a 500. The lock is held by a large import's
    single transaction (a million rows take about twenty seconds), so an ODK Collect
    submission or a saved form can arrive while it is held; PostgreSQL never says this."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError) and "database is locked" in str(exception):
            return database_busy(request)
        return None


# Files that are compressed already: zip archives (XLSX, DOCX, .qdpx, exports with media)
# and images. Compressing them again costs the server about 10 ms per 300 kB for nothing.
COMPRESSED_TYPES = (
    "application/zip",
    "application/vnd.openxmlformats-officedocument.",
    "image/png",
    "image/jpeg",
    "image/webp",
)


class CompressionMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (with its BREACH padding), skipping what is compressed already."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith(COMPRESSED_TYPES):
            return response
        return super().process_response(request, response)
