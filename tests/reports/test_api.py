"""The reports API: the reports a caller may read, each with its sections as built (numbers
as published, each row with its trace; quotes only while approved), and its files, which
readers who may not edit the report get only once approved for publication, downloaded with
their checksum."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from django.test import Client

from amniyat.accounts.models import Membership, User
from amniyat.audit.models import AuditEvent
from amniyat.drivers.models import Excerpt
from amniyat.fieldwork.models import Assessment
from amniyat.reports import selectors, services
from amniyat.reports.models import Rendering, Report, Section
from tests.drivers.maps.test_maps import World, build_world
from tests.factories import ProgrammeFactory, member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401
from tests.reports.test_built_voices_and_priorities import _quotes

Role = Membership.Role


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _only(report: Report, user: User, *kinds: str) -> None:
    """Keeps the report's written sections and those of ``kinds``."""
    for section in report.sections.exclude(kind__in=[*Section.WRITTEN, *kinds]):
        services.section_remove(user=user, section=section)


def _publish(report: Report, analyst: User, lead: User) -> None:
    services.report_submit(user=analyst, report=report)
    services.report_approve(user=lead, report=report)
    services.report_publish(user=lead, report=report)


def _rendered(report: Report, user: User, file_format: str = "docx") -> Rendering:
    rendering = services.rendering_start(
        user=user, report=report, file_format=file_format, queue=False
    )
    return services.rendering_run(rendering.pk)


def _download(client: Client, report: Report, rendering: Rendering, **headers: str) -> Any:
    return client.get(
        f"/api/v1/reports/{report.pk}/files/{rendering.pk}/download/", headers=headers
    )


def test_reports_their_figures_and_files_through_the_api(
    assessment: Assessment,  # noqa: F811
) -> None:
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    viewer = member_of(programme, Role.VIEWER)
    findings = _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind="briefing",
        language="en",
        title="Drivers of insecurity",
        assessment=assessment,
    )
    _only(report, analyst, Section.Kind.FINDINGS)
    section = selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)
    services.section_set_options(user=analyst, section=section, options={"breakdowns": ["sex"]})
    draft_file = _rendered(report, analyst)
    assert draft_file.status == Rendering.Status.READY

    # A draft is its writers' alone.
    reader = _client(viewer)
    assert reader.get("/api/v1/reports/").json()["results"] == []
    assert reader.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert reader.get(f"/api/v1/reports/{report.pk}/files/").status_code == 404
    assert _download(reader, report, draft_file).status_code == 404

    writer = _client(analyst)
    listed = writer.get(f"/api/v1/reports/?programme={programme.slug}").json()
    assert [r["id"] for r in listed["results"]] == [report.pk]
    assert "next" in listed and "count" not in listed  # cursor pages, as every list
    detail = writer.get(f"/api/v1/reports/{report.pk}/").json()
    assert detail["status"] == "draft" and detail["language"] == "en"
    shown = next(s for s in detail["sections"] if s["kind"] == "findings")
    assert shown["built_from"]["findings"] == findings.pk and shown["stale"] is False
    indicator = shown["built"]["indicators"][0]
    overall = indicator["overall"]
    # The number as the findings page shows it, and where it came from.
    estimate = next(
        e
        for e in findings.results["estimates"]
        if e["indicator"] == indicator["id"] and not e["by"]
    )
    assert overall["estimate"] == f"{round(estimate['estimate'] * 100)}%"
    assert overall["trace"] == {
        "findings": findings.pk,
        "indicator": indicator["id"],
        "by": "",
        "row": 0,
    }
    files = writer.get(f"/api/v1/reports/{report.pk}/files/").json()["results"]
    assert [(f["id"], f["approved"]) for f in files] == [(draft_file.pk, False)]
    response = _download(writer, report, draft_file)
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == draft_file.sha256 == files[0]["sha256"]
    digest = base64.b64encode(bytes.fromhex(draft_file.sha256)).decode()
    assert response["Repr-Digest"] == f"sha-256=:{digest}:"
    assert response["Content-Type"].endswith("wordprocessingml.document")
    assert AuditEvent.objects.filter(
        verb=AuditEvent.Verb.EXPORTED, details__rendering=draft_file.pk
    ).exists()

    # Published: the viewer reads it and downloads its published file (asking for it as a
    # PDF reader would); a file written since is not published and stays out of sight.
    _publish(report, analyst, lead)
    later = _rendered(report, analyst)
    assert [r["id"] for r in reader.get("/api/v1/reports/").json()["results"]] == [report.pk]
    kinds = [s["kind"] for s in reader.get(f"/api/v1/reports/{report.pk}/").json()["sections"]]
    assert "findings" in kinds
    seen = reader.get(f"/api/v1/reports/{report.pk}/files/").json()["results"]
    assert [f["id"] for f in seen] == [draft_file.pk]
    asked = _download(reader, report, draft_file, accept="application/pdf")
    assert b"".join(asked.streaming_content) == body
    assert reader.get(f"/api/v1/reports/{report.pk}/files/{later.pk}/").status_code == 404
    missing = _download(reader, report, later, accept="application/pdf")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    assert [
        f["id"] for f in writer.get(f"/api/v1/reports/{report.pk}/files/").json()["results"]
    ] == [later.pk, draft_file.pk]
    # Filters: by status, and nonsense narrows nothing rather than failing.
    assert writer.get("/api/v1/reports/?status=draft").json()["results"] == []
    assert len(writer.get("/api/v1/reports/?status=%00").json()["results"]) == 1


def test_another_programmes_reports_are_absent(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    analyst = member_of(programme, Role.ANALYST)
    report = services.report_create(
        user=analyst, programme=programme, kind="briefing", language="ru", title="Ours"
    )
    stranger = member_of(ProgrammeFactory(), Role.LEAD)
    client = _client(stranger)
    assert client.get("/api/v1/reports/").json()["results"] == []
    assert client.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert client.get(f"/api/v1/reports/{report.pk}/files/").status_code == 404
    assert client.get(f"/api/v1/reports/?programme={programme.slug}").status_code == 404
    assert Client().get("/api/v1/reports/").status_code == 401


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def test_quotes_carry_their_words_only_while_approved(world: World) -> None:
    _private, public = _quotes(world)
    report = services.report_create(
        user=world.analyst,
        programme=world.programme,
        kind="briefing",
        language="en",
        title="Voices",
        assessment=world.assessment,
    )
    _only(report, world.analyst, Section.Kind.QUOTES)
    section = selectors.sections_of(report).get(kind=Section.Kind.QUOTES)
    services.section_set_options(
        user=world.analyst, section=section, options={"excerpts": [public.pk]}
    )
    _publish(report, world.analyst, world.lead)
    reader = _client(world.viewer)
    url = f"/api/v1/reports/{report.pk}/"
    (voices,) = [s for s in reader.get(url).json()["sections"] if s["kind"] == "quotes"]
    assert voices["built"]["quotes"] == [
        {
            "excerpt": public.pk,
            "code": "Unemployment",
            "profile": "focus group, women, 18–24",
            "text": "Without work, some [name] steal",
        }
    ]
    Excerpt.objects.filter(pk=public.pk).update(publication=Excerpt.Publication.RETURNED)
    body = reader.get(url).content.decode()
    assert "steal" not in body and "Young men have no work" not in body
    (voices,) = [s for s in reader.get(url).json()["sections"] if s["kind"] == "quotes"]
    assert voices["built"]["quotes"] == [] and voices["stale"] is True
