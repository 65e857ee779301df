"""The forms of the sections built from data offer only what the section may show (published
maps and assessments with published findings of this programme, the findings' indicators)
and answer anything else with a clear message, changing nothing."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.reports import services
from amniyat.reports.models import Report, Section
from tests.factories import ProgrammeFactory, member_of
from tests.findings.test_findings import survey_assessment
from tests.reports.test_built_driver_map import _map
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def test_each_form_offers_what_its_section_may_show(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    _published(assessment, lead)
    published = _map(lead, title="Published map")
    draft = _map(lead, title="Draft map", publish=False)
    elsewhere = survey_assessment(kind="endline")  # of another programme
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title="B",
        assessment=assessment,
    )
    client = Client()
    client.force_login(analyst)
    made = {
        kind: services.section_add(user=analyst, report=report, kind=kind)
        for kind in (Section.Kind.DRIVER_MAP, Section.Kind.DISTRICT_MAP, Section.Kind.CHANGE)
    }
    made[Section.Kind.METHODOLOGY] = report.sections.filter(kind=Section.Kind.METHODOLOGY).first()

    def edit(section: Section) -> str:
        return reverse("reports:section_edit", args=[programme.slug, report.pk, section.pk])

    pages = {kind: client.get(edit(section)).content.decode() for kind, section in made.items()}
    assert "Published map" in pages[Section.Kind.DRIVER_MAP]
    assert "Draft map" not in pages[Section.Kind.DRIVER_MAP]
    assert 'value="safe_night"' in pages[Section.Kind.DISTRICT_MAP]
    assert str(assessment.title) in pages[Section.Kind.CHANGE]
    assert elsewhere.title not in pages[Section.Kind.CHANGE]

    for section, data, message in (
        (
            made[Section.Kind.DRIVER_MAP],
            {"map": draft.pk},
            "Choose a published driver map of this programme.",
        ),
        (
            made[Section.Kind.CHANGE],
            {"endline": elsewhere.pk},
            "Choose an assessment of this programme with published findings.",
        ),
    ):
        response = client.post(edit(section), {"heading": "", "text": "", **data})
        assert response.status_code == 200 and message in response.content.decode()
        section.refresh_from_db()
        assert section.built_at is None and section.options == {}

    response = client.post(
        edit(made[Section.Kind.DRIVER_MAP]), {"heading": "", "text": "", "map": published.pk}
    )
    assert response.status_code == 302
    section = made[Section.Kind.DRIVER_MAP]
    section.refresh_from_db()
    assert section.options == {"map": published.pk} and section.built["map"] == published.pk
    # Somebody else's programme cannot reach the forms at all.
    stranger = Client()
    stranger.force_login(member_of(ProgrammeFactory(), Role.ANALYST))
    assert stranger.get(edit(section)).status_code == 404
