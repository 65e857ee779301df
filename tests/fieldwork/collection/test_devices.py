"""Collection devices: created with a password shown once and a QR code for ODK Collect,
revoked, listed for those who manage them, and nothing of another partner or programme."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.collection import services
from amniyat.fieldwork.collection.openrosa import qr
from amniyat.fieldwork.models import DeviceUser
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of
from tests.fieldwork.collection.openrosa_helpers import PASSWORD_HASHERS, make_form, md5

Role = Membership.Role


@pytest.fixture(autouse=True)
def _fast_hashes(settings: Any) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory(name="Safer Vakhsh")
    partner = OrganisationFactory(name="Partner CSO")
    programme.partners.add(partner)
    form, _version = make_form(programme)
    return {
        "programme": programme,
        "partner": partner,
        "assessment": form.assessment,
        "lead": member_of(programme, Role.LEAD),
        "facilitator": member_of(programme, Role.FACILITATOR, organisation=partner),
        "viewer": member_of(programme, Role.VIEWER),
    }


def _create(scene: dict[str, Any], **values: Any) -> tuple[DeviceUser, str]:
    arguments = {
        "acting_user": scene["lead"],
        "programme": scene["programme"],
        "organisation": scene["programme"].lead_organisation,
        "assessments": [scene["assessment"]],
        **values,
    }
    return services.device_create(**arguments)


# ----------------------------------------------------------------------------------------
# Services


def test_a_new_device_gets_a_password_kept_only_as_hashes(scene: dict[str, Any]) -> None:
    device, password = _create(scene, username="vakhsh-01", label="enumerator 1")
    assert len(password) >= 16
    device.refresh_from_db()
    assert password not in (device.password_hash, device.digest_ha1)
    assert check_password(password, device.password_hash)
    assert device.digest_ha1 == md5(f"vakhsh-01:Amniyat:{password}")
    assert list(device.assessments.all()) == [scene["assessment"]]
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.CREATED, object_type="fieldwork.deviceuser")
    assert event.actor == scene["lead"]
    assert password not in json.dumps(event.details)


def test_a_user_name_is_made_up_when_none_is_given(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)
    assert device.username.startswith(scene["programme"].slug)


@pytest.mark.parametrize("username", ["a b", "x", 'quo"te', "-dash-first"])
def test_user_names_that_would_break_a_sign_in_are_refused(
    scene: dict[str, Any], username: str
) -> None:
    with pytest.raises(ValidationError) as error:
        _create(scene, username=username)
    assert "username" in error.value.error_dict
    assert not DeviceUser.objects.exists()


def test_a_user_name_is_taken_once(scene: dict[str, Any]) -> None:
    _create(scene, username="vakhsh-01")
    with pytest.raises(ValidationError, match="already taken"):
        _create(scene, username="vakhsh-01")


def test_a_facilitator_creates_devices_for_their_own_organisation_only(
    scene: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError, match="own organisation"):
        _create(scene, acting_user=scene["facilitator"])
    device, _password = _create(
        scene, acting_user=scene["facilitator"], organisation=scene["partner"]
    )
    assert device.organisation == scene["partner"]


def test_assessments_of_another_programme_are_refused(scene: dict[str, Any]) -> None:
    other_form, _version = make_form(ProgrammeFactory())
    with pytest.raises(ValidationError, match="assessments of this programme"):
        _create(scene, assessments=[other_form.assessment])


def test_a_viewer_may_not_create_or_revoke(scene: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        _create(scene, acting_user=scene["viewer"])
    device, _password = _create(scene)
    with pytest.raises(PermissionDenied):
        services.device_revoke(acting_user=scene["viewer"], device=device)


def test_revoking_is_audited_and_final(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)
    services.device_revoke(acting_user=scene["lead"], device=device)
    device.refresh_from_db()
    assert not device.is_active
    assert AuditEvent.objects.filter(
        verb=AuditEvent.Verb.UPDATED, object_id=str(device.pk), details__revoked=True
    ).exists()


def test_a_facilitator_may_not_revoke_another_partners_device(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)  # the lead organisation's
    with pytest.raises(PermissionDenied):
        services.device_revoke(acting_user=scene["facilitator"], device=device)
    device.refresh_from_db()
    assert device.is_active


# ----------------------------------------------------------------------------------------
# The QR code


def test_the_qr_payload_is_what_odk_collect_reads() -> None:
    payload = qr.collect_settings(
        server_url="https://amniyat.example/collect/safer-vakhsh",
        username="vakhsh-01",
        password="s3cret",
        project="Safer Vakhsh",
    )
    # ODK Collect: base64, then zlib, then JSON.
    settings = json.loads(zlib.decompress(base64.b64decode(payload)))
    assert settings == {
        "general": {
            "server_url": "https://amniyat.example/collect/safer-vakhsh",
            "username": "vakhsh-01",
            "password": "s3cret",
        },
        "admin": {},
        "project": {"name": "Safer Vakhsh"},
    }
    image = qr.image(payload, title="settings")
    assert image.startswith("data:image/svg+xml") and "%3Cpath" in image


# ----------------------------------------------------------------------------------------
# Pages


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_the_lead_creates_a_device_and_sees_its_password_once(scene: dict[str, Any]) -> None:
    client = _client(scene["lead"])
    slug = scene["programme"].slug
    form_page = client.get(f"/p/{slug}/devices/new/")
    assert form_page.status_code == 200
    response = client.post(
        f"/p/{slug}/devices/new/",
        {
            "label": "enumerator 7",
            "username": "vakhsh-07",
            "organisation": scene["programme"].lead_organisation.pk,
            "assessments": [scene["assessment"].pk],
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    device = DeviceUser.objects.get(username="vakhsh-07")
    password = response.context["password"]
    assert check_password(password, device.password_hash)
    body = response.content.decode()
    assert password in body
    assert '<img src="data:image/svg+xml' in body
    assert f"http://testserver/collect/{slug}" in body
    # The list never shows it again.
    listing = client.get(f"/p/{slug}/devices/")
    assert "vakhsh-07" in listing.content.decode()
    assert password not in listing.content.decode()


def test_a_bad_user_name_is_shown_on_the_form(scene: dict[str, Any]) -> None:
    client = _client(scene["lead"])
    response = client.post(
        f"/p/{scene['programme'].slug}/devices/new/",
        {"username": "a b", "organisation": scene["programme"].lead_organisation.pk},
    )
    assert response.status_code == 200
    assert "letters, digits" in response.content.decode()
    assert not DeviceUser.objects.exists()


def test_the_list_shows_a_facilitator_their_organisations_devices_only(
    scene: dict[str, Any],
) -> None:
    _create(scene, username="lead-device")
    _create(
        scene, acting_user=scene["facilitator"], organisation=scene["partner"], username="cso-dev"
    )
    body = _client(scene["facilitator"]).get(f"/p/{scene['programme'].slug}/devices/")
    text = body.content.decode()
    assert "cso-dev" in text
    assert "lead-device" not in text


def test_viewers_and_strangers_get_404(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)
    slug = scene["programme"].slug
    stranger = member_of(ProgrammeFactory(), Role.LEAD)
    for user in (scene["viewer"], stranger):
        client = _client(user)
        assert client.get(f"/p/{slug}/devices/").status_code == 404
        assert client.get(f"/p/{slug}/devices/new/").status_code == 404
        assert client.post(f"/p/{slug}/devices/{device.pk}/revoke/").status_code == 404
    device.refresh_from_db()
    assert device.is_active


def test_revoking_from_the_page(scene: dict[str, Any]) -> None:
    device, _password = _create(scene, username="vakhsh-09")
    client = _client(scene["lead"])
    url = f"/p/{scene['programme'].slug}/devices/{device.pk}/revoke/"
    assert "Revoke vakhsh-09?" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "vakhsh-09 was revoked" in response.content.decode()
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_a_facilitator_cannot_reach_another_partners_device(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)
    url = f"/p/{scene['programme'].slug}/devices/{device.pk}/revoke/"
    assert _client(scene["facilitator"]).post(url).status_code == 404
    device.refresh_from_db()
    assert device.is_active


# ----------------------------------------------------------------------------------------
# API


def test_the_api_lists_devices_without_secrets(scene: dict[str, Any]) -> None:
    device, password = _create(scene, username="vakhsh-01")
    response = _client(scene["lead"]).get("/api/v1/devices/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["username"] for row in rows] == ["vakhsh-01"]
    assert rows[0]["programme"] == scene["programme"].slug
    assert rows[0]["assessments"] == [scene["assessment"].pk]
    assert rows[0]["is_active"] is True
    text = response.content.decode()
    assert password not in text
    assert not re.search(r"password|digest|ha1", text)
    assert _client(scene["lead"]).get(f"/api/v1/devices/{device.pk}/").status_code == 200


def test_the_api_hides_devices_from_those_who_may_not_manage_them(scene: dict[str, Any]) -> None:
    device, _password = _create(scene)
    stranger = member_of(ProgrammeFactory(), Role.LEAD)
    for user in (scene["viewer"], scene["facilitator"], stranger):
        client = _client(user)
        assert client.get("/api/v1/devices/").json()["results"] == []
        assert client.get(f"/api/v1/devices/{device.pk}/").status_code == 404
    response = _client(stranger).get(f"/api/v1/devices/?programme={scene['programme'].slug}")
    assert response.status_code == 404


def test_the_api_is_read_only(scene: dict[str, Any]) -> None:
    response = _client(scene["lead"]).post(
        "/api/v1/devices/", {"username": "x"}, content_type="application/json"
    )
    assert response.status_code == 405
