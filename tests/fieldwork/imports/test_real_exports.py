"""Files exactly as KoboToolbox and ODK Central write them (``real/``: made by their own export
code or copied from their own tests; ``real/README.md`` names each source), imported with the
format found from the content, as a field team would: every submission stored, every answer
as the tool's ``expected.json`` says, nothing refused for the columns the tools add."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from amniyat.accounts.models import Membership
from amniyat.fieldwork.forms.services import assessment_create, form_add
from amniyat.fieldwork.imports.schema import FormPlan, plan_for, stored_answers
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import Form, ImportJob, Submission
from tests.factories import ProgrammeFactory, member_of

REAL = Path(__file__).resolve().parent / "real"
# Each case and the files of it that Amniyat reads in full.
READ = {
    "kobo_hxl_csv": ["export.csv", "export_groups.csv"],
    "kobo_xlsx_repeat_meta": ["export.xlsx", "export_groups.xlsx"],
    "odk_split_select_multiple_in_group": ["selectMultiple.csv"],
    "kobo_labels": [
        "export_labels.csv",
        "export_labels.xlsx",
        "export_labels_spanish.csv",
        "export_labels_hierarchy.csv",
    ],
    # KoboCAT's legacy exports ("n/a" for unanswered): of a form with a loop, and of one with
    # a repeat written out as numbered columns.
    "loop": ["transportation.csv"],
    "kobo_legacy_csv": ["tutorial_w_repeats.csv", "nested_repeats.csv"],
    # A repeat inside a repeat: household → members → incidents (Kobo XLSX and API JSON),
    # and ODK Central's zip of its own nested-repeat test.
    "kobo_nested_repeats": ["export.xlsx", "data.json"],
    "odk_nested_repeats": ["multirepeat.csv.zip"],
}


# The cases whose files KoboCAT's legacy exporter wrote (real/README.md).
LEGACY = {"loop", "kobo_legacy_csv"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _form(case: str, form_file: str = "form.xlsx") -> Form:
    programme = ProgrammeFactory()
    lead = member_of(programme, Membership.Role.LEAD)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Baseline", kind="baseline"
    )
    version = form_add(
        acting_user=lead,
        assessment=assessment,
        file_name=form_file,
        content=(REAL / case / form_file).read_bytes(),
    )
    return version.form


def _import(form: Form, path: Path) -> ImportJob:
    job = import_start(
        acting_user=member_of(form.assessment.programme, Membership.Role.LEAD),
        form=form,
        file_name=path.name,
        content=path.read_bytes(),
        file_format="auto",
    )
    return import_run(job.pk)


def _nested(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    """Stored answers (a repeat's field holds one value per repetition, a list per level of
    repeats holding it) in the shape of ``expected.json`` (a repeat holds one object per
    repetition, a repeat inside it a list in each); unanswered left out. Written here from the
    paths alone, apart from the code under test."""
    repeats = sorted(plan.repeats, key=lambda path: path.count("/"))

    def holder(repeat: str) -> str | None:
        holders = [other for other in repeats if repeat.startswith(f"{other}/")]
        return max(holders, key=len) if holders else None

    def items(repeat: str, at: tuple[int, ...]) -> list[dict[str, Any]]:
        lists = {}
        for spec in plan.repeats[repeat]:
            value = answers.get(spec.path)
            for index in at:
                value = value[index] if isinstance(value, list) and index < len(value) else None
            if isinstance(value, list):
                lists[spec.path] = value
        inner = [other for other in repeats if holder(other) == repeat]
        count = max((len(values) for values in lists.values()), default=0)
        for other in inner:
            for spec in plan.repeats[other]:
                value = answers.get(spec.path)
                for index in at:
                    value = value[index] if isinstance(value, list) and len(value) > index else None
                if isinstance(value, list):
                    count = max(count, len(value))
        rows = []
        for i in range(count):
            row = {path: values[i] for path, values in lists.items() if i < len(values)}
            row = {path: value for path, value in row.items() if value is not None}
            for other in inner:
                if found := items(other, (*at, i)):
                    row[other] = found
            rows.append(row)
        return rows

    inside = {spec.path for fields in plan.repeats.values() for spec in fields}
    nested = {path: value for path, value in answers.items() if path not in inside}
    for repeat in repeats:
        if holder(repeat) is None and (found := items(repeat, ())):
            nested[repeat] = found
    return nested


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "file_name"), [(case, name) for case, names in READ.items() for name in names]
)
def test_a_real_export_is_stored_exactly(case: str, file_name: str) -> None:
    expected = json.loads((REAL / case / "expected.json").read_text(encoding="utf-8"))
    about = expected["files"][file_name]
    wanted = {
        instance_id: {
            key: value
            for key, value in submission.items()
            if key != "in_the_xml_but_not_in_the_csv"  # no column of the file holds it
        }
        | (
            {"submitted_at": about["submitted_at"][instance_id]}
            if instance_id in about.get("submitted_at", {})
            else {}
        )
        for instance_id, submission in expected["submissions"].items()
        if instance_id in about.get("submissions", expected["submissions"])
        and submission.get("file", file_name) == file_name
    }
    for submission in wanted.values():
        submission.pop("file", None)  # which of the case's files holds it
    form = _form(case, about.get("form", "form.xlsx"))

    job = _import(form, REAL / case / file_name)

    assert (job.status, job.report["problems"]) == (ImportJob.Status.SUCCEEDED, [])
    assert job.report["format"] == about["format"]
    plan = plan_for(form.current_version())
    stored = {
        submission.instance_id: {
            "submitted_at": _utc(submission.submitted_at),
            "submitted_by": submission.enumerator or None,
            "answers": _nested(
                stored_answers(submission.data, submission.protected_data or ""), plan
            ),
        }
        for submission in Submission.objects.filter(form=form)
    }
    assert stored == wanted
    # The report says how the file was read: through the form's labels, or as a legacy
    # export whose "n/a" means unanswered.
    notes = " ".join(job.report.get("notes", []))
    assert ("by their labels" in notes) == (about.get("headers_and_choices") == "labels")
    assert ("older KoboToolbox export" in notes) == (case in LEGACY)


@pytest.mark.django_db
def test_rows_of_an_inner_repeat_whose_repetition_is_missing_are_reported() -> None:
    """An incident row naming a member row that is not on the members sheet is a problem
    named by sheet and column, and nothing is stored."""
    import openpyxl

    source = REAL / "kobo_nested_repeats" / "export.xlsx"
    book = openpyxl.load_workbook(source)
    incidents = book["incidents"]
    header = [cell.value for cell in incidents[1]]
    incidents.cell(row=2, column=header.index("_parent_index") + 1, value=99)
    changed = source.parent / "changed.xlsx"
    form = _form("kobo_nested_repeats")
    try:
        book.save(changed)
        job = _import(form, changed)
    finally:
        changed.unlink(missing_ok=True)

    assert job.status == ImportJob.Status.FAILED
    assert [(p["file"], p["column"], p["message"]) for p in job.report["problems"]] == [
        (
            "changed.xlsx › incidents",
            "_parent_index",
            "Repeat rows belong to the repetition “99” of “members”, which is not in the file.",
        )
    ]
    assert not Submission.objects.filter(form=form).exists()


@pytest.mark.django_db
def test_the_import_page_says_the_file_used_labels() -> None:
    form = _form("kobo_labels")
    job = _import(form, REAL / "kobo_labels" / "export_labels_spanish.csv")
    client = Client()
    client.force_login(member_of(form.assessment.programme, Membership.Role.ANALYST))

    page = client.get(
        reverse("fieldwork:import_detail", args=[form.assessment.programme.slug, job.pk])
    ).content.decode()

    assert (
        "“export_labels_spanish.csv” names questions and choices by their labels (Spanish); "
        "they were matched to the form&#x27;s names."
    ) in page
