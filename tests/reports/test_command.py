"""``amniyat report build`` writes a briefing paper from the template without the pages, stores
nothing, and answers bad input with exit status 2 and one line."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amniyat.accounts.models import Membership
from amniyat.fieldwork.models import Assessment
from amniyat.reports.models import Report
from tests.factories import member_of
from tests.reports.test_built_findings import _published, assessment  # noqa: F401

Role = Membership.Role


def test_a_briefing_paper_from_the_command_line(assessment: Assessment, tmp_path: Path) -> None:  # noqa: F811
    _published(assessment, member_of(assessment.programme, Role.LEAD))
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "briefing.docx"
    call_command(
        "report",
        "build",
        "--programme",
        assessment.programme.slug,
        "--assessment",
        str(assessment.pk),
        "--language",
        "ru",
        "--format",
        "docx",
        "--output",
        str(target),
        stdout=out,
        stderr=err,
    )
    assert out.getvalue().strip() == str(target)
    read = docx.Document(str(target))
    assert read.tables and read.paragraphs[0].style.name == "Title"
    # Every section of the template is built now, the methodology among them.
    assert not err.getvalue()
    headings = [p.text for p in read.paragraphs if p.style.name == "Heading 1"]
    assert any(h.lower() in ("methodology", "методология") for h in headings), headings
    assert not Report.objects.exists()
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--programme": "nowhere"}, "nowhere"),
        ({"--assessment": "999999"}, "999999"),
        ({"--output": "/no/such/folder/x.pdf"}, "/no/such/folder"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    assessment: Assessment,  # noqa: F811
    tmp_path: Path,
    change: dict[str, str],
    message: str,
) -> None:
    arguments = {
        "--programme": assessment.programme.slug,
        "--assessment": str(assessment.pk),
        "--format": "pdf",
        "--output": str(tmp_path / "x.pdf"),
        **change,
    }
    with pytest.raises(CommandError) as caught:
        call_command("report", "build", *[part for item in arguments.items() for part in item])
    assert caught.value.returncode == 2
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not Report.objects.exists()


def test_no_published_findings_is_bad_input(assessment: Assessment, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(CommandError) as caught:
        call_command(
            "report",
            "build",
            "--programme",
            assessment.programme.slug,
            "--assessment",
            str(assessment.pk),
            "--format",
            "pdf",
            "--output",
            str(tmp_path / "x.pdf"),
        )
    assert caught.value.returncode == 2
    assert not (tmp_path / "x.pdf").exists() and not list(tmp_path.iterdir())
