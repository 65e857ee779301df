"""``amniyat form check`` and ``amniyat form add``: a one-line summary and advice, or every
problem and exit status 2, never a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.forms import services
from amniyat.fieldwork.models import FormVersion
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.forms.test_xlsform import HEADER, safety_survey, workbook


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("form", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[CommandError, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("form", *args, stdout=io.StringIO(), stderr=err)
    return caught.value, err.getvalue()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "safety.xlsx"
    path.write_bytes(safety_survey())
    return path


def test_check_prints_a_summary_and_the_fields_lacking_a_class(good: Path) -> None:
    out, err = run("check", str(good))

    assert out == (
        "safety_survey version 2024060101: 14 fields; languages: English (en), Russian (ru), "
        "Tajik (tg)\n"
    )
    assert (
        "warning: 6 field(s) have no sensitivity class yet and must get one before the form is "
        "published: age, sex, region, district, concerns and household/member/member_age"
    ) in err


def test_check_lists_every_problem_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(
        workbook(
            {
                "survey": [HEADER, ["integer", "a", "A"], ["select_one yn", "b", "B"]],
                "choices": [["list_name", "name", "label"], ["other", "x", "X"]],
            }
        )
    )
    error, err = run_failing("check", str(path))

    assert error.returncode == 2
    assert str(error) == "1 problem(s); nothing was stored."
    assert err == (
        "broken.xlsx, sheet “survey”, row 3, column “type”: The choice list “yn” is not on the "
        "choices sheet.\n    pyxform: List name not in choices sheet: yn\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.xlsx", b"", "The file is empty."),
        ("report.xlsx", b"%PDF-1.5", "it looks like a PDF document"),
        ("renamed.xls", None, "The file is named .xls but its content is not"),
    ],
)
def test_check_refuses_what_is_not_an_xlsform(
    tmp_path: Path, name: str, content: bytes | None, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(safety_survey() if content is None else content)
    error, err = run_failing("check", str(path))

    assert error.returncode == 2
    assert words in err
    assert "Traceback" not in err


def test_check_refuses_a_missing_or_too_large_file(tmp_path: Path, settings: Any) -> None:
    error, _ = run_failing("check", str(tmp_path / "nowhere.xlsx"))
    assert (error.returncode, str(error)) == (2, f"{tmp_path / 'nowhere.xlsx'}: no such file.")

    settings.AMNIYAT_MAX_UPLOAD_BYTES = 1024
    path = tmp_path / "big.xlsx"
    path.write_bytes(safety_survey())
    error, _ = run_failing("check", str(path))
    assert (error.returncode, str(error)) == (
        2,
        f"{path}: larger than 1.0 KB, the most this server accepts.",
    )


@pytest.mark.django_db
def test_add_stores_the_form_as_the_cli(good: Path) -> None:
    programme = ProgrammeFactory()
    assessment = services.assessment_create(
        acting_user=member_of(programme, Membership.Role.LEAD),
        programme=programme,
        title="Baseline",
        kind="baseline",
    )
    out, err = run("add", "--assessment", str(assessment.pk), str(good))

    form = FormVersion.objects.get().form
    assert out == (
        f"Form {form.pk} (“safety_survey”, version 2024060101) stored. "
        f"Import its submissions with: amniyat import FILE --form {form.pk}\n"
    )
    assert "fields without a sensitivity class: age, sex" in err
    version = FormVersion.objects.get()
    assert version.form.assessment == assessment
    event = AuditEvent.objects.get(object_type="fieldwork.formversion")
    assert (event.actor, event.actor_label) == (None, "cli")

    error, err = run_failing("add", "--assessment", str(assessment.pk), str(good))
    assert error.returncode == 2
    assert "Version “2024060101” of the form “safety_survey” is already here." in err
    assert FormVersion.objects.count() == 1


@pytest.mark.django_db
def test_add_to_an_unknown_assessment(good: Path) -> None:
    error, _ = run_failing("add", "--assessment", "999999", str(good))
    assert (error.returncode, str(error)) == (2, "No assessment with id 999999.")


def test_the_amniyat_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(workbook({"survey": [HEADER, ["txet", "a", "A"]]}))
    amniyat = Path(sys.executable).with_name("amniyat")
    result = subprocess.run(  # noqa: S603 - our own command, a path we made
        [str(amniyat), "form", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "amniyat.settings"},
    )

    assert result.returncode == 2
    assert "broken.xlsx, sheet “survey”, row 2, column “type”" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
