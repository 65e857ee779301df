"""Repeats inside repeats, at any depth: the stored shape (a list per level), its view as one
object per repetition, and the importer's Polars path agreeing with that reference on any
household the strategies can draw."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amniyat.fieldwork.imports.schema import (
    build_plan,
    canonical_answers,
    columnar_answers,
    nested_answers,
)
from tests.fieldwork.imports.test_importers import answers, read_all


def _field(path: str, kind: str, repeats: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "type": kind,
        "label": {},
        "repeat": repeats[-1] if repeats else None,
        "repeats": repeats,
        **extra,
    }


def _choices(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "label": {}} for name in names]


MEMBERS = ["members"]
INCIDENTS = ["members", "members/incidents"]
WITNESSES = [*INCIDENTS, "members/incidents/witnesses"]
STOPS = ["visits", "visits/stops"]
# Household → members → incidents → witnesses, and a repeat (``visits``) that holds only a
# repeat: only the schema's ``repeats`` says that ``visits/stops`` sits inside it.
SCHEMA = [
    _field("village", "text", []),
    _field("members/name", "text", MEMBERS),
    _field("members/age", "integer", MEMBERS),
    _field("members/incidents/kind", "select_one", INCIDENTS, choices=_choices("theft", "fraud")),
    _field(
        "members/incidents/reported",
        "select_multiple",
        INCIDENTS,
        choices=_choices("police", "elders"),
    ),
    _field("members/incidents/witnesses/who", "text", WITNESSES),
    _field("visits/stops/where", "text", STOPS),
]
PLAN = build_plan(SCHEMA, {field["path"]: "public" for field in SCHEMA})


def test_the_plan_knows_which_repeat_holds_which() -> None:
    assert PLAN.parent_repeat == {
        "members": None,
        "members/incidents": "members",
        "members/incidents/witnesses": "members/incidents",
        "visits": None,
        "visits/stops": "visits",
    }
    assert PLAN.depth("members/incidents/witnesses") == 3
    assert PLAN.child_repeats(None) == ["members", "visits"]
    assert PLAN.repeat_chain("members/incidents/witnesses") == WITNESSES
    # A version saved before schemas listed the chain: the paths say the same.
    old = build_plan([{k: v for k, v in f.items() if k != "repeats"} for f in SCHEMA], {})
    assert old.parent_repeat["members/incidents/witnesses"] == "members/incidents"


STORED = {
    "village": "Vakhsh",
    "members/name": ["Dilnoza", None, "Aziz"],
    "members/age": [34, None, 12],
    "members/incidents/kind": [["theft", "fraud"], [], [None]],
    "members/incidents/reported": [[["police", "elders"], None], [], [["police"]]],
    "members/incidents/witnesses/who": [[["Rustam"], []], [], [[]]],
}
NESTED = {
    "village": "Vakhsh",
    "members": [
        {
            "members/name": "Dilnoza",
            "members/age": 34,
            "members/incidents": [
                {
                    "members/incidents/kind": "theft",
                    "members/incidents/reported": ["police", "elders"],
                    "members/incidents/witnesses": [{"members/incidents/witnesses/who": "Rustam"}],
                },
                {"members/incidents/kind": "fraud"},
            ],
        },
        {},
        {
            "members/name": "Aziz",
            "members/age": 12,
            "members/incidents": [{"members/incidents/reported": ["police"]}],
        },
    ],
}


def test_stored_answers_read_as_one_object_per_repetition_and_back() -> None:
    assert nested_answers(STORED, PLAN) == NESTED
    assert columnar_answers(NESTED, PLAN) == STORED
    assert canonical_answers(STORED, PLAN) == STORED


def test_a_field_no_repetition_answered_is_unanswered() -> None:
    assert canonical_answers(
        {
            "members/name": ["A", None],
            "members/age": [None, None],
            "members/incidents/kind": [[None], []],
        },
        PLAN,
    ) == {"members/name": ["A", None]}


# ----------------------------------------------------------------------------------------
# The importer against the reference, on households the strategies draw.

text = st.sampled_from(["Dilnoza", "Aziz", "O‘g‘il", 'say "no"', "=1+1", "  "])
maybe = st.none() | text
witness = st.fixed_dictionaries({}, optional={"members/incidents/witnesses/who": maybe})
incident = st.fixed_dictionaries(
    {},
    optional={
        "members/incidents/kind": st.none() | st.sampled_from(["theft", "fraud"]),
        "members/incidents/reported": st.lists(
            st.sampled_from(["police", "elders"]), min_size=1, max_size=2, unique=True
        ),
        "members/incidents/witnesses": st.lists(witness, max_size=2),
    },
)
member = st.fixed_dictionaries(
    {},
    optional={
        "members/name": maybe,
        "members/age": st.none() | st.integers(0, 99),
        "members/incidents": st.lists(incident, max_size=3),
    },
)
stop = st.fixed_dictionaries({}, optional={"visits/stops/where": maybe})
household = st.fixed_dictionaries(
    {"village": text},
    optional={
        "members": st.lists(member, max_size=3),
        "visits": st.lists(st.fixed_dictionaries({"visits/stops": st.lists(stop, max_size=2)})),
    },
)


def _as_kobo_api(record: Any) -> Any:
    """A household as KoboToolbox's API writes it: every answer as text (choices joined by
    spaces), no empty answer."""
    if isinstance(record, dict):
        return {
            key: _as_kobo_api(value)
            for key, value in record.items()
            if value is not None and value != []
        }
    if isinstance(record, list) and record and all(isinstance(v, str) for v in record):
        return " ".join(record)
    if isinstance(record, list):
        return [_as_kobo_api(item) for item in record]
    return str(record) if isinstance(record, int) else record


def _stripped(record: Any) -> Any:
    """What the importer keeps of a text: no surrounding spaces, empty is unanswered."""
    if isinstance(record, dict):
        kept = {key: _stripped(value) for key, value in record.items()}
        return {key: value for key, value in kept.items() if value is not None}
    if isinstance(record, list):
        return [_stripped(item) for item in record]
    if isinstance(record, str):
        return record.strip() or None
    return record


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(households=st.lists(household, min_size=1, max_size=4))
def test_any_kobo_json_of_nested_repeats_is_stored_as_the_reference_says(
    tmp_path: Path, households: list[dict[str, Any]]
) -> None:
    records = [
        {"meta/instanceID": f"uuid:{index}", **_as_kobo_api(record)}
        for index, record in enumerate(households)
    ]
    content = json.dumps({"count": len(records), "results": records}, ensure_ascii=False)
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example

    file_format, rows, problems = read_all(tmp_path, content, name="data.json", plan=PLAN)

    assert (file_format, problems) == ("kobo-json", [])
    stored = {row["instance_id"]: answers(row) for row in rows}
    assert stored == {
        f"uuid:{index}": columnar_answers(_stripped(record), PLAN)
        for index, record in enumerate(households)
    }


@pytest.mark.parametrize(
    ("header", "cells", "expected"),
    [
        (
            # KoboCAT's legacy CSV: the numbers of every repeat holding a column.
            [
                "village",
                "members[1]/name",
                "members[1]/incidents[1]/kind",
                "members[1]/incidents[2]/kind",
                "members[2]/incidents[1]/witnesses[2]/who",
                "visits[1]/stops[2]/where",
                "_uuid",
            ],
            ["Vakhsh", "Dilnoza", "theft", "fraud", "Rustam", "bazaar", "1"],
            {
                "village": "Vakhsh",
                "members/name": ["Dilnoza", None],
                "members/incidents/kind": [["theft", "fraud"], [None]],
                "members/incidents/witnesses/who": [[[], []], [[None, "Rustam"]]],
                "visits/stops/where": [[None, "bazaar"]],
            },
        ),
    ],
)
def test_numbered_columns_of_repeats_inside_repeats(
    tmp_path: Path, header: list[str], cells: list[str], expected: dict[str, Any]
) -> None:
    content = ",".join(header) + "\n" + ",".join(cells) + "\n"

    _format, rows, problems = read_all(tmp_path, content, plan=PLAN)

    assert problems == []
    assert [answers(row) for row in rows] == [expected]


# ----------------------------------------------------------------------------------------
# Files whose links between repeats are broken in any way: read, or reported, never an error.

cell = st.sampled_from(
    ["", "1", "2", "a/members[1]", "a", "b", "x]", "theft", "=1", " "]
) | st.text(max_size=6)


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join('"' + c.replace('"', '""') + '"' for c in row) + "\n" for row in rows)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mains=st.lists(st.tuples(cell, cell), max_size=3),
    members=st.lists(st.tuples(cell, cell, cell, cell), max_size=4),
    incidents=st.lists(st.tuples(cell, cell, cell), max_size=4),
)
def test_any_zip_of_repeats_inside_repeats_is_read_or_reported(
    tmp_path: Path,
    mains: list[tuple[str, str]],
    members: list[tuple[str, str, str, str]],
    incidents: list[tuple[str, str, str]],
) -> None:
    """An ODK Central zip whose ``KEY`` and ``PARENT_KEY`` cells hold anything: each stored
    submission holds only answers whose chain of keys leads to it, every other row is a
    problem named by its file, and nothing ends in an error."""
    import zipfile

    from amniyat.fieldwork.imports.errors import FileRejected

    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    archive = tmp_path / "households.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("households.csv", _csv([["village", "KEY"], *map(list, mains)]))
        out.writestr(
            "households-members.csv",
            _csv([["name", "age", "PARENT_KEY", "KEY"], *map(list, members)]),
        )
        out.writestr(
            "households-incidents.csv",
            _csv([["kind", "PARENT_KEY", "KEY"], *map(list, incidents)]),
        )
    try:
        _format, rows, problems = read_all(
            tmp_path, archive.read_bytes(), name="households.zip", plan=PLAN
        )
    except FileRejected:
        return  # refused whole, with its reason
    for problem in problems:
        assert problem.file.startswith("households.zip")
    for row in rows:
        stored = answers(row)
        # Whatever was stored is in the shape of the plan: one list per level.
        assert canonical_answers(stored, PLAN) == stored
