"""Repeats inside repeats, written out: a household's members, each member's incidents, each
incident's witnesses. Every export has them in the shape of the tool it copies (KoboToolbox's
sheets linked by ``_parent_index``, its JSON nested, its legacy numbered CSV columns, ODK
Central's files linked by ``PARENT_KEY``/``KEY``), the labelled workbook has a sheet per
repeat naming where each entry sits, personal answers are masked at every depth, and the
submissions page shows each repetition's repeats inside it."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from lxml import html
from openpyxl import load_workbook

from amniyat.accounts import policies
from amniyat.accounts.models import Membership, Programme
from amniyat.fieldwork.forms.services import assessment_create, form_add, sensitivity_set
from amniyat.fieldwork.imports.schema import (
    FormPlan,
    build_plan,
    columnar_answers,
    plan_for,
    split_answers,
)
from amniyat.fieldwork.models import Form, FormVersion, Submission
from amniyat.fieldwork.submissions import exporters
from tests.factories import ProgrammeFactory, member_of, shipped_place, workbook

Role = Membership.Role
MASK = exporters.MASK

MEMBERS = "hh/members"
INCIDENTS = "hh/members/incidents"
WITNESSES = "hh/members/incidents/witnesses"
NAME = f"{MEMBERS}/member_name"
AGE = f"{MEMBERS}/member_age"
KIND = f"{INCIDENTS}/incident_type"
WHEN = f"{INCIDENTS}/details/incident_date"
WITNESS = f"{WITNESSES}/witness_name"
ROLES = f"{WITNESSES}/witness_roles"

# The members repeat sits in a group; the incident's date in a group inside its repeat.
SURVEY = [
    ["type", "name", "label"],
    ["text", "village", "Village"],
    ["begin_group", "hh", "Household"],
    ["begin_repeat", "members", "Household members"],
    ["text", "member_name", "Name"],
    ["integer", "member_age", "Age"],
    ["begin_repeat", "incidents", "Incidents this member suffered"],
    ["select_one incident_type", "incident_type", "What happened?"],
    ["begin_group", "details", "Details"],
    ["date", "incident_date", "When?"],
    ["end_group", "", ""],
    ["begin_repeat", "witnesses", "Who saw it"],
    ["text", "witness_name", "Witness's name"],
    ["select_multiple role", "witness_roles", "Who is the witness?"],
    ["end_repeat", "", ""],
    ["end_repeat", "", ""],
    ["end_repeat", "", ""],
    ["end_group", "", ""],
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
    KIND: "internal",
    WHEN: "internal",
    WITNESS: "personal",
    ROLES: "internal",
    "meta/instanceID": "internal",
}

# Submissions as one object per repetition; stored in columns (schema.columnar_answers).
HOUSEHOLDS: dict[str, dict[str, Any]] = {
    "uuid:s1": {
        "village": "Vakhsh",
        MEMBERS: [
            {
                NAME: "Dilnoza",
                AGE: 34,
                INCIDENTS: [
                    {
                        KIND: "theft",
                        WHEN: "2024-04-02",
                        WITNESSES: [
                            {WITNESS: "Aziz", ROLES: ["neighbour", "police"]},
                            {ROLES: ["family"]},
                        ],
                    },
                    {KIND: "fraud"},
                ],
            },
            {NAME: "Aziz", AGE: 12},
        ],
    },
    "uuid:s2": {
        "village": "Bokhtar",
        MEMBERS: [
            {
                NAME: "Rustam",
                AGE: 40,
                INCIDENTS: [{KIND: "fraud", WITNESSES: [{WITNESS: "=Malika", ROLES: ["family"]}]}],
            },
            # A member without answers of their own, with two incidents.
            {INCIDENTS: [{KIND: "theft"}, {KIND: "theft", WHEN: "2024-03-01"}]},
        ],
    },
    "uuid:s3": {"village": "Kulob"},
}


def xlsform() -> bytes:
    return workbook(
        {
            "survey": SURVEY,
            "choices": CHOICES,
            "settings": [["form_id", "version"], ["household", "1"]],
        }
    )


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def programme(db: None) -> Programme:
    return ProgrammeFactory(slug="tj")


def store(version: FormVersion, instance_id: str, nested: dict[str, Any], day: int) -> Submission:
    plan = plan_for(version)
    data, protected = split_answers(columnar_answers(nested, plan), plan)
    return Submission.objects.create(
        form=version.form,
        form_version=version,
        instance_id=instance_id,
        content_hash=instance_id,
        submitted_at=datetime.datetime(2024, 5, day, 9, 30, tzinfo=datetime.UTC),
        enumerator="",
        data=data,
        protected_data=json.dumps(protected) if protected else "",
        source=Submission.Source.IMPORT,
    )


@pytest.fixture
def form(programme: Programme) -> Form:
    lead = member_of(programme, Role.LEAD)
    assessment = assessment_create(
        acting_user=lead, programme=programme, title="Baseline", kind="baseline"
    )
    version = form_add(
        acting_user=lead, assessment=assessment, file_name="household.xlsx", content=xlsform()
    )
    sensitivity_set(acting_user=lead, version=version, classes=CLASSES)
    version.refresh_from_db()
    for day, (instance_id, nested) in enumerate(HOUSEHOLDS.items(), start=1):
        store(version, instance_id, nested, day)
    return version.form


def plan_and_rows(form: Form, *, reveal: bool = True) -> tuple[FormPlan, list[Any]]:
    plan = plan_for(form.current_version())  # type: ignore[arg-type]
    submissions = Submission.objects.filter(form=form).order_by("submitted_at")
    return plan, list(exporters.rows_of(submissions, plan=plan, reveal=reveal))


def text_of(write: Any) -> str:
    buffer = io.StringIO(newline="")
    write(buffer)
    return buffer.getvalue()


def sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_the_stored_answers_are_nested_three_deep(form: Form) -> None:
    stored = Submission.objects.get(instance_id="uuid:s2")
    plan, rows = plan_and_rows(form)
    answers = rows[1].answers
    assert answers[KIND] == [["fraud"], ["theft", "theft"]]
    assert answers[WITNESS] == [[["=Malika"]], [[], []]]
    assert WITNESS not in stored.data and WITNESS in json.loads(stored.protected_data)
    assert plan.parent_repeat == {MEMBERS: None, INCIDENTS: MEMBERS, WITNESSES: INCIDENTS}


# ----------------------------------------------------------------------------------------
# KoboToolbox


def test_kobo_xlsx_has_a_sheet_per_repeat_linked_to_the_sheet_above(
    form: Form, tmp_path: Path
) -> None:
    plan, rows = plan_and_rows(form)
    exporters.write_kobo_xlsx(tmp_path / "kobo.xlsx", plan, rows, title="household")
    found = sheets(tmp_path / "kobo.xlsx")
    assert list(found) == ["household", "members", "incidents", "witnesses"]
    links = ["_index", "_parent_table_name", "_parent_index", "_submission__uuid"]
    main = found["household"]
    assert main[0] == (
        "village",
        "meta/instanceID",
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_submitted_by",
        "__version__",
        "_index",
    )
    assert [(row[0], row[-1]) for row in main[1:]] == [("Vakhsh", 1), ("Bokhtar", 2), ("Kulob", 3)]
    assert found["members"] == [
        (NAME, AGE, *links),
        ("Dilnoza", 34, 1, "household", 1, "s1"),
        ("Aziz", 12, 2, "household", 1, "s1"),
        ("Rustam", 40, 3, "household", 2, "s2"),
        (None, None, 4, "household", 2, "s2"),
    ]
    # _parent_index is the _index of the member's row on the members sheet, not of the
    # submission; _index runs on across submissions.
    assert found["incidents"] == [
        (KIND, WHEN, *links),
        ("theft", "2024-04-02", 1, "members", 1, "s1"),
        ("fraud", None, 2, "members", 1, "s1"),
        ("fraud", None, 3, "members", 3, "s2"),
        ("theft", None, 4, "members", 4, "s2"),
        ("theft", "2024-03-01", 5, "members", 4, "s2"),
    ]
    assert found["witnesses"] == [
        (WITNESS, ROLES, *links),
        ("Aziz", "neighbour police", 1, "incidents", 1, "s1"),
        (None, "family", 2, "incidents", 1, "s1"),
        ("'=Malika", "family", 3, "incidents", 3, "s2"),  # a formula, neutralised
    ]


def test_kobo_json_nests_each_repeat_inside_its_repetition(form: Form) -> None:
    plan, rows = plan_and_rows(form)
    body = json.loads(text_of(lambda out: exporters.write_kobo_json(out, plan, rows)))
    assert body["count"] == 3
    first, second, third = body["results"]
    assert first[MEMBERS] == [
        {
            NAME: "Dilnoza",
            AGE: "34",
            INCIDENTS: [
                {
                    KIND: "theft",
                    WHEN: "2024-04-02",
                    WITNESSES: [
                        {WITNESS: "Aziz", ROLES: "neighbour police"},
                        {ROLES: "family"},
                    ],
                },
                {KIND: "fraud"},
            ],
        },
        {NAME: "Aziz", AGE: "12"},
    ]
    assert second[MEMBERS] == [
        {
            NAME: "Rustam",
            AGE: "40",
            # JSON holds no cells: a formula-like text is written as it is.
            INCIDENTS: [{KIND: "fraud", WITNESSES: [{WITNESS: "=Malika", ROLES: "family"}]}],
        },
        {INCIDENTS: [{KIND: "theft"}, {KIND: "theft", WHEN: "2024-03-01"}]},
    ]
    assert MEMBERS not in third and third["village"] == "Kulob"
    # No repeat's field is left at the top or in a repetition of another repeat.
    assert set(first) - {MEMBERS} == {
        "village",
        "meta/instanceID",
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_submitted_by",
        "__version__",
    }


def test_kobo_csv_writes_repeats_as_numbered_columns(form: Form) -> None:
    plan, rows = plan_and_rows(form)
    text = text_of(lambda out: exporters.write_kobo_csv(out, plan, rows))
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    header = table[0]
    member = "hh/members[{m}]/{field}"
    incident = "hh/members[{m}]/incidents[{i}]/{field}"
    witness = "hh/members[{m}]/incidents[{i}]/witnesses[{w}]/{field}"
    assert header == [
        "village",
        *[member.format(m=m, field=f) for m in (1, 2) for f in ("member_name", "member_age")],
        # As many incidents at each member's place as any household had there.
        *[
            incident.format(m=m, i=i, field=f)
            for m, i in ((1, 1), (1, 2), (2, 1), (2, 2))
            for f in ("incident_type", "details/incident_date")
        ],
        *[
            witness.format(m=1, i=1, w=w, field=f)
            for w in (1, 2)
            for f in ("witness_name", "witness_roles")
        ],
        # formpack's columns stay, so the file is not mistaken for a legacy one.
        "meta/instanceID",
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_submitted_by",
        "__version__",
        "_index",
    ]
    by_id = {
        row[header.index("meta/instanceID")]: dict(zip(header, row, strict=True))
        for row in table[1:]
    }
    s1, s2, s3 = by_id["uuid:s1"], by_id["uuid:s2"], by_id["uuid:s3"]
    assert s1["hh/members[2]/member_name"] == "Aziz"
    assert s1["hh/members[1]/incidents[2]/incident_type"] == "fraud"
    assert s1["hh/members[1]/incidents[1]/witnesses[1]/witness_roles"] == "neighbour police"
    assert s1["hh/members[1]/incidents[1]/witnesses[2]/witness_name"] == ""  # unanswered
    assert s1["hh/members[2]/incidents[1]/incident_type"] == ""  # no such incident
    assert s2["hh/members[2]/member_name"] == ""
    assert s2["hh/members[2]/incidents[2]/details/incident_date"] == "2024-03-01"
    assert s2["hh/members[1]/incidents[1]/witnesses[1]/witness_name"] == "'=Malika"
    assert [s3[column] for column in header[1:-8]] == [""] * (len(header) - 9)
    assert (s1["_index"], s2["_index"], s3["_index"]) == ("1", "2", "3")


# ----------------------------------------------------------------------------------------
# ODK Central


def test_odk_zip_has_a_csv_per_repeat_linked_by_parent_key(form: Form, tmp_path: Path) -> None:
    plan, rows = plan_and_rows(form)
    exporters.write_odk_zip(tmp_path / "odk.zip", plan, rows, form_id="household")
    with zipfile.ZipFile(tmp_path / "odk.zip") as archive:
        names = archive.namelist()
        files = {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))
            for name in names
        }
    assert names == [
        "household.csv",
        "household-members.csv",
        "household-incidents.csv",
        "household-witnesses.csv",
    ]
    assert files["household.csv"][0] == [
        "SubmissionDate",
        "village",
        "meta-instanceID",
        "KEY",
        "SubmitterName",
        "ReviewState",
        "FormVersion",
    ]
    s1, s2 = "uuid:s1/hh/members", "uuid:s2/hh/members"
    # Fields named from inside their repeat, as Central names them.
    assert files["household-members.csv"] == [
        ["member_name", "member_age", "PARENT_KEY", "KEY"],
        ["Dilnoza", "34", "uuid:s1", f"{s1}[1]"],
        ["Aziz", "12", "uuid:s1", f"{s1}[2]"],
        ["Rustam", "40", "uuid:s2", f"{s2}[1]"],
        ["", "", "uuid:s2", f"{s2}[2]"],
    ]
    assert files["household-incidents.csv"] == [
        ["incident_type", "details-incident_date", "PARENT_KEY", "KEY"],
        ["theft", "2024-04-02", f"{s1}[1]", f"{s1}[1]/incidents[1]"],
        ["fraud", "", f"{s1}[1]", f"{s1}[1]/incidents[2]"],
        ["fraud", "", f"{s2}[1]", f"{s2}[1]/incidents[1]"],
        ["theft", "", f"{s2}[2]", f"{s2}[2]/incidents[1]"],
        ["theft", "2024-03-01", f"{s2}[2]", f"{s2}[2]/incidents[2]"],
    ]
    assert files["household-witnesses.csv"] == [
        ["witness_name", "witness_roles", "PARENT_KEY", "KEY"],
        ["Aziz", "neighbour police", f"{s1}[1]/incidents[1]", f"{s1}[1]/incidents[1]/witnesses[1]"],
        ["", "family", f"{s1}[1]/incidents[1]", f"{s1}[1]/incidents[1]/witnesses[2]"],
        ["'=Malika", "family", f"{s2}[1]/incidents[1]", f"{s2}[1]/incidents[1]/witnesses[1]"],
    ]


def test_odk_zip_numbers_repeats_that_share_a_name_as_central_does() -> None:
    schema = [
        {"name": "a", "path": "first/items/a", "type": "text", "repeat": "first/items"},
        {"name": "b", "path": "second/items/b", "type": "text", "repeat": "second/items"},
        {
            "name": "c",
            "path": "second/items/parts/c",
            "type": "text",
            "repeat": "second/items/parts",
        },
    ]
    plan = build_plan(schema, {})
    order = exporters.repeats_in_order(exporters.repeat_children(plan))
    assert exporters.odk_file_names("f", order, plan) == {
        "first/items": "f-items~1.csv",
        "second/items": "f-items~2.csv",
        "second/items/parts": "f-parts.csv",
    }


def test_odk_csv_stays_the_submissions_only(form: Form) -> None:
    plan, rows = plan_and_rows(form)
    text = text_of(lambda out: exporters.write_odk_csv(out, plan, rows))
    assert (
        text.splitlines()[0]
        == "SubmissionDate,village,meta-instanceID,KEY,SubmitterName,ReviewState,FormVersion"
    )


# ----------------------------------------------------------------------------------------
# Labelled tables


def test_labelled_workbook_has_a_sheet_per_repeat_naming_where_each_entry_sits(
    form: Form, tmp_path: Path
) -> None:
    plan, rows = plan_and_rows(form)
    exporters.write_table_xlsx(tmp_path / "table.xlsx", plan, rows, "en")
    found = sheets(tmp_path / "table.xlsx")
    assert list(found) == ["Submissions", "members", "incidents", "witnesses"]
    main = found["Submissions"]
    assert main[0][-3:] == (
        "members: number of entries",
        "incidents: number of entries",
        "witnesses: number of entries",
    )
    # Inner repeats: all their entries in the household.
    assert [row[-3:] for row in main[1:]] == [(2, 2, 2), (2, 3, 1), (0, 0, 0)]
    assert found["members"] == [
        ("instance id", "members: entry number", "Name", "Age"),
        ("uuid:s1", 1, "Dilnoza", 34),
        ("uuid:s1", 2, "Aziz", 12),
        ("uuid:s2", 1, "Rustam", 40),
        ("uuid:s2", 2, None, None),
    ]
    assert found["incidents"] == [
        (
            "instance id",
            "members: entry number",
            "incidents: entry number",
            "What happened?",
            "When?",
        ),
        ("uuid:s1", 1, 1, "Theft", "2024-04-02"),
        ("uuid:s1", 1, 2, "Fraud", None),
        ("uuid:s2", 1, 1, "Fraud", None),
        ("uuid:s2", 2, 1, "Theft", None),
        ("uuid:s2", 2, 2, "Theft", "2024-03-01"),
    ]
    assert found["witnesses"] == [
        (
            "instance id",
            "members: entry number",
            "incidents: entry number",
            "witnesses: entry number",
            "Witness's name",
            "Who is the witness?",
        ),
        ("uuid:s1", 1, 1, 1, "Aziz", "Neighbour, Police"),
        ("uuid:s1", 1, 1, 2, None, "Family"),
        ("uuid:s2", 1, 1, 1, "'=Malika", "Family"),
    ]


def test_labelled_csv_counts_each_repeats_entries(form: Form) -> None:
    plan, rows = plan_and_rows(form)
    text = text_of(lambda out: exporters.write_table_csv(out, plan, rows, "en"))
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0][-3:] == [
        "members: number of entries",
        "incidents: number of entries",
        "witnesses: number of entries",
    ]
    assert [row[-3:] for row in table[1:]] == [["2", "2", "2"], ["2", "3", "1"], ["0", "0", "0"]]


# ----------------------------------------------------------------------------------------
# Masking


def test_personal_answers_are_masked_at_every_depth(form: Form, tmp_path: Path) -> None:
    plan, rows = plan_and_rows(form, reveal=False)
    second = rows[1].answers
    # Each repetition keeps its place; which were answered is not told.
    assert second[WITNESS] == [[[MASK]], [[], []]]
    assert second[NAME] == [MASK, MASK]
    assert second[KIND] == [["fraud"], ["theft", "theft"]]  # internal: shown
    body = json.loads(text_of(lambda out: exporters.write_kobo_json(out, plan, rows)))
    witnesses = body["results"][0][MEMBERS][0][INCIDENTS][0][WITNESSES]
    assert witnesses == [
        {WITNESS: MASK, ROLES: "neighbour police"},
        {WITNESS: MASK, ROLES: "family"},
    ]
    exporters.write_kobo_xlsx(tmp_path / "kobo.xlsx", plan, rows, title="household")
    exporters.write_odk_zip(tmp_path / "odk.zip", plan, rows, form_id="household")
    exporters.write_table_xlsx(tmp_path / "table.xlsx", plan, rows, "en")
    written = json.dumps(body, ensure_ascii=False)
    written += text_of(lambda out: exporters.write_kobo_csv(out, plan, rows))
    for name in ("kobo.xlsx", "table.xlsx"):
        written += repr(sheets(tmp_path / name))
    with zipfile.ZipFile(tmp_path / "odk.zip") as archive:
        written += "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    for name in ("Dilnoza", "Aziz", "Rustam", "Malika"):
        assert name not in written


def test_a_protected_select_multiple_is_one_mask_wherever_it_is() -> None:
    schema = [
        {"name": "worries", "path": "worries", "type": "select_multiple", "choices": []},
        {
            "name": "roles",
            "path": "r/roles",
            "type": "select_multiple",
            "repeat": "r",
            "repeats": ["r"],
        },
        {
            "name": "odd",
            "path": "r/s/odd",
            "type": "text",
            "repeat": "r/s",
            "repeats": ["r", "r/s"],
        },
    ]
    plan = build_plan(schema, {"worries": "sensitive", "r/roles": "personal", "r/s/odd": "public"})
    masked = exporters.masked_answers(
        {
            "worries": ["theft", "police"],
            "r/roles": [["a", "b"], None],
            "r/s/odd": [["x"], []],
            "unknown": [["y", None]],
        },
        plan,
    )
    assert masked == {
        "worries": MASK,
        "r/roles": [MASK, MASK],
        "r/s/odd": [["x"], []],
        "unknown": [[MASK, MASK]],
    }


# ----------------------------------------------------------------------------------------
# The submissions page


def entries(node: Any) -> Any:
    """The entries (list items) of the repeat block ``node``."""
    return node.xpath("./ol/li")


def repeat_blocks(node: Any) -> dict[str, Any]:
    """The repeats directly inside ``node``, by name."""
    return {
        block.xpath("string(./p/strong)"): block for block in node.xpath("./div[@class='repeat']")
    }


def page(client: Client, form: Form) -> Any:
    response = client.get(f"/p/tj/forms/{form.pk}/submissions/")
    assert response.status_code == 200
    return html.fromstring(response.content.decode())


def test_the_page_shows_each_repetitions_repeats_inside_it(
    form: Form, programme: Programme
) -> None:
    client = Client()
    client.force_login(programme.memberships.get(role=Role.LEAD).user)
    tree = page(client, form)
    s1 = Submission.objects.get(instance_id="uuid:s1")
    link = tree.xpath(f"//td/a[@href='#repeats-{s1.pk}']")[0]
    assert link.text_content() == "members: 2"
    details = tree.get_element_by_id(f"repeats-{s1.pk}")
    assert details.tag == "details"
    members = repeat_blocks(details)
    assert list(members) == ["members"]
    dilnoza, aziz = entries(members["members"])
    assert dilnoza.xpath("string(./ul)") == "Name: DilnozaAge: 34"
    assert repeat_blocks(aziz) == {}  # no incidents
    incidents = repeat_blocks(dilnoza)
    assert list(incidents) == ["incidents"]
    theft, fraud = entries(incidents["incidents"])
    assert [li.text_content() for li in theft.xpath("./ul/li")] == [
        "What happened?: Theft",
        "When?: 2024-04-02",
    ]
    witnesses = repeat_blocks(theft)
    first, second = entries(witnesses["witnesses"])
    assert [li.text_content() for li in first.xpath("./ul/li")] == [
        "Witness's name: Aziz",
        "Who is the witness?: Neighbour, Police",
    ]
    assert [li.text_content() for li in second.xpath("./ul/li")] == ["Who is the witness?: Family"]
    assert repeat_blocks(fraud) == {}
    # The member without answers of their own still shows their incidents.
    s2 = Submission.objects.get(instance_id="uuid:s2")
    _rustam, unnamed = entries(repeat_blocks(tree.get_element_by_id(f"repeats-{s2.pk}"))["members"])
    assert unnamed.xpath("./ul") == []
    assert len(entries(repeat_blocks(unnamed)["incidents"])) == 2
    # A household without members has no block.
    s3 = Submission.objects.get(instance_id="uuid:s3")
    assert not tree.xpath(f"//*[@id='repeats-{s3.pk}']")


def test_the_page_masks_and_escapes_nested_answers(
    form: Form, programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    vakhsh = shipped_place("TJ-KT-VAK")
    for rule in ("facilitator_area", "facilitator_place_ids"):
        monkeypatch.setattr(policies, rule, lambda membership: {vakhsh.pk})
    version = form.current_version()
    assert version is not None
    store(
        version,
        "uuid:s4",
        {
            "village": "Vakhsh",
            MEMBERS: [
                {
                    AGE: 50,
                    INCIDENTS: [
                        {KIND: "theft", WITNESSES: [{WITNESS: "<script>alert(1)</script>"}]}
                    ],
                }
            ],
        },
        day=4,
    )
    Submission.objects.update(place=vakhsh)
    client = Client()
    client.force_login(programme.memberships.get(role=Role.LEAD).user)
    content = client.get(f"/p/tj/forms/{form.pk}/submissions/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)" not in content
    client.force_login(member_of(programme, Role.FACILITATOR))
    tree = page(client, form)
    s1 = Submission.objects.get(instance_id="uuid:s1")
    dilnoza, _aziz = entries(repeat_blocks(tree.get_element_by_id(f"repeats-{s1.pk}"))["members"])
    assert dilnoza.xpath("string(./ul)") == f"Name: {MASK}Age: 34"
    witness = entries(repeat_blocks(entries(repeat_blocks(dilnoza)["incidents"])[0])["witnesses"])
    assert [w.xpath("string(./ul/li[1])") for w in witness] == [
        f"Witness's name: {MASK}",
        f"Witness's name: {MASK}",
    ]
    text = tree.text_content()
    for name in ("Dilnoza", "Aziz", "Rustam", "Malika", "alert(1)"):
        assert name not in text
