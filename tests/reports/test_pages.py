"""The report pages: an analyst starts a briefing paper, writes its summary, builds its key
findings and asks for review; the lead approves and publishes it; a viewer reads it only once
published; written text never reaches the page as markup."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership, User
from amniyat.fieldwork.models import Assessment
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.usefixtures("assessment")
def test_from_a_new_briefing_paper_to_a_published_one(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    viewer = member_of(programme, Role.VIEWER)
    _published(assessment, lead)
    writer = _client(analyst)
    response = writer.post(
        reverse("reports:create", args=[programme.slug]),
        {
            "kind": "briefing",
            "language": "tg",
            "title": "Омилҳои ноамнӣ",
            "assessment": assessment.pk,
        },
    )
    report = Report.objects.get()
    assert response.status_code == 302
    detail = reverse("reports:detail", args=[programme.slug, report.pk])
    summary = report.sections.get(kind=Section.Kind.TEXT)
    edit = reverse("reports:section_edit", args=[programme.slug, report.pk, summary.pk])
    assert writer.get(edit).status_code == 200
    writer.post(
        edit,
        {
            "heading": "Хулоса",
            "text": "Занон *шабона* худро бехатар ҳис намекунанд. <script>alert(1)</script>",
        },
    )
    findings = report.sections.get(kind=Section.Kind.FINDINGS)
    writer.post(
        reverse("reports:section_edit", args=[programme.slug, report.pk, findings.pk]),
        {"indicators": ["safe_night"], "breakdowns": ["sex"]},
    )
    for section in report.sections.exclude(kind__in=[*Section.WRITTEN, Section.Kind.FINDINGS]):
        writer.post(reverse("reports:section_remove", args=[programme.slug, report.pk, section.pk]))
    page = writer.get(detail).content.decode()
    assert "<em>шабона</em>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "Хулоса" in page
    assert _client(viewer).get(detail).status_code == 404

    status = reverse("reports:status", args=[programme.slug, report.pk])
    writer.post(status, {"action": "submit"})
    approver = _client(lead)
    approver.post(status, {"action": "approve"})
    approver.post(status, {"action": "publish"})
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED
    reader = _client(viewer)
    assert reader.get(detail).status_code == 200
    listing = reader.get(reverse("reports:list", args=[programme.slug])).content.decode()
    assert "Омилҳои ноамнӣ" in listing
    # The viewer may not change it.
    assert reader.get(edit).status_code == 404


def test_files_are_written_encrypted_checksummed_and_published_with_the_report(
    assessment: Assessment,  # noqa: F811
) -> None:
    import hashlib

    from amniyat.reports import services
    from amniyat.reports.models import Rendering

    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    viewer = member_of(programme, Role.VIEWER)
    _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind="briefing",
        language="uz",
        title="Xavfsizlik omillari",
        assessment=assessment,
    )
    for section in report.sections.exclude(kind__in=Section.WRITTEN):
        services.section_remove(user=analyst, section=section)
    writer = _client(analyst)
    response = writer.post(
        reverse("reports:rendering_create", args=[programme.slug, report.pk]), {"format": "pdf"}
    )
    assert response.status_code == 302
    rendering = Rendering.objects.get()
    assert rendering.status == Rendering.Status.QUEUED
    services.rendering_run(rendering.pk)
    rendering.refresh_from_db()
    assert rendering.status == Rendering.Status.READY
    with rendering.file.open("rb") as stored:
        assert not stored.read().startswith(b"%PDF")  # encrypted at rest
    file_url = reverse("reports:rendering_file", args=[programme.slug, report.pk, rendering.pk])
    body = b"".join(writer.get(file_url).streaming_content)
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == rendering.sha256
    # The viewer gets it only once the report is published.
    assert _client(viewer).get(file_url).status_code == 404
    services.report_submit(user=analyst, report=report)
    services.report_approve(user=lead, report=report)
    services.report_publish(user=lead, report=report)
    reader = _client(viewer)
    assert b"".join(reader.get(file_url).streaming_content) == body
    # A file that could not be written keeps nothing.
    broken = services.rendering_start(user=analyst, report=report, file_format="docx", queue=False)
    from unittest import mock

    with mock.patch("amniyat.reports.word.write", side_effect=RuntimeError("disk full")):
        services.rendering_run(broken.pk)
    broken.refresh_from_db()
    assert broken.status == Rendering.Status.FAILED and not broken.file
