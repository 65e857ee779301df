"""The columns KoboToolbox and ODK Central add about a submission, read for what they mean: the
form version it was filled in (``__version__``, ``FormVersion``) and where it stands in review
(``_validation_status``, ``ReviewState``). The files are the real ones of ``real/`` with those
columns changed where a case needs another value."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from amniyat.accounts.models import Membership
from amniyat.fieldwork.forms.services import form_add
from amniyat.fieldwork.models import Form, ImportJob, Submission
from tests.factories import member_of
from tests.fieldwork.imports.test_real_exports import REAL, _form, _import

pytestmark = pytest.mark.django_db
KOBO = REAL / "kobo_xlsx_repeat_meta"
APPROVED = "uuid:3f9b6c1e-2a4d-4e8f-9b0c-1d2e3f4a5b6c"  # "validation_status_approved" in the file


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _states(form: Form) -> dict[str, str]:
    return dict(Submission.objects.filter(form=form).values_list("instance_id", "review_state"))


def _versions(form: Form) -> dict[str, str]:
    return dict(
        Submission.objects.filter(form=form).values_list("instance_id", "form_version__version")
    )


def _changed_xlsx(source: Path, target: Path, column: str, values: dict[int, Any]) -> Path:
    """``source`` with the main sheet's ``column`` set row by row (2: the first submission)."""
    book = openpyxl.load_workbook(source)
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row, value in values.items():
        sheet.cell(row=row, column=header.index(column) + 1, value=value)
    book.save(target)
    return target


def _new_version(form: Form, version: str) -> None:
    book = openpyxl.load_workbook(KOBO / "form.xlsx")
    settings = book["settings"]
    header = [cell.value for cell in settings[1]]
    settings.cell(row=2, column=header.index("version") + 1, value=version)
    out = io.BytesIO()
    book.save(out)
    form_add(
        acting_user=member_of(form.assessment.programme, Membership.Role.LEAD),
        assessment=form.assessment,
        file_name="form.xlsx",
        content=out.getvalue(),
    )


def test_a_kobo_validation_status_is_kept_as_the_review_state() -> None:
    form = _form("kobo_xlsx_repeat_meta")

    job = _import(form, KOBO / "export.xlsx")

    assert job.status == ImportJob.Status.SUCCEEDED
    states = _states(form)
    assert states.pop(APPROVED) == Submission.ReviewState.APPROVED
    assert set(states.values()) == {""}


def test_each_submission_keeps_the_form_version_the_file_names(tmp_path: Path) -> None:
    """Submitted against ``vJp4…`` (the version of the form KoboToolbox deployed, in its
    ``__version__`` column), stored with that version although a newer one was uploaded since;
    a version the form does not have is said in the report."""
    form = _form("kobo_xlsx_repeat_meta")
    _new_version(form, "v2")
    assert form.current_version().version == "v2"
    changed = _changed_xlsx(
        KOBO / "export.xlsx", tmp_path / "export.xlsx", "__version__", {3: "vUnknown"}
    )

    job = _import(form, changed)

    assert job.status == ImportJob.Status.SUCCEEDED
    versions = _versions(form)
    assert versions.pop("uuid:7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d") == "v2"
    assert set(versions.values()) == {"vJp4Qz8sLx2nWc7dRf6tAy"}
    assert job.report["notes"] == [
        "“export.xlsx” names versions of the form that Amniyat does not have (vUnknown): their "
        "submissions were stored with the version the import was made against."
    ]


def test_a_newer_export_brings_the_review_states_of_submissions_already_stored(
    tmp_path: Path,
) -> None:
    form = _form("kobo_xlsx_repeat_meta")
    _import(form, KOBO / "export.xlsx")
    changed = _changed_xlsx(
        KOBO / "export.xlsx",
        tmp_path / "export.xlsx",
        "_validation_status",
        {2: "validation_status_not_approved", 3: "validation_status_on_hold"},
    )

    job = _import(form, changed)

    assert (job.stored, job.duplicates, job.conflicts) == (0, 3, 0)
    states = _states(form)
    assert states[APPROVED] == Submission.ReviewState.REJECTED
    assert states["uuid:7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"] == Submission.ReviewState.HAS_ISSUES
    assert job.report["notes"] == [
        "2 submissions already stored took the review state the file gives them."
    ]


def test_odk_central_review_states_and_form_versions_are_read(tmp_path: Path) -> None:
    source = REAL / "odk_split_select_multiple_in_group" / "selectMultiple.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    review, version = header.index("ReviewState"), header.index("FormVersion")
    rows = [line.split(",") for line in lines[1:]]
    for row, state in zip(rows, ["hasIssues", "approved"], strict=True):
        row[review], row[version] = state, "2018"
    changed = tmp_path / "selectMultiple.csv"
    changed.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    form = _form("odk_split_select_multiple_in_group")

    job = _import(form, changed)

    assert job.status == ImportJob.Status.SUCCEEDED
    assert sorted(_states(form).values()) == ["approved", "has_issues"]
    assert "(2018)" in job.report["notes"][0]


def test_the_kobo_api_gives_the_validation_status_as_an_object(tmp_path: Path) -> None:
    source = REAL / "kobo_nested_repeats" / "data.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    data["results"][0]["_validation_status"] = {
        "timestamp": 1625050000,
        "uid": "validation_status_on_hold",
        "by_whom": "supervisor",
        "label": "On Hold",
    }
    changed = tmp_path / "data.json"
    changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    form = _form("kobo_nested_repeats")

    job = _import(form, changed)

    assert job.status == ImportJob.Status.SUCCEEDED
    states = _states(form)
    assert states.pop("uuid:0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e") == "has_issues"
    assert set(states.values()) == {""}


def test_the_api_gives_and_filters_on_the_review_state() -> None:
    from django.test import Client

    form = _form("kobo_xlsx_repeat_meta")
    _import(form, KOBO / "export.xlsx")
    client = Client()
    client.force_login(member_of(form.assessment.programme, Membership.Role.ANALYST))

    def ids(query: str) -> list[tuple[str, str]]:
        body = client.get(f"/api/v1/submissions/?form={form.pk}{query}").json()
        return sorted((item["instance_id"], item["review_state"]) for item in body["results"])

    assert ids("&review_state=approved") == [(APPROVED, "approved")]
    assert len(ids("&review_state=")) == 2
    assert len(ids("&review_state=nonsense")) == 3


def test_the_submissions_page_shows_and_filters_on_the_review_state() -> None:
    from django.test import Client
    from django.urls import reverse

    form = _form("kobo_xlsx_repeat_meta")
    _import(form, KOBO / "export.xlsx")
    client = Client()
    client.force_login(member_of(form.assessment.programme, Membership.Role.ANALYST))
    url = reverse("fieldwork:submission_list", args=[form.assessment.programme.slug, form.pk])

    everything = client.get(url).content.decode()
    approved = client.get(url, {"review_state": "approved"}).content.decode()
    unreviewed = client.get(url, {"review_state": ""}).content.decode()
    anything = client.get(url, {"review_state": "any"}).content.decode()

    assert everything.count("<td>approved</td>") == 1
    assert "3 submissions" in everything and "3 submissions" in anything
    assert "1 submission<" in approved and "<td>approved</td>" in approved
    assert "2 submissions" in unreviewed and "<td>approved</td>" not in unreviewed
