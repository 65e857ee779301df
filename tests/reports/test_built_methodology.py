"""A methodology section is written from the data in the report's language: dates, places,
questionnaires, the sample by sex and district, the design, the discussions held and how
disclosure control works; no count below the programme's threshold reaches it, and a new
submission or discussion makes it stale."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amniyat.accounts.models import Membership
from amniyat.drivers.models import Source
from amniyat.fieldwork.models import Assessment
from amniyat.fieldwork.submissions.frames import submissions_frame
from amniyat.reports import sections, selectors, services
from amniyat.reports.models import Report, Section
from amniyat.stats.sdc import protect_frequency_table
from tests.factories import member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def _methodology(assessment: Assessment, language: str = "en") -> Section:  # noqa: F811
    analyst = member_of(assessment.programme, Role.ANALYST)
    report = services.report_create(
        user=analyst,
        programme=assessment.programme,
        kind=Report.Kind.BRIEFING,
        language=language,
        title="Briefing",
        assessment=assessment,
    )
    return selectors.sections_of(report).get(kind=Section.Kind.METHODOLOGY)


def _source(assessment: Assessment, *, women: int, men: int, kind: str = "focus_group") -> Source:  # noqa: F811
    return Source.objects.create(
        programme=assessment.programme,
        assessment=assessment,
        title=f"Discussion {women}-{men}-{kind}",
        kind=kind,
        language="en",
        participants=women + men,
        women=women,
        men=men,
        text="notes",
    )


def test_written_from_the_data_without_a_count_below_the_threshold(assessment: Assessment) -> None:  # noqa: F811
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    # A threshold that withholds some district × sex counts of a 600-person survey.
    programme.min_cell_size = 30
    programme.save(update_fields=["min_cell_size"])
    section = _methodology(assessment)
    with pytest.raises(ValidationError):  # no published findings yet
        services.section_build(user=analyst, section=section)
    findings = _published(assessment, lead)
    _source(assessment, women=8, men=0)
    _source(assessment, women=0, men=9)
    _source(assessment, women=2, men=2)  # 2 women, 2 men: below the threshold
    _source(assessment, women=1, men=0, kind="interview")
    services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    built = section.built
    text = " ".join(built["paragraphs"])
    assert (
        "3 focus groups were held: 1 with women only, 1 with men only and 1 with women and men."
        in text
    )
    assert "1 interview" in text
    assert "weighted" in text and "“stratum”" in text and "“cluster”" in text
    k = built["min_cell"]
    assert f"fewer than {k} respondents" in text
    assert "Respondents to" in text and "600" in text
    # The sample by district and sex is the protected table: a withheld count is its reason.
    frame = submissions_frame(findings.form, classes=frozenset({"public"}))
    protected = protect_frequency_table(frame, "district", "sex", min_cell=k)
    (sample,) = built["samples"]
    counts = [c for row in sample["rows"] for c in row["counts"]]
    assert len(counts) == len(protected.counts) * len(protected.counts[0])
    withheld = [c for c in counts if c["text"] is None]
    assert withheld and k == 30
    shown_counts = [c for c in counts if c["text"] is not None]
    assert all(c["note"].startswith("suppressed") for c in withheld)
    hidden_values = {
        protected.counts[i][j]
        for i, row in enumerate(protected.suppressed)
        for j, hidden in enumerate(row)
        if hidden
    }
    for count in shown_counts:
        assert int(count["text"].replace(",", "")) >= 0
    stored = json.dumps(built, ensure_ascii=False)
    # Every figure published is one protect_frequency_table publishes.
    published = {str(v) for row in protected.published for v in row if v is not None}
    assert {c["text"].replace(",", "") for c in shown_counts} <= published
    assert len(withheld) == sum(sum(row) for row in protected.suppressed)
    # The rows trace back to their form and district.
    assert sample["rows"][0]["trace"]["form"] == findings.form_id
    for value in hidden_values - {int(v) for v in published}:
        assert f'"{value}"' not in stored


def test_in_the_reports_language(assessment: Assessment) -> None:  # noqa: F811
    lead = member_of(assessment.programme, Role.LEAD)
    _published(assessment, lead)
    section = _methodology(assessment, language="ru")
    services.section_build(user=member_of(assessment.programme, Role.ANALYST), section=section)
    section.refresh_from_db()
    text = " ".join(section.built["paragraphs"])
    # Russian quotation marks and number formats (the sentences are translated by the lead).
    assert "«stratum»" in text and "95\xa0%" in text
    (sample,) = section.built["samples"]
    assert sample["headers"][0] == "Район" and "женщины" in sample["headers"]


def test_a_new_discussion_or_submission_makes_it_stale(assessment: Assessment) -> None:  # noqa: F811
    lead, analyst = (
        member_of(assessment.programme, Role.LEAD),
        member_of(assessment.programme, Role.ANALYST),
    )
    _published(assessment, lead)
    section = _methodology(assessment)
    services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    assert not sections.is_stale(section)
    _source(assessment, women=6, men=6)
    assert sections.is_stale(section)
    services.section_build(user=analyst, section=section)
    section.refresh_from_db()
    assert not sections.is_stale(section)
    from amniyat.fieldwork.models import FormDataRevision

    FormDataRevision.objects.filter(form__assessment=assessment).update(value="changed")
    if not FormDataRevision.objects.filter(form__assessment=assessment).exists():
        form = assessment.forms.get()
        form.data_revision = "changed"
        form.save(update_fields=["data_revision"])
    assert sections.is_stale(section)


def test_only_those_who_edit_the_report_build_it(assessment: Assessment) -> None:  # noqa: F811
    _published(assessment, member_of(assessment.programme, Role.LEAD))
    section = _methodology(assessment)
    with pytest.raises(PermissionDenied):
        services.section_build(user=member_of(assessment.programme, Role.VIEWER), section=section)
