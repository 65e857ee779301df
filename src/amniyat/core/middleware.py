"""Speak to a signed-in person in the language they chose last time; answer 503, not 500,
when the database stayed locked."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse

from amniyat.core.errors import database_busy


class UserLanguageMiddleware:
    """Copy the session's chosen language into the cookie LocaleMiddleware reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.session.get("_language") if hasattr(request, "session") else None
        if chosen and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = chosen
        return self.get_response(request)


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
