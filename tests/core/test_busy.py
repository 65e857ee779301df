"""A request that waited the whole timeout for SQLite's write lock (held by a large import's
transaction) answers 503 with Retry-After, in the language of the place it came from: the
OpenRosa envelope for ODK Collect, a page for people, JSON for the API. Never a 500."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

from amniyat import urls


def locked(request: HttpRequest, **kwargs: str) -> HttpResponse:
    raise OperationalError("database is locked")


def other_failure(request: HttpRequest) -> HttpResponse:
    raise OperationalError("no such table: nowhere")


urlpatterns = [
    path("collect/<slug:slug>/submission", locked),
    path("api/v1/things/", locked),
    path("p/<slug:slug>/", locked),
    path("broken/", other_failure),
    *urls.urlpatterns,  # the pages' links
]


@override_settings(ROOT_URLCONF=__name__)
def test_odk_collect_is_told_to_send_again_later() -> None:
    response = Client().post("/collect/tj/submission")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response["X-OpenRosa-Version"] == "1.0"
    body = response.content.decode()
    assert "<OpenRosaResponse" in body and "busy storing a large import" in body


@override_settings(ROOT_URLCONF=__name__)
def test_people_and_the_api_get_a_message_in_their_language() -> None:
    page = Client().get("/p/tj/", HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 503
    assert page["Retry-After"] == "60"
    assert "импорт" in page.content.decode()
    api = Client().get("/api/v1/things/")
    assert api.status_code == 503
    assert "busy storing a large import" in api.json()["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_other_database_errors_are_not_passed_off_as_busy() -> None:
    client = Client(raise_request_exception=False)
    assert client.get("/broken/").status_code == 500
