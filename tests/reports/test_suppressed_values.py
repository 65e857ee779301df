"""No value that disclosure control withholds reaches a report, whichever section shows it:
for the methodology's sample, the district map and the baseline → endline comparison, a test
looks for each withheld count in the built content, in the DOCX's XML and in the PDF's text,
and finds its reason instead."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from typing import Any

import pytest

from amniyat.accounts.models import Membership, Programme, User
from amniyat.demo.build import INDICATORS_FILE
from amniyat.fieldwork.models import Assessment
from amniyat.fieldwork.submissions.frames import submissions_frame
from amniyat.findings import services as findings_services
from amniyat.findings.models import Findings
from amniyat.places.models import Place
from amniyat.reports import document, pdf, selectors, services, word
from amniyat.reports.models import Report, Section
from amniyat.stats.sdc import protect_frequency_table
from tests.factories import member_of
from tests.findings.test_findings import TJ_DISTRICTS, compute, survey_assessment

Role = Membership.Role
# Ten districts of about 60 respondents each, 30 of each sex: a threshold of 65 withholds
# most districts' figures and every district × sex count.
THRESHOLD = 65
SQUARE = [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1], [0.0, 0.0]]


def _publish(assessment: Assessment, lead: User) -> Findings:
    return findings_services.findings_publish(acting_user=lead, findings=compute(assessment))


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    baseline = survey_assessment(kind="baseline")
    programme: Programme = baseline.programme
    programme.min_cell_size = THRESHOLD
    programme.save(update_fields=["min_cell_size"])
    findings_services.indicator_set_save(
        acting_user=None, programme=programme, spec=INDICATORS_FILE.read_text(encoding="utf-8")
    )
    for index, place in enumerate(Place.objects.filter(code__in=TJ_DISTRICTS).order_by("code")):
        ring = [[68 + index * 0.2 + x, 38 + y] for x, y in SQUARE]
        place.boundary = {"type": "Polygon", "coordinates": [ring]}
        place.save(update_fields=["boundary"])
    # A small endline: its figures for women and for men rest on fewer than 65.
    endline = survey_assessment(100, kind="endline", programme=programme)
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    base, end = _publish(baseline, lead), _publish(endline, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="en",
        title="Suppressed",
        assessment=baseline,
    )
    for section in selectors.sections_of(report).exclude(kind=Section.Kind.METHODOLOGY):
        if section.kind != Section.Kind.TITLE:
            services.section_remove(user=analyst, section=section)
    area = services.section_add(user=analyst, report=report, kind=Section.Kind.DISTRICT_MAP)
    services.section_set_options(user=analyst, section=area, options={"indicator": "safe_night"})
    change = services.section_add(user=analyst, report=report, kind=Section.Kind.CHANGE)
    services.section_set_options(
        user=analyst, section=change, options={"indicators": ["safe_night"]}
    )
    services.section_build(
        user=analyst, section=selectors.sections_of(report).get(kind=Section.Kind.METHODOLOGY)
    )
    drawn = document.drawn(report)
    docx_out, pdf_out = io.BytesIO(), io.BytesIO()
    word.write(drawn, docx_out)
    pdf.write(document.drawn(report), pdf_out)
    with zipfile.ZipFile(io.BytesIO(docx_out.getvalue())) as package:
        xml = package.read("word/document.xml").decode()
    text = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", "-", "-"],
        input=pdf_out.getvalue(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return {
        "report": report,
        "base": base,
        "end": end,
        "built": {s.kind: s.built for s in selectors.sections_of(report)},
        "xml": xml,
        "docx_rows": _docx_rows(xml),
        "pdf": text,
    }


def _docx_rows(xml: str) -> list[list[str]]:
    """Every table row of the DOCX as the texts of its cells."""
    rows = []
    for row in re.findall(r"<w:tr[ >].*?</w:tr>", xml, flags=re.S):
        cells = re.findall(r"<w:tc>.*?</w:tc>", row, flags=re.S)
        rows.append(["".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", c)) for c in cells])
    return rows


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


def _pdf_lines(text: str, label: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith(label)]


def test_the_methodology_never_shows_a_withheld_count(world: dict[str, Any]) -> None:
    (sample,) = world["built"][Section.Kind.METHODOLOGY]["samples"]
    form = world["base"].form
    protected = protect_frequency_table(
        submissions_frame(form, classes=frozenset({"public"})),
        "district",
        "sex",
        min_cell=THRESHOLD,
    )
    withheld = [c for row in sample["rows"] for c in row["counts"] if c["text"] is None]
    assert withheld and all(c["note"].startswith("suppressed") for c in withheld)
    for i, row in enumerate(sample["rows"][:-1]):  # each district: its counts withheld
        true = [protected.counts[i][j] for j in range(len(protected.counts[i]))]
        hidden = {
            str(v) for v, gone in zip(true, protected.suppressed[i], strict=True) if gone and v
        }
        assert hidden, row
        stored = json.dumps(row, ensure_ascii=False)
        assert not hidden & _numbers(stored.replace(str(THRESHOLD), "")) - {str(form.pk)}, row
        docx_row = next(r for r in world["docx_rows"] if r and r[0] == row["label"])
        assert not hidden & _numbers(" ".join(docx_row).replace(str(THRESHOLD), "")), docx_row
        for line in _pdf_lines(world["pdf"], row["label"]):
            assert not hidden & _numbers(line.replace(str(THRESHOLD), "")), line


def test_the_district_map_never_shows_a_withheld_value(world: dict[str, Any]) -> None:
    area = world["built"][Section.Kind.DISTRICT_MAP]
    assert area["is_map"] and not area["fallback"]
    records = {
        r["domain"]["district"]: r
        for r in world["base"].results["estimates"]
        if r["indicator"] == "safe_night" and r["by"] == ["district"]
    }
    withheld = [row for row in area["chart"]["rows"] if row["note"]]
    suppressed = [r for r in records.values() if r["estimate"] is None]
    assert withheld and len(withheld) == len(suppressed) < len(records)
    features = area["chart"]["spec"]["data"]["values"]["features"]
    for row in withheld:
        assert row["values"] == [] and row["note"].startswith("suppressed")
        feature = next(f for f in features if f["properties"]["name"] == row["label"])
        assert feature["properties"]["estimate"] is None
        assert feature["properties"]["tip"] == f"{row['label']}\n{row['note']}"
        assert row["trace"]["by"] == "district"
    hidden = {str(r["n"]) for r in suppressed}
    for row in withheld:
        docx_row = next(r for r in world["docx_rows"] if r and r[0] == row["label"])
        assert set(docx_row[1:]) == {row["note"]}, docx_row
        for line in _pdf_lines(world["pdf"], row["label"]):
            assert not hidden & _numbers(line.replace(str(THRESHOLD), "")), line


def test_the_comparison_keeps_suppressed_cells_suppressed(world: dict[str, Any]) -> None:
    change = world["built"][Section.Kind.CHANGE]
    (indicator,) = change["indicators"]
    overall, *by_sex = indicator["rows"]
    assert overall["baseline"]["estimate"] and overall["endline"]["estimate"]
    assert overall["change"] and "points" in overall["change"]
    assert overall["baseline"]["trace"]["findings"] == world["base"].pk
    assert overall["endline"]["trace"]["findings"] == world["end"].pk
    assert by_sex and all(row["endline"]["estimate"] is None for row in by_sex)
    hidden = {
        str(r["n"])
        for r in world["end"].results["estimates"]
        if r["indicator"] == "safe_night" and r["by"] == ["sex"]
    }
    for row in by_sex:
        assert row["change"] is None and row["note"] == "suppressed"
        assert row["endline"]["n"] == f"< {THRESHOLD}" and row["endline"]["interval"] is None
        stored = json.dumps(row["endline"])
        assert not hidden & _numbers(stored.replace(str(THRESHOLD), "")), stored
        docx_row = next(r for r in world["docx_rows"] if r and r[0] == row["label"])
        assert not hidden & _numbers(" ".join(docx_row[4:]).replace(str(THRESHOLD), ""))
        assert docx_row[-1] == "suppressed"
    # The PDF prints the endline's figure overall exactly as the page does.
    assert overall["endline"]["estimate"] in world["pdf"]
