"""Exports: every machine format imports back into an empty form with identical stored
values; labelled tables in the chosen language; formulas neutralised; personal answers masked
unless the person may see them, and audited when shown."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from amniyat.accounts.models import Membership, Programme
from amniyat.audit.models import AuditEvent
from amniyat.downloads.models import Download
from amniyat.fieldwork.imports.schema import plan_for, stored_answers
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import Form, ImportJob, Submission
from amniyat.fieldwork.submissions import exporters
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.imports.test_importers import SCHEMA, SENSITIVITY, make_form
from tests.fieldwork.submissions.exporting import exported

Role = Membership.Role
TRICKY = (
    "name,age,income,visit,end,district,worries,comment,_uuid,_submission_time\n"
    '"=HYPERLINK(""http://x"")",-5,0.00001,2021-09-01,2021-09-01T10:15:30.000+05:00,'
    'vakhsh,theft police,"@SUM(A1); ""quoted""",u1,2021-09-01T05:20:00\n'
    "Дилноза,34,-1.5e-07,,,bokhtar,,+992 90 123,u2,2021-09-02T05:20:00\n"
    "'=already quoted,0,1e20,,,,violence,\t tab,u3,2021-09-03T05:20:00\n"
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def programme(db: None) -> Programme:
    return ProgrammeFactory(slug="tj")


def imported(form: Form, content: bytes, name: str, **kwargs: Any) -> ImportJob:
    lead = form.assessment.programme.memberships.filter(role=Role.LEAD).first()
    user = lead.user if lead else member_of(form.assessment.programme, Role.LEAD)
    job = import_start(acting_user=user, form=form, file_name=name, content=content, **kwargs)
    job = import_run(job.pk)
    assert job.status == ImportJob.Status.SUCCEEDED, job.report
    return job


def stored(form: Form) -> dict[str, tuple[dict[str, Any], str, str]]:
    return {
        s.instance_id: (
            stored_answers(s.data, s.protected_data),
            s.content_hash,
            s.submitted_at.isoformat(),
        )
        for s in Submission.objects.filter(form=form)
    }


def export(form: Form, export_format: str, tmp_path: Path) -> tuple[bytes, str]:
    plan = plan_for(form.current_version())  # type: ignore[arg-type]
    rows = exporters.rows_of(Submission.objects.filter(form=form), plan=plan, reveal=True)
    target = tmp_path / f"out-{export_format}"
    if export_format == "kobo-csv":
        target.write_text(_text(lambda out: exporters.write_kobo_csv(out, plan, rows)))
    elif export_format == "odk-csv":
        target.write_text(_text(lambda out: exporters.write_odk_csv(out, plan, rows)))
    elif export_format == "kobo-json":
        target.write_text(_text(lambda out: exporters.write_kobo_json(out, plan, rows)))
    elif export_format == "kobo-xlsx":
        exporters.write_kobo_xlsx(target, plan, rows, title=form.form_id)
    elif export_format == "odk-zip":
        exporters.write_odk_zip(target, plan, rows, form_id=form.form_id)
    extension = {"kobo-xlsx": "xlsx", "kobo-json": "json", "odk-zip": "zip"}.get(
        export_format, "csv"
    )
    return target.read_bytes(), f"export.{extension}"


def _text(write: Any) -> str:
    buffer = io.StringIO()
    write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "export_format", ["kobo-csv", "kobo-xlsx", "kobo-json", "odk-csv", "odk-zip"]
)
def test_every_format_imports_back_identically(
    programme: Programme, tmp_path: Path, export_format: str
) -> None:
    source = make_form(programme, schema=SCHEMA, form_id="source")
    imported(source, TRICKY.encode(), "tricky.csv")
    content, name = export(source, export_format, tmp_path)
    copy = make_form(programme, schema=SCHEMA, form_id="copy")
    job = imported(copy, content, name)
    assert job.stored == 3
    assert stored(copy) == stored(source)
    first = stored(copy)["uuid:u1"][0]
    assert first["respondent/name"] == '=HYPERLINK("http://x")'
    assert first["income"] == 1e-05 and first["respondent/age"] == -5


def repeat_source(programme: Programme) -> Form:
    form = make_form(programme, form_id="source")
    book = Workbook()
    main = book.active
    assert main is not None
    main.append(["respondent/name", "respondent/age", "_uuid", "_index"])
    main.append(["Dilnoza", 34, "a1", 1])
    main.append(["+cmd", 40, "a2", 2])
    main.append(["Nobody", 50, "a3", 3])
    repeat = book.create_sheet("member")
    repeat.append(["household/member/member_name", "household/member/member_age", "_parent_index"])
    repeat.append(["Aziz", 12, 1])
    repeat.append([None, 3, 1])
    repeat.append(["Bobur", None, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    imported(form, buffer.getvalue(), "repeats.xlsx")
    return form


@pytest.mark.parametrize("export_format", ["kobo-xlsx", "kobo-json", "odk-zip"])
def test_repeats_survive_the_round_trip(
    programme: Programme, tmp_path: Path, export_format: str
) -> None:
    source = repeat_source(programme)
    assert stored(source)["uuid:a1"][0]["household/member/member_name"] == ["Aziz", None]
    content, name = export(source, export_format, tmp_path)
    copy = make_form(programme, form_id="copy")
    imported(copy, content, name)
    assert stored(copy) == stored(source)


def lead_client(programme: Programme) -> tuple[Client, Any]:
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    return client, lead


def test_labelled_csv_in_the_chosen_language_with_formulas_neutralised(
    programme: Programme,
) -> None:
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    client, _lead = lead_client(programme)
    response = exported(
        client,
        form,
        {"export_format": "csv", "language": "ru"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="household-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[4:7] == ["Имя", "Возраст", "Income"]  # no Russian label: the default
    by_name = {row[4]: row for row in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in by_name
    assert "'=already quoted" in by_name  # the import took its quote off; the export put it back
    first = by_name['\'=HYPERLINK("http://x")']
    assert first[header.index("Комментарий") if "Комментарий" in header else 11] == (
        '\'@SUM(A1); "quoted"'
    )
    assert first[5] == "-5"  # a number, never quoted
    assert first[header.index("Район")] == "Вахш"
    assert first[header.index("Тревоги")] == "Кража, Полиция"
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "@", "\t", "\r") or cell == ""


def test_labelled_xlsx_neutralises_every_formula(programme: Programme) -> None:
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    client, _lead = lead_client(programme)
    response = exported(
        client,
        form,
        {"export_format": "xlsx", "language": "en"},
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    values = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row]
    texts = [v for v in values if isinstance(v, str)]
    assert '\'=HYPERLINK("http://x")' in texts and "'+992 90 123" in texts
    assert not [t for t in texts if t[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert -5 in values  # numbers stay numbers


def test_exports_mask_personal_answers_unless_allowed_and_audit_when_shown(
    programme: Programme,
) -> None:
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    client, lead = lead_client(programme)
    response = exported(
        client,
        form,
        {"export_format": "kobo-json", "language": "en"},
    )
    body = json.loads(b"".join(response.streaming_content).decode("utf-8-sig"))  # type: ignore[attr-defined]
    assert body["count"] == 3 and "Дилноза" in json.dumps(body, ensure_ascii=False)
    event = AuditEvent.objects.get(verb="viewed_personal", actor=lead)
    download = Download.objects.get(requested_by=lead, kind="submissions")
    assert event.details == {
        "form": form.pk,
        "export": "kobo-json",
        "count": 3,
        "download": download.pk,
    }
    facilitator = member_of(programme, Role.FACILITATOR)
    client.force_login(facilitator)
    Submission.objects.update(place=None)
    response = exported(
        client,
        form,
        {"export_format": "kobo-json", "language": "en"},
    )
    body = json.loads(b"".join(response.streaming_content).decode("utf-8-sig"))  # type: ignore[attr-defined]
    assert body["count"] == 0  # a facilitator sees only submissions from their places
    assert AuditEvent.objects.filter(verb="viewed_personal").count() == 1


def test_masked_rows_hide_every_protected_answer(programme: Programme) -> None:
    form = make_form(programme, schema=SCHEMA)
    imported(form, TRICKY.encode(), "tricky.csv")
    plan = plan_for(form.current_version())  # type: ignore[arg-type]
    rows = list(exporters.rows_of(Submission.objects.filter(form=form), plan=plan, reveal=False))
    for row in rows:
        assert row.answers["respondent/name"] == exporters.MASK
        assert row.answers.get("income", exporters.MASK) == exporters.MASK
    assert any(row.answers.get("respondent/age") == -5 for row in rows)
    assert SENSITIVITY["respondent/age"] == "internal"


@pytest.mark.parametrize(
    "export_format", ["kobo-csv", "kobo-xlsx", "kobo-json", "odk-csv", "odk-zip"]
)
def test_the_demo_questionnaire_with_its_skip_logic_survives_the_round_trip(
    db: None, tmp_path: Path, export_format: str
) -> None:
    """The demo perception survey as the field would export it: consent refused skips the
    interview, a safety group and questions asked only after an earlier answer, required
    questions left empty where they were not asked. Every format imports back into an empty
    copy of the form with identical stored values."""
    from amniyat.demo import survey as demo_survey
    from amniyat.demo.build import _store_generated
    from tests.findings.test_findings import TJ_DISTRICTS, shipped_place, survey_version

    programme = ProgrammeFactory(districts=[shipped_place(code) for code in TJ_DISTRICTS])
    source, copy = (survey_version(programme, title=t).form for t in ("Source", "Copy"))
    frame = demo_survey.generate_responses("TJ", phase="baseline", n=240, seed=11)
    _store_generated(source.current_version(), frame)  # type: ignore[arg-type]
    skipped = frame.filter(pl.col("participated_community_meeting").is_null()).height
    assert skipped > 100  # the question is required, and empty wherever it was not asked
    content, name = export(source, export_format, tmp_path)
    job = imported(copy, content, name)
    assert job.stored == 240
    assert stored(copy) == stored(source)
