"""The DOCX of a report: Word's own styles (headings that feed the contents field), tables
with a repeated header row that python-docx reads back, footnotes in their own part, charts as
pictures, page numbers; and no withheld value anywhere in the file."""

from __future__ import annotations

import io
import subprocess
import zipfile

import docx

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.findings.models import Findings
from amniyat.reports import document, selectors, services, word
from amniyat.reports.models import Report, Section
from tests.factories import member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def briefing_docx(assessment: Assessment) -> tuple[bytes, Findings]:  # noqa: F811
    """A Russian briefing paper of ``assessment`` as DOCX (summary with a footnote and a
    link, key findings by sex and by sex and district, the gender gap), and the published
    findings it reads."""
    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    findings = _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="ru",
        title="Факторы небезопасности",
        assessment=assessment,
    )
    summary = selectors.sections_of(report).get(kind=Section.Kind.TEXT)
    services.section_update(
        user=analyst,
        section=summary,
        heading="Резюме",
        text="Женщины *не чувствуют* себя в безопасности.[^1] См. [опрос](https://example.org).\n\n"
        "- освещение\n- патрули\n\n[^1]: По данным опроса.",
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)
    services.section_set_options(
        user=analyst,
        section=section,
        options={"breakdowns": ["sex", "sex,district"]},
    )
    gap = selectors.sections_of(report).get(kind=Section.Kind.GENDER_GAP)
    services.section_build(user=analyst, section=gap)

    out = io.BytesIO()
    steps: list[tuple[int, int]] = []
    word.write(
        document.drawn(report), out, progress=lambda done, total: steps.append((done, total))
    )
    assert steps[-1][0] == steps[-1][1]
    return out.getvalue(), findings


def test_a_briefing_paper_as_docx(assessment: Assessment) -> None:  # noqa: F811
    written, findings = briefing_docx(assessment)
    read = docx.Document(io.BytesIO(written))
    styles = [p.style.name for p in read.paragraphs]
    assert styles[0] == "Title"
    headings = [p.text for p in read.paragraphs if p.style.name == "Heading 1"]
    assert "Резюме" in headings
    assert headings[0] in ("Contents", "Содержание")
    # Tables read back, with their header row repeated on each page.
    assert len(read.tables) >= 2
    first = read.tables[0]
    assert first.rows[1].cells[0].text == "Everyone" or first.rows[1].cells[0].text == "Все"
    assert (
        first.rows[0]._tr.trPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader"
        )
        is not None
    )
    estimate = next(
        e for e in findings.results["estimates"] if e["indicator"] == "safe_night" and not e["by"]
    )
    cells = [cell.text for table in read.tables for row in table.rows for cell in row.cells]
    assert f"{round(estimate['estimate'] * 100)}%" in cells

    with zipfile.ZipFile(io.BytesIO(written)) as package:
        names = package.namelist()
        assert "word/footnotes.xml" in names
        assert "По данным опроса." in package.read("word/footnotes.xml").decode()
        body = package.read("word/document.xml").decode()
        assert 'w:footnoteReference w:id="1"' in body
        assert "TOC \\o" in body
        assert any(name.startswith("word/media/") for name in names)  # the gap chart
    # A withheld figure shows its reason across the estimate and interval, and never the
    # size of the cell that disclosure control protects.
    withheld = [
        [cell.text for cell in row.cells]
        for table in read.tables
        if table.rows[0].cells[-1].text == "n"  # the key findings' tables
        for row in table.rows[1:]
        if row.cells[1]._tc is row.cells[2]._tc and len({c.text for c in row.cells}) > 1
    ]
    assert withheld, "a 600-person survey has sex × district cells below 5"
    assert all(cells[3] in ("< 5", "—", "0") for cells in withheld), withheld


def test_a_briefing_paper_as_pdf(assessment: Assessment) -> None:  # noqa: F811
    from amniyat.reports import pdf

    programme = assessment.programme
    lead, analyst = member_of(programme, Role.LEAD), member_of(programme, Role.ANALYST)
    findings = _published(assessment, lead)
    report = services.report_create(
        user=analyst,
        programme=programme,
        kind=Report.Kind.BRIEFING,
        language="tg",
        title="Омилҳои ноамнӣ дар маҳаллаҳо",
        assessment=assessment,
    )
    summary = selectors.sections_of(report).get(kind=Section.Kind.TEXT)
    services.section_update(
        user=analyst,
        section=summary,
        text='Занон шабона худро бехатар ҳис намекунанд. <img src="http://evil.example/x.png">'
        " ![tracker](http://evil.example/t.png)",
    )
    section = selectors.sections_of(report).get(kind=Section.Kind.FINDINGS)
    services.section_set_options(
        user=analyst, section=section, options={"indicators": ["safe_night"]}
    )
    gap = selectors.sections_of(report).get(kind=Section.Kind.GENDER_GAP)
    services.section_build(user=analyst, section=gap)
    out = io.BytesIO()
    pdf.write(document.drawn(report), out)
    data = out.getvalue()
    assert data.startswith(b"%PDF")
    text = subprocess.run(
        ["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert "Омилҳои ноамнӣ" in text
    estimate = next(
        e for e in findings.results["estimates"] if e["indicator"] == "safe_night" and not e["by"]
    )
    assert f"{round(estimate['estimate'] * 100)}%" in text
    # Every key finding's row as the section (and the findings page) shows it: its estimate,
    # interval and n on the row's line of the PDF.
    section.refresh_from_db()
    lines = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    rows = [
        row
        for indicator in section.built["indicators"]
        for row in [indicator["overall"], *(r for g in indicator["groups"] for r in g["rows"])]
        if row and row["estimate"]
    ]
    assert len(rows) > 10
    for row in rows:
        shown = f"{row['estimate']} {row['interval']} {row['n']}"
        assert any(" ".join(line.split()).endswith(shown) for line in lines.splitlines()), shown
