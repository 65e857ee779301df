"""A baseline → endline section compares two published findings of the programme: each
estimate with its interval and n in both, and the change as the change page computes it.
Without an endline yet it says so, and is stale once one is published; an assessment of
another programme is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from amniyat.findings import shown
from amniyat.findings.models import Findings
from amniyat.reports import sections, selectors, services
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.findings.test_findings import compute, survey_assessment
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def _change(assessment: Assessment) -> Section:  # noqa: F811
    analyst = member_of(assessment.programme, Role.ANALYST)
    report = services.report_create(
        user=analyst,
        programme=assessment.programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title="Briefing",
        assessment=assessment,
    )
    return services.section_add(user=analyst, report=report, kind=Section.Kind.CHANGE)


def test_no_endline_yet_then_the_comparison(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    base = _published(assessment, lead)
    section = _change(assessment)
    services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    assert section.built["none"].startswith("There is no endline with published findings yet")
    assert section.built_from == {
        "baseline": {
            "findings": base.pk,
            "computed_at": base.computed_at.isoformat(),
            "indicator_set": base.indicator_set_id,
        },
        "endline": {},
    }
    assert not sections.is_stale(section)

    endline = survey_assessment(kind="endline", programme=programme)
    end = findings_services.findings_publish(acting_user=lead, findings=compute(endline))
    assert sections.is_stale(section)
    services.section_set_options(
        user=analyst, section=section, options={"indicators": ["safe_night", "trust_police"]}
    )
    section.refresh_from_db()
    assert not sections.is_stale(section)
    assert [i["id"] for i in section.built["indicators"]] == ["safe_night", "trust_police"]
    overall = section.built["indicators"][0]["rows"][0]
    assert [row["label"] for row in section.built["indicators"][0]["rows"]] == [
        "overall",
        "women",
        "men",
    ]
    # Each estimate as the findings pages show it, with its interval and n.
    before = next(v for v in shown.shown(base).views if v.id == "safe_night").overall
    after = next(v for v in shown.shown(end).views if v.id == "safe_night").overall
    assert before is not None and after is not None
    assert (overall["baseline"]["estimate"], overall["baseline"]["interval"]) == (
        before.text,
        before.interval,
    )
    assert (overall["endline"]["estimate"], overall["endline"]["n"]) == (after.text, "600")
    # The change as the change page computes it.
    row = next(
        r
        for r in shown.change(base, end, baseline=str(assessment), endline=str(endline)).rows
        if r["indicator"] == "safe_night" and r["domain"] == ""
    )
    change_points = round(row["difference"] * 100)
    assert overall["change"] == (f"{change_points:+d} points" if change_points else "0 points")
    assert overall["endline"]["trace"] == {
        "findings": end.pk,
        "indicator": "safe_night",
        "by": "",
        "row": 0,
    }
    # The change page's chart of the chosen proportions, drawn from the same specification.
    chart = section.built["chart"]
    assert chart["spec"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert {row["label"] for row in chart["rows"]} <= {
        i["label"] for i in section.built["indicators"]
    }
    # New endline findings make it stale.
    Findings.objects.filter(pk=end.pk).update(computed_at=section.built_at)
    assert sections.is_stale(section)


def test_an_assessment_of_another_programme_is_refused(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    _published(assessment, lead)
    other = survey_assessment(kind="endline")
    findings_services.indicator_set_save(
        acting_user=None, programme=other.programme, spec=programme.indicator_sets.get().spec
    )
    findings_services.findings_publish(
        acting_user=member_of(other.programme, Role.LEAD), findings=compute(other)
    )
    section = _change(assessment)
    with pytest.raises(ValidationError) as refused:
        services.section_set_options(user=analyst, section=section, options={"endline": other.pk})
    assert refused.value.message_dict == {
        "endline": ["Choose an assessment of this programme with published findings."]
    }
    section.refresh_from_db()
    assert section.built_at is None and section.options == {}
    with pytest.raises(ValidationError):
        services.section_set_options(
            user=analyst,
            section=section,
            options={"baseline": assessment.pk, "endline": assessment.pk},
        )
    assert selectors.sections_of(section.report).get(pk=section.pk).built_at is None
