"""Files that name questions and choices by their labels (KoboToolbox's default export): read
through the form's labels where exactly one reading exists, refused or reported where a label
cannot say which question or choice it means. The real exports are in
``test_real_exports.py``; these are the cases a real export rarely shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amniyat.fieldwork.imports.errors import FileRejected
from amniyat.fieldwork.imports.schema import build_plan
from tests.fieldwork.imports.test_importers import read_all


def _choice(name: str, en: str, ru: str) -> dict[str, Any]:
    return {"name": name, "label": {"English (en)": en, "Russian (ru)": ru}}


SCHEMA: list[dict[str, Any]] = [
    {
        "name": "worry",
        "path": "safety/worry",
        "type": "select_one",
        "label": {"English (en)": "Main worry", "Russian (ru)": "Главная тревога"},
        "choices": [
            _choice("theft", "Theft", "Кража"),
            _choice("police", "The police", "Милиция"),
        ],
    },
    {
        "name": "seen",
        "path": "safety/seen",
        "type": "select_multiple",
        "label": {"English (en)": "What have you seen?", "Russian (ru)": "Что вы видели?"},
        # "Street", "Fights" and "Street Fights": a cell "Street Fights" reads two ways.
        "choices": [
            _choice("street", "Street", "Улица"),
            _choice("fights", "Fights", "Драки"),
            _choice("street_fights", "Street Fights", "Уличные драки"),
            _choice("none", "Nothing", "Ничего"),
        ],
    },
    {
        "name": "age",
        "path": "age",
        "type": "integer",
        "label": {"English (en)": "Age", "Russian (ru)": "Возраст"},
    },
]
PUBLIC = {field["path"]: "public" for field in SCHEMA}
PLAN = build_plan(SCHEMA, PUBLIC)


def test_headers_and_answers_in_any_of_the_forms_languages(tmp_path: Path) -> None:
    content = (
        "_uuid,Главная тревога,Что вы видели?,Возраст\na1,Милиция,Улица Ничего,30\na2,Кража,,\n"
    )
    _format, rows, problems = read_all(tmp_path, content, plan=PLAN)
    assert problems == []
    assert [json.loads(row["data"]) for row in rows] == [
        {"safety/worry": "police", "safety/seen": ["street", "none"], "age": 30},
        {"safety/worry": "theft"},
    ]


def test_a_cell_of_labels_that_reads_two_ways_is_never_guessed(tmp_path: Path) -> None:
    """ "Street Fights" is one choice, or "Street" and "Fights": without the 0/1 columns the
    cell is reported as it stands; with them, they are read instead."""
    alone = "_uuid,Main worry,What have you seen?\na1,Theft,Street Fights\n"
    _format, _rows, problems = read_all(tmp_path, alone, plan=PLAN)
    assert [(p.column, p.message) for p in problems] == [
        (
            "What have you seen?",
            "“Street Fights” includes something that is not one of the choices: street, "
            "fights, street_fights, none.",
        )
    ]
    split = (
        "_uuid,Main worry,What have you seen?,What have you seen?/Street,"
        "What have you seen?/Fights,What have you seen?/Street Fights,What have you seen?/Nothing\n"
        "a1,Theft,Street Fights,0,0,1,0\n"
        "a2,Theft,Street Nothing,1,0,0,1\n"
    )
    _format, rows, problems = read_all(tmp_path, split, plan=PLAN)
    assert problems == []
    assert [json.loads(row["data"]) for row in rows] == [
        {"safety/worry": "theft", "safety/seen": ["street_fights"]},
        {"safety/worry": "theft", "safety/seen": ["street", "none"]},
    ]


def test_a_label_two_questions_share_refuses_the_file(tmp_path: Path) -> None:
    twice = [*SCHEMA, {**SCHEMA[2], "name": "age2", "path": "household/age"}]
    plan = build_plan(twice, {field["path"]: "public" for field in twice})
    with pytest.raises(FileRejected) as refused:
        read_all(tmp_path, "_uuid,Main worry,Age\na1,Theft,30\n", plan=plan)
    assert refused.value.message == (
        "“data.csv” names its columns by their labels, and the label “Age” belongs to several "
        "questions (age and household/age): export the file again with “XML values and headers”."
    )


def test_an_answer_that_is_no_choices_label_is_reported(tmp_path: Path) -> None:
    content = "_uuid,Main worry\na1,Robbery\n"
    _format, _rows, problems = read_all(tmp_path, content, plan=PLAN)
    assert [(p.column, p.message) for p in problems] == [
        ("Main worry", "“Robbery” is not one of the choices: theft, police.")
    ]


LABEL_WORDS = ["Street", "Fights", "Street Fights", "Nothing", "Theft", "The police", "x", ""]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(LABEL_WORDS),
            st.lists(st.sampled_from(LABEL_WORDS), max_size=4).map(" ".join),
            st.text(alphabet=' ,"\n/;#0123456789aZ', max_size=12),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_cells_of_labels_are_read_or_reported_never_guessed(
    tmp_path: Path, rows: list[tuple[str, str, str]]
) -> None:
    """Whatever the cells hold, each row is stored with real choice names, or reported."""
    lines = ["_uuid,Main worry,What have you seen?,Age"]
    for number, (worry, seen, age) in enumerate(rows):
        cells = [f"a{number}", worry, seen, age]
        lines.append(",".join('"' + cell.replace('"', '""') + '"' for cell in cells))
    content = "\n".join(lines) + "\n"
    try:
        _format, stored, problems = read_all(tmp_path, content, plan=PLAN)
    except FileRejected:
        return  # refused whole, with its reason
    reported = {p.row for p in problems}
    for row in stored:
        data = json.loads(row["data"])
        if row["\x00row"] in reported:
            continue
        assert data.get("safety/worry", "theft") in {"theft", "police"}
        assert set(data.get("safety/seen", [])) <= {"street", "fights", "street_fights", "none"}
