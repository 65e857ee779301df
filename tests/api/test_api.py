"""The REST API: personal tokens, the same scoping as the pages, clear 400s, the schema."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from amniyat.accounts.models import Membership
from amniyat.accounts.services import token_create, token_revoke
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import CommunityGroup, GroupMember
from amniyat.places.models import Place
from tests.api.conftest import group_body
from tests.factories import (
    ProgrammeFactory,
)

Role = Membership.Role


def _bearer(user: Any) -> tuple[Client, str]:
    _token, secret = token_create(user=user, name="script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), secret


def test_a_personal_token_reads_what_its_owner_may_read(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["facilitator"])
    response = client.get("/api/v1/groups/")
    assert response.status_code == 200
    assert [g["name"] for g in response.json()["results"]] == ["Own group"]
    assert client.get(f"/api/v1/groups/{scene['own_group'].pk}/").status_code == 200


def test_a_token_carries_no_more_rights_than_its_owner(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["facilitator"])
    response = client.get(f"/api/v1/groups/{scene['other_group'].pk}/")
    assert response.status_code == 404
    assert "Other group" not in response.content.decode()
    patched = client.patch(
        f"/api/v1/groups/{scene['other_group'].pk}/",
        {"description": "hacked"},
        content_type="application/json",
    )
    assert patched.status_code == 404
    assert CommunityGroup.objects.get(pk=scene["other_group"].pk).description == ""


def test_a_token_stops_working_when_its_owner_is_deactivated(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["lead"])
    assert client.get("/api/v1/groups/").status_code == 200
    scene["lead"].is_active = False
    scene["lead"].save(update_fields=["is_active"])
    response = client.get("/api/v1/groups/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid, revoked or expired token."}


def test_a_revoked_token_stops_working(scene: dict[str, Any]) -> None:
    token, secret = token_create(user=scene["lead"], name="laptop")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/programmes/").status_code == 200
    token_revoke(user=scene["lead"], token=token)
    assert client.get("/api/v1/programmes/").status_code == 401


def test_an_expired_token_does_not_work(scene: dict[str, Any]) -> None:
    _token, secret = token_create(
        user=scene["lead"],
        name="old",
        expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/").status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer amn_not-a-real-token", "Bearer", "Bearer a b", "Token amn_nope"]
)
def test_a_bad_token_is_401(scene: dict[str, Any], header: str) -> None:
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/groups/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/groups/", "/api/v1/members/"])
def test_anonymous_gets_401(db: None, path: str) -> None:
    assert Client().get(path).status_code == 401


def test_a_token_records_when_it_was_last_used(scene: dict[str, Any]) -> None:
    token, secret = token_create(user=scene["lead"], name="laptop")
    assert token.last_used_at is None
    Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_creating_a_group_through_the_api(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["facilitator"])
    response = client.post("/api/v1/groups/", group_body(scene), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["programme"], body["name"], body["active_members"]) == (
        "tj-csp",
        "New API group",
        0,
    )
    group = CommunityGroup.objects.get(name="New API group")
    assert AuditEvent.objects.filter(object_id=str(group.pk), verb="created").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field may not be blank."),
        ({"name": "x" * 10_000}, "name", "Ensure this field has no more than 200 characters."),
        ({"kind": "secret-society"}, "kind", '"secret-society" is not a valid choice.'),
        ({"established_on": "2021-13-45"}, "established_on", "Date has wrong format."),
        ({"place": "abc"}, "place", "Incorrect type. Expected pk value, received str."),
        (
            {"facilitating_organisation": None},
            "facilitating_organisation",
            "This field may not be null.",
        ),
    ],
)
def test_bad_input_is_400_with_a_message_for_the_field(
    scene: dict[str, Any], overrides: dict[str, Any], field: str, message: str
) -> None:
    client, _secret = _bearer(scene["lead"])
    before = CommunityGroup.objects.count()
    response = client.post(
        "/api/v1/groups/", group_body(scene, **overrides), content_type="application/json"
    )
    assert response.status_code == 400
    assert any(message in text for text in response.json()[field]), response.json()
    assert CommunityGroup.objects.count() == before


def test_a_group_in_another_programmes_place_is_400(scene: dict[str, Any]) -> None:
    foreign = ProgrammeFactory(districts=[Place.objects.get(code="UZ-JI-JIZ")])
    place = Place.objects.create(
        level="community",
        parent=Place.objects.get(code="UZ-JI-JIZ"),
        programme=foreign,
        name_en="Elsewhere",
    )
    client, _secret = _bearer(scene["lead"])
    response = client.post(
        "/api/v1/groups/", group_body(scene, place=place.pk), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "place": ["Choose a district or community that this programme works in."]
    }


def test_closing_before_establishing_is_400_not_500(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["lead"])
    response = client.post(
        "/api/v1/groups/",
        group_body(scene, established_on="2022-05-01", closed_on="2022-04-01"),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not CommunityGroup.objects.filter(name="New API group").exists()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "just a string",
        {"programme": "no-such-programme"},
        {"programme": ["tj-csp"]},
        {"programme": "²"},
    ],
    ids=["list", "string", "unknown-programme", "list-programme", "superscript-digit"],
)
def test_nonsense_bodies_never_give_500(scene: dict[str, Any], body: Any) -> None:
    client, _secret = _bearer(scene["lead"])
    data = body if not isinstance(body, dict) else group_body(scene, **body)
    response = client.post("/api/v1/groups/", data, content_type="application/json")
    assert response.status_code in (400, 404)
    assert not CommunityGroup.objects.filter(name="New API group").exists()


def test_a_viewer_cannot_create_groups(scene: dict[str, Any]) -> None:
    client, _secret = _bearer(scene["viewer"])
    response = client.post("/api/v1/groups/", group_body(scene), content_type="application/json")
    assert response.status_code == 404
    assert not CommunityGroup.objects.filter(name="New API group").exists()


def test_members_hide_names_from_those_who_may_not_see_them(scene: dict[str, Any]) -> None:
    facilitator, _ = _bearer(scene["facilitator"])
    rows = facilitator.get(f"/api/v1/members/?group={scene['own_group'].pk}").json()["results"]
    assert [(r["code"], r["display_name"]) for r in rows] == [(scene["member"].code, None)]
    assert not AuditEvent.objects.filter(verb="viewed_personal").exists()

    lead, _ = _bearer(scene["lead"])
    rows = lead.get(f"/api/v1/members/?group={scene['own_group'].pk}").json()["results"]
    assert [r["display_name"] for r in rows] == ["Malika Saidova"]
    event = AuditEvent.objects.get(verb="viewed_personal")
    assert event.details == {"members": [scene["member"].pk]}
    assert "Malika" not in str(event.details) + event.object_label


def test_adding_a_member_through_the_api(scene: dict[str, Any]) -> None:
    client, _ = _bearer(scene["facilitator"])
    response = client.post(
        "/api/v1/members/",
        {
            "group": scene["own_group"].pk,
            "sex": "male",
            "age_band": "18_24",
            "joined_on": "2022-02-01",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["display_name"] is None
    assert GroupMember.objects.filter(group=scene["own_group"]).count() == 2


def test_a_member_cannot_leave_before_joining_through_the_api(scene: dict[str, Any]) -> None:
    client, _ = _bearer(scene["lead"])
    response = client.patch(
        f"/api/v1/members/{scene['member'].pk}/",
        {"left_on": "2020-01-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"left_on": ["A member cannot leave before joining."]}
    scene["member"].refresh_from_db()
    assert scene["member"].left_on is None


def test_a_member_cannot_move_between_groups(scene: dict[str, Any]) -> None:
    client, _ = _bearer(scene["lead"])
    response = client.patch(
        f"/api/v1/members/{scene['member'].pk}/",
        {"group": scene["other_group"].pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    scene["member"].refresh_from_db()
    assert scene["member"].group == scene["own_group"]


@pytest.mark.parametrize(
    "query",
    [
        "?group=²",
        "?group=abc",
        "?parent=²",
        "?programme=²",
        "?programme=%00",
        "?limit=abc&offset=-5",
    ],
)
def test_garbage_filters_never_give_500(scene: dict[str, Any], query: str) -> None:
    client, _ = _bearer(scene["lead"])
    for path in ("/api/v1/groups/", "/api/v1/members/", "/api/v1/places/"):
        response = client.get(path + query)
        assert response.status_code in (200, 400, 404), (path + query, response.status_code)


def test_the_schema_renders(scene: dict[str, Any]) -> None:
    client, _ = _bearer(scene["lead"])
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Amniyat API"
    assert "/api/v1/groups/" in schema["paths"]
    assert "personalToken" in schema["components"]["securitySchemes"]


def test_the_schema_is_written_once_per_language_and_format(scene: dict[str, Any]) -> None:
    """The written schema is kept per language and format: the same bytes for every caller,
    whatever ``?version=`` or media-type parameters a caller adds (each new value would
    otherwise generate and keep another copy)."""
    import yaml

    from amniyat.api import views

    client, _ = _bearer(scene["lead"])
    yaml_text = client.get("/api/schema/")
    assert yaml_text.status_code == 200
    assert yaml_text["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(yaml_text.content)["info"]["title"] == "Amniyat API"
    json_text = client.get("/api/schema/?format=json")
    assert json_text.json()["paths"] == yaml.safe_load(yaml_text.content)["paths"]
    json_by_accept = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert json_by_accept.json()["paths"] == json_text.json()["paths"]
    kept = len(views._WRITTEN)
    for query in ("?version=2", "?version=abc", "?format=json&version=x"):
        again = client.get("/api/schema/" + query)
        assert again.status_code == 200
        assert again.content in (yaml_text.content, json_text.content), query
    indented = client.get("/api/schema/", HTTP_ACCEPT="application/json; indent=9")
    assert indented.content == json_by_accept.content
    assert len(views._WRITTEN) == kept
