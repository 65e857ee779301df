"""The enumerator copied out of the answers (for the submissions table, its filter and the
exports) keeps the class of the form's enumerator question: a person who may not see personal
and sensitive answers finds a sensitive or personal enumerator in no output, and nobody finds
it in clear in the database. The same holds for the user name of the phone that sent a
submission, which names a fieldworker too."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.core.fields import is_encrypted, keyed_hash
from amniyat.fieldwork.collection import services as collection
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions.exporters import EXPORT_FORMATS
from amniyat.fieldwork.submissions.frames import submissions_frame
from amniyat.findings import services as findings_services
from amniyat.findings.models import Findings
from tests.factories import ProgrammeFactory, member_of, shipped_place
from tests.fieldwork.collection.openrosa_helpers import PASSWORD_HASHERS
from tests.fieldwork.imports.test_importers import make_form
from tests.fieldwork.submissions.exporting import exported

Role = Membership.Role
CLASSES = ("public", "internal", "sensitive", "personal")
IMPORTED = "Farrukh-Saidov-7"  # the enumerator column of an imported file
PHONED = "Zarina-Karimova-3"  # the enumerator question answered on a phone
DEVICE = "device-nodira-9"  # the user name of a phone whose form left it unanswered
ANSWERED = (IMPORTED, PHONED)  # the values that are also answers


def _choices(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "label": {"en": name.title()}} for name in names]


SCHEMA: list[dict[str, Any]] = [
    {"name": "enumerator", "path": "enumerator", "type": "text"},
    {"name": "district", "path": "district", "type": "select_one", "choices": _choices("vakhsh")},
    {"name": "safe", "path": "safe", "type": "select_one", "choices": _choices("yes", "no")},
    {"name": "name", "path": "name", "type": "text"},
]
INDICATORS = (
    "indicators:\n"
    "  - id: safe\n"
    "    label: Feels safe\n"
    "    type: proportion\n"
    "    numerator: ${safe} = 'yes'\n"
)


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _xml(instance_id: str, enumerator: str) -> bytes:
    asked = f"<enumerator>{enumerator}</enumerator>" if enumerator else "<enumerator/>"
    return (
        f'<data id="household" version="1">{asked}<district>vakhsh</district>'
        f"<safe>yes</safe><name>Dilnoza</name>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def _scene(level: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A form whose enumerator question is classed ``level``, with a submission imported from
    a file, one sent from a phone that answered it, one from a phone that did not; a lead
    (who sees protected answers) and a facilitator from the same place (who does not)."""
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    facilitator = member_of(programme, Role.FACILITATOR)
    vakhsh = shipped_place("TJ-KT-VAK")
    # Where a facilitator works is another part's business: here, the submissions' district.
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    sensitivity = {"enumerator": level, "district": "public", "safe": "public", "name": "personal"}
    form = make_form(programme, schema=SCHEMA, sensitivity=sensitivity)
    Form.objects.filter(pk=form.pk).update(is_open=True)
    job = import_start(
        acting_user=lead,
        form=form,
        file_name="export.csv",
        content=(
            f"enumerator,district,safe,name,instance_id\n{IMPORTED},vakhsh,yes,Dilnoza,uuid:i1\n"
        ).encode(),
    )
    assert import_run(job.pk).stored == 1
    device, _password = collection.device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username=DEVICE,
    )
    collection.submission_receive(device=device, xml=_xml("uuid:p1", PHONED))
    collection.submission_receive(device=device, xml=_xml("uuid:p2", ""))
    assert set(Submission.objects.values_list("place", flat=True)) == {vakhsh.pk}
    findings_services.indicator_set_save(acting_user=None, programme=programme, spec=INDICATORS)
    findings = findings_services.findings_for(form, enqueue=False)
    assert findings is not None
    findings = findings_services.findings_compute(findings.pk)
    assert findings.status == Findings.Status.READY, findings.error
    findings_services.findings_publish(acting_user=lead, findings=findings)
    return {"programme": programme, "form": form, "lead": lead, "facilitator": facilitator}


def _unzipped(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def _outputs(scene: dict[str, Any], who: str) -> dict[str, str]:
    """Everything ``who`` can be shown of the form's submissions, by output."""
    client = Client()
    client.force_login(scene[who])
    slug, form = scene["programme"].slug, scene["form"]

    def text(path: str, **query: str) -> str:
        response = client.get(path, query)
        assert response.status_code == 200, path
        if response.streaming:
            content = b"".join(response.streaming_content)
            return _unzipped(content) if content[:2] == b"PK" else content.decode("utf-8-sig")
        return str(response.content.decode())

    found = {
        "submission table": text(f"/p/{slug}/forms/{form.pk}/submissions/"),
        "API list": text("/api/v1/submissions/", form=str(form.pk)),
        "API detail": "\n".join(
            text(f"/api/v1/submissions/{pk}/")
            for pk in Submission.objects.values_list("pk", flat=True)
        ),
        "findings page": text(f"/p/{slug}/findings/{form.assessment.pk}/"),
    }
    for export_format in EXPORT_FORMATS:
        response = exported(client, form, {"export_format": export_format, "language": "en"})
        assert response.status_code == 200
        content = b"".join(response.streaming_content)
        found[f"{export_format} export"] = (
            _unzipped(content) if content[:2] == b"PK" else content.decode("utf-8-sig")
        )
    return found


def _stored() -> dict[str, str]:
    """What the database holds, read past the model: the enumerator's own columns, and the
    whole rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumerator, enumerator_hash FROM fieldwork_submission")
        columns = "\n".join(" ".join(row) for row in cursor.fetchall())
        cursor.execute("SELECT * FROM fieldwork_submission")
        rows = "\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall())
    return {"stored enumerator column": columns, "stored rows": rows}


@pytest.mark.parametrize("level", CLASSES)
def test_the_enumerator_is_found_only_where_its_class_allows(
    db: None, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    scene = _scene(level, monkeypatch)
    protected = level in ("sensitive", "personal")
    form = scene["form"]
    lead, facilitator = _outputs(scene, "lead"), _outputs(scene, "facilitator")
    frames = {
        "analysis frame": submissions_frame(form).write_csv(),
        "findings frame": submissions_frame(form, classes=frozenset({"public"})).write_csv(),
    }
    stored = _stored()
    for value in (IMPORTED, PHONED, DEVICE):
        answered = value in ANSWERED
        # Who may see protected answers sees the enumerator in every list and export.
        seen_by_lead = {name for name, text in lead.items() if value in text}
        assert seen_by_lead == set(lead) - {"findings page"}, value
        # Who may not sees it only where its class is public or internal.
        seen = {name for name, text in facilitator.items() if value in text}
        expected = set() if protected else set(facilitator) - {"findings page"}
        assert seen == expected, (level, value)
        # Analysis reads answers alone, of their class: findings only public ones.
        assert (value in frames["analysis frame"]) == (answered and not protected), value
        assert (value in frames["findings frame"]) == (answered and level == "public"), value
        # Never in clear in its own column; in the row only as a public or internal answer.
        assert value not in stored["stored enumerator column"]
        assert (value in stored["stored rows"]) == (answered and not protected), value
    # Masked, not left out: the facilitator sees that a submission has an enumerator.
    if protected:
        assert facilitator["submission table"].count("•••") >= 3


def test_the_enumerator_is_encrypted_with_a_keyed_hash_beside_it(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scene("sensitive", monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("SELECT instance_id, enumerator, enumerator_hash FROM fieldwork_submission")
        raw = {row[0]: row[1:] for row in cursor.fetchall()}
    for instance_id, value in (("uuid:i1", IMPORTED), ("uuid:p1", PHONED), ("uuid:p2", DEVICE)):
        sealed, digest = raw[instance_id]
        assert is_encrypted(sealed)
        assert digest == keyed_hash(value) and len(digest) == 32
        assert Submission.objects.get(instance_id=instance_id).enumerator == value


@pytest.mark.parametrize("level", ["public", "sensitive"])
def test_the_enumerator_filter_works_by_keyed_hash_for_those_who_may_see_it(
    db: None, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    scene = _scene(level, monkeypatch)
    slug, form = scene["programme"].slug, scene["form"]
    path = f"/p/{slug}/forms/{form.pk}/submissions/"
    client = Client()
    client.force_login(scene["lead"])
    page = client.get(path, {"enumerator": DEVICE}).content.decode()
    assert "1 submission" in page and DEVICE in page and IMPORTED not in page
    page = client.get(path, {"enumerator": "nobody"}).content.decode()
    assert "No submissions that you can see." in page
    client.force_login(scene["facilitator"])
    page = client.get(path, {"enumerator": DEVICE}).content.decode()
    if level == "public":
        assert "1 submission" in page and DEVICE in page
    else:
        # A filter on a name one may not see would tell who collected which submission: the
        # field is not offered and the parameter changes nothing.
        assert 'name="enumerator"' not in page
        assert "3 submissions" in page


def test_after_a_key_rotation_the_filter_still_finds_older_rows(
    db: None, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    old_key = "b" * 43 + "="
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    scene = _scene("sensitive", monkeypatch)
    settings.FIELD_ENCRYPTION_KEYS = ["a" * 43 + "=", old_key]
    client = Client()
    client.force_login(scene["lead"])
    page = client.get(
        f"/p/{scene['programme'].slug}/forms/{scene['form'].pk}/submissions/",
        {"enumerator": IMPORTED},
    ).content.decode()
    assert "1 submission" in page and IMPORTED in page


def test_the_migration_encrypts_and_hashes_the_enumerators_already_stored(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scene("sensitive", monkeypatch)
    executor = MigrationExecutor(connection)
    executor.migrate([("fieldwork", "0005_fewer_submission_indexes")])
    # As the rows were before: the enumerator in clear, no hash column.
    with connection.cursor() as cursor:
        cursor.execute("SELECT instance_id, enumerator FROM fieldwork_submission")
        before = dict(cursor.fetchall())
        assert before == {"uuid:i1": IMPORTED, "uuid:p1": PHONED, "uuid:p2": DEVICE}
        cursor.execute(
            "UPDATE fieldwork_submission SET enumerator = %s WHERE instance_id = 'uuid:p2'",
            [IMPORTED],
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("fieldwork"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT instance_id, enumerator, enumerator_hash FROM fieldwork_submission")
        after = {row[0]: row[1:] for row in cursor.fetchall()}
    for instance_id, value in (("uuid:i1", IMPORTED), ("uuid:p1", PHONED), ("uuid:p2", IMPORTED)):
        sealed, digest = after[instance_id]
        assert is_encrypted(sealed) and value not in sealed
        assert digest == keyed_hash(value)
        assert Submission.objects.get(instance_id=instance_id).enumerator == value
    assert Submission.objects.filter(enumerator_hash=keyed_hash(IMPORTED)).count() == 2


@pytest.mark.parametrize(("level", "copied"), [("internal", True), ("sensitive", False)])
def test_the_end_time_is_copied_into_submitted_at_only_if_it_is_not_protected(
    db: None, level: str, copied: bool
) -> None:
    """``submitted_at`` is in clear (the table is ordered and filtered by it): it copies the
    form's ``end`` answer only where that is not personal or sensitive; otherwise it is the
    time the server received the submission."""
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    schema = [*SCHEMA, {"name": "end", "path": "end", "type": "end"}]
    sensitivity = {str(f["path"]): "public" for f in SCHEMA} | {"end": level}
    form = make_form(programme, schema=schema, sensitivity=sensitivity)
    Form.objects.filter(pk=form.pk).update(is_open=True)
    ended = "2021-09-01T10:15:30+05:00"
    job = import_start(
        acting_user=lead,
        form=form,
        file_name="export.csv",
        content=f"end,district,instance_id\n{ended},vakhsh,uuid:i1\n".encode(),
    )
    assert import_run(job.pk).stored == 1
    device, _password = collection.device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
    )
    xml = _xml("uuid:p1", PHONED).replace(b"<meta>", f"<end>{ended}</end><meta>".encode())
    collection.submission_receive(device=device, xml=xml)
    times = {s.submitted_at.isoformat() for s in Submission.objects.all()}
    assert ("2021-09-01T05:15:30+00:00" in times) is copied
    assert len(times) == (1 if copied else 2)
