"""Import services: all or nothing, or the good rows with a report; duplicates and conflicts;
answers split by sensitivity; audited; the command line and the task."""

from __future__ import annotations

import datetime
import json
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.fieldwork.imports.schema import stored_answers
from amniyat.fieldwork.imports.services import (
    COPY_HEADER,
    COPY_TRAILER,
    copy_binary,
    import_run,
    import_start,
    problems_file,
)
from amniyat.fieldwork.models import Form, ImportJob, Submission
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.imports.test_importers import KOBO_HEADER, KOBO_ROWS, make_form

Role = Membership.Role
GOOD = "\n".join([KOBO_HEADER, *KOBO_ROWS]) + "\n"
ONE_BAD = GOOD + "Bad;abc;;;;;;;;;;uuid:a3;13;a3;2021-09-03T06:00:00;;3\n"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def form(db: None) -> Form:
    return make_form(ProgrammeFactory())


def run(form: Form, content: str | bytes, **kwargs: Any) -> ImportJob:
    lead = member_of(form.assessment.programme, Role.LEAD)
    job = import_start(
        acting_user=lead,
        form=form,
        file_name=kwargs.pop("file_name", "export.csv"),
        content=content.encode() if isinstance(content, str) else content,
        **kwargs,
    )
    return import_run(job.pk)


def test_a_good_file_is_stored_split_by_sensitivity_and_audited(form: Form) -> None:
    job = run(form, GOOD)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.stored, job.duplicates, job.conflicts, job.skipped) == (2, 0, 0, 0)
    assert job.report["message"] == (
        "2 submissions stored; 0 already stored; 0 conflicting; 0 skipped."
    )
    first = Submission.objects.get(form=form, instance_id="uuid:a1")
    assert "respondent/name" not in first.data
    assert first.data["respondent/age"] == 34
    assert json.loads(first.protected_data) == {"respondent/name": "Dilnoza", "income": 1500.5}
    answers = stored_answers(first.data, first.protected_data)
    assert first.content_hash == Submission.hash_content(answers)
    assert first.submitted_at.isoformat() == "2021-09-01T05:20:00+00:00"
    assert first.source == Submission.Source.IMPORT and first.import_job_id == job.pk
    # Encrypted at rest: the raw column does not hold the name.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT protected_data FROM fieldwork_submission WHERE id = %s", [first.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("aesgcm:") and "Dilnoza" not in raw
    verbs = list(AuditEvent.objects.filter(object_id=str(job.pk)).values_list("verb", flat=True))
    assert sorted(verbs) == ["created", "imported"]
    assert not job.file  # the upload, with its unencrypted answers, is gone


def test_every_column_of_a_stored_submission_is_written(form: Form) -> None:
    undated = GOOD.replace("2021-09-02T06:00:00", "")
    job = run(form, undated)
    assert job.status == ImportJob.Status.SUCCEEDED
    first, second = Submission.objects.filter(form=form).order_by("instance_id")
    for submission in (first, second):
        assert submission.form_version_id == form.current_version().pk  # type: ignore[union-attr]
        assert submission.is_encrypted is False and submission.encrypted_payload is None
        assert submission.received_at is not None
    assert first.place is not None and first.place.name_en.lower() == "vakhsh"
    # Without a submission time, a submission is dated by its import.
    assert second.submitted_at == second.received_at
    assert json.loads(second.protected_data) == {"respondent/name": "Rustam"}
    assert json.loads(first.protected_data)["respondent/name"] == "Dilnoza"
    assert first.data["safety/comment"] == 'Says: "fine"; thanks'
    assert first.data["safety/worries"] == ["theft", "police"]


def test_one_bad_row_stores_nothing_and_reports_every_reason(form: Form) -> None:
    job = run(form, ONE_BAD)
    assert job.status == ImportJob.Status.FAILED
    assert Submission.objects.count() == 0
    assert job.report["message"].startswith("Nothing was stored: 1 rows have problems.")
    assert [(p["row"], p["column"], p["message"]) for p in job.report["problems"]] == [
        (4, "respondent/age", "“abc” is not a whole number."),
    ]
    handle = problems_file(job)
    assert handle is not None
    with handle:
        text = handle.read().decode()
    assert "“abc” is not a whole number." in text


def test_skip_bad_rows_stores_the_good_and_reports_the_skipped(form: Form) -> None:
    job = run(form, ONE_BAD, skip_bad_rows=True)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.stored, job.skipped) == (2, 1)
    assert set(Submission.objects.values_list("instance_id", flat=True)) == {"uuid:a1", "uuid:a2"}
    assert job.report["problem_count"] == 1


def test_the_same_file_twice_stores_nothing_new(form: Form) -> None:
    run(form, GOOD)
    job = run(form, GOOD)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.stored, job.duplicates, job.conflicts) == (0, 2, 0)
    assert job.report["message"] == (
        "Nothing new: all 2 submissions in this file were already stored."
    )
    assert Submission.objects.count() == 2


def test_same_instance_id_with_other_answers_is_a_conflict_never_overwritten(form: Form) -> None:
    run(form, GOOD)
    changed = GOOD.replace("Rustam;;", "Rustam;41;")
    job = run(form, changed)
    assert (job.stored, job.duplicates, job.conflicts) == (0, 1, 1)
    assert job.report["problems"][0]["instance_id"] == "uuid:a2"
    assert "already stored with different answers" in job.report["problems"][0]["message"]
    assert "respondent/age" not in Submission.objects.get(instance_id="uuid:a2").data


def test_repeated_ids_inside_one_file(form: Form) -> None:
    twice = GOOD + KOBO_ROWS[0] + "\n" + KOBO_ROWS[1].replace("Rustam", "Other") + "\n"
    job = run(form, twice)
    assert (job.stored, job.duplicates, job.conflicts) == (2, 1, 1)


def test_files_without_instance_ids_are_idempotent_too(form: Form) -> None:
    content = "name,age\nAli,30\nAli,30\nVali,40\n"
    job = run(form, content)
    assert job.stored == 3  # two identical rows are two respondents
    again = run(form, content)
    assert (again.stored, again.duplicates) == (0, 3)


def test_bad_files_fail_with_a_message_and_store_nothing(form: Form) -> None:
    job = run(form, "age,colour\n1,blue\n")
    assert job.status == ImportJob.Status.FAILED
    assert job.report["message"] == "“export.csv” does not fit the form; nothing was imported."
    messages = [p["message"] for p in job.report["problems"]]
    assert "Unknown column “colour”: the form has no such question." in messages
    job = run(form, b"\x00\x01garbage" * 30, file_name="x.csv", skip_bad_rows=True)
    assert job.status == ImportJob.Status.FAILED
    assert "is not a text file" in job.report["message"]
    assert Submission.objects.count() == 0


def test_empty_and_oversized_uploads_are_refused_at_once(form: Form, settings: Any) -> None:
    from django.core.exceptions import ValidationError

    lead = member_of(form.assessment.programme, Role.LEAD)
    with pytest.raises(ValidationError) as caught:
        import_start(acting_user=lead, form=form, file_name="a.csv", content=b"")
    assert caught.value.message_dict == {"file": ["The file is empty."]}
    settings.AMNIYAT_MAX_IMPORT_BYTES = 10
    with pytest.raises(ValidationError) as caught:
        import_start(acting_user=lead, form=form, file_name="a.csv", content=b"x" * 11)
    assert "too large" in caught.value.message_dict["file"][0]
    assert ImportJob.objects.count() == 0


def test_only_those_who_may_import_can_start(form: Form) -> None:
    from django.core.exceptions import PermissionDenied

    viewer = member_of(form.assessment.programme, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        import_start(acting_user=viewer, form=form, file_name="a.csv", content=b"name\nA\n")


def test_progress_is_reported(form: Form) -> None:
    seen: list[tuple[str, int, int | None]] = []
    lead = member_of(form.assessment.programme, Role.LEAD)
    job = import_start(acting_user=lead, form=form, file_name="a.csv", content=GOOD.encode())
    job = import_run(job.pk, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert ("reading", 2, 2) in seen and ("storing", 2, 2) in seen
    assert (job.processed_rows, job.total_rows, job.percent) == (2, 2, 100)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_random_files_never_store_partly_nor_crash(form: Form, content: bytes) -> None:
    before = Submission.objects.count()
    if not content:
        return
    lead = form.assessment.programme.memberships.first()
    user = lead.user if lead else member_of(form.assessment.programme, Role.LEAD)
    job = import_start(acting_user=user, form=form, file_name="random.csv", content=content)
    job = import_run(job.pk)
    assert job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    if job.status == ImportJob.Status.FAILED:
        assert job.report["message"]
        assert Submission.objects.count() == before
    else:
        assert Submission.objects.count() == before + job.stored


def test_the_command_line_imports_and_exits_2_with_every_reason(form: Form, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    out = StringIO()
    call_command("import", str(good), form=form.pk, no_progress=True, stdout=out)
    assert "Stored: 2" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text(ONE_BAD.replace("uuid:a1", "uuid:b1").replace("uuid:a2", "uuid:b2"))
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import", str(bad), form=form.pk, no_progress=True, stdout=out, stderr=err)
    assert caught.value.returncode == 2
    assert "bad.csv, row 4, respondent/age: “abc” is not a whole number." in err.getvalue()
    assert Submission.objects.count() == 2
    with pytest.raises(CommandError) as caught:
        call_command("import", str(tmp_path / "missing.csv"), form=form.pk)
    assert caught.value.returncode == 2


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after a task
def test_the_task_runs_the_import(form: Form, django_capture_on_commit_callbacks: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    from amniyat.fieldwork.imports.services import import_enqueue

    lead = member_of(form.assessment.programme, Role.LEAD)
    job = import_start(acting_user=lead, form=form, file_name="a.csv", content=GOOD.encode())
    with django_capture_on_commit_callbacks(execute=True):
        import_enqueue(job=job)
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [job.pk]
    call_command("worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED and job.stored == 2


# A batch a row: the writer stores each row while the next is read, so what is settled across
# batches (ids repeated in the file, ids stored before) and the roll-back of rows already
# written are exercised with a file of a few rows.


@pytest.fixture
def row_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from amniyat.fieldwork.imports import services as imports

    monkeypatch.setattr(imports, "BATCH_ROWS", 1)
    monkeypatch.setattr(imports, "INSERT_ROWS", 1)


def test_repeats_across_batches_are_settled_by_the_writer(form: Form, row_batches: None) -> None:
    changed = KOBO_ROWS[1].replace("Rustam", "Other")
    job = run(form, GOOD + KOBO_ROWS[0] + "\n" + changed + "\n" + KOBO_ROWS[0] + "\n")
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.stored, job.duplicates, job.conflicts) == (2, 2, 1)
    assert [(p["row"], p["instance_id"]) for p in job.report["problems"]] == [(5, "uuid:a2")]
    kept = Submission.objects.get(instance_id="uuid:a2")
    assert stored_answers(kept.data, kept.protected_data or "")["respondent/name"] == "Rustam"


def test_ids_stored_before_are_settled_row_by_row(form: Form, row_batches: None) -> None:
    run(form, "\n".join([KOBO_HEADER, KOBO_ROWS[0]]) + "\n")
    changed = GOOD.replace("Dilnoza;34", "Dilnoza;35")
    job = run(form, changed)
    assert (job.stored, job.duplicates, job.conflicts) == (1, 0, 1)
    assert [(p["row"], p["instance_id"]) for p in job.report["problems"]] == [(2, "uuid:a1")]
    assert Submission.objects.get(instance_id="uuid:a1").data["respondent/age"] == 34


def test_a_bad_row_after_stored_batches_rolls_them_all_back(form: Form, row_batches: None) -> None:
    late_bad = GOOD + KOBO_ROWS[0].replace("uuid:a1", "uuid:a9").replace(";34;", ";old;") + "\n"
    job = run(form, late_bad)
    assert job.status == ImportJob.Status.FAILED
    assert job.report["rejected_rows"] == 1
    assert Submission.objects.count() == 0
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.IMPORTED).count() == 0


def test_a_failing_writer_stores_nothing_and_says_so(
    form: Form, row_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amniyat.fieldwork.imports import services as imports

    real = imports._Writer._write
    calls: list[int] = []

    def fail_on_the_second(self: Any, frame: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real(self, frame)

    monkeypatch.setattr(imports._Writer, "_write", fail_on_the_second)
    job = run(form, GOOD)
    assert job.status == ImportJob.Status.FAILED
    assert job.report["message"] == "The import failed unexpectedly; nothing was stored."
    assert Submission.objects.count() == 0


def test_an_id_stored_meanwhile_by_another_connection_is_settled_as_before(
    form: Form, row_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL copies rows straight into the table once a lookup has found the ids stored
    already. An id stored after the lookup (ODK Collect, meanwhile) makes the copy fail:
    the import is rolled back and read again, settling each id as its row goes in, with the
    same outcome as if the lookup had seen it."""
    from django.db import connection

    from amniyat.fieldwork.imports import services as imports

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's COPY")
    run(form, "\n".join([KOBO_HEADER, KOBO_ROWS[0]]) + "\n")
    passes: list[bool] = []
    real = imports._Writer._not_stored

    def blind_when_hurried(self: Any, rows: Any) -> Any:
        passes.append(self.careful)
        return rows if not self.careful else real(self, rows)

    monkeypatch.setattr(imports._Writer, "_not_stored", blind_when_hurried)
    changed = GOOD.replace("Dilnoza;34", "Dilnoza;35")
    job = run(form, changed)
    assert passes[0] is False  # the first pass did not see uuid:a1 and failed on it
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.stored, job.duplicates, job.conflicts) == (1, 0, 1)
    assert [(p["row"], p["instance_id"]) for p in job.report["problems"]] == [(2, "uuid:a1")]
    assert Submission.objects.get(instance_id="uuid:a1").data["respondent/age"] == 34
    assert Submission.objects.filter(form=form).count() == 2
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.IMPORTED).count() == 2


def test_foreign_keys_are_deferred_again_after_an_import(form: Form) -> None:
    """PostgreSQL checks the submissions' foreign keys with each batch an import stores;
    the rest of a transaction the import ran in defers them to the commit again."""
    from django.db import IntegrityError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's deferred constraints")
    assert run(form, GOOD).status == ImportJob.Status.SUCCEEDED
    stored = Submission.objects.get(form=form, instance_id="uuid:a1")
    with transaction.atomic():
        # Deferred: a place that does not exist passes the statement, not the check.
        Submission.objects.filter(pk=stored.pk).update(place_id=10**12)
        with pytest.raises(IntegrityError), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)


def test_answers_with_tabs_line_breaks_and_backslashes_are_stored_as_written(form: Form) -> None:
    """PostgreSQL's COPY text format escapes these; every store keeps them as they were."""
    comment = 'Tab\there, a line\nbreak, C:\\path \\N \\\\ «ü» ""quoted""'
    content = GOOD.replace('"Says: ""fine""; thanks"', f'"{comment}"')
    job = run(form, content)
    assert job.status == ImportJob.Status.SUCCEEDED, job.report
    stored = Submission.objects.get(form=form, instance_id="uuid:a1")
    answers = stored_answers(stored.data, stored.protected_data)
    assert answers["safety/comment"] == comment.replace('""', '"')
    assert stored.content_hash == Submission.hash_content(answers)


@pytest.mark.django_db
def test_binary_copy_tuples_are_read_back_as_written() -> None:
    """copy_binary's tuples, every kind of column with and without NULL, read back by
    PostgreSQL as the values they came from."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the binary COPY is PostgreSQL's")
    at = datetime.datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=datetime.UTC)
    rows = pl.DataFrame(
        {
            "n": [1, None, -(2**62)],
            "t": ["«ü» Tab\there \\N", None, ""],
            "j": ['{"a":"\\u00e9","ä":[1,2.5]}', None, "{}"],
            "b": [True, None, False],
            "d": [at, None, at + datetime.timedelta(days=9000)],
        },
        schema={
            "n": pl.Int64,
            "t": pl.String,
            "j": pl.String,
            "b": pl.Boolean,
            "d": pl.Datetime("us", "UTC"),
        },
    )
    tuples = copy_binary(rows)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute(
            "CREATE TEMPORARY TABLE copied (n bigint, t text, j text, b boolean, d timestamptz)"
        )
        with cursor.copy("COPY copied (n, t, j, b, d) FROM STDIN (FORMAT binary)") as copy:
            copy.write(COPY_HEADER)
            copy.write(tuples)
            copy.write(COPY_TRAILER)
        cursor.execute("SELECT n, t, j, b, d FROM copied")
        stored = [(n, t, j and json.loads(j), b, d) for n, t, j, b, d in cursor.fetchall()]
        cursor.execute("DROP TABLE copied")
    assert stored == [
        (1, "«ü» Tab\there \\N", {"a": "é", "ä": [1, 2.5]}, True, at),
        (None, None, None, None, None),
        (-(2**62), "", {}, False, at + datetime.timedelta(days=9000)),
    ]
    assert bytes(copy_binary(rows.head(0))) == b""


@pytest.mark.django_db(transaction=True)  # SQLite checks the keys at the import's commit
@pytest.mark.parametrize("keys_checked_by", ["the import", "the triggers"])
def test_a_row_naming_a_missing_parent_stores_nothing(
    form: Form, monkeypatch: pytest.MonkeyPatch, keys_checked_by: str
) -> None:
    """The foreign keys hold on every store: on PostgreSQL checked by the import a batch at a
    time where its role may turn the key triggers off for its COPY, else by the triggers."""
    import polars as pl
    from django.db import connection

    from amniyat.fieldwork.imports import services as imports

    if keys_checked_by == "the triggers":
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL's key triggers")
        monkeypatch.setattr(imports._Writer, "_parent_keys", lambda self: None)
    real = imports._prepare

    def missing_version(*args: Any) -> Any:
        return real(*args).with_columns(form_version_id=pl.lit(10**9, dtype=pl.Int64))

    monkeypatch.setattr(imports, "_prepare", missing_version)
    job = run(form, GOOD)
    assert job.status == ImportJob.Status.FAILED
    assert job.report["message"] == "The import failed unexpectedly; nothing was stored."
    assert Submission.objects.count() == 0


def test_the_key_triggers_are_on_again_after_an_import(form: Form) -> None:
    """PostgreSQL: the import turns the key triggers off for its own COPY only; the rest of
    the transaction has them."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's session_replication_role")
    assert run(form, GOOD).status == ImportJob.Status.SUCCEEDED
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)


def test_no_progress_note_is_left_behind(form: Form) -> None:
    from amniyat.fieldwork.imports.services import progress_note_path

    job = run(form, GOOD)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert not progress_note_path(job.pk).exists()


def test_a_file_that_breaks_after_stored_batches_stores_nothing(
    form: Form, row_batches: None
) -> None:
    import threading

    broken = GOOD + 'Vali;40;;;;;;;;;"never closed;uuid:a5;15;a5;2021-09-03T06:00:00;;5\n'
    job = run(form, broken)
    assert job.status == ImportJob.Status.FAILED
    assert "not a well-formed CSV file" in job.report["message"]
    assert Submission.objects.count() == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("import-")]


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_an_import_commits_durably_and_checkpoints_after(
    form: Form, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The import's commit syncs SQLite's write-ahead log itself (``synchronous`` FULL) and
    leaves the checkpoint to :func:`checkpoint`, run once the job is recorded as done; the
    connection's settings are put back afterwards."""
    from django.db import connection

    from amniyat.fieldwork.imports import services as imports

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's settings")

    def pragmas() -> tuple[int, int, int]:
        with connection.cursor() as cursor:
            values = []
            for name in ("synchronous", "wal_autocheckpoint", "cache_size"):
                cursor.execute(f"PRAGMA {name}")
                values.append(cursor.fetchone()[0])
        return values[0], values[1], values[2]

    before = pragmas()
    with imports._fast_sqlite():
        assert pragmas() == (2, 0, -65536)
    assert pragmas() == before

    seen: list[tuple[str, int]] = []

    def checkpoint() -> None:
        job = ImportJob.objects.get(form=form)
        seen.append((job.status, job.stored))
        imports.checkpoint()

    monkeypatch.setattr("amniyat.fieldwork.management.commands.import.checkpoint", checkpoint)
    path = tmp_path / "export.csv"
    path.write_text(GOOD, encoding="utf-8")
    call_command("import", str(path), form=form.pk, no_progress=True, stdout=StringIO())
    assert seen == [(ImportJob.Status.SUCCEEDED, 2)]
    assert pragmas() == before


@pytest.mark.django_db(transaction=True)
def test_progress_is_seen_while_the_import_transaction_is_open(form: Form) -> None:
    """The count saved during an import is read by another request before the import's
    transaction commits: from the job's row on PostgreSQL (any web server sees it), from the
    note file on SQLite; and it stays saved if the import is rolled back."""
    from django.db import connection, transaction

    from amniyat.fieldwork.imports.services import _ProgressNote, live_progress

    lead = member_of(form.assessment.programme, Role.LEAD)
    job = import_start(acting_user=lead, form=form, file_name="a.csv", content=GOOD.encode())
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.refresh_from_db()
    note = _ProgressNote(job)
    try:
        with transaction.atomic():
            Submission.objects.filter(form=form).delete()  # the import's transaction writes
            note.save("storing", 300, 2000)
            shown = live_progress(ImportJob.objects.get(pk=job.pk))
            assert (shown.processed_rows, shown.total_rows, shown.report["stage"]) == (
                300,
                2000,
                "storing",
            )
            transaction.set_rollback(True)
        stored = ImportJob.objects.get(pk=job.pk)
        if connection.vendor == "postgresql":
            assert (stored.processed_rows, stored.report["stage"]) == (300, "storing")
            assert not note.path.exists()
        else:
            assert note.path.exists()
    finally:
        note.clear()
    assert not note.path.exists()
    if connection.vendor == "sqlite":  # the note gone, the row's own count shows
        assert live_progress(ImportJob.objects.get(pk=job.pk)).processed_rows == 0
