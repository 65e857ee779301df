"""The assessment and form pages: who sees what, uploads with clear problems and never a 500,
sensitivity with and without JavaScript, publishing; and the read-only API."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from amniyat.accounts.models import Membership
from amniyat.fieldwork.forms import services
from amniyat.fieldwork.models import Assessment, Form, FormVersion
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.forms.test_xlsform import HEADER, safety_survey, workbook

Role = Membership.Role


@pytest.fixture
def scene(db: None, settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    programme = ProgrammeFactory(slug="tj")
    lead = member_of(programme, Role.LEAD)
    assessment = services.assessment_create(
        acting_user=lead, programme=programme, title="Baseline 2024", kind="baseline"
    )
    foreign_programme = ProgrammeFactory(slug="uz")
    foreign_lead = member_of(foreign_programme, Role.LEAD)
    foreign = services.assessment_create(
        acting_user=foreign_lead,
        programme=foreign_programme,
        title="Foreign assessment 7f3a",
        kind="baseline",
    )
    foreign_version = services.form_add(
        acting_user=foreign_lead,
        assessment=foreign,
        file_name="foreign.xlsx",
        content=safety_survey(form_id="foreign_form"),
    )
    return {
        "programme": programme,
        "lead": lead,
        "assessment": assessment,
        "foreign": foreign,
        "foreign_form": foreign_version.form,
    }


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def url(name: str, *args: Any) -> str:
    return reverse(f"fieldwork:{name}", args=["tj", *args])


def upload(client: Client, scene: dict[str, Any], content: bytes, name: str = "safety.xlsx") -> Any:
    return client.post(
        url("form_upload", scene["assessment"].pk),
        {"file": SimpleUploadedFile(name, content)},
    )


def add_form(scene: dict[str, Any]) -> FormVersion:
    return services.form_add(
        acting_user=scene["lead"],
        assessment=scene["assessment"],
        file_name="safety.xlsx",
        content=safety_survey(),
    )


# ----------------------------------------------------------------------------------------
# Assessments.


def test_the_lead_lists_creates_and_edits_assessments(scene: dict[str, Any]) -> None:
    client = client_for(scene["lead"])
    page = client.get(url("assessment_list"))
    assert page.status_code == 200
    assert "Baseline 2024" in page.text
    assert "Foreign assessment 7f3a" not in page.text
    assert url("assessment_list") in client.get(reverse("core:programme", args=["tj"])).text

    response = client.post(
        url("assessment_create"),
        {"title": "Endline 2025", "kind": "endline", "starts_on": "2025-05-01"},
    )
    created = Assessment.objects.get(title="Endline 2025")
    assert response.status_code == 302
    assert response["Location"] == url("assessment_detail", created.pk)

    response = client.post(
        url("assessment_edit", created.pk),
        {
            "title": "Endline 2025",
            "kind": "endline",
            "starts_on": "2025-05-01",
            "ends_on": "2025-04-01",
        },
    )
    assert response.status_code == 200
    assert "Fieldwork cannot end before it starts." in response.text
    created.refresh_from_db()
    assert created.ends_on is None


def test_a_facilitator_reads_assessments_but_cannot_change_them(scene: dict[str, Any]) -> None:
    add_form(scene)
    client = client_for(member_of(scene["programme"], Role.FACILITATOR))

    assert client.get(url("assessment_list")).status_code == 200
    detail = client.get(url("assessment_detail", scene["assessment"].pk))
    assert detail.status_code == 200
    assert "Upload a form" not in detail.text
    assert client.get(url("assessment_create")).status_code == 404
    assert client.get(url("assessment_edit", scene["assessment"].pk)).status_code == 404
    assert client.get(url("form_upload", scene["assessment"].pk)).status_code == 404
    form = Form.objects.get(assessment=scene["assessment"])
    assert client.get(url("form_sensitivity", form.pk)).status_code == 404
    assert client.post(url("form_publish", form.pk)).status_code == 404


@pytest.mark.parametrize("role", [Role.GROUP_MEMBER, Role.VIEWER])
def test_group_members_and_viewers_see_no_assessments(scene: dict[str, Any], role: str) -> None:
    client = client_for(member_of(scene["programme"], role))
    assert client.get(url("assessment_list")).status_code == 404
    assert client.get(url("assessment_detail", scene["assessment"].pk)).status_code == 404


def test_another_programme_s_objects_answer_404(scene: dict[str, Any]) -> None:
    client = client_for(scene["lead"])
    foreign_form = scene["foreign_form"]
    for response in (
        client.get(url("assessment_detail", scene["foreign"].pk)),
        client.get(url("assessment_edit", scene["foreign"].pk)),
        client.get(url("form_upload", scene["foreign"].pk)),
        client.get(url("form_detail", foreign_form.pk)),
        client.get(url("form_sensitivity", foreign_form.pk)),
        client.post(url("form_publish", foreign_form.pk)),
        client.post(url("form_close", foreign_form.pk)),
        client.get(reverse("fieldwork:assessment_list", args=["uz"])),
    ):
        assert response.status_code == 404
        assert "7f3a" not in response.text
    foreign_form.refresh_from_db()
    assert not foreign_form.is_open


# ----------------------------------------------------------------------------------------
# Uploading.


def test_uploading_a_form_leads_to_its_sensitivity_page(scene: dict[str, Any]) -> None:
    client = client_for(scene["lead"])
    response = upload(client, scene, safety_survey())

    form = Form.objects.get(assessment=scene["assessment"])
    assert response.status_code == 302
    assert response["Location"] == url("form_sensitivity", form.pk)
    page = client.get(response["Location"])
    assert (
        "Version 2024060101 of “Community safety survey” was added. 6 fields still need a "
        "sensitivity class before the form can be published."
    ) in page.text


def test_a_broken_form_shows_each_problem_with_sheet_row_and_column(scene: dict[str, Any]) -> None:
    client = client_for(scene["lead"])
    broken = workbook({"survey": [HEADER, ["integer", "a", "A"], ["txet", "b", "B"]]})
    response = upload(client, scene, broken)

    assert response.status_code == 200
    assert "<td>survey</td><td>3</td><td>type</td>" in response.text
    assert escape("“txet” is not a question type XLSForm knows.") in response.text
    assert "Unknown question type" in response.text  # pyxform's words, in small print
    assert FormVersion.objects.filter(form__assessment=scene["assessment"]).count() == 0


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("form.xlsx", b"%PDF-1.4 a report", "it looks like a PDF document"),
        ("form.xls", "real", "The file is named .xls but its content is not"),
        ("report.pdf", b"%PDF-1.4", "Upload an XLSForm saved as .xlsx, .xlsm, .xls or .csv"),
        ("form.xlsx", "bomb", "would unpack to 60.0 MB"),
        ("form.xlsx", b"", "The submitted file is empty."),
        ("form.xlsx", "large", "The file is larger than 1.0 MB, the most this server accepts."),
    ],
)
def test_bad_files_get_a_clear_message_and_store_nothing(
    scene: dict[str, Any], settings: Any, name: str, content: bytes | str, words: str
) -> None:
    if content == "real":
        content = safety_survey()
    elif content == "bomb":
        content = _zip_bomb()
    elif content == "large":
        settings.AMNIYAT_MAX_UPLOAD_BYTES = 1024 * 1024
        content = b"PK\x03\x04" + b"\0" * (1024 * 1024)
    assert isinstance(content, bytes)
    response = upload(client_for(scene["lead"]), scene, content, name)

    assert response.status_code == 200
    assert escape(words) in response.text
    assert not Form.objects.filter(assessment=scene["assessment"]).exists()


def test_an_upload_without_a_file_asks_for_one(scene: dict[str, Any]) -> None:
    response = client_for(scene["lead"]).post(url("form_upload", scene["assessment"].pk), {})
    assert response.status_code == 200
    assert "This field is required." in response.text


# ----------------------------------------------------------------------------------------
# Reading a form, sensitivity, publishing.


def test_the_form_page_shows_versions_and_labels_in_every_language(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    page = client_for(scene["lead"]).get(url("form_detail", version.form.pk))

    assert page.status_code == 200
    for text in ("2024060101", "safety.xlsx", "Tajik (tg)", "Синну сол", "Возраст", "Age"):
        assert escape(text) in page.text
    assert "household/member/member_age" in page.text
    assert "select_multiple" in page.text
    assert "Рафтори милитсия" in page.text  # a choice label
    assert "6 fields have no sensitivity class yet" in page.text


def test_an_unknown_version_answers_404(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    client = client_for(scene["lead"])
    for query in ("?version=999999", "?version=abc", f"?version={9 * 10**30}"):
        assert client.get(url("form_detail", version.form.pk) + query).status_code == 404


def test_sensitivity_is_set_without_javascript(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    client = client_for(scene["lead"])
    page = client.get(url("form_sensitivity", version.form.pk))
    assert page.status_code == 200
    assert page.text.count('<select name="s') == len(version.schema)

    data = {f"s{i}": version.sensitivity.get(f["path"], "") for i, f in enumerate(version.schema)}
    data.update({f"s{i}": "public" for i, f in enumerate(version.schema) if not data[f"s{i}"]})
    response = client.post(
        url("form_sensitivity", version.form.pk) + f"?version={version.pk}", data
    )

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.fields_lacking_sensitivity() == []
    assert version.sensitivity["age"] == "public"
    assert version.sensitivity["respondent_name"] == "sensitive"


def test_sensitivity_is_set_one_select_at_a_time_with_htmx(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    index = next(i for i, f in enumerate(version.schema) if f["path"] == "age")
    response = client_for(scene["lead"]).post(
        url("form_sensitivity", version.form.pk) + f"?version={version.pk}",
        {f"s{index}": "public"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Saved." in response.text
    assert "5 fields have no class yet." in response.text
    version.refresh_from_db()
    assert version.sensitivity["age"] == "public"
    assert version.sensitivity["respondent_name"] == "sensitive"  # not sent, not changed


def test_a_bad_class_is_shown_not_stored(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    response = client_for(scene["lead"]).post(
        url("form_sensitivity", version.form.pk), {"s0": "top-secret"}
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    version.refresh_from_db()
    assert version.sensitivity["start"] == "internal"


def test_publishing_names_the_fields_still_lacking_a_class(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    client = client_for(scene["lead"])
    response = client.post(url("form_publish", version.form.pk), follow=True)

    assert response.status_code == 200
    assert "Still without one: version “2024060101”: age, sex, region" in response.text
    assert not Form.objects.get(pk=version.form.pk).is_open

    services.sensitivity_set(
        acting_user=scene["lead"],
        version=version,
        classes=dict.fromkeys(version.fields_lacking_sensitivity(), "internal"),
    )
    response = client.post(url("form_publish", version.form.pk), follow=True)
    assert "The form is open for collection." in response.text
    assert Form.objects.get(pk=version.form.pk).is_open
    response = client.post(url("form_close", version.form.pk), follow=True)
    assert "The form no longer accepts submissions." in response.text
    assert not Form.objects.get(pk=version.form.pk).is_open
    assert client.get(url("form_publish", version.form.pk)).status_code == 405


# ----------------------------------------------------------------------------------------
# The API.


def test_the_api_lists_assessments_and_forms_with_their_schema(scene: dict[str, Any]) -> None:
    version = add_form(scene)
    client = client_for(scene["lead"])

    assessments = client.get("/api/v1/assessments/").json()
    assert [a["title"] for a in assessments["results"]] == ["Baseline 2024"]
    assert assessments["results"][0]["programme"] == "tj"

    forms = client.get(f"/api/v1/forms/?assessment={scene['assessment'].pk}").json()
    [form] = forms["results"]
    assert form["form_id"] == "safety_survey"
    [api_version] = form["versions"]
    assert api_version["version"] == "2024060101"
    assert api_version["languages"] == version.languages
    assert api_version["schema"] == version.schema
    assert api_version["fields_lacking_sensitivity"] == version.fields_lacking_sensitivity()

    assert client.get(f"/api/v1/forms/{scene['foreign_form'].pk}/").status_code == 404
    assert client.get(f"/api/v1/assessments/{scene['foreign'].pk}/").status_code == 404
    assert client.get("/api/v1/assessments/?programme=uz").status_code == 404
    assert client.post("/api/v1/forms/", {}).status_code == 405


def test_the_api_shows_nothing_to_group_members(scene: dict[str, Any]) -> None:
    add_form(scene)
    client = client_for(member_of(scene["programme"], Role.GROUP_MEMBER))
    assert client.get("/api/v1/assessments/").json()["results"] == []
    assert client.get("/api/v1/forms/").json()["results"] == []
