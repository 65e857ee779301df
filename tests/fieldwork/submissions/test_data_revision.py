"""The data revision of a form: every write of its submissions, by whatever path, gives the
form a new one in the same transaction, so findings and cached frames (keyed by it through
``data_key``) follow the data exactly, edits and deletions included; reading it costs one row
whatever the number of submissions; and a write that changes nothing keeps it."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

import amniyat
from amniyat.accounts.models import Membership
from amniyat.demo.build import _remove_submissions, _store_generated
from amniyat.fieldwork.collection import services as collection
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import (
    DATA_REVISION_STRIPES,
    Form,
    FormDataRevision,
    Submission,
    data_revision_stripe,
)
from amniyat.fieldwork.submissions import services as submission_services
from amniyat.fieldwork.submissions.frames import data_key, submissions_frame
from amniyat.places.models import Place
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.collection.openrosa_helpers import make_form as make_collected_form
from tests.fieldwork.collection.openrosa_helpers import submission_xml
from tests.fieldwork.imports.test_importers import KOBO_HEADER, KOBO_ROWS, make_form

Role = Membership.Role
GOOD = "\n".join([KOBO_HEADER, *KOBO_ROWS]) + "\n"
SOURCE = Path(amniyat.__file__).resolve().parent


@pytest.fixture(autouse=True)
def _fast_passwords_and_media(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def key(form: Form) -> str:
    return data_key(form, list(form.versions.all()))


def imported(form: Form, content: str) -> None:
    job = import_start(
        acting_user=member_of(form.assessment.programme, Role.LEAD),
        form=form,
        file_name="export.csv",
        content=content.encode(),
    )
    import_run(job.pk)


def test_an_import_changes_the_key_and_the_same_file_again_does_not(db: None) -> None:
    form = make_form(ProgrammeFactory())
    before = key(form)
    imported(form, GOOD)
    after = key(form)
    assert after != before
    imported(form, GOOD)  # every row already stored: nothing changed
    assert key(form) == after


def test_a_review_state_an_import_changes_changes_the_key(db: None) -> None:
    form = make_form(ProgrammeFactory())
    imported(form, GOOD)
    before = key(form)
    reviewed = GOOD.replace(";a1;2021-09-01T05:20:00;;1", ";a1;2021-09-01T05:20:00;Approved;1")
    imported(form, reviewed)
    assert Submission.objects.get(instance_id="uuid:a1").review_state == "approved"
    assert key(form) != before


def test_a_submission_from_odk_collect_changes_the_key_and_its_resend_does_not(
    db: None,
) -> None:
    programme = ProgrammeFactory()
    form, _version = make_collected_form(programme)
    device, _password = collection.device_create(
        acting_user=member_of(programme, Role.LEAD),
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username="vakhsh-phone-1",
        label="enumerator 1",
    )
    before = key(form)
    collection.submission_receive(device=device, xml=submission_xml())
    after = key(form)
    assert after != before
    collection.submission_receive(device=device, xml=submission_xml())
    assert key(form) == after


def test_the_demo_builder_changes_the_key_when_it_stores_and_when_it_removes(db: None) -> None:
    programme = ProgrammeFactory()
    form = make_form(programme)
    version = form.versions.get()
    district = Place.objects.create(name_en="Vakhsh", code="TJ-VK", level="district")
    generated = pl.DataFrame(
        {
            "instance_id": ["uuid:g1"],
            "submitted_at": [datetime.datetime(2021, 9, 1, tzinfo=datetime.UTC)],
            "district": ["TJ-VK"],
            "age": [34],
        }
    )
    first = key(form)
    assert _store_generated(version, generated) == 1
    assert Submission.objects.get().place_id == district.pk
    stored = key(form)
    assert stored != first
    _remove_submissions(programme)
    assert not Submission.objects.exists()
    assert key(form) not in (first, stored)


def test_deleting_a_place_in_the_admin_changes_the_key_of_the_forms_it_located(
    db: None,
) -> None:
    form = make_form(ProgrammeFactory())
    other = make_form(ProgrammeFactory())
    imported(form, GOOD)
    imported(other, GOOD)
    place = Place.objects.create(name_en="Vakhsh", code="TJ-VK-X", level="district")
    Submission.objects.filter(form=form).update(place=place)
    before, unchanged = key(form), key(other)
    request = RequestFactory().post("/")
    site._registry[Place].delete_model(request, place)
    assert not Submission.objects.filter(form=form, place__isnull=False).exists()
    assert key(form) != before
    assert key(other) == unchanged


def test_a_changed_key_makes_the_frame_read_the_new_data(db: None) -> None:
    form = make_form(ProgrammeFactory())
    imported(form, KOBO_HEADER + "\n" + KOBO_ROWS[0] + "\n")
    assert submissions_frame(form).height == 1
    imported(form, GOOD)
    assert submissions_frame(form).height == 2


def test_reading_the_key_is_one_query_of_a_few_rows(db: None) -> None:
    form = make_form(ProgrammeFactory())
    imported(form, GOOD)
    versions = list(form.versions.all())
    with CaptureQueriesContext(connection) as captured:
        data_key(form, versions)
    assert len(captured) == 1
    sql = captured.captured_queries[0]["sql"].upper()
    assert "FIELDWORK_SUBMISSION" not in sql and "COUNT(" not in sql


# Every way the code writes submissions: the ORM's writes on the model or a queryset of it,
# and SQL naming its table.
_WRITES = ("create", "bulk_create", "update", "delete", "bulk_update", "get_or_create")


def _writes_submissions(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "db_table":
            base = node.value
            if isinstance(base, ast.Attribute) and ast.unparse(base.value) == "Submission":
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            if node.func.attr in _WRITES and (
                receiver.startswith("Submission.objects") or "submissions" in receiver
            ):
                return True
    return False


def test_every_module_that_writes_submissions_advances_the_revision() -> None:
    """A new write path (a service that edits answers, deletes, re-places) must call
    ``submissions_changed`` in its transaction, or findings would show old data."""
    writers = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if _writes_submissions(ast.parse(text)):
            writers[path.relative_to(SOURCE).as_posix()] = "submissions_changed(" in text
    # The paths known today are found, so the search itself works.
    assert {
        "fieldwork/imports/services.py",
        "fieldwork/collection/services.py",
        "demo/build.py",
    } <= set(writers)
    assert [path for path, advances in writers.items() if not advances] == []


def test_writers_on_different_stripes_each_change_the_key(db: None) -> None:
    form = make_form(ProgrammeFactory())
    keys = [key(form)]
    for stripe in (3, 11, 3):
        with mock.patch.object(submission_services, "data_revision_stripe", return_value=stripe):
            submission_services.submissions_changed(form_ids=[form.pk])
        keys.append(key(form))
    assert len(set(keys)) == 4
    assert FormDataRevision.objects.filter(form=form).count() == 2


def test_a_phones_submission_does_not_lock_the_forms_row(db: None) -> None:
    """Under PostgreSQL, a row a transaction changes stays locked until it commits: were
    every submission to change the form's row, each would wait for the one before it."""
    programme = ProgrammeFactory()
    form, _version = make_collected_form(programme)
    device, _password = collection.device_create(
        acting_user=member_of(programme, Role.LEAD),
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username="vakhsh-phone-1",
    )
    before = key(form)
    with CaptureQueriesContext(connection) as captured:
        collection.submission_receive(device=device, xml=submission_xml())
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert not [sql for sql in writes if '"fieldwork_form"' in sql]
    assert key(form) != before


def test_a_thread_keeps_to_one_stripe() -> None:
    stripes = {data_revision_stripe() for _ in range(5)}
    assert len(stripes) == 1
    assert 0 <= stripes.pop() < DATA_REVISION_STRIPES
