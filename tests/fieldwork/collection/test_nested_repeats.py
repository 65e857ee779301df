"""Repeats inside repeats, sent from a phone: a household's members, each member's incidents,
each incident's witnesses. Every repeat element of the instance is one repetition and the
repeats inside it are its own, so each answer is stored in the shape a file import stores
(one item per repetition at every level, :mod:`amniyat.fieldwork.imports.schema`) and the
personal ones, however deep, in ``protected_data``."""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from defusedxml import ElementTree as defused
from defusedxml.ElementTree import fromstring
from django.db import connection

from amniyat.accounts.models import Membership
from amniyat.fieldwork.collection.openrosa import instance
from amniyat.fieldwork.collection.services import device_create
from amniyat.fieldwork.forms.services import (
    assessment_create,
    form_add,
    form_publish,
    sensitivity_set,
)
from amniyat.fieldwork.imports.schema import (
    FormPlan,
    canonical_answers,
    nested_answers,
    plan_for,
    stored_answers,
)
from amniyat.fieldwork.models import FormVersion, Submission
from tests.factories import ProgrammeFactory, member_of, workbook
from tests.fieldwork.collection.openrosa_helpers import PASSWORD_HASHERS, Collect

FORM_ID = "household_incidents"
VERSION = "2024070101"
RESPONSE_NS = "{http://openrosa.org/http/response}"
XFORMS_NS = "{http://www.w3.org/2002/xforms}"

NAME = "members/member_name"
AGE = "members/member_age"
INCIDENT = "members/incidents/incident_type"
WHEN = "members/incidents/details/incident_date"
WITNESS = "members/incidents/witnesses/witness_name"
ROLES = "members/incidents/witnesses/witness_roles"

SURVEY = [
    ["type", "name", "label", "required"],
    ["text", "village", "Village", "yes"],
    ["begin_repeat", "members", "Household members", ""],
    ["text", "member_name", "Name", ""],
    ["integer", "member_age", "Age", ""],
    ["begin_repeat", "incidents", "Incidents this member suffered", ""],
    ["select_one incident_type", "incident_type", "What happened?", ""],
    ["begin_group", "details", "Details", ""],
    ["date", "incident_date", "When?", ""],
    ["end_group", "", "", ""],
    ["begin_repeat", "witnesses", "Who saw it", ""],
    ["text", "witness_name", "Witness's name", ""],
    ["select_multiple role", "witness_roles", "Who is the witness?", ""],
    ["end_repeat", "", "", ""],
    ["end_repeat", "", "", ""],
    ["end_repeat", "", "", ""],
]
CHOICES = [
    ["list_name", "name", "label"],
    ["incident_type", "theft", "Theft"],
    ["incident_type", "fraud", "Fraud"],
    ["role", "neighbour", "Neighbour"],
    ["role", "police", "Police"],
    ["role", "family", "Family"],
]
CLASSES = {
    "village": "public",
    NAME: "personal",
    AGE: "internal",
    INCIDENT: "internal",
    WHEN: "internal",
    WITNESS: "personal",
    ROLES: "internal",
    "meta/instanceID": "internal",
}


def xlsform() -> bytes:
    return workbook(
        {
            "survey": SURVEY,
            "choices": CHOICES,
            "settings": [["form_id", "version"], [FORM_ID, VERSION]],
        }
    )


@pytest.fixture(autouse=True)
def _fast_hashes_and_media(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
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
        username="vakhsh-phone-2",
    )
    return {
        "version": version,
        "collect": Collect(device.username, password),
        "path": f"/collect/{programme.slug}/submission",
    }


def _message(response: Any) -> str:
    return str(fromstring(response.content).find(f"{RESPONSE_NS}message").text)


def _stored(submission: Submission) -> dict[str, Any]:
    return stored_answers(submission.data, submission.protected_data or "")


# A household as ODK Collect sends it: an element for every question of each repetition
# (empty where unanswered) and none for a repeat the enumerator added no repetition to.
HOUSEHOLD = """<?xml version='1.0' ?>
<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
    id="household_incidents" version="2024070101">
  <village>Vakhsh</village>
  <members>
    <member_name>Dilnoza</member_name><member_age>34</member_age>
    <incidents>
      <incident_type>theft</incident_type><details><incident_date>2024-05-01</incident_date></details>
      <witnesses>
        <witness_name>Aziz</witness_name><witness_roles>neighbour police</witness_roles>
      </witnesses>
      <witnesses><witness_name/><witness_roles>family</witness_roles></witnesses>
    </incidents>
    <incidents>
      <incident_type/><details><incident_date/></details>
    </incidents>
    <incidents>
      <incident_type>fraud</incident_type><details><incident_date/></details>
    </incidents>
  </members>
  <members>
    <member_name/><member_age/>
  </members>
  <members>
    <member_name>Aziz</member_name><member_age>12</member_age>
  </members>
  <members>
    <member_name>Malika</member_name><member_age>40</member_age>
    <incidents>
      <incident_type>theft</incident_type><details><incident_date/></details>
      <witnesses><witness_name/><witness_roles/></witnesses>
      <witnesses><witness_name>Farrukh</witness_name><witness_roles>police</witness_roles></witnesses>
    </incidents>
  </members>
  <meta><instanceID>{instance_id}</instanceID></meta>
</data>"""


def household(instance_id: str = "uuid:nested-1") -> bytes:
    return HOUSEHOLD.replace("{instance_id}", instance_id).encode()


def test_each_answer_is_stored_in_its_own_repetition_at_every_depth(
    scene: dict[str, Any],
) -> None:
    response = scene["collect"].submit(scene["path"], household())
    assert response.status_code == 201, _message(response)
    submission = Submission.objects.get()
    # One item per member; per member one per incident (none for the empty member and for
    # Aziz, who reported none); per incident one per witness. The empty member and the
    # empty incident keep their places.
    assert submission.data == {
        "village": "Vakhsh",
        AGE: [34, None, 12, 40],
        INCIDENT: [["theft", None, "fraud"], [], [], ["theft"]],
        WHEN: [["2024-05-01", None, None], [], [], [None]],
        ROLES: [
            [[["neighbour", "police"], ["family"]], [], []],
            [],
            [],
            [[None, ["police"]]],
        ],
    }
    assert json.loads(submission.protected_data) == {
        NAME: ["Dilnoza", None, "Aziz", "Malika"],
        WITNESS: [[["Aziz", None], [], []], [], [], [[None, "Farrukh"]]],
    }
    # A witness's name, three repeats deep, is as unreadable in the database as any other.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT protected_data FROM fieldwork_submission WHERE id = %s", [submission.pk]
        )
        assert "Farrukh" not in cursor.fetchone()[0]


def test_the_checks_read_the_texts_in_the_stored_shape(scene: dict[str, Any]) -> None:
    """What ``check_answers`` receives: the stored shape, with each answer's text as sent
    at the leaves (a select_multiple's choices as one space-separated text)."""
    version: FormVersion = scene["version"]
    parsed = instance.parse_instance(household())
    assert instance.texts(parsed, version.schema, plan=plan_for(version)) == {
        "village": "Vakhsh",
        NAME: ["Dilnoza", None, "Aziz", "Malika"],
        AGE: ["34", None, "12", "40"],
        INCIDENT: [["theft", None, "fraud"], [], [], ["theft"]],
        WHEN: [["2024-05-01", None, None], [], [], [None]],
        WITNESS: [[["Aziz", None], [], []], [], [], [[None, "Farrukh"]]],
        ROLES: [[["neighbour police", "family"], [], []], [], [], [[None, "police"]]],
    }


def test_a_question_no_repetition_answered_is_absent_as_in_an_import(
    scene: dict[str, Any],
) -> None:
    xml = b"""<data id="household_incidents" version="2024070101">
      <village>Vakhsh</village>
      <members><member_name>Aziz</member_name><member_age/></members>
      <members><member_name>Dilnoza</member_name><member_age/>
        <incidents><incident_type>fraud</incident_type><details><incident_date/></details>
        </incidents>
      </members>
      <meta><instanceID>uuid:nested-sparse</instanceID></meta></data>"""
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 201, _message(response)
    submission = Submission.objects.get()
    # No age, no date, no witness anywhere: those questions are not stored at all.
    assert submission.data == {"village": "Vakhsh", INCIDENT: [[], ["fraud"]]}
    assert json.loads(submission.protected_data) == {NAME: ["Aziz", "Dilnoza"]}


def test_a_repeats_template_sent_along_is_no_repetition(scene: dict[str, Any]) -> None:
    # The blank repetition a form carries for its repeats (jr:template), which some clients
    # leave in what they send.
    xml = b"""<data xmlns:jr="http://openrosa.org/javarosa" id="household_incidents"
        version="2024070101"><village>Vakhsh</village>
      <members jr:template=""><member_name/><member_age/>
        <incidents jr:template=""><incident_type/><details><incident_date/></details></incidents>
      </members>
      <members><member_name>Aziz</member_name><member_age>12</member_age>
        <incidents jr:template=""><incident_type/><details><incident_date/></details></incidents>
        <incidents><incident_type>theft</incident_type><details><incident_date/></details>
        </incidents>
      </members>
      <meta><instanceID>uuid:nested-template</instanceID></meta></data>"""
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 201, _message(response)
    assert _stored(Submission.objects.get()) == {
        "village": "Vakhsh",
        NAME: ["Aziz"],
        AGE: [12],
        INCIDENT: [["theft"]],
    }


def test_the_same_instance_twice_is_stored_once(scene: dict[str, Any]) -> None:
    collect = scene["collect"]
    assert collect.submit(scene["path"], household()).status_code == 201
    again = collect.submit(scene["path"], household())
    assert again.status_code == 202, _message(again)
    assert "already received" in _message(again)
    assert Submission.objects.count() == 1


def test_the_same_answers_grouped_otherwise_are_a_conflict(scene: dict[str, Any]) -> None:
    # Dilnoza's second witness moved to her second incident: every answer is the same, but
    # not who saw what. Lists flattened per question could not tell the two apart.
    collect = scene["collect"]
    assert collect.submit(scene["path"], household()).status_code == 201
    moved = (
        HOUSEHOLD.replace("{instance_id}", "uuid:nested-1")
        .replace(
            "<witnesses><witness_name/><witness_roles>family</witness_roles></witnesses>\n", "", 1
        )
        .replace(
            "<incident_type/><details><incident_date/></details>",
            "<incident_type/><details><incident_date/></details>"
            "<witnesses><witness_name/><witness_roles>family</witness_roles></witnesses>",
            1,
        )
    )
    response = collect.submit(scene["path"], moved.encode())
    assert response.status_code == 409, _message(response)
    assert _stored(Submission.objects.get())[ROLES][0] == [
        [["neighbour", "police"], ["family"]],
        [],
        [],
    ]


def test_a_choice_the_form_does_not_offer_deep_inside_is_refused(scene: dict[str, Any]) -> None:
    xml = household("uuid:nested-bad").replace(b"<incident_type>fraud<", b"<incident_type>arson<")
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 400
    assert INCIDENT in _message(response)
    assert "arson" in _message(response)
    assert not Submission.objects.exists()


def test_a_question_answered_twice_in_one_repetition_is_refused(scene: dict[str, Any]) -> None:
    xml = household("uuid:nested-twice").replace(
        b"<member_age>12</member_age>", b"<member_age>12</member_age><member_age>70</member_age>"
    )
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 400
    assert _message(response) == "The submission answers “members/member_age” twice in one place."
    assert not Submission.objects.exists()


# ----------------------------------------------------------------------------------------
# Stored answers → an instance → stored answers


def instance_xml(
    answers: dict[str, Any],
    plan: FormPlan,
    *,
    root: str,
    form_id: str,
    version: str,
    instance_id: str,
) -> bytes:
    """The XForm instance ODK Collect would send for ``answers`` (stored answers of a form
    whose schema paths are relative to the root): an element for every question of every
    repetition, empty where unanswered, each repetition of a repeat its own element."""
    top = Element(root, {"id": form_id, "version": version})
    _fill(top, nested_answers(answers, plan), plan, None)
    SubElement(SubElement(top, "meta"), "instanceID").text = instance_id
    return bytes(tostring(top, encoding="utf-8", xml_declaration=True))


def _fill(element: Element, item: dict[str, Any], plan: FormPlan, repeat: str | None) -> None:
    """``item``'s answers (one repetition of ``repeat``, or the submission) into ``element``,
    and the repetitions of each repeat directly inside it."""
    base = f"{repeat}/" if repeat else ""
    for spec in plan.fields:
        if spec.repeat == repeat:
            _element(element, spec.path.removeprefix(base)).text = _text(item.get(spec.path))
    for child in plan.child_repeats(repeat):
        for inner in item.get(child) or []:
            _fill(_element(element, child.removeprefix(base)), inner, plan, child)


def _element(parent: Element, relative: str) -> Element:
    """A new element at ``relative`` under ``parent`` (a question, or a repetition), in the
    groups already there."""
    *groups, last = relative.split("/")
    for name in groups:
        found = parent.find(name)
        parent = found if found is not None else SubElement(parent, name)
    return SubElement(parent, last)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(choice) for choice in value)
    return str(value)


def _root_name(version: FormVersion) -> str:
    template = defused.fromstring(version.xform).find(f".//{XFORMS_NS}instance/*")
    assert template is not None
    return str(template.tag).rsplit("}", 1)[-1]


def test_stored_answers_sent_as_an_instance_come_back_as_they_were(
    scene: dict[str, Any],
) -> None:
    version: FormVersion = scene["version"]
    plan = plan_for(version)
    answers = {
        "village": "Yovon",
        NAME: ["Shahlo", None, "Rustam"],
        AGE: [51, None, 7],
        INCIDENT: [["fraud", "theft"], [], [None, "theft"]],
        # Answered nowhere: stored as absent, however it came in.
        WHEN: [[None, None], [], [None, None]],
        WITNESS: [[[], ["Bahrom", None, "Zarina"]], [], [[None], []]],
        ROLES: [[[], [["family"], ["neighbour", "police"], None]], [], [[["police"]], []]],
    }
    xml = instance_xml(
        answers,
        plan,
        root=_root_name(version),
        form_id=FORM_ID,
        version=VERSION,
        instance_id="uuid:nested-round-trip",
    )
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 201, _message(response)
    stored = _stored(Submission.objects.get())
    assert stored == canonical_answers(answers, plan)
    assert stored == {key: value for key, value in answers.items() if key != WHEN}
    # And the stored answers make the same instance again.
    assert (
        instance_xml(
            stored,
            plan,
            root=_root_name(version),
            form_id=FORM_ID,
            version=VERSION,
            instance_id="uuid:nested-round-trip",
        )
        == xml
    )


def test_elements_nested_deeper_than_any_form_are_refused(scene: dict[str, Any]) -> None:
    depth = 5000  # beyond Python's recursion limit
    xml = (
        '<data id="household_incidents" version="2024070101"><village>Vakhsh</village>'
        + "<members>" * depth
        + "</members>" * depth
        + "<meta><instanceID>uuid:nested-deep</instanceID></meta></data>"
    ).encode()
    response = scene["collect"].submit(scene["path"], xml)
    assert response.status_code == 400
    assert _message(response) == "The submission nests its elements more than 100 deep."
    assert not Submission.objects.exists()
