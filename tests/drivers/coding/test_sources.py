"""Sources: notes uploaded or pasted, stored encrypted with their passages and redaction flags
in one go; every bad input refused with a clear message and nothing stored; who sees which
notes; every reading of the text audited."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from amniyat.accounts.models import Membership, Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.drivers.coding import services
from amniyat.drivers.coding import text as notes
from amniyat.drivers.models import Code, Excerpt, Passage, RedactionFlag, Source
from amniyat.fieldwork.models import Assessment
from amniyat.places.models import Place
from amniyat.places.services import partner_area_assign
from tests.drivers.coding.test_text import make_docx, make_odt
from tests.factories import (
    CommunityGroupFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)

Role = Membership.Role
NOTES = (
    "Участник 1: Вечером на улице страшно. Молодёжь без работы уезжает.\n"
    "Участница 2: Мой сосед Рахимов Алишер звонил по номеру +992 93 123 45 67.\n"
    "Женщины боятся ходить к роднику."
)


def make_source(scene: dict[str, Any], text: str = NOTES, **values: Any) -> Source:
    defaults: dict[str, Any] = {
        "user": None,
        "programme": scene["programme"],
        "assessment": scene["assessment"],
        "title": "FGD women, Vakhsh",
        "kind": Source.Kind.FOCUS_GROUP,
        "language": "ru",
        "place": scene["mahalla"],
        "held_on": datetime.date(2021, 10, 5),
        "participants": 8,
        "women": 8,
        "men": 0,
        "age_bands": ["18_29", "30_44"],
        "sectors": ["teacher"],
        "organisation": scene["partner"],
    }
    return services.source_create(text=text, **(defaults | values))


def make_code(programme: Programme, key: str, parent: Code | None = None) -> Code:
    return Code.objects.create(
        programme=programme, key=key, name_en=key.replace("-", " ").title(), parent=parent
    )


@pytest.fixture
def scene(db: None, settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    programme = ProgrammeFactory(slug="tj")
    partner = OrganisationFactory(name="Partner CSO")
    other = OrganisationFactory(name="Other CSO")
    programme.partners.add(partner, other)
    vakhsh = shipped_place("TJ-KT-VAK")
    mahalla = Place.objects.create(
        level="community", parent=vakhsh, programme=programme, name_en="Navbahor"
    )
    assessment = Assessment.objects.create(programme=programme, title="Baseline 2021")
    foreign = ProgrammeFactory(slug="uz", districts=[shipped_place("UZ-JI-JIZ")])
    foreign_place = Place.objects.create(
        level="community",
        parent=shipped_place("UZ-JI-JIZ"),
        programme=foreign,
        name_en="Foreign mahalla",
    )
    group = CommunityGroupFactory(programme=programme, facilitating_organisation=partner)
    scene = {
        "programme": programme,
        "partner": partner,
        "other": other,
        "vakhsh": vakhsh,
        "mahalla": mahalla,
        "assessment": assessment,
        "foreign": foreign,
        "foreign_place": foreign_place,
        "foreign_assessment": Assessment.objects.create(programme=foreign, title="Foreign"),
        "foreign_code": make_code(foreign, "foreign-code"),
        "lead": member_of(programme, Role.LEAD, username="lead"),
        "analyst": member_of(programme, Role.ANALYST, username="analyst"),
        "facilitator": member_of(
            programme, Role.FACILITATOR, organisation=partner, username="facilitator"
        ),
        "colleague": member_of(
            programme, Role.FACILITATOR, organisation=partner, username="colleague"
        ),
        "outsider": member_of(programme, Role.FACILITATOR, organisation=other, username="outsider"),
        "member": member_of(programme, Role.GROUP_MEMBER, group=group, username="member"),
        "viewer": member_of(programme, Role.VIEWER, username="viewer"),
        "unemployment": make_code(programme, "unemployment"),
        "violence": make_code(programme, "violence"),
    }
    scene["migration"] = make_code(programme, "migration", parent=scene["unemployment"])
    return scene


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, scene: dict[str, Any], pk: int | None = None) -> str:
    kwargs: dict[str, Any] = {"slug": scene["programme"].slug}
    if pk is not None:
        kwargs["pk"] = pk
    return reverse(f"drivers:{name}", kwargs=kwargs)


def form_data(scene: dict[str, Any], **values: Any) -> dict[str, Any]:
    data = {
        "assessment": scene["assessment"].pk,
        "title": "Interview, police officer",
        "kind": "interview",
        "place": scene["mahalla"].pk,
        "held_on": "2021-10-06",
        "language": "ru",
        "participants": "1",
        "women": "0",
        "men": "1",
        "age_bands": ["30_44"],
        "sectors": ["police"],
        "text": "",
    }
    return data | values


def nothing_stored() -> bool:
    return (
        not Source.objects.exists()
        and not Passage.objects.exists()
        and not RedactionFlag.objects.exists()
        and not AuditEvent.objects.filter(object_type="drivers.source").exists()
    )


# Storing notes ---------------------------------------------------------------------------------


def test_pasted_notes_are_stored_with_passages_flags_and_an_audit_row(
    scene: dict[str, Any],
) -> None:
    source = make_source(scene, user=scene["lead"])
    passages = list(source.passages.order_by("position"))
    assert [source.text[p.start : p.end] for p in passages] == [
        "Участник 1: Вечером на улице страшно.",
        "Молодёжь без работы уезжает.",
        "Участница 2: Мой сосед Рахимов Алишер звонил по номеру +992 93 123 45 67.",
        "Женщины боятся ходить к роднику.",
    ]
    assert [p.paragraph for p in passages] == [0, 0, 1, 2]
    flags = {(f.kind, source.text[f.start : f.end]) for f in source.redaction_flags.all()}
    assert flags == {("name", "Рахимов Алишер"), ("phone", "+992 93 123 45 67")}
    event = AuditEvent.objects.get(verb="created", object_type="drivers.source")
    assert event.details == {"passages": 4, "flags": 2, "file": ""}
    assert "Рахимов" not in str(event.details)


def test_the_text_is_encrypted_at_rest(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM drivers_source WHERE id = %s", [source.pk])
        stored = cursor.fetchone()[0]
    assert "Рахимов" not in stored and "страшно" not in stored
    assert Source.objects.get(pk=source.pk).text == NOTES


def test_a_word_file_is_uploaded_through_the_form(scene: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("police.docx", make_docx("Мы патрулируем.", "Людей мало."))
    response = client_for(scene["lead"]).post(
        url("source_create", scene), form_data(scene, upload=upload)
    )
    source = Source.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("source_detail", scene, source.pk)
    assert (source.file_name, source.text) == ("police.docx", "Мы патрулируем.\nЛюдей мало.")
    assert (source.participants, source.men, source.sectors) == (1, 1, ["police"])
    assert source.created_by == scene["lead"] and source.organisation is None


def test_an_opendocument_file_is_uploaded(scene: dict[str, Any]) -> None:
    upload = SimpleUploadedFile("workshop.odt", make_odt("Ҷавонон кор надоранд."))
    client_for(scene["lead"]).post(url("source_create", scene), form_data(scene, upload=upload))
    assert Source.objects.get().passages.count() == 1


@pytest.mark.parametrize(
    ("file_name", "content", "expected"),
    [
        ("fgd.docx", b"\x89PNG\r\n\x1a\n" + bytes(300), "“fgd.docx” is not a real Word (.docx)"),
        ("fgd.odt", b"PK\x03\x04broken", "“fgd.odt” is not a real OpenDocument (.odt)"),
        ("empty.txt", b"", "“empty.txt” is empty."),
        ("empty.docx", make_docx(), "“empty.docx” contains no text."),
        ("scan.pdf", b"%PDF-1.4", "“scan.pdf” is not a file Amniyat can read."),
        ("renamed.txt", make_docx("x"), "“renamed.txt” is not a text file"),
    ],
)
def test_bad_files_get_a_clear_message_and_nothing_is_stored(
    scene: dict[str, Any], file_name: str, content: bytes, expected: str
) -> None:
    upload = SimpleUploadedFile(file_name, content)
    response = client_for(scene["lead"]).post(
        url("source_create", scene), form_data(scene, upload=upload)
    )
    assert response.status_code == 200
    assert escape(expected) in response.content.decode()
    assert nothing_stored()


def test_an_oversized_file_is_refused(
    scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "MAX_UPLOAD_BYTES", 1024 * 1024)
    upload = SimpleUploadedFile("long.txt", b"word " * 300_000)
    response = client_for(scene["lead"]).post(
        url("source_create", scene), form_data(scene, upload=upload)
    )
    assert escape("“long.txt” is 1.4 MB; notes may be at most 1.0 MB.") in response.content.decode()
    assert nothing_stored()


def test_notes_are_needed_and_not_twice(scene: dict[str, Any]) -> None:
    client = client_for(scene["lead"])
    response = client.post(url("source_create", scene), form_data(scene))
    assert "Upload the notes as a file or paste their text." in response.content.decode()
    both = form_data(scene, text="Pasted.", upload=SimpleUploadedFile("a.txt", b"Uploaded."))
    response = client.post(url("source_create", scene), both)
    assert "Upload a file or paste the notes, not both." in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("assessment", "foreign_assessment", "Choose an assessment of this programme."),
        ("place", "foreign_place", "Choose a place this programme works in."),
    ],
)
def test_objects_of_another_programme_are_refused(
    scene: dict[str, Any], field: str, value: str, expected: str
) -> None:
    data = form_data(scene, text="Some notes.", **{field: scene[value].pk})
    response = client_for(scene["lead"]).post(url("source_create", scene), data)
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert nothing_stored()
    with pytest.raises(ValidationError) as error:
        make_source(scene, **{field: scene[value]})
    assert error.value.message_dict[field] == [expected]
    assert nothing_stored()


def test_the_profile_must_add_up(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        make_source(scene, participants=5, women=4, men=3)
    assert error.value.message_dict["participants"] == [
        "Women and men (7) cannot outnumber the participants (5)."
    ]
    with pytest.raises(ValidationError) as error:
        make_source(scene, age_bands=["ancient"], sectors=["astronaut"])
    assert set(error.value.message_dict) == {"age_bands", "sectors"}
    with pytest.raises(ValidationError) as error:
        make_source(scene, held_on=timezone.localdate() + datetime.timedelta(days=3))
    assert "future" in error.value.message_dict["held_on"][0]
    assert nothing_stored()


def test_a_facilitators_notes_are_always_their_organisations(scene: dict[str, Any]) -> None:
    # A partner names the places of its own area (the place picker offers no other).
    partner_area_assign(
        acting_user=None,
        programme=scene["programme"],
        organisation=scene["partner"],
        places=[scene["mahalla"].parent],
    )
    data = form_data(scene, text="Notes.", organisation=scene["other"].pk)
    response = client_for(scene["facilitator"]).post(url("source_create", scene), data)
    assert response.status_code == 302
    assert Source.objects.get().organisation == scene["partner"]
    assert (
        'name="organisation"'
        not in client_for(scene["facilitator"]).get(url("source_create", scene)).content.decode()
    )


def test_viewers_and_group_members_cannot_add_notes(scene: dict[str, Any]) -> None:
    for who in ("viewer", "member"):
        with pytest.raises(PermissionDenied):
            make_source(scene, user=scene[who])
        assert client_for(scene[who]).get(url("source_create", scene)).status_code == 404
    assert nothing_stored()


# Who sees which notes ---------------------------------------------------------------------------


def test_facilitators_see_only_their_organisations_sources(scene: dict[str, Any]) -> None:
    own = make_source(scene, title="OWN-NOTES")
    theirs = make_source(scene, title="OTHER-NOTES", organisation=scene["other"])
    page = client_for(scene["facilitator"]).get(url("source_list", scene)).content.decode()
    assert "OWN-NOTES" in page and "OTHER-NOTES" not in page
    client = client_for(scene["facilitator"])
    assert client.get(url("source_detail", scene, own.pk)).status_code == 200
    assert client.get(url("source_detail", scene, theirs.pk)).status_code == 404
    assert client.get(url("source_edit", scene, theirs.pk)).status_code == 404
    assert client.post(url("source_delete", scene, theirs.pk)).status_code == 404
    assert Source.objects.filter(pk=theirs.pk).exists()
    lead_page = client_for(scene["lead"]).get(url("source_list", scene)).content.decode()
    assert "OWN-NOTES" in lead_page and "OTHER-NOTES" in lead_page


def test_group_members_and_viewers_see_no_sources(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    for who in ("member", "viewer"):
        client = client_for(scene[who])
        assert client.get(url("source_list", scene)).status_code == 404
        assert client.get(url("source_detail", scene, source.pk)).status_code == 404
    assert not AuditEvent.objects.filter(verb=services.VIEW_TEXT).exists()


def test_the_list_filters_and_counts_coding(scene: dict[str, Any]) -> None:
    coded = make_source(scene, title="CODED-NOTES")
    make_source(scene, title="WORKSHOP-NOTES", kind="workshop", place=scene["vakhsh"])
    services.excerpt_create(
        user=scene["lead"], source=coded, code=scene["violence"], start=0, end=10
    )
    client = client_for(scene["lead"])
    page = client.get(url("source_list", scene), {"kind": "focus_group"}).content.decode()
    assert "CODED-NOTES" in page and "WORKSHOP-NOTES" not in page
    assert '<span class="coded-count">1</span>' in page
    by_place = client.get(url("source_list", scene), {"place": scene["vakhsh"].pk}).content
    assert b"CODED-NOTES" in by_place and b"WORKSHOP-NOTES" in by_place  # the mahalla is in it
    by_mahalla = client.get(url("source_list", scene), {"place": scene["mahalla"].pk}).content
    assert b"CODED-NOTES" in by_mahalla and b"WORKSHOP-NOTES" not in by_mahalla


# Reading the text --------------------------------------------------------------------------------


def test_every_view_of_the_coding_page_is_audited(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    client = client_for(scene["facilitator"])
    for _ in range(2):
        page = client.get(url("source_detail", scene, source.pk)).content.decode()
        assert "Вечером на улице страшно." in page
    events = AuditEvent.objects.filter(verb=services.VIEW_TEXT, object_id=str(source.pk))
    assert events.count() == 2
    assert {e.actor for e in events} == {scene["facilitator"]}


def test_source_text_view_refuses_someone_out_of_scope(scene: dict[str, Any]) -> None:
    source = make_source(scene, organisation=scene["other"])
    from django.http import Http404

    with pytest.raises(Http404):
        services.source_text_view(user=scene["facilitator"], source=source)
    assert not AuditEvent.objects.filter(verb=services.VIEW_TEXT).exists()


def test_the_coding_page_works_without_javascript(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    page = client_for(scene["lead"]).get(url("source_detail", scene, source.pk)).content.decode()
    assert page.count('class="passage"') == 4
    assert 'data-passage="2"' in page and 'name="passage" value="2"' in page
    assert (
        'id="apply-code"' in page and 'name="code" value="{}"'.format(scene["violence"].pk) in page
    )
    assert page.count('class="flag-item flag-open"') == 2


# Changing and deleting --------------------------------------------------------------------------


def test_the_description_changes_and_the_text_only_until_coded(scene: dict[str, Any]) -> None:
    source = make_source(scene, user=scene["lead"])
    services.source_update(
        user=scene["lead"], source=source, title="Renamed", text="Новый текст. Второе."
    )
    source.refresh_from_db()
    assert source.title == "Renamed" and source.passages.count() == 2
    services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=5
    )
    with pytest.raises(ValidationError) as error:
        services.source_update(user=scene["lead"], source=source, text="Third version.")
    assert "can no longer be replaced" in error.value.message_dict["text"][0]
    assert Source.objects.get(pk=source.pk).text == "Новый текст. Второе."


def test_an_edit_with_a_foreign_place_changes_nothing(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    data = form_data(scene, title="Changed", place=scene["foreign_place"].pk)
    response = client_for(scene["lead"]).post(url("source_edit", scene, source.pk), data)
    assert "Choose a place this programme works in." in response.content.decode()
    source.refresh_from_db()
    assert (source.title, source.place) == ("FGD women, Vakhsh", scene["mahalla"])


def test_deleting_a_source_takes_its_coding_and_is_audited(scene: dict[str, Any]) -> None:
    source = make_source(scene)
    services.excerpt_create(
        user=scene["lead"], source=source, code=scene["violence"], start=0, end=5
    )
    response = client_for(scene["lead"]).post(url("source_delete", scene, source.pk))
    assert response.status_code == 302
    assert not Source.objects.exists() and not Excerpt.objects.exists()
    assert AuditEvent.objects.filter(verb="deleted", object_type="drivers.source").exists()
    assert client_for(scene["lead"]).get(url("source_delete", scene, source.pk)).status_code == 405
