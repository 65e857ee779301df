"""A form with a repeat inside a repeat inside a repeat (household → members → incidents →
witnesses, with a group inside the incidents) goes out through every export Amniyat writes
and comes back through the importers and through OpenRosa with the very same stored values:
answers, submission time, enumerator, form version and review state."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from amniyat.accounts.models import Membership
from amniyat.fieldwork.collection.services import device_create
from amniyat.fieldwork.forms.services import (
    assessment_create,
    form_add,
    form_publish,
    sensitivity_set,
)
from amniyat.fieldwork.imports.schema import plan_for, stored_answers
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import Form, ImportJob, Submission
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.collection.openrosa_helpers import PASSWORD_HASHERS, Collect
from tests.fieldwork.collection.test_nested_repeats import (
    AGE,
    CLASSES,
    FORM_ID,
    INCIDENT,
    NAME,
    ROLES,
    VERSION,
    WHEN,
    WITNESS,
    _root_name,
    household,
    instance_xml,
    xlsform,
)
from tests.fieldwork.submissions.exporting import exported

# Exports that carry repeats, and what the importer should find them to be.
WITH_REPEATS = {
    "kobo-xlsx": "kobo-xlsx",
    "kobo-json": "kobo-json",
    "odk-zip": "odk-zip",
    "kobo-csv": "kobo-csv",  # numbered columns, as KoboCAT's CSV wrote them
}
# ODK Central's single CSV holds the submissions only, as Central's does.
WITHOUT_REPEATS = {"odk-csv": "odk-csv"}

MORE = {
    # Members without answers of their own whose incidents say they were there; a witness
    # named like a formula; no incident for the last member.
    "uuid:rt-2": {
        "village": "Bokhtar",
        NAME: [None, "Rustam"],
        AGE: [None, 70],
        INCIDENT: [["fraud", None], []],
        WHEN: [["2024-02-29", "2024-03-01"], []],
        WITNESS: [[["=Malika", "O‘g‘iloy"], []], []],
        ROLES: [[[["family"], None], []], []],
    },
    # No member at all.
    "uuid:rt-3": {"village": "Kulob"},
}


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _form(name: str) -> tuple[Form, Any, Collect]:
    programme = ProgrammeFactory(slug=name)
    lead = member_of(programme, Membership.Role.LEAD)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Baseline", kind="baseline"
    )
    version = form_add(
        acting_user=lead, assessment=assessment, file_name="household.xlsx", content=xlsform()
    )
    sensitivity_set(acting_user=lead, version=version, classes=CLASSES)
    form_publish(acting_user=lead, form=version.form)
    device, password = device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[assessment],
        username=f"{name}-phone",
    )
    return version.form, lead, Collect(device.username, password)


def _stored(form: Form) -> dict[str, dict[str, Any]]:
    return {
        s.instance_id: {
            "answers": stored_answers(s.data, s.protected_data or ""),
            "submitted_at": s.submitted_at.astimezone(datetime.UTC),
            "enumerator": s.enumerator,
            "version": s.form_version.version,
            "review_state": s.review_state,
        }
        for s in Submission.objects.filter(form=form).select_related("form_version")
    }


@pytest.fixture
def source(db: None) -> Form:
    """The household of the OpenRosa tests and two more, sent by a phone; then reviewed."""
    form, _lead, collect = _form("source")
    path = f"/collect/{form.assessment.programme.slug}/submission"
    version = form.current_version()
    assert version is not None
    plan = plan_for(version)
    assert collect.submit(path, household("uuid:rt-1")).status_code == 201
    for instance_id, answers in MORE.items():
        xml = instance_xml(
            answers,
            plan,
            root=_root_name(version),
            form_id=FORM_ID,
            version=VERSION,
            instance_id=instance_id,
        )
        assert collect.submit(path, xml).status_code == 201
    Submission.objects.filter(instance_id="uuid:rt-1").update(review_state="approved")
    Submission.objects.filter(instance_id="uuid:rt-2").update(review_state="has_issues")
    return form


def _export(form: Form, export_format: str, lead: Any) -> tuple[str, bytes]:
    client = Client()
    client.force_login(lead)
    response = exported(client, form, {"export_format": export_format, "language": "en"})
    assert response.status_code == 200
    name = response["Content-Disposition"].split('filename="', 1)[1].rstrip('"')
    return name, b"".join(response.streaming_content)


def _import(form: Form, lead: Any, name: str, content: bytes) -> ImportJob:
    job = import_start(
        acting_user=lead, form=form, file_name=name, content=content, file_format="auto"
    )
    return import_run(job.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("export_format", [*WITH_REPEATS, *WITHOUT_REPEATS])
def test_every_export_comes_back_with_the_same_stored_values(
    source: Form, export_format: str
) -> None:
    lead = member_of(source.assessment.programme, Membership.Role.LEAD)
    name, content = _export(source, export_format, lead)
    target, target_lead, _collect = _form("target")

    job = _import(target, target_lead, name, content)

    assert (job.status, job.report["problems"]) == (ImportJob.Status.SUCCEEDED, [])
    assert job.report["format"] == {**WITH_REPEATS, **WITHOUT_REPEATS}[export_format]
    assert job.stored == 3
    expected = _stored(source)
    if export_format in WITHOUT_REPEATS:
        plan = plan_for(source.current_version())
        for submission in expected.values():
            submission["answers"] = {
                path: value
                for path, value in submission["answers"].items()
                if plan.by_path[path].repeat is None
            }
    assert _stored(target) == expected
    # And once more: the same file again is all already stored.
    again = _import(target, target_lead, name, content)
    assert (again.stored, again.duplicates, again.conflicts) == (0, 3, 0)


@pytest.mark.django_db
def test_what_an_export_brought_goes_out_to_a_phone_and_back(source: Form) -> None:
    """Stored answers made into the instances ODK Collect sends, at every depth."""
    lead = member_of(source.assessment.programme, Membership.Role.LEAD)
    name, content = _export(source, "kobo-xlsx", lead)
    middle, middle_lead, _collect = _form("middle")
    assert _import(middle, middle_lead, name, content).status == ImportJob.Status.SUCCEEDED
    target, _target_lead, collect = _form("target")
    version = target.current_version()
    assert version is not None
    plan = plan_for(version)

    for instance_id, stored in _stored(middle).items():
        xml = instance_xml(
            stored["answers"],
            plan,
            root=_root_name(version),
            form_id=FORM_ID,
            version=VERSION,
            instance_id=instance_id,
        )
        response = collect.submit(f"/collect/{target.assessment.programme.slug}/submission", xml)
        assert response.status_code == 201

    assert {key: value["answers"] for key, value in _stored(target).items()} == {
        key: value["answers"] for key, value in _stored(source).items()
    }


def test_the_exports_with_repeats_are_the_formats_the_importer_reads() -> None:
    """Each export format named here is one the importer recognises as itself."""
    from amniyat.fieldwork.imports.sources import FORMATS
    from amniyat.fieldwork.submissions.exporters import EXPORT_FORMATS

    assert set(WITH_REPEATS) | set(WITHOUT_REPEATS) == set(EXPORT_FORMATS) - {"csv", "xlsx"}
    assert set(WITH_REPEATS) <= set(FORMATS)
    assert zipfile.is_zipfile(io.BytesIO(b"PK\x05\x06" + b"\x00" * 18))
