"""A number in a finished document can be followed back: from the DOCX's cell to the section's
record of where it came from, to the published findings record and the indicator's
definition in its indicator set, to the submissions whose state the record was computed from;
worked out again from those submissions by hand, it is the same number."""

from __future__ import annotations

import io

import docx
import yaml

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment, Submission
from amniyat.fieldwork.submissions.frames import data_key
from amniyat.findings.models import Findings
from amniyat.reports import document, selectors, services, word
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def test_a_number_in_the_docx_leads_back_to_its_findings_indicator_and_submissions(
    assessment: Assessment,  # noqa: F811
) -> None:
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="ru",
        title="Факторы небезопасности",
        assessment=assessment,
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)
    services.section_set_options(
        user=analyst, section=section, options={"indicators": ["safe_night"], "breakdowns": ["sex"]}
    )
    out = io.BytesIO()
    word.write(document.drawn(report), out)

    # 1. The document: the women's row of the indicator's table.
    read = docx.Document(io.BytesIO(out.getvalue()))
    rows = [[c.text for c in row.cells] for table in read.tables for row in table.rows]
    in_document = next(row for row in rows if row[0] == "женщины")
    estimate_text, n_text = in_document[1], in_document[3]

    # 2. The section's record of that row: the findings record, indicator, breakdown, row.
    section.refresh_from_db()
    (indicator,) = section.built["indicators"]
    (by_sex,) = indicator["groups"]
    row = next(r for r in by_sex["rows"] if r["label"] == "женщины")
    assert (row["estimate"], row["n"]) == (estimate_text, n_text)
    trace = row["trace"]
    assert (trace["indicator"], trace["by"]) == ("safe_night", "sex")

    # 3. The findings record: published, computed from the form's submissions as they are.
    findings = Findings.objects.select_related("form", "indicator_set").get(pk=trace["findings"])
    assert findings.published_at is not None
    form = findings.form
    assert findings.source_key == data_key(form, list(form.versions.all()))
    spec = yaml.safe_load(findings.indicator_set.spec)
    definition = next(i for i in spec["indicators"] if i["id"] == "safe_night")
    assert definition["numerator"] == "${safe_night} = 'very_safe' or ${safe_night} = 'safe'"

    # 4. The submissions: the weighted share of women who answered "safe" or "very safe".
    answered = [
        s.data
        for s in Submission.objects.filter(form=form)
        if s.data.get("sex") == "female" and s.data.get("safety/safe_night")
    ]
    weight = sum(d["weight"] for d in answered)
    safe = sum(d["weight"] for d in answered if d["safety/safe_night"] in ("safe", "very_safe"))
    assert estimate_text == f"{round(100 * safe / weight)}%"
    assert n_text == str(len(answered))
