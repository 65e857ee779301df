"""A report in a language for which the indicator set has no label names the indicator in
English, and says so beside it, on the page and in the DOCX."""

from __future__ import annotations

import html
import io

import docx
import yaml
from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.demo.build import INDICATORS_FILE
from amniyat.fieldwork.models import Assessment
from amniyat.findings import services as findings_services
from amniyat.reports import document, selectors, services, word
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.findings.test_findings import compute, survey_assessment

Role = Membership.Role


def _without_uzbek_label(indicator: str) -> str:
    spec = yaml.safe_load(INDICATORS_FILE.read_text(encoding="utf-8"))
    for item in spec["indicators"]:
        if item["id"] == indicator:
            del item["label"]["uz"]
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)


def test_an_indicator_without_a_label_in_the_language_is_named_in_english_with_a_note(
    db: None,
) -> None:
    assessment: Assessment = survey_assessment()
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    findings_services.indicator_set_save(
        acting_user=None, programme=programme, spec=_without_uzbek_label("safe_night")
    )
    findings_services.findings_publish(acting_user=lead, findings=compute(assessment))
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="uz",
        title="Xavfsizlik",
        assessment=assessment,
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)
    services.section_set_options(
        user=analyst, section=section, options={"indicators": ["safe_night", "safe_day"]}
    )
    section.refresh_from_db()
    night, day = section.built["indicators"]
    assert night["label"] == "Feel safe or very safe in their area at night"
    assert night["label_note"] and "English" not in night["label_note"]  # said in Uzbek
    assert day["label"].startswith("Kunduzi") and day["label_note"] == ""

    client = Client()
    client.force_login(analyst)
    page = client.get(reverse("reports:detail", args=[programme.slug, report.pk]))
    assert night["label_note"] in html.unescape(page.content.decode())
    out = io.BytesIO()
    word.write(document.drawn(report), out)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(out.getvalue())).paragraphs]
    # Under its heading (the contents list the heading too, without the note).
    headed = [i for i, p in enumerate(paragraphs) if p == night["label"]]
    assert any(paragraphs[i + 1] == night["label_note"] for i in headed)
