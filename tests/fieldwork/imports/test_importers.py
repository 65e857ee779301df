"""The importers: every format read, every answer checked, every bad file refused with a
clear message, and the stored JSON byte for byte what ``Submission.hash_content`` hashes."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from amniyat.accounts.models import Programme
from amniyat.fieldwork.imports.convert import SubmissionReader
from amniyat.fieldwork.imports.errors import FileRejected, Problem
from amniyat.fieldwork.imports.schema import FormPlan, build_plan
from amniyat.fieldwork.imports.sources import ROW
from amniyat.fieldwork.models import Assessment, Form, FormVersion, Submission

SCHEMA: list[dict[str, Any]] = [
    {
        "name": "name",
        "path": "respondent/name",
        "type": "text",
        "label": {"en": "Name", "ru": "Имя"},
        "required": True,
        "repeat": None,
    },
    {
        "name": "age",
        "path": "respondent/age",
        "type": "integer",
        "label": {"en": "Age", "ru": "Возраст"},
        "required": False,
        "repeat": None,
    },
    {"name": "income", "path": "income", "type": "decimal", "label": {"en": "Income"}},
    {"name": "visit", "path": "visit", "type": "date", "label": {"en": "Visit"}},
    {"name": "end", "path": "end", "type": "end", "label": {}},
    {
        "name": "district",
        "path": "district",
        "type": "select_one",
        "label": {"en": "District", "ru": "Район"},
        "choices": [
            {"name": "vakhsh", "label": {"en": "Vakhsh", "ru": "Вахш"}},
            {"name": "bokhtar", "label": {"en": "Bokhtar", "ru": "Бохтар"}},
        ],
    },
    {
        "name": "worries",
        "path": "safety/worries",
        "type": "select_multiple",
        "label": {"en": "Worries", "ru": "Тревоги"},
        "choices": [
            {"name": "theft", "label": {"en": "Theft", "ru": "Кража"}},
            {"name": "violence", "label": {"en": "Violence", "ru": "Насилие"}},
            {"name": "police", "label": {"en": "Police", "ru": "Полиция"}},
        ],
    },
    {"name": "comment", "path": "safety/comment", "type": "text", "label": {"en": "Comment"}},
]
REPEAT_FIELDS: list[dict[str, Any]] = [
    {
        "name": "member_name",
        "path": "household/member/member_name",
        "type": "text",
        "label": {"en": "Member's name"},
        "repeat": "household/member",
    },
    {
        "name": "member_age",
        "path": "household/member/member_age",
        "type": "integer",
        "label": {"en": "Member's age"},
        "repeat": "household/member",
    },
]
SENSITIVITY = {
    "respondent/name": "personal",
    "respondent/age": "internal",
    "income": "sensitive",
    "visit": "public",
    "end": "internal",
    "district": "public",
    "safety/worries": "public",
    "safety/comment": "internal",
    "household/member/member_name": "personal",
    "household/member/member_age": "public",
}
PLAN = build_plan(SCHEMA, SENSITIVITY)
REPEAT_PLAN = build_plan(SCHEMA + REPEAT_FIELDS, SENSITIVITY)

KOBO_HEADER = (
    "respondent/name;respondent/age;income;visit;end;district;safety/worries;"
    "safety/worries/theft;safety/worries/violence;safety/worries/police;safety/comment;"
    "meta/instanceID;_id;_uuid;_submission_time;_validation_status;_index"
)
KOBO_ROWS = [
    "Dilnoza;34;1500.5;2021-09-01;2021-09-01T10:15:30.000+05:00;vakhsh;theft police;1;0;1;"
    '"Says: ""fine""; thanks";uuid:a1;11;a1;2021-09-01T05:20:00;;1',
    "Rustam;;;2021-09-02;;bokhtar;;;;;;uuid:a2;12;a2;2021-09-02T06:00:00;;2",
]


def kobo_csv(delimiter: str = ";", separator: str = "/") -> str:
    lines = [KOBO_HEADER, *KOBO_ROWS]
    text = "\n".join(lines) + "\n"
    if separator != "/":
        header, rest = text.split("\n", 1)
        header = header.replace("/", separator).replace(
            f"meta{separator}instanceID", "meta/instanceID"
        )
        text = header + "\n" + rest
    if delimiter != ";":
        rows = []
        for line in text.splitlines():
            cells = next(iter(__import__("csv").reader([line], delimiter=";")))
            buffer = io.StringIO()
            __import__("csv").writer(buffer, delimiter=delimiter).writerow(cells)
            rows.append(buffer.getvalue().rstrip("\r\n"))
        text = "\n".join(rows) + "\n"
    return text


def read_all(
    tmp_path: Path,
    content: bytes | str,
    *,
    name: str = "data.csv",
    file_format: str = "auto",
    plan: FormPlan = PLAN,
    places: dict[str, int] | None = None,
) -> tuple[str, list[dict[str, Any]], list[Problem]]:
    """(format found, good rows as dicts, problems) of reading ``content``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    reader = SubmissionReader(
        path,
        work,
        plan=plan,
        file_format=file_format,
        name=name,
        places=places,
    )
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for batch in reader.batches(1000):
        problems += batch.problems
        if batch.rows:
            rows += batch.frame.to_dicts()
    return reader.file_format, rows, problems


def answers(row: dict[str, Any]) -> dict[str, Any]:
    combined: dict[str, Any] = json.loads(row["combined"])
    return combined


def canonical(answers: dict[str, Any]) -> str:
    return json.dumps(answers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def rejected(tmp_path: Path, content: bytes | str, **kwargs: Any) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        _found, _rows, problems = read_all(tmp_path, content, **kwargs)
        if problems:
            raise FileRejected("; ".join(p.message for p in problems), problems)
    return caught.value


EXPECTED_FIRST = {
    "respondent/name": "Dilnoza",
    "respondent/age": 34,
    "income": 1500.5,
    "visit": "2021-09-01",
    "end": "2021-09-01T10:15:30.000+05:00",
    "district": "vakhsh",
    "safety/worries": ["theft", "police"],
    "safety/comment": 'Says: "fine"; thanks',
}


# ----------------------------------------------------------------------------------------
# Formats


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("separator", ["/", "."])
def test_kobo_csv_with_either_delimiter_and_group_separator(
    tmp_path: Path, delimiter: str, separator: str
) -> None:
    found, rows, problems = read_all(tmp_path, kobo_csv(delimiter, separator))
    assert found == "kobo-csv"
    assert problems == []
    assert [r["instance_id"] for r in rows] == ["uuid:a1", "uuid:a2"]
    assert answers(rows[0]) == EXPECTED_FIRST
    assert answers(rows[1]) == {
        "respondent/name": "Rustam",
        "visit": "2021-09-02",
        "district": "bokhtar",
    }
    assert str(rows[0]["submitted_at"]) == "2021-09-01 05:20:00+00:00"


def test_stored_json_is_what_hash_content_hashes_and_split_by_sensitivity(tmp_path: Path) -> None:
    _found, rows, _problems = read_all(tmp_path, kobo_csv())
    first = rows[0]
    assert first["combined"] == canonical(EXPECTED_FIRST)
    assert json.loads(first["protected"]) == {"respondent/name": "Dilnoza", "income": 1500.5}
    assert "Dilnoza" not in first["data"]
    assert {**json.loads(first["data"]), **json.loads(first["protected"])} == EXPECTED_FIRST
    assert Submission.hash_content(EXPECTED_FIRST) == Submission.hash_content(answers(first))


def test_select_multiple_from_choice_columns_alone(tmp_path: Path) -> None:
    content = (
        "name,safety.worries.theft,safety.worries.violence,safety.worries.police,_uuid\n"
        "Ali,0,1,1,u1\nVali,0,0,0,u2\n"
    )
    _found, rows, problems = read_all(tmp_path, content)
    assert problems == []
    assert answers(rows[0])["safety/worries"] == ["violence", "police"]
    assert "safety/worries" not in answers(rows[1])


def test_kobo_xlsx_with_a_sheet_per_repeat(tmp_path: Path) -> None:
    book = Workbook()
    main = book.active
    assert main is not None
    main.title = "household_survey"
    main.append(
        ["respondent/name", "respondent/age", "visit", "_uuid", "_index", "_submission_time"]
    )
    main.append(["Dilnoza", 34, "2021-09-01", "a1", 1, "2021-09-01T05:20:00"])
    main.append(["Rustam", 40, "2021-09-02", "a2", 2, "2021-09-02T05:20:00"])
    repeat = book.create_sheet("member")
    repeat.append(
        [
            "household/member/member_name",
            "household/member/member_age",
            "_index",
            "_parent_index",
            "_parent_table_name",
        ]
    )
    repeat.append(["Aziz", 12, 1, 1, "household_survey"])
    repeat.append(["Zarina", None, 2, 1, "household_survey"])
    repeat.append(["Bobur", 7, 3, 2, "household_survey"])
    buffer = io.BytesIO()
    book.save(buffer)
    found, rows, problems = read_all(
        tmp_path, buffer.getvalue(), name="export.xlsx", plan=REPEAT_PLAN
    )
    assert found == "kobo-xlsx"
    assert problems == []
    assert answers(rows[0]) == {
        "respondent/name": "Dilnoza",
        "respondent/age": 34,
        "visit": "2021-09-01",
        "household/member/member_name": ["Aziz", "Zarina"],
        "household/member/member_age": [12, None],
    }
    assert answers(rows[1])["household/member/member_name"] == ["Bobur"]
    # The repeat's public answers are in data, its names protected.
    assert json.loads(rows[0]["data"])["household/member/member_age"] == [12, None]
    assert json.loads(rows[0]["protected"])["household/member/member_name"] == ["Aziz", "Zarina"]


def test_kobo_api_json_with_nested_repeats(tmp_path: Path) -> None:
    content = json.dumps(
        {
            "count": 2,
            "next": None,
            "previous": None,
            "results": [
                {
                    "_id": 11,
                    "respondent/name": "Dilnoza",
                    "respondent/age": "34",
                    "safety/worries": "theft violence",
                    "household/member": [
                        {
                            "household/member/member_name": "Aziz",
                            "household/member/member_age": "12",
                        }
                    ],
                    "meta/instanceID": "uuid:a1",
                    "_uuid": "a1",
                    "_submission_time": "2021-09-01T05:20:00",
                    "_attachments": [],
                    "_tags": [],
                    "_geolocation": [None, None],
                },
                {"respondent/name": "Rustam", "_uuid": "a2"},
            ],
        }
    )
    found, rows, problems = read_all(tmp_path, content, name="data.json", plan=REPEAT_PLAN)
    assert found == "kobo-json"
    assert problems == []
    assert [r["instance_id"] for r in rows] == ["uuid:a1", "uuid:a2"]
    assert answers(rows[0]) == {
        "respondent/name": "Dilnoza",
        "respondent/age": 34,
        "safety/worries": ["theft", "violence"],
        "household/member/member_name": ["Aziz"],
        "household/member/member_age": [12],
    }


def test_odk_central_csv(tmp_path: Path) -> None:
    content = (
        "SubmissionDate,respondent-name,respondent-age,district,safety-worries,meta-instanceID,"
        "KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,"
        "ReviewState,DeviceID,Edits,FormVersion\n"
        "2021-09-01T05:20:00.123Z,Dilnoza,34,vakhsh,theft,uuid:a1,uuid:a1,5,collector1,0,0,,,,0,1\n"
    )
    found, rows, problems = read_all(tmp_path, content)
    assert found == "odk-csv"
    assert problems == []
    assert rows[0]["instance_id"] == "uuid:a1"
    assert rows[0]["enumerator"] == "collector1"
    assert answers(rows[0]) == {
        "respondent/name": "Dilnoza",
        "respondent/age": 34,
        "district": "vakhsh",
        "safety/worries": ["theft"],
    }


def test_odk_central_zip_with_repeat_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "household.csv",
            "SubmissionDate,respondent-name,meta-instanceID,KEY\n"
            "2021-09-01T05:20:00.000Z,Dilnoza,uuid:a1,uuid:a1\n"
            "2021-09-01T06:20:00.000Z,Rustam,uuid:a2,uuid:a2\n",
        )
        archive.writestr(
            "household-member.csv",
            "household-member-member_name,household-member-member_age,PARENT_KEY,KEY\n"
            "Aziz,12,uuid:a1,uuid:a1/member[1]\nZarina,9,uuid:a1,uuid:a1/member[2]\n",
        )
    found, rows, problems = read_all(
        tmp_path, buffer.getvalue(), name="export.zip", plan=REPEAT_PLAN
    )
    assert found == "odk-zip"
    assert problems == []
    assert answers(rows[0])["household/member/member_age"] == [12, 9]
    assert "household/member/member_age" not in answers(rows[1])


def test_plain_csv_and_xlsx_with_field_names(tmp_path: Path) -> None:
    found, rows, problems = read_all(tmp_path, "name,age,district\nAli,30,vakhsh\n")
    assert (found, problems) == ("csv", [])
    assert answers(rows[0]) == {
        "respondent/name": "Ali",
        "respondent/age": 30,
        "district": "vakhsh",
    }
    assert rows[0]["instance_id"] is None  # the service makes one from the answers
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "age", "visit"])
    sheet.append(["Ali", 30, "2021-09-01"])
    buffer = io.BytesIO()
    book.save(buffer)
    found, rows, problems = read_all(tmp_path, buffer.getvalue(), name="plain.xlsx")
    assert (found, problems) == ("xlsx", [])
    assert answers(rows[0]) == {
        "respondent/name": "Ali",
        "respondent/age": 30,
        "visit": "2021-09-01",
    }


def test_place_matched_by_code_or_any_language_name(tmp_path: Path) -> None:
    schema = [*SCHEMA, {"name": "settlement", "path": "settlement", "type": "text"}]
    plan = build_plan(schema, {**SENSITIVITY, "settlement": "public"})
    content = "name,settlement\nA,Vakhsh\nB,tj-kt-vak\nC,Вахш\nD,Atlantis\n"
    places = {"vakhsh": 7, "tj-kt-vak": 7, "вахш": 7}
    _found, rows, problems = read_all(tmp_path, content, plan=plan, places=places)
    assert problems == []
    assert [r["place_id"] for r in rows] == [7, 7, 7, None]


# ----------------------------------------------------------------------------------------
# Text encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1251"])
def test_text_encodings_are_recognised(tmp_path: Path, encoding: str) -> None:
    content = "name,comment,_uuid\nДилноза,Всё спокойно в махалле,a1\nРустам,Нет жалоб,a2\n"
    _found, rows, problems = read_all(tmp_path, content.encode(encoding))
    assert problems == []
    assert answers(rows[0]) == {
        "respondent/name": "Дилноза",
        "safety/comment": "Всё спокойно в махалле",
    }


def test_a_file_mixing_encodings_is_refused(tmp_path: Path) -> None:
    content = (
        b"name,comment,_uuid\n"
        + "Дилноза,Всё спокойно,a1\n".encode()
        + "Рустам,Нет жалоб,a2\n".encode("cp1251")
    )
    error = rejected(tmp_path, content)
    assert "mixes text encodings" in error.message
    assert "line 2 is UTF-8 but line 3 is not" in error.message


# ----------------------------------------------------------------------------------------
# Bad input


def test_unknown_and_missing_required_columns_are_named(tmp_path: Path) -> None:
    error = rejected(tmp_path, "age,favourite_colour,_uuid\n3,blue,a\n")
    messages = [p.message for p in error.problems]
    assert "Unknown column “favourite_colour”: the form has no such question." in messages
    assert "The column “respondent/name” is missing: the form requires an answer to it." in messages
    assert all(p.row == 1 for p in error.problems)


def test_every_bad_answer_is_reported_with_row_and_column(tmp_path: Path) -> None:
    content = (
        "name,age,income,visit,end,district,worries,_uuid\n"
        "Ali,x,1.5,2021-09-01,,vakhsh,theft,a1\n"
        ",30,abc,2021-02-30,yesterday,moscow,theft murder,a2\n"
    )
    _found, rows, problems = read_all(tmp_path, content)
    assert [r["bad"] for r in rows] == [True, True]
    found = {(p.row, p.column, p.message) for p in problems}
    assert found == {
        (2, "age", "“x” is not a whole number."),
        (3, "name", "This question requires an answer."),
        # Income is sensitive: its value is not repeated in the report.
        (3, "income", "“•••” is not a number."),
        (3, "visit", "“2021-02-30” is not a date (YYYY-MM-DD)."),
        (3, "end", "“yesterday” is not a date and time (YYYY-MM-DDTHH:MM:SS)."),
        (3, "district", "“moscow” is not one of the choices: vakhsh, bokhtar."),
        (
            3,
            "worries",
            "“theft murder” includes something that is not one of the choices: theft, "
            "violence, police.",
        ),
    }
    assert all(p.file == "data.csv" for p in problems)


def test_a_report_shows_the_answer_unless_the_question_is_protected(tmp_path: Path) -> None:
    """Public and internal answers are quoted, so that a person can fix them; personal and
    sensitive ones are not; one nobody classed yet counts as personal, and the report says why
    it is hidden and how to see such answers."""
    unclassed_age = {k: v for k, v in SENSITIVITY.items() if k != "respondent/age"}
    # Today's Kobo export (it has ``_index``), where "n/a" is what someone typed.
    content = "name,age,income,visit,district,_uuid,_index\nAli,n/a,lots,soon,vakhsh,a1,1\n"
    found = {}
    for label, sensitivity in (("classed", SENSITIVITY), ("unclassed", unclassed_age)):
        _found, _rows, problems = read_all(tmp_path, content, plan=build_plan(SCHEMA, sensitivity))
        found[label] = {p.column: p.message for p in problems}
    hidden = (
        "“•••” is not a whole number. The answer is hidden because the question has no "
        "sensitivity class yet; class it on the form's sensitivity page to see such answers "
        "here."
    )
    assert found == {
        "classed": {
            "age": "“n/a” is not a whole number.",  # internal
            "income": "“•••” is not a number.",  # sensitive
            "visit": "“soon” is not a date (YYYY-MM-DD).",  # public
        },
        "unclassed": {
            "age": hidden,
            "income": "“•••” is not a number.",
            "visit": "“soon” is not a date (YYYY-MM-DD).",
        },
    }


def test_n_a_is_unanswered_only_in_a_legacy_kobo_export(tmp_path: Path) -> None:
    """KoboCAT's legacy export (no ``_id`` nor ``_index``) writes "n/a" for every question
    not answered; today's exports write nothing, so there "n/a" is what someone typed."""
    legacy = "respondent/name,safety/comment,visit,meta/instanceID,_uuid,_submission_time\n"
    legacy += "Ali,n/a,n/a,uuid:a1,a1,2021-09-01T05:20:00\n"
    _format, rows, problems = read_all(tmp_path, legacy, name="legacy.csv")
    assert problems == []
    assert json.loads(rows[0]["combined"]) == {"respondent/name": "Ali"}

    today = KOBO_HEADER + "\n" + "Ali;;;;;;;;;;n/a;uuid:a1;11;a1;2021-09-01T05:20:00;;1\n"
    _format, rows, problems = read_all(tmp_path, today, name="today.csv")
    assert problems == []
    assert json.loads(rows[0]["combined"]) == {"respondent/name": "Ali", "safety/comment": "n/a"}


def test_empty_files_are_refused(tmp_path: Path) -> None:
    assert rejected(tmp_path, b"").message == "“data.csv” is empty."
    assert rejected(tmp_path, b"\n\n  \n").message == "“data.csv” is empty."


def test_files_over_the_size_limit_are_refused(tmp_path: Path, settings: Any) -> None:
    settings.AMNIYAT_MAX_IMPORT_BYTES = 100
    error = rejected(tmp_path, "name,_uuid\n" + "Ali,a\n" * 50)
    assert "is too large" in error.message


def test_renamed_files_are_recognised_by_their_content(tmp_path: Path) -> None:
    book = Workbook()
    buffer = io.BytesIO()
    book.save(buffer)
    error = rejected(tmp_path, buffer.getvalue(), name="data.csv", file_format="csv")
    assert error.message == "“data.csv” is not a CSV file: its content is Excel workbook."
    error = rejected(tmp_path, b"%PDF-1.4 ...", name="data.csv")
    assert "is a PDF document" in error.message
    error = rejected(tmp_path, b"\x00\x01\x02\x03binary" * 10, name="data.csv")
    assert "is not a text file" in error.message


def test_zip_bombs_are_refused(tmp_path: Path, settings: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("household.csv", "name,_uuid\n" + "x" * 20_000_000)
    error = rejected(tmp_path, buffer.getvalue(), name="export.zip")
    assert "looks like a zip bomb" in error.message
    settings.AMNIYAT_MAX_IMPORT_UNPACKED_BYTES = 1000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("household.csv", "name,_uuid\n" + "Ali,a\n" * 500)
    error = rejected(tmp_path, buffer.getvalue(), name="export.zip")
    assert "too large once unpacked" in error.message


def test_malformed_files_are_refused(tmp_path: Path) -> None:
    assert "twice" in rejected(tmp_path, "name,name\nA,B\n").message
    assert "not a well-formed CSV" in rejected(tmp_path, "name,_uuid\nA,b,c,d\n").message
    assert "not valid JSON" in rejected(tmp_path, '{"results": [{"name": ', name="d.json").message
    assert "no “results”" in rejected(tmp_path, '{"count": 0}', name="d.json").message


def test_formula_quotes_from_exports_are_taken_off(tmp_path: Path) -> None:
    content = "name,comment,_uuid\n'=HYPERLINK(1),'-minus,a1\n"
    _found, rows, problems = read_all(tmp_path, content)
    assert problems == []
    assert answers(rows[0]) == {"respondent/name": "=HYPERLINK(1)", "safety/comment": "-minus"}


# ----------------------------------------------------------------------------------------
# Properties


# Polars and Python agree on what white space is, but for the four ASCII separators.
TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\x00\x1c\x1d\x1e\x1f"
    ),
    max_size=12,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=TEXT.filter(lambda s: s.strip() != ""),
    comment=TEXT,
    age=st.one_of(st.none(), st.integers(min_value=-(2**62), max_value=2**62)),
    income=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
    worries=st.lists(st.sampled_from(["theft", "violence", "police"]), max_size=3),
)
def test_stored_json_is_canonical_for_any_answers(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    comment: str,
    age: int | None,
    income: float | None,
    worries: list[str],
) -> None:
    import csv

    tmp_path = tmp_path_factory.mktemp("prop")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "comment", "age", "income", "worries", "_uuid"])
    writer.writerow(
        [
            name,
            comment,
            "" if age is None else age,
            "" if income is None else repr(income),
            " ".join(worries),
            "x",
        ]
    )
    _found, rows, problems = read_all(tmp_path, buffer.getvalue())
    assert problems == []
    stored = answers(rows[0])
    assert rows[0]["combined"] == canonical(stored)
    expected: dict[str, Any] = {"respondent/name": unquoted(name.strip())}
    if comment.strip():
        expected["safety/comment"] = unquoted(comment.strip())
    if age is not None:
        expected["respondent/age"] = age
    if income is not None:
        expected["income"] = income
    if worries:
        expected["safety/worries"] = worries
    assert stored == {k: v for k, v in expected.items() if v != ""}


def unquoted(text: str) -> str:
    # "'=…" is an export's quoted formula: read back without its quote.
    return text[1:] if re.match(r"^'+[=+\-@\t\r]", text) else text


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(max_size=600), name=st.sampled_from(["a.csv", "a.xlsx", "a.json", "a.zip"])
)
def test_random_bytes_never_escape_as_an_unhandled_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, name: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("bytes")
    try:
        read_all(tmp_path, content, name=name)
    except FileRejected as error:
        assert error.message


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(st.text(max_size=8), min_size=1, max_size=6), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_random_csv_never_escapes_as_an_unhandled_error(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], delimiter: str
) -> None:
    import csv

    tmp_path = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in [["name", "age", "district", "_uuid"], *rows]:
        writer.writerow(row)
    try:
        _found, good, _problems = read_all(tmp_path, buffer.getvalue())
    except FileRejected as error:
        assert error.message
        return
    for row in good:
        assert isinstance(json.loads(row["combined"]), dict)


def make_form(
    programme: Programme,
    *,
    schema: list[dict[str, Any]] | None = None,
    sensitivity: dict[str, str] | None = None,
    form_id: str = "household",
) -> Form:
    """A form with one version, its schema written by hand (not converted from an XLSForm)."""
    assessment, _created = Assessment.objects.get_or_create(
        programme=programme, title="Baseline", defaults={"kind": "baseline"}
    )
    form = Form.objects.create(assessment=assessment, form_id=form_id, title="Household survey")
    FormVersion.objects.create(
        form=form,
        version="1",
        xlsform=b"",
        xlsform_name="household.xlsx",
        xform="<h:html/>",
        schema=schema if schema is not None else SCHEMA + REPEAT_FIELDS,
        sensitivity=sensitivity if sensitivity is not None else SENSITIVITY,
        languages=["en", "ru"],
    )
    return form


@pytest.mark.parametrize("block", [3, 5, 7, 64, 4 * 2**20])
def test_a_csv_is_read_in_pieces_of_whole_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Cut into pieces of two records, a CSV with quoted line breaks, doubled quotes, CRLF
    endings and no final line break reads exactly as in one piece, row numbers included,
    however the file's blocks fall across records and quotes; no piece is left on disk."""
    from amniyat.fieldwork.imports import sources
    from amniyat.fieldwork.imports.sources import csv_sheet

    monkeypatch.setattr(sources, "READ_BYTES", block)

    text = (
        'name,note\r\n"Ali","line one\r\nline two"\r\nVali,"a ""quoted"" word"\r\n'
        'Sami,"three\nlines\nhere"\r\nNodir,plain\r\nLast,"no break at the end"'
    )
    source = tmp_path / "answers.csv"
    source.write_bytes(text.encode("utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    sheet = csv_sheet(source, work, "answers.csv")
    pieces = list(sheet.read(2))
    whole = list(sheet.read(1000))
    assert [piece.main.height for piece in pieces] == [2, 2, 1]
    assert len(whole) == 1
    joined = pl.concat([piece.main for piece in pieces])
    assert joined.equals(whole[0].main)
    assert joined.get_column(ROW).to_list() == [2, 3, 4, 5, 6]
    assert joined.get_column("note").to_list() == [
        "line one\r\nline two",
        'a "quoted" word',
        "three\nlines\nhere",
        "plain",
        "no break at the end",
    ]
    assert not list(work.glob("records-*.csv"))


@given(
    text=st.text(alphabet='ab,"\n', max_size=80),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=6),
)
def test_record_ends_are_found_however_the_blocks_fall(text: str, cuts: list[int]) -> None:
    """The line breaks that end records (those after an even number of quotes), found block
    by block, are those a byte-by-byte count finds in the whole text."""
    from amniyat.fieldwork.imports.sources import _record_ends

    data = text.encode()
    expected, quotes = [], 0
    for offset, byte in enumerate(data):
        quotes ^= byte == ord('"')
        if byte == ord("\n") and not quotes:
            expected.append(offset + 1)
    found, parity, start = [], 0, 0
    for end in [*sorted(c for c in cuts if c < len(data)), len(data)]:
        ends, parity = _record_ends(data[start:end], parity) if end > start else ([], parity)
        found.extend(int(e) + start for e in ends)
        start = max(start, end)
    assert found == expected and parity == quotes


def test_an_unclosed_quote_is_refused_in_pieces_too(tmp_path: Path) -> None:
    from amniyat.fieldwork.imports.sources import csv_sheet

    source = tmp_path / "answers.csv"
    source.write_text('name,note\nAli,ok\nVali,"never closed\nSami,ok\n', encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    sheet = csv_sheet(source, work, "answers.csv")
    with pytest.raises(FileRejected):
        list(sheet.read(1))


# Skip logic: a required question is required only where it was asked.

SKIP_SCHEMA: list[dict[str, Any]] = [
    {
        "name": "consent",
        "path": "consent",
        "type": "select_one",
        "required": True,
        "choices": [{"name": "yes"}, {"name": "no"}],
    },
    {
        "name": "aware",
        "path": "groups/aware",
        "type": "select_one",
        "required": True,
        "relevant": "${consent} = 'yes'",
        "choices": [{"name": "yes"}, {"name": "no"}],
    },
    {
        "name": "attended",
        "path": "groups/attended",
        "type": "integer",
        "required": True,
        "relevant": "${aware} = 'yes'",
    },
    {
        "name": "worries",
        "path": "worries",
        "type": "select_multiple",
        "relevant": "${consent} = 'yes'",
        "choices": [{"name": "theft"}, {"name": "police"}],
    },
    {
        "name": "police_detail",
        "path": "police/detail",
        "type": "text",
        "required": True,
        "relevant": "selected(${worries}, 'police')",
        "relevant_groups": ["${consent} = 'yes'"],
    },
    {
        "name": "odd",
        "path": "odd",
        "type": "text",
        "required": True,
        "relevant": "string-length(${consent}) > 10",
    },
]
SKIP_PLAN = build_plan(SKIP_SCHEMA, dict.fromkeys((f["path"] for f in SKIP_SCHEMA), "public"))


def test_required_questions_skipped_by_their_conditions_may_be_empty(tmp_path: Path) -> None:
    """As KoboToolbox exports a form with skip logic: no consent, nothing else answered;
    not aware of a group, no attendance; police details only when police was a worry (a
    group's condition and the question's own); a condition this importer cannot evaluate
    (string-length) leaves the question unenforced rather than refusing a correct file."""
    content = (
        "consent,groups/aware,groups/attended,worries,police/detail,odd\n"
        "no,,,,,\n"
        "yes,no,,theft,,\n"
        "yes,yes,3,theft police,Patrols at night,\n"
    )
    _, rows, problems = read_all(tmp_path, content, plan=SKIP_PLAN)
    assert problems == []
    assert len(rows) == 3


def test_required_questions_that_were_asked_must_be_answered(tmp_path: Path) -> None:
    content = (
        "consent,groups/aware,groups/attended,worries,police/detail,odd\n"
        "yes,,,,,\n"
        "yes,yes,,police,,\n"
        ",,,,,\n"
    )
    _, _, problems = read_all(tmp_path, content, plan=SKIP_PLAN)
    assert sorted((p.row, p.column) for p in problems) == [
        (2, "groups/aware"),
        (3, "groups/attended"),
        (3, "police/detail"),
        (4, "consent"),
    ]
    assert {p.message for p in problems} == {"This question requires an answer."}


def test_a_missing_column_of_a_question_asked_only_sometimes_is_not_refused(
    tmp_path: Path,
) -> None:
    content = "consent,groups/aware,worries\nno,,\nyes,no,theft\n"
    _, rows, problems = read_all(tmp_path, content, plan=SKIP_PLAN)
    assert problems == [] and len(rows) == 2
