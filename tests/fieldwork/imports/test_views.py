"""Import and submission pages and API: upload → job page with an htmx progress bar → the
report; the submissions table filtered, scoped, masked, audited; the REST endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.imports.services import import_run
from amniyat.fieldwork.models import Form, ImportJob, Submission
from amniyat.places.services import partner_area_assign
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of
from tests.fieldwork.imports.test_importers import SCHEMA, make_form
from tests.fieldwork.imports.test_services import GOOD, ONE_BAD

Role = Membership.Role


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory(slug="tj")
    form = make_form(programme, schema=SCHEMA)
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    return {"programme": programme, "form": form, "lead": lead, "client": client}


def upload(client: Client, form: Form, content: str, **extra: Any) -> Any:
    return client.post(
        f"/p/tj/forms/{form.pk}/import/",
        {
            "file": SimpleUploadedFile("export.csv", content.encode(), "text/csv"),
            "file_format": "auto",
            **extra,
        },
    )


def test_upload_then_follow_the_progress_then_read_the_report(
    scene: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client, form = scene["client"], scene["form"]
    assert client.get(f"/p/tj/forms/{form.pk}/import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, form, GOOD)
    assert len(callbacks) == 1  # the task is queued once the upload is committed
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/p/tj/imports/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    progress_url = f"/p/tj/imports/{job.pk}/progress/"
    assert f'hx-get="{progress_url}" hx-trigger="every 1s"' in page.content.decode()
    import_run(job.pk)
    partial = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial  # finished: the polling stops
    assert "2 submissions stored; 0 already stored; 0 conflicting; 0 skipped." in partial
    assert "<strong>2</strong>" in partial


def test_a_failed_import_lists_every_reason_and_offers_the_report(scene: dict[str, Any]) -> None:
    client, form = scene["client"], scene["form"]
    upload(client, form, ONE_BAD)
    job = import_run(ImportJob.objects.get().pk)
    page = client.get(f"/p/tj/imports/{job.pk}/").content.decode()
    assert escape("“abc” is not a whole number.") in page
    assert "Nothing was stored: 1 rows have problems." in page
    report = client.get(f"/p/tj/imports/{job.pk}/problems.csv")
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode()  # type: ignore[attr-defined]
    assert "export.csv,4,respondent/age,“abc” is not a whole number." in text
    assert Submission.objects.count() == 0


def test_bad_uploads_show_the_form_again_with_a_message(scene: dict[str, Any]) -> None:
    client, form = scene["client"], scene["form"]
    response = upload(client, form, "")
    assert response.status_code == 200
    assert "The submitted file is empty." in response.content.decode()
    response = client.post(f"/p/tj/forms/{form.pk}/import/", {})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_outsiders_get_404(scene: dict[str, Any]) -> None:
    form = scene["form"]
    upload(scene["client"], form, GOOD)
    job = ImportJob.objects.get()
    stranger = member_of(ProgrammeFactory(), Role.LEAD)
    viewer = member_of(scene["programme"], Role.VIEWER)
    for user in (stranger, viewer):
        client = Client()
        client.force_login(user)
        for url in (
            f"/p/tj/forms/{form.pk}/import/",
            f"/p/tj/forms/{form.pk}/submissions/",
            f"/p/tj/forms/{form.pk}/submissions/export/?export_format=csv&language=en",
            f"/p/tj/imports/{job.pk}/",
            f"/p/tj/imports/{job.pk}/progress/",
        ):
            assert client.get(url).status_code == 404, url


def test_the_table_is_masked_scoped_filtered_and_audited(scene: dict[str, Any]) -> None:
    client, form, programme = scene["client"], scene["form"], scene["programme"]
    upload(client, form, GOOD)
    import_run(ImportJob.objects.get().pk)
    assert set(Submission.objects.values_list("place__code", flat=True)) == {"TJ-KT-VAK", None}
    page = client.get(f"/p/tj/forms/{form.pk}/submissions/").content.decode()
    assert "Dilnoza" in page and "Theft, Police" in page
    event = AuditEvent.objects.get(verb="viewed_personal")
    assert sorted(event.details["submissions"]) == sorted(
        Submission.objects.values_list("pk", flat=True)
    )
    # Filters.
    vakhsh = Submission.objects.get(instance_id="uuid:a1").place
    assert vakhsh is not None
    page = client.get(f"/p/tj/forms/{form.pk}/submissions/", {"place": vakhsh.pk}).content.decode()
    assert "Dilnoza" in page and "Rustam" not in page
    page = client.get(
        f"/p/tj/forms/{form.pk}/submissions/", {"submitted_from": "2021-09-02"}
    ).content.decode()
    assert "Rustam" in page and "Dilnoza" not in page
    page = client.get(
        f"/p/tj/forms/{form.pk}/submissions/", {"enumerator": "nobody"}
    ).content.decode()
    assert "No submissions that you can see." in page
    # A facilitator of a partner working in Vakhsh, without personal data: masked.
    partner = OrganisationFactory()
    programme.partners.add(partner)
    partner_area_assign(
        acting_user=None, programme=programme, organisation=partner, places=[vakhsh]
    )
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    client.force_login(facilitator)
    page = client.get(f"/p/tj/forms/{form.pk}/submissions/").content.decode()
    assert "Dilnoza" not in page and "•••" in page
    assert "Rustam" not in page  # no place: not theirs
    assert "1 submission" in page
    assert AuditEvent.objects.filter(verb="viewed_personal").count() == 3  # lead's views only


def test_the_api_lists_masked_submissions_and_starts_imports(scene: dict[str, Any]) -> None:
    client, form, programme = scene["client"], scene["form"], scene["programme"]
    response = client.post(
        "/api/v1/imports/",
        {
            "form": form.pk,
            "file": SimpleUploadedFile("a.csv", GOOD.encode()),
            "file_format": "auto",
        },
    )
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    import_run(job_id)
    job = client.get(f"/api/v1/imports/{job_id}/").json()
    assert (job["status"], job["stored"], job["percent"]) == ("succeeded", 2, 100)
    listed = client.get("/api/v1/submissions/", {"form": form.pk}).json()
    assert len(listed["results"]) == 2
    names = {r["answers"].get("respondent/name") for r in listed["results"]}
    assert names == {"Dilnoza", "Rustam"}
    analyst_free = member_of(programme, Role.FACILITATOR, organisation=programme.lead_organisation)
    partner_area_assign(
        acting_user=None,
        programme=programme,
        organisation=programme.lead_organisation,
        places=list(programme.places.all()),
    )
    client.force_login(analyst_free)
    listed = client.get("/api/v1/submissions/", {"form": form.pk}).json()
    assert {r["answers"].get("respondent/name") for r in listed["results"]} == {"•••"}
    viewer = member_of(programme, Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/api/v1/submissions/").json()["results"] == []
    response = client.post(
        "/api/v1/imports/",
        {"form": form.pk, "file": SimpleUploadedFile("a.csv", GOOD.encode())},
    )
    assert response.status_code == 404
