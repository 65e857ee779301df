"""A signed-in browser's writes to the API need the CSRF token: without it the answer is 403
with the reason, not the 404 that an object the user may not see gets."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.communities.models import CommunityGroup
from tests.api.conftest import group_body

Role = Membership.Role


def _browser(user: Any) -> tuple[Client, str]:
    """A signed-in browser session that checks CSRF, as a real one is checked."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(reverse("accounts:account")).status_code == 200  # sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_a_session_write_without_the_csrf_token_is_403_with_the_reason(
    scene: dict[str, Any],
) -> None:
    client, _token = _browser(scene["facilitator"])
    response = client.post("/api/v1/groups/", group_body(scene), content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF token missing."}
    assert not CommunityGroup.objects.filter(name="New API group").exists()


def test_a_session_write_with_a_wrong_csrf_token_is_403(scene: dict[str, Any]) -> None:
    client, _token = _browser(scene["facilitator"])
    response = client.post(
        "/api/v1/groups/",
        group_body(scene),
        content_type="application/json",
        HTTP_X_CSRFTOKEN="x" * 32,
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed: ")


def test_a_write_with_the_token_is_made(scene: dict[str, Any]) -> None:
    client, token = _browser(scene["lead"])
    group = scene["own_group"]
    path = f"/api/v1/groups/{group.pk}/"
    body = {"name": "Renamed"}
    refused = client.patch(path, body, content_type="application/json")
    assert refused.status_code == 403
    response = client.patch(path, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    group.refresh_from_db()
    assert group.name == "Renamed"


def test_an_object_the_user_may_not_see_is_still_404(scene: dict[str, Any]) -> None:
    client, token = _browser(scene["facilitator"])
    group = scene["other_group"]
    response = client.patch(
        f"/api/v1/groups/{group.pk}/",
        {"name": "Renamed"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 404
    group.refresh_from_db()
    assert group.name == "Other group"
