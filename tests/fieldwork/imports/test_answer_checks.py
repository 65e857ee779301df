"""One check of answers against the form, whichever way they arrive: a submission from ODK
Collect whose answers the form cannot produce (a choice it does not offer, text in a number,
a broken constraint, a required answer missing) is refused with an OpenRosa message naming
the field, and nothing is stored; a file import with the same answers gets the same verdict,
word for word."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from defusedxml.ElementTree import fromstring
from django.core.files.storage import default_storage

from amniyat.accounts.models import Membership
from amniyat.fieldwork.collection import services as collection
from amniyat.fieldwork.imports.convert import CompiledChecks, check_answers
from amniyat.fieldwork.imports.schema import build_plan
from amniyat.fieldwork.imports.services import import_run, import_start
from amniyat.fieldwork.models import Attachment, Form, ImportJob, Submission
from tests.factories import ProgrammeFactory, member_of
from tests.fieldwork.collection.openrosa_helpers import PASSWORD_HASHERS, Collect
from tests.fieldwork.imports.test_importers import make_form

Role = Membership.Role
RESPONSE_NS = "{http://openrosa.org/http/response}"
MEMBER = "household/member"


def _choices(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "label": {"en": name.title()}} for name in names]


SCHEMA: list[dict[str, Any]] = [
    {"name": "district", "path": "district", "type": "select_one", "choices": _choices("vakhsh")},
    {"name": "age", "path": "age", "type": "integer", "constraint": ". >= 15 and . <= 120"},
    {"name": "income", "path": "income", "type": "decimal"},
    {"name": "visit", "path": "visit", "type": "date"},
    {"name": "met", "path": "met", "type": "dateTime"},
    {
        "name": "worries",
        "path": "worries",
        "type": "select_multiple",
        "choices": _choices("theft", "violence"),
        "constraint": "count-selected(.) <= 1 or not(selected(., 'theft'))",
    },
    {"name": "name", "path": "name", "type": "text", "required": True},
    {"name": "consent", "path": "consent", "type": "select_one", "choices": _choices("yes", "no")},
    {
        "name": "reason",
        "path": "reason",
        "type": "text",
        "required": True,
        "relevant": "${consent} = 'no'",
    },
    # A constraint beyond what can be evaluated here is not enforced, by either way in.
    {"name": "phone", "path": "phone", "type": "text", "constraint": "regex(., '^[0-9]+$')"},
    {"name": "member", "path": MEMBER, "type": "begin_repeat"},
    {
        "name": "member_age",
        "path": f"{MEMBER}/member_age",
        "type": "integer",
        "repeat": MEMBER,
        "constraint": ". < 130",
    },
]
SENSITIVITY = {
    "district": "public",
    "age": "internal",
    "income": "sensitive",
    "visit": "public",
    "met": "internal",
    "worries": "public",
    "name": "personal",
    "consent": "public",
    "reason": "internal",
    "phone": "sensitive",
    f"{MEMBER}/member_age": "public",
}
GOOD: dict[str, Any] = {
    "district": "vakhsh",
    "age": "34",
    "income": "1500.5",
    "visit": "2021-09-01",
    "met": "2021-09-01T10:15:30.000+05:00",
    "worries": "theft",
    "name": "Dilnoza",
    "consent": "yes",
    "phone": "not digits",
    f"{MEMBER}/member_age": ["61", "9"],
}
# (what is changed, the answers changed, the verdict as ODK Collect's user reads it).
BAD = {
    "select_one": ({"district": "maybe"}, "district: “maybe” is not one of the choices: vakhsh."),
    "integer": ({"age": "thirty"}, "age: “thirty” is not a whole number."),
    "integer_fraction": ({"age": "34.5"}, "age: “34.5” is not a whole number."),
    "constraint": (
        {"age": "12"},
        "age: “12” does not meet the form's constraint: . >= 15 and . <= 120",
    ),
    "decimal": ({"income": "lots"}, "income: “•••” is not a number."),
    "date": ({"visit": "2021-13-45"}, "visit: “2021-13-45” is not a date (YYYY-MM-DD)."),
    "datetime": (
        {"met": "yesterday"},
        "met: “yesterday” is not a date and time (YYYY-MM-DDTHH:MM:SS).",
    ),
    "select_multiple": (
        {"worries": "theft fire"},
        "worries: “theft fire” includes something that is not one of the choices: theft, violence.",
    ),
    "select_multiple_constraint": (
        {"worries": "theft violence"},
        "worries: “theft violence” does not meet the form's constraint: "
        "count-selected(.) <= 1 or not(selected(., 'theft'))",
    ),
    "required": ({"name": None}, "name: This question requires an answer."),
    "required_where_relevant": (
        {"consent": "no"},
        "reason: This question requires an answer.",
    ),
    "repeat": (
        {f"{MEMBER}/member_age": ["61", "old"]},
        "household/member/member_age: “old” is not a whole number.",
    ),
    "repeat_constraint": (
        {f"{MEMBER}/member_age": ["61", "130"]},
        "household/member/member_age: “130” does not meet the form's constraint: . < 130",
    ),
}


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    form = make_form(programme, schema=SCHEMA, sensitivity=SENSITIVITY)
    Form.objects.filter(pk=form.pk).update(is_open=True)
    device, password = collection.device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username="vakhsh-phone-2",
    )
    return {
        "form": form,
        "lead": lead,
        "collect": Collect(device.username, password),
        "url": f"/collect/{programme.slug}/submission",
    }


def _answers(change: dict[str, Any]) -> dict[str, Any]:
    answers = {**GOOD, **change}
    return {path: value for path, value in answers.items() if value is not None}


def _xml(answers: dict[str, Any], instance_id: str) -> bytes:
    """An ODK Collect instance of ``answers``: each repetition its own <member>."""
    main = "".join(
        f"<{path}>{escape(value)}</{path}>"
        for path, value in answers.items()
        if not path.startswith(MEMBER)
    )
    ages = answers.get(f"{MEMBER}/member_age", [])
    members = "".join(f"<member><member_age>{escape(a)}</member_age></member>" for a in ages)
    return (
        f'<?xml version="1.0"?><data id="household" version="1">{main}'
        f"<household>{members}</household>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def _kobo_json(answers: dict[str, Any], instance_id: str) -> bytes:
    """The same answers as a KoboToolbox API export, the repeat inside its submission."""
    record: dict[str, Any] = {k: v for k, v in answers.items() if not k.startswith(MEMBER)}
    ages = answers.get(f"{MEMBER}/member_age", [])
    record[MEMBER] = [{f"{MEMBER}/member_age": age} for age in ages]
    record["meta/instanceID"] = instance_id
    return json.dumps({"count": 1, "next": None, "previous": None, "results": [record]}).encode()


def _message(response: Any) -> str:
    root = fromstring(response.content)
    return str(root.find(f"{RESPONSE_NS}message").text)


def _imported_verdict(scene: dict[str, Any], answers: dict[str, Any]) -> tuple[str, str]:
    job = import_start(
        acting_user=scene["lead"],
        form=scene["form"],
        file_name="export.json",
        content=_kobo_json(answers, "uuid:imported"),
    )
    job = import_run(job.pk)
    problems = job.report.get("problems") or []
    return job.status, " ".join(f"{p['column']}: {p['message']}" for p in problems)


def test_a_valid_submission_is_still_received(scene: dict[str, Any]) -> None:
    response = scene["collect"].submit(scene["url"], _xml(_answers({}), "uuid:good"))
    assert response.status_code == 201, _message(response)
    stored = Submission.objects.get()
    assert stored.data["worries"] == ["theft"]
    assert stored.data[f"{MEMBER}/member_age"] == [61, 9]


@pytest.mark.parametrize(
    "case", ["select_one", "integer", "constraint", "repeat_constraint", "required"]
)
def test_a_submission_with_answers_the_form_cannot_produce_is_refused(
    scene: dict[str, Any], case: str
) -> None:
    """An ODK Collect-style POST, with a photo, whose answers break the form: 400 with an
    OpenRosa message naming the field and the problem; no submission, no file stored."""
    change, verdict = BAD[case]
    response = scene["collect"].submit(
        scene["url"], _xml(_answers(change), f"uuid:{case}"), {"photo.jpg": b"\xff\xd8 a photo"}
    )
    assert response.status_code == 400
    assert response["X-OpenRosa-Version"] == "1.0"
    assert _message(response) == verdict
    assert not Submission.objects.exists()
    assert not Attachment.objects.exists()
    assert not default_storage.exists("attachments")


def test_every_problem_is_named_at_once(scene: dict[str, Any]) -> None:
    change = {**BAD["select_one"][0], **BAD["integer"][0], **BAD["required"][0]}
    response = scene["collect"].submit(scene["url"], _xml(_answers(change), "uuid:many"))
    assert response.status_code == 400
    assert _message(response) == " ".join(
        (BAD["select_one"][1], BAD["integer"][1], BAD["required"][1])
    )


@pytest.mark.parametrize("case", list(BAD))
def test_imports_and_odk_collect_give_the_same_verdict(scene: dict[str, Any], case: str) -> None:
    """The same bad answer, of each type, sent from a phone and imported in a file: both
    refuse it, with the same words."""
    change, verdict = BAD[case]
    answers = _answers(change)
    status, imported = _imported_verdict(scene, answers)
    assert status == ImportJob.Status.FAILED
    response = scene["collect"].submit(scene["url"], _xml(answers, f"uuid:{case}"))
    assert response.status_code == 400
    assert _message(response) == imported == verdict
    assert not Submission.objects.exists()


def test_imports_and_odk_collect_accept_the_same_good_answers(scene: dict[str, Any]) -> None:
    status, problems = _imported_verdict(scene, _answers({}))
    assert (status, problems) == (ImportJob.Status.SUCCEEDED, "")
    response = scene["collect"].submit(scene["url"], _xml(_answers({}), "uuid:phone"))
    assert response.status_code == 201
    imported, phoned = Submission.objects.order_by("source")
    # Stored alike, whichever way they came.
    assert imported.content_hash == phoned.content_hash


@pytest.mark.parametrize(
    ("weight", "held"),
    [("0.75", True), ("2", True), ("0.5", False), ("1.5", False)],
)
def test_a_constraint_reads_its_dot_as_the_answer_and_leaves_numbers_and_text_alone(
    weight: str, held: bool
) -> None:
    """``.`` is the answer; ``0.5``, ``'a.b'`` and another question's ``${…}`` stay as written."""
    schema = [
        {"name": "factor", "path": "factor", "type": "decimal"},
        {
            "name": "weight",
            "path": "weight",
            "type": "decimal",
            "constraint": ". > 0.5 and . != ${factor} and 'a.b' != .",
        },
    ]
    plan = build_plan(schema, {"factor": "public", "weight": "public"})
    problems = check_answers({"factor": "1.5", "weight": weight}, plan, name="x")
    assert [p.column for p in problems] == ([] if held else ["weight"])


# A form whose checks are all of an answer's type or a plain ``required``: a phone's
# submission is then checked without a Polars query (CompiledChecks.problems_of), a file's
# rows with one; both must still say the same.
PLAIN_SCHEMA: list[dict[str, Any]] = [
    item
    for item in (
        {key: value for key, value in item.items() if key not in ("constraint", "relevant")}
        for item in SCHEMA
    )
    if item["name"] != "reason"
]
PLAIN_BAD = {
    case: BAD[case]
    for case in (
        "select_one",
        "integer",
        "integer_fraction",
        "decimal",
        "date",
        "datetime",
        "select_multiple",
        "required",
        "repeat",
    )
}
PLAIN_BAD["several"] = (
    {"district": "maybe", "age": "+", "visit": "2021-2-29", "name": None},
    "district: “maybe” is not one of the choices: vakhsh. age: “+” is not a whole number. "
    "visit: “2021-2-29” is not a date (YYYY-MM-DD). name: This question requires an answer.",
)


@pytest.fixture
def plain_scene(scene: dict[str, Any]) -> dict[str, Any]:
    scene["form"].versions.update(schema=PLAIN_SCHEMA)
    return scene


@pytest.mark.parametrize("case", list(PLAIN_BAD))
def test_a_phone_checked_without_polars_and_a_file_give_the_same_verdict(
    plain_scene: dict[str, Any], case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    change, verdict = PLAIN_BAD[case]
    answers = _answers(change)
    status, imported = _imported_verdict(plain_scene, answers)
    assert status == ImportJob.Status.FAILED

    def no_query(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a Polars query for one submission")

    monkeypatch.setattr(CompiledChecks, "run", no_query)
    response = plain_scene["collect"].submit(plain_scene["url"], _xml(answers, f"uuid:{case}"))
    assert response.status_code == 400
    assert _message(response) == imported == verdict
    assert not Submission.objects.exists()


def test_a_phone_checked_without_polars_and_a_file_accept_the_same_good_answers(
    plain_scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = _answers({"income": ".5e3", "age": "+034"})
    status, problems = _imported_verdict(plain_scene, answers)
    assert (status, problems) == (ImportJob.Status.SUCCEEDED, "")
    monkeypatch.setattr(CompiledChecks, "run", None)
    response = plain_scene["collect"].submit(plain_scene["url"], _xml(answers, "uuid:phone"))
    assert response.status_code == 201, _message(response)
    imported, phoned = Submission.objects.order_by("source")
    assert imported.content_hash == phoned.content_hash
