"""A key-findings section is built from the assessment's published findings as the findings
pages show them, in the report's language: withheld cells carry their reason, never a value;
every row says where it came from; new findings make the section stale."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amniyat.accounts.models import Membership, User
from amniyat.demo.build import INDICATORS_FILE
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from amniyat.findings.models import Findings
from amniyat.reports import sections, selectors, services
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.findings.test_findings import compute, survey_assessment

Role = Membership.Role


@pytest.fixture
def assessment(db: None) -> Assessment:
    assessment = survey_assessment()
    findings_services.indicator_set_save(
        acting_user=None,
        programme=assessment.programme,
        spec=INDICATORS_FILE.read_text(encoding="utf-8"),
    )
    return assessment


def _published(assessment: Assessment, lead: User) -> Findings:
    findings = compute(assessment)
    return findings_services.findings_publish(acting_user=lead, findings=findings)


def _findings_section(analyst: User, assessment: Assessment, language: str = "ru") -> Section:
    report = services.report_create(
        user=analyst,
        programme=assessment.programme,
        kind=Report.Kind.BRIEFING,
        language=language,
        title="Briefing",
        assessment=assessment,
    )
    return selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)


def test_built_from_published_findings_only(assessment: Assessment) -> None:
    lead = member_of(assessment.programme, Role.LEAD)
    analyst = member_of(assessment.programme, Role.ANALYST)
    section = _findings_section(analyst, assessment)
    compute(assessment)  # computed, not published
    with pytest.raises(ValidationError):
        services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    assert section.built_at is None

    findings = _published(assessment, lead)
    services.section_set_options(
        user=analyst,
        section=section,
        options={"indicators": ["safe_night"], "breakdowns": ["sex", "sex,district"]},
    )
    section.refresh_from_db()
    assert section.built_from["findings"] == findings.pk
    (indicator,) = section.built["indicators"]
    assert indicator["id"] == "safe_night"
    overall = next(
        e for e in findings.results["estimates"] if e["indicator"] == "safe_night" and not e["by"]
    )
    assert indicator["overall"]["estimate"] == f"{round(overall['estimate'] * 100)}%"
    assert indicator["overall"]["trace"] == {
        "findings": findings.pk,
        "indicator": "safe_night",
        "by": "",
        "row": 0,
    }
    # In the report's language (Russian).
    assert [g["title"] for g in indicator["groups"]] == ["по полу", "по полу и районам"]


def test_no_withheld_value_reaches_the_section(assessment: Assessment) -> None:
    lead = member_of(assessment.programme, Role.LEAD)
    analyst = member_of(assessment.programme, Role.ANALYST)
    findings = _published(assessment, lead)
    section = _findings_section(analyst, assessment, language="en")
    services.section_set_options(
        user=analyst, section=section, options={"breakdowns": ["sex,district"]}
    )
    section.refresh_from_db()
    rows = [
        row
        for indicator in section.built["indicators"]
        for group in indicator["groups"]
        for row in group["rows"]
    ]
    withheld = [row for row in rows if row["estimate"] is None]
    assert withheld, "a 600-person survey has sex × district cells below 5"
    assert all(row["note"].startswith("suppressed") or row["note"] for row in withheld)
    assert all(row["interval"] is None for row in withheld)
    # The true sizes of the small cells appear nowhere in what the section stored.
    stored = json.dumps(section.built)
    small = [e for e in findings.results["estimates"] if e["suppressed"] and 0 < e["n"] < 5]
    assert small
    for cell in withheld:
        assert cell["n"] in ("< 5", "—", "0")
    assert '"n": "1"' not in stored and '"n": "2"' not in stored


def test_new_findings_make_the_section_stale(assessment: Assessment) -> None:
    lead = member_of(assessment.programme, Role.LEAD)
    analyst = member_of(assessment.programme, Role.ANALYST)
    _published(assessment, lead)
    section = _findings_section(analyst, assessment)
    services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    assert not sections.is_stale(section)
    Findings.objects.filter(pk=section.built_from["findings"]).update(computed_at=section.built_at)
    assert sections.is_stale(section)
    services.section_keep_figures(user=analyst, section=section)
    section.refresh_from_db()
    assert section.kept_stale_at is not None
    assert section not in services.unready_sections(section.report)


def test_only_those_who_edit_the_report_build_it(assessment: Assessment) -> None:
    lead = member_of(assessment.programme, Role.LEAD)
    analyst = member_of(assessment.programme, Role.ANALYST)
    _published(assessment, lead)
    section = _findings_section(analyst, assessment)
    for role in (Role.VIEWER, Role.FACILITATOR):
        with pytest.raises(PermissionDenied):
            services.section_build(user=member_of(assessment.programme, role), section=section)


def test_a_chart_and_the_gender_gap_keep_what_the_pages_draw(assessment: Assessment) -> None:
    lead = member_of(assessment.programme, Role.LEAD)
    analyst = member_of(assessment.programme, Role.ANALYST)
    findings = _published(assessment, lead)
    chart = _findings_section(analyst, assessment, language="tg")
    chart = services.section_add(user=analyst, report=chart.report, kind=Section.Kind.CHART)
    with pytest.raises(ValidationError):
        services.section_set_options(user=analyst, section=chart, options={"indicator": "nope"})
    services.section_set_options(user=analyst, section=chart, options={"indicator": "safe_night"})
    chart.refresh_from_db()
    drawn = chart.built["chart"]
    assert drawn["spec"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert len(drawn["rows"]) == 10  # the ten districts
    withheld = [row for row in drawn["rows"] if row["note"]]
    assert all(row["values"] == [] for row in withheld)
    gap = selectors.sections_of(chart.report).get(kind=Section.Kind.GENDER_GAP)
    services.section_build(user=analyst, section=gap)
    gap.refresh_from_db()
    assert gap.built_from["findings"] == findings.pk
    assert gap.built["chart"]["rows"]
