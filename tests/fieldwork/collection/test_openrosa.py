"""The OpenRosa server as ODK Collect sees it: Digest handshake, form list, form download,
manifest, submission (HEAD and POST), duplicates, conflicts, bad XML, encrypted
submissions, media, revoked devices, programme isolation and 50 clients at once."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from defusedxml.ElementTree import fromstring
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.http import parse_http_date

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.collection import services
from amniyat.fieldwork.collection.openrosa import instance
from amniyat.fieldwork.models import Attachment, DeviceUser, Submission
from amniyat.fieldwork.submissions.selectors import submissions_visible
from amniyat.places.services import partner_area_assign
from tests.factories import (
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)
from tests.fieldwork.collection.openrosa_helpers import (
    FORM_ID,
    PASSWORD_HASHERS,
    SCHEMA,
    VERSION,
    XFORM,
    Collect,
    digest_authorization,
    make_form,
    md5,
    submission_xml,
)

Role = Membership.Role
LIST_NS = "{http://openrosa.org/xforms/xformsList}"
RESPONSE_NS = "{http://openrosa.org/http/response}"
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _scene(username: str = "vakhsh-phone-1") -> dict[str, Any]:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    form, version = make_form(programme)
    device, password = services.device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username=username,
        label="enumerator 1",
    )
    return {
        "programme": programme,
        "lead": lead,
        "form": form,
        "version": version,
        "device": device,
        "password": password,
        "collect": Collect(device.username, password),
        "base": f"/collect/{programme.slug}",
    }


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    return _scene()


def _openrosa_headers(response: Any) -> None:
    assert response["X-OpenRosa-Version"] == "1.0"
    assert parse_http_date(response["Date"]) > 0


def _message(response: Any) -> str:
    root = fromstring(response.content)
    assert root.tag == f"{RESPONSE_NS}OpenRosaResponse"
    return str(root.find(f"{RESPONSE_NS}message").text)


# ----------------------------------------------------------------------------------------
# Authentication


def test_without_credentials_the_answer_is_a_digest_challenge(scene: dict[str, Any]) -> None:
    response = Client().get(f"{scene['base']}/formList")
    assert response.status_code == 401
    _openrosa_headers(response)
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Digest realm="Amniyat", qop="auth", algorithm=MD5, nonce="')
    assert "Basic" not in challenge  # not offered over plain HTTP
    # The first half of a handshake is not a failed sign-in.
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_IN_FAILED).exists()


def test_digest_handshake_signs_the_device_in(scene: dict[str, Any]) -> None:
    response = scene["collect"].get(f"{scene['base']}/formList")
    assert response.status_code == 200
    _openrosa_headers(response)
    scene["device"].refresh_from_db()
    assert scene["device"].last_seen_at is not None


def test_a_captured_digest_answer_cannot_be_replayed(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/formList"
    captured = scene["collect"].authorization("GET", path)
    assert Client().get(path, HTTP_AUTHORIZATION=captured).status_code == 200
    replayed = Client().get(path, HTTP_AUTHORIZATION=captured)
    assert replayed.status_code == 401
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN_FAILED)
    assert event.details["reason"] == "digest_replayed"
    # The same nonce with the next request count is an honest client's next request.
    again = scene["collect"].authorization("GET", path)
    assert Client().get(path, HTTP_AUTHORIZATION=again).status_code == 200


def _post(path: str, xml: bytes, authorization: str) -> Any:
    upload = SimpleUploadedFile("submission.xml", xml, "text/xml")
    return Client().post(path, {"xml_submission_file": upload}, HTTP_AUTHORIZATION=authorization)


@pytest.mark.parametrize(
    ("xml", "first_status"),
    [
        (submission_xml(), 201),  # stored: the answer recorded in the same transaction
        (submission_xml(age="not a number"), 400),  # refused: recorded alone
    ],
)
def test_a_captured_submission_cannot_be_replayed(
    scene: dict[str, Any], xml: bytes, first_status: int
) -> None:
    path = f"{scene['base']}/submission"
    captured = scene["collect"].authorization("POST", path)
    assert _post(path, xml, captured).status_code == first_status
    replayed = _post(path, xml, captured)
    assert replayed.status_code == 401
    assert "Digest" in replayed["WWW-Authenticate"]
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN_FAILED)
    assert event.details["reason"] == "digest_replayed"
    assert Submission.objects.count() == (1 if first_status == 201 else 0)


def test_a_replay_of_a_resend_or_of_a_split_upload_is_refused(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/submission"
    assert scene["collect"].submit(path, submission_xml()).status_code == 201
    resend = scene["collect"].authorization("POST", path)
    assert _post(path, submission_xml(), resend).status_code == 202
    assert _post(path, submission_xml(), resend).status_code == 401
    split = scene["collect"].authorization("POST", path)
    files = {"xml_submission_file": SimpleUploadedFile("s.xml", submission_xml(), "text/xml")}
    photo = {"b.jpg": SimpleUploadedFile("b.jpg", b"b", "image/jpeg")}
    response = Client().post(path, {**files, **photo}, HTTP_AUTHORIZATION=split)
    assert response.status_code == 201
    files = {"xml_submission_file": SimpleUploadedFile("s.xml", submission_xml(), "text/xml")}
    photo = {"c.jpg": SimpleUploadedFile("c.jpg", b"c", "image/jpeg")}
    replayed = Client().post(path, {**files, **photo}, HTTP_AUTHORIZATION=split)
    assert replayed.status_code == 401
    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["b.jpg"]


def test_a_submission_records_its_digest_answer_in_the_transaction_that_stores_it(
    scene: dict[str, Any],
) -> None:
    path = f"{scene['base']}/submission"
    authorization = scene["collect"].authorization("POST", path)
    with CaptureQueriesContext(connection) as captured:
        assert _post(path, submission_xml(), authorization).status_code == 201
    statements = [q["sql"].split()[0:3] for q in captured.captured_queries]
    writes = [
        " ".join(words)
        for words in statements
        if words[0] in ("INSERT", "SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    ]
    # One transaction (a savepoint inside the test's): the answer, then the submission.
    nonce = writes.index('INSERT INTO "fieldwork_digestnonceuse"')
    assert writes[nonce - 1].startswith("SAVEPOINT")
    assert writes[nonce + 1] == 'INSERT INTO "fieldwork_submission"'
    assert len([w for w in writes if w.startswith("SAVEPOINT")]) == 1


def test_a_wrong_password_is_refused_and_audited(scene: dict[str, Any]) -> None:
    collect = Collect(scene["device"].username, "not the password")
    response = collect.get(f"{scene['base']}/formList")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Digest ")
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN_FAILED)
    assert event.details["reason"] == "wrong_password"
    assert event.programme == scene["programme"]
    assert event.actor_label == "device vakhsh-phone-1"


def test_a_digest_for_another_address_is_refused(scene: dict[str, Any]) -> None:
    collect = scene["collect"]
    path = f"{scene['base']}/formList"
    auth = digest_authorization(
        collect.challenge(path),
        method="GET",
        uri=f"{scene['base']}/submission",
        username=collect.username,
        password=collect.password,
    )
    assert collect.client.get(path, HTTP_AUTHORIZATION=auth).status_code == 401


def test_an_expired_nonce_asks_to_retry_without_a_new_password(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/formList"
    with mock.patch("django.core.signing.time.time", return_value=1_000_000_000):
        old = Client().head(path)["WWW-Authenticate"]
    auth = digest_authorization(
        old, method="GET", uri=path, username="vakhsh-phone-1", password=scene["password"]
    )
    response = Client().get(path, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 401
    assert "stale=true" in response["WWW-Authenticate"]
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_IN_FAILED).exists()


def test_a_forged_nonce_is_not_accepted(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/formList"
    forged = signing.TimestampSigner(key="another secret", salt="x").sign("abc")
    challenge = f'Digest realm="Amniyat", qop="auth", nonce="{forged}", opaque="o"'
    auth = digest_authorization(
        challenge, method="GET", uri=path, username="vakhsh-phone-1", password=scene["password"]
    )
    response = Client().get(path, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 401  # stale: the client must fetch a real nonce


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_basic_is_refused_over_plain_http(scene: dict[str, Any]) -> None:
    response = Client().get(
        f"{scene['base']}/formList",
        HTTP_AUTHORIZATION=_basic("vakhsh-phone-1", scene["password"]),
    )
    assert response.status_code == 401
    assert "only over HTTPS" in _message(response)
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN_FAILED)
    assert event.details["reason"] == "basic_over_http"


def test_basic_is_accepted_over_tls(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/formList"
    client = Client()
    assert "Basic realm" in client.head(path, secure=True)["WWW-Authenticate"]
    ok = client.get(
        path, secure=True, HTTP_AUTHORIZATION=_basic("vakhsh-phone-1", scene["password"])
    )
    assert ok.status_code == 200
    wrong = client.get(path, secure=True, HTTP_AUTHORIZATION=_basic("vakhsh-phone-1", "nope"))
    assert wrong.status_code == 401


def test_a_revoked_device_is_refused_at_once(scene: dict[str, Any]) -> None:
    collect = scene["collect"]
    assert collect.get(f"{scene['base']}/formList").status_code == 200
    services.device_revoke(acting_user=scene["lead"], device=scene["device"])
    assert collect.get(f"{scene['base']}/formList").status_code == 401
    response = collect.submit(f"{scene['base']}/submission", submission_xml())
    assert response.status_code == 401
    assert not Submission.objects.exists()


# ----------------------------------------------------------------------------------------
# Form list, download, manifest


def test_form_list_lists_the_open_forms_of_the_devices_assessments(scene: dict[str, Any]) -> None:
    programme = scene["programme"]
    make_form(programme, form_id="closed", is_open=False, assessment=scene["form"].assessment)
    make_form(programme, form_id="not_assigned")  # another assessment of the programme
    response = scene["collect"].get(f"{scene['base']}/formList")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = fromstring(response.content)
    assert root.tag == f"{LIST_NS}xforms"
    forms = root.findall(f"{LIST_NS}xform")
    assert [f.findtext(f"{LIST_NS}formID") for f in forms] == [FORM_ID]
    entry = forms[0]
    assert entry.findtext(f"{LIST_NS}name") == "Household safety survey"
    assert entry.findtext(f"{LIST_NS}version") == VERSION
    assert entry.findtext(f"{LIST_NS}hash") == f"md5:{md5(XFORM)}"
    pk = scene["form"].pk
    assert entry.findtext(f"{LIST_NS}downloadUrl") == (
        f"http://testserver{scene['base']}/forms/{pk}/form.xml"
    )
    assert entry.findtext(f"{LIST_NS}manifestUrl") == (
        f"http://testserver{scene['base']}/forms/{pk}/manifest"
    )


def test_form_list_filters_by_form_id(scene: dict[str, Any]) -> None:
    response = scene["collect"].get(f"{scene['base']}/formList?formID=other")
    assert fromstring(response.content).findall(f"{LIST_NS}xform") == []


def test_the_form_downloads_with_the_listed_hash(scene: dict[str, Any]) -> None:
    response = scene["collect"].get(f"{scene['base']}/forms/{scene['form'].pk}/form.xml")
    assert response.status_code == 200
    _openrosa_headers(response)
    assert response.content == XFORM.encode()
    assert md5(response.content.decode()) == scene["version"].md5


def test_the_manifest_is_an_empty_media_list(scene: dict[str, Any]) -> None:
    response = scene["collect"].get(f"{scene['base']}/forms/{scene['form'].pk}/manifest")
    assert response.status_code == 200
    _openrosa_headers(response)
    root = fromstring(response.content)
    assert root.tag == f"{MANIFEST_NS}manifest"
    assert list(root) == []


def test_a_closed_or_unknown_form_is_not_found(scene: dict[str, Any]) -> None:
    closed, _version = make_form(
        scene["programme"], form_id="closed", is_open=False, assessment=scene["form"].assessment
    )
    collect = scene["collect"]
    for pk in (closed.pk, 999_999):
        assert collect.get(f"{scene['base']}/forms/{pk}/form.xml").status_code == 404
        assert collect.get(f"{scene['base']}/forms/{pk}/manifest").status_code == 404
    response = collect.submit(f"{scene['base']}/submission", submission_xml(form_id="closed"))
    assert response.status_code == 404
    _openrosa_headers(response)
    response = collect.submit(f"{scene['base']}/submission", submission_xml(form_id="nosuch"))
    assert response.status_code == 404
    assert not Submission.objects.exists()


# ----------------------------------------------------------------------------------------
# Submissions


def test_head_tells_the_size_limit(scene: dict[str, Any]) -> None:
    response = scene["collect"].head(f"{scene['base']}/submission")
    assert response.status_code == 204
    _openrosa_headers(response)
    assert int(response["X-OpenRosa-Accept-Content-Length"]) >= 1024 * 1024


def test_a_submission_is_stored_with_answers_split_by_sensitivity(scene: dict[str, Any]) -> None:
    response = scene["collect"].submit(
        f"{scene['base']}/submission", submission_xml(), {"photo.jpg": b"\xff\xd8 a photo"}
    )
    assert response.status_code == 201
    _openrosa_headers(response)
    assert response["X-OpenRosa-Accept-Content-Length"]
    assert "received" in _message(response)
    submission = Submission.objects.get()
    assert submission.instance_id == "uuid:4b1f0c7e-0000-4000-8000-000000000001"
    assert submission.form_version == scene["version"]
    assert submission.source == Submission.Source.OPENROSA
    assert submission.enumerator == "vakhsh-phone-1"
    assert submission.data == {
        "/data/district": "Vakhsh",
        "/data/age": 34,
        "/data/household/member_age": [61, 9],
    }
    assert json.loads(submission.protected_data) == {
        "/data/name": "Dilnoza",
        "/data/concerns": ["theft", "violence"],
        "/data/photo": "photo.jpg",
    }
    # Personal answers are not readable in the database itself.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT protected_data FROM fieldwork_submission WHERE id = %s", [submission.pk]
        )
        assert "Dilnoza" not in cursor.fetchone()[0]
    attachment = Attachment.objects.get()
    assert attachment.name == "photo.jpg"
    assert attachment.size == len(b"\xff\xd8 a photo")
    assert attachment.file.read() == b"\xff\xd8 a photo"
    event = AuditEvent.objects.get(
        verb=AuditEvent.Verb.CREATED,
        object_type="fieldwork.submission",
        object_id=str(submission.pk),
    )
    assert event.details["channel"] == "openrosa"
    assert event.details["attachments"] == 1


def test_a_submission_gets_the_place_it_names_so_its_partner_sees_it(
    scene: dict[str, Any],
) -> None:
    programme = scene["programme"]
    vakhsh = shipped_place("TJ-KT-VAK")
    partner = OrganisationFactory()
    programme.partners.add(partner)
    partner_area_assign(
        acting_user=None, programme=programme, organisation=partner, places=[vakhsh]
    )
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    elsewhere = member_of(programme, Role.FACILITATOR, organisation=OrganisationFactory())
    response = scene["collect"].submit(f"{scene['base']}/submission", submission_xml())
    assert response.status_code == 201
    submission = Submission.objects.get()
    assert submission.place == vakhsh  # "/data/district": "Vakhsh"
    assert list(submissions_visible(user=facilitator)) == [submission]
    assert list(submissions_visible(user=elsewhere)) == []


@pytest.mark.parametrize("named", ["НОҲИЯИ ВАХШ", "вахшский район", "VAXSH TUMANI", "tj-kt-vak"])
def test_a_submission_names_its_place_in_any_language_or_case(
    scene: dict[str, Any], named: str
) -> None:
    xml = submission_xml().replace(b"<district>Vakhsh<", f"<district>{named}<".encode())
    response = scene["collect"].submit(f"{scene['base']}/submission", xml)
    assert response.status_code == 201
    assert Submission.objects.get().place == shipped_place("TJ-KT-VAK")


def test_the_same_submission_twice_is_stored_once(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/submission"
    assert scene["collect"].submit(path, submission_xml()).status_code == 201
    again = scene["collect"].submit(path, submission_xml())
    assert again.status_code == 202
    assert "already received" in _message(again)
    assert Submission.objects.count() == 1


def test_a_split_upload_adds_its_files_to_the_submission(scene: dict[str, Any]) -> None:
    # ODK Collect sends a large submission in parts, each with the same XML.
    path = f"{scene['base']}/submission"
    assert scene["collect"].submit(path, submission_xml(), {"a.jpg": b"a"}).status_code == 201
    response = scene["collect"].submit(path, submission_xml(), {"b.jpg": b"b", "a.jpg": b"a"})
    assert response.status_code == 201
    assert Submission.objects.count() == 1
    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["a.jpg", "b.jpg"]


def test_the_same_instance_id_with_other_answers_is_a_conflict(scene: dict[str, Any]) -> None:
    path = f"{scene['base']}/submission"
    assert scene["collect"].submit(path, submission_xml(age="34")).status_code == 201
    response = scene["collect"].submit(path, submission_xml(age="35"))
    assert response.status_code == 409
    _openrosa_headers(response)
    assert "instance id" in _message(response)
    assert Submission.objects.get().data["/data/age"] == 34


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE data [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<data id="household" version="2024060101"><district>&e;</district>
<meta><instanceID>uuid:bomb</instanceID></meta></data>"""


def test_an_entity_bomb_is_refused_and_nothing_is_stored(scene: dict[str, Any]) -> None:
    response = scene["collect"].submit(f"{scene['base']}/submission", BOMB)
    assert response.status_code == 400
    _openrosa_headers(response)
    assert "DTD" in _message(response)
    assert not Submission.objects.exists()
    assert not AuditEvent.objects.filter(
        verb=AuditEvent.Verb.CREATED, object_type="fieldwork.submission"
    ).exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<data id='household'><age>3</age>", "not well-formed"),
        (b"<data version='1'><meta><instanceID>x</instanceID></meta></data>", "which form"),
        (b"<data id='household' version='2024060101'><age>3</age></data>", "instanceID"),
        (
            submission_xml(version="1999"),
            "Version “1999” of form “household” is not known",
        ),
    ],
)
def test_unreadable_submissions_get_a_clear_message(
    scene: dict[str, Any], body: bytes, words: str
) -> None:
    response = scene["collect"].submit(f"{scene['base']}/submission", body)
    assert response.status_code == 400
    assert words in _message(response)
    assert not Submission.objects.exists()


def test_a_post_without_the_xml_part_is_refused(scene: dict[str, Any]) -> None:
    collect = scene["collect"]
    path = f"{scene['base']}/submission"
    response = collect.client.post(
        path, {"note": "hello"}, HTTP_AUTHORIZATION=collect.authorization("POST", path)
    )
    assert response.status_code == 400
    assert "xml_submission_file" in _message(response)


def test_other_methods_are_not_allowed(scene: dict[str, Any]) -> None:
    response = Client().put(f"{scene['base']}/submission")
    assert response.status_code == 405
    _openrosa_headers(response)


ENCRYPTED_MANIFEST = b"""<?xml version="1.0"?>
<data xmlns="http://opendatakit.org/submissions" id="household" version="2024060101"
    encrypted="yes">
  <base64EncryptedKey>c2VjcmV0IGtleSwgZW5jcnlwdGVkIHdpdGggdGhlIGZvcm0ncyBwdWJsaWMga2V5</base64EncryptedKey>
  <encryptedXmlFile>submission.xml.enc</encryptedXmlFile>
  <media><file>photo.jpg.enc</file></media>
  <base64EncryptedElementSignature>c2lnbmF0dXJl</base64EncryptedElementSignature>
  <meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:enc-1</instanceID></meta>
</data>"""


def test_an_encrypted_submission_is_stored_intact(scene: dict[str, Any]) -> None:
    programme = scene["programme"]
    form, _version = make_form(
        programme,
        form_id="household",
        assessment=None,
        public_key="MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
    )
    # The encrypted form lives in its own assessment, assigned to the device only.
    scene["form"].is_open = False
    scene["form"].save(update_fields=["is_open"])
    scene["device"].assessments.add(form.assessment)
    encrypted_xml = bytes(range(256)) * 4
    encrypted_photo = b"\x00\x01 encrypted photo bytes"
    response = scene["collect"].submit(
        f"{scene['base']}/submission",
        ENCRYPTED_MANIFEST,
        {"submission.xml.enc": encrypted_xml, "photo.jpg.enc": encrypted_photo},
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get()
    assert submission.form == form
    assert submission.is_encrypted
    assert bytes(submission.encrypted_payload) == ENCRYPTED_MANIFEST
    assert submission.data == {}
    assert submission.protected_data == ""
    stored = {a.name: a.file.read() for a in submission.attachments.all()}
    assert stored == {"submission.xml.enc": encrypted_xml, "photo.jpg.enc": encrypted_photo}


def test_an_encrypted_submission_to_a_plain_form_is_refused(scene: dict[str, Any]) -> None:
    response = scene["collect"].submit(f"{scene['base']}/submission", ENCRYPTED_MANIFEST)
    assert response.status_code == 400
    assert "encrypt" in _message(response)


# ----------------------------------------------------------------------------------------
# Programmes do not mix


def test_a_device_cannot_reach_another_programmes_forms(scene: dict[str, Any]) -> None:
    other = _scene("sughd-phone-1")  # programme B with its own form (same form id) and device
    collect_a = scene["collect"]
    # With A's credentials at B's addresses: not signed in.
    assert collect_a.get(f"{other['base']}/formList").status_code == 401
    assert collect_a.get(f"{other['base']}/forms/{other['form'].pk}/form.xml").status_code == 401
    assert collect_a.submit(f"{other['base']}/submission", submission_xml()).status_code == 401
    # At A's own address, B's form does not exist.
    assert collect_a.get(f"{scene['base']}/forms/{other['form'].pk}/form.xml").status_code == 404
    response = collect_a.submit(f"{scene['base']}/submission", submission_xml())
    assert response.status_code == 201
    assert Submission.objects.get().form == scene["form"]
    assert not Submission.objects.filter(form=other["form"]).exists()


def test_a_device_without_assessments_sees_no_forms(scene: dict[str, Any]) -> None:
    device, password = services.device_create(
        acting_user=scene["lead"],
        programme=scene["programme"],
        organisation=scene["programme"].lead_organisation,
    )
    collect = Collect(device.username, password)
    response = collect.get(f"{scene['base']}/formList")
    assert fromstring(response.content).findall(f"{LIST_NS}xform") == []
    assert collect.submit(f"{scene['base']}/submission", submission_xml()).status_code == 404


# ----------------------------------------------------------------------------------------
# Reading instances


def test_schema_paths_relative_to_the_root_work_too() -> None:
    relative = [{**f, "path": f["path"].removeprefix("/data/")} for f in SCHEMA]
    parsed = instance.parse_instance(submission_xml())
    values = instance.answers(parsed, relative)
    assert values["age"] == 34
    assert values["household/member_age"] == [61, 9]
    public, protected = instance.split_by_sensitivity(values, {"age": "public"})
    assert public == {"age": 34}
    assert "district" in protected  # unclassified answers are protected


# ----------------------------------------------------------------------------------------
# Fifty clients at once


@pytest.fixture
def threads_database(transactional_db: None, tmp_path: Path) -> Iterator[None]:
    """A database that threads can each open on their own. PostgreSQL is one already; the
    SQLite test database lives in shared-cache memory, where a second writer gets "table is
    locked" at once instead of waiting, so it is copied to a file (WAL, with the busy
    timeout of the settings) for the duration of the test."""
    old = connections["default"]
    if old.vendor != "sqlite" or not old.is_in_memory_db():
        yield
        return
    old.ensure_connection()
    path = tmp_path / "threads.sqlite3"
    target = sqlite3.connect(path)
    old.connection.backup(target)
    target.close()
    shared = connections.settings["default"]
    old.settings_dict = dict(shared)  # the in-memory connection keeps its own name
    original_name = shared["NAME"]
    shared["NAME"] = str(path)
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        shared["NAME"] = original_name
        old.settings_dict = shared
        connections["default"] = old


def test_fifty_clients_sending_the_same_submission_store_one_row(threads_database: None) -> None:
    scene = _scene()
    path = f"{scene['base']}/submission"
    xml = submission_xml("uuid:concurrent")
    # Each client signs in first (its own Digest answer: one answer is accepted once), so
    # that the 50 posts start together.
    collects = [Collect(scene["device"].username, scene["password"]) for _ in range(50)]
    headers = [collect.authorization("POST", path) for collect in collects]
    statuses: list[int] = []
    barrier = threading.Barrier(len(collects))

    def send(collect: Collect, header: str) -> None:
        try:
            barrier.wait(timeout=10)
            response = collect.client.post(
                path,
                {"xml_submission_file": _upload(xml)},
                HTTP_AUTHORIZATION=header,
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(c, h)) for c, h in zip(collects, headers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(statuses)) == [201, 202], statuses
    assert statuses.count(201) == 1
    assert len(statuses) == 50
    assert Submission.objects.filter(instance_id="uuid:concurrent").count() == 1
    assert DeviceUser.objects.count() == 1


def _upload(xml: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("submission.xml", xml, "text/xml")
