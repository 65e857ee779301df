"""The DOCX as a communications officer opens it: LibreOffice reads it without error
(`soffice --headless --convert-to pdf`), and its table of contents lists the document's
headings in order."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.utils import translation

from amniyat.fieldwork.models import Assessment
from amniyat.reports.document import heading_of
from amniyat.reports.models import Section
from tests.reports.test_built_findings import _published, assessment  # noqa: F401
from tests.reports.test_word import briefing_docx


def test_libreoffice_opens_the_docx_and_its_contents_list_the_headings(
    assessment: Assessment,  # noqa: F811
    tmp_path: Path,
) -> None:
    written, _findings = briefing_docx(assessment)
    source = tmp_path / "briefing.docx"
    source.write_bytes(written)
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (Debian: libreoffice-writer-nogui) is installed by `make install`"
    converted = subprocess.run(  # noqa: S603 (LibreOffice, a file of ours)
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert converted.returncode == 0, converted.stderr
    pdf = tmp_path / "briefing.pdf"
    assert pdf.stat().st_size > 10_000, converted.stdout + converted.stderr
    text = subprocess.run(  # noqa: S603 (poppler, a file of ours)
        ["/usr/bin/pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    contents = lines.index("Содержание")
    # The contents list the headings as the body has them, in order: the summary, then the
    # key findings, ahead of the body's own summary heading.
    summary = lines.index("Резюме", contents)
    body_summary = lines.index("Резюме", summary + 1)
    listed = lines[contents + 1 : body_summary]
    assert listed[0] == "Резюме"
    with translation.override("ru"):
        key_findings = heading_of(Section(kind=Section.Kind.FINDINGS))
    assert any(line.startswith(key_findings[:20]) for line in listed), (key_findings, listed)
    assert "Update the field" not in text
