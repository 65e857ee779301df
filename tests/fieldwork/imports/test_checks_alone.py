"""A submission from a phone is checked without a Polars query where its checks allow
(:meth:`CompiledChecks.problems_of`): these tests hold that reading to the Polars one, the
definition a file import uses, on every type of answer and on texts chosen to find where
Python and Polars read numbers, dates and white space differently."""

from __future__ import annotations

import random
from typing import Any

import pytest

from amniyat.fieldwork.imports import convert
from amniyat.fieldwork.imports.convert import CompiledChecks, _compiled_for, _frame, check_answers
from amniyat.fieldwork.imports.schema import FormPlan, build_plan


def _choices(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "label": {"en": name}} for name in names]


GROUP = "household/member"
SCHEMA: list[dict[str, Any]] = [
    {"name": "count", "path": "count", "type": "integer"},
    {"name": "income", "path": "income", "type": "decimal"},
    {"name": "visit", "path": "visit", "type": "date"},
    {"name": "met", "path": "met", "type": "dateTime"},
    {"name": "end", "path": "end", "type": "end"},
    {"name": "district", "path": "district", "type": "select_one", "choices": _choices("a", "b")},
    # A choice led by a formula sign, as exports quote it ('-99).
    {"name": "code", "path": "code", "type": "select_one", "choices": _choices("-99", "x")},
    {"name": "open", "path": "open", "type": "select_one"},  # no choice list
    {
        "name": "worries",
        "path": "worries",
        "type": "select_multiple",
        "choices": _choices("theft", "fire", "=sum"),
    },
    {"name": "name", "path": "name", "type": "text", "required": True},
    {"name": "age", "path": "age", "type": "integer", "required": "yes"},
    {"name": "member", "path": GROUP, "type": "begin_repeat"},
    {"name": "member_age", "path": f"{GROUP}/member_age", "type": "integer", "repeat": GROUP},
    {
        "name": "member_role",
        "path": f"{GROUP}/member_role",
        "type": "select_one",
        "repeat": GROUP,
        "choices": _choices("head", "child"),
        "required": True,
    },
]
# Some public (the answer is shown), some protected (hidden), one not classed at all.
SENSITIVITY = {
    "count": "public",
    "income": "sensitive",
    "visit": "public",
    "met": "internal",
    "end": "internal",
    "district": "public",
    "code": "public",
    "open": "public",
    "worries": "personal",
    "name": "personal",
    f"{GROUP}/member_age": "public",
    f"{GROUP}/member_role": "internal",
}

# Texts where a reading by hand is likely to go wrong.
TRICKY = [
    *["", " ", "\t", "\u3000", "\u200b", "\ufeff", "\x1c5", "5\x1f", " 5 ", "\xa05\u2003"],
    *["5", "+5", "-5", "-0", "007", "1_000", "1,000", "٣", "１２", "1e3", "1.0", "1.", "0x10"],
    *["9223372036854775807", "9223372036854775808", "-9223372036854775808"],
    *["-9223372036854775809", "+", "-", "--5", "+-5", "5-", "abc"],
    *["1.5", "1e5", ".5", "5.", "inf", "-inf", "Infinity", "NaN", "nan", "+1.5", "1E5", "1e"],
    *["e5", "1.5.5", "1e400", "-1e400", "1e-400", "1,5", "+.5", "-.5e-3", ".", "5d", "1e+5"],
    *["2021-09-01", "2021-9-1", "2021-09-1", "21-09-01", "1-1-1", "2021-13-01", "2021-02-30"],
    *["2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "0000-02-29", "-0004-02-29"],
    *["-0001-02-29", "+2021-09-01", "02021-09-01", "+02021-09-01", "+262143-01-01"],
    *["+262144-01-01", "+262142-12-31", "-262143-01-01", "-262144-12-31", "+0-01-01"],
    *[
        "+000000000000000000000000001-01-01",
        "-00-02-29",
        "-262143-12-31",
        "2021/09/01",
        "2021-09-001",
        "2021-009-01",
    ],
    *["99999-01-01", "2021-09-01x", "2021-0٩-01", "2021-00-10", "2021-01-00", "2021-12-31"],
    *["2021-09-01T10:15", "2021-09-01 10:15:30", "2021-09-01T10:15:30.123+05:00"],
    *["2021-09-01T10:15:30Z", "2021-09-01T10:15:30+0500", "2021-09-01T10:15:30+05"],
    *["2021-13-01T10:15", "2021-02-30T10:15", "2021-9-01T10:15", "2021-09-01T1:15"],
    *["２０２１-09-01T10:15", "2021-09-01T10:15:30.", "yesterday", "2021-09-01T10:15\n"],
    *["a", "b", "c", " a ", "A", "a b", "'-99", "-99", "'x", "''-99", "'=sum", "'", "x"],
    *["theft", "theft fire", "theft  fire", " theft ", "theft fire flood", "=sum", "'=sum"],
    *["theft\tfire", "'theft", "Dilnoza", "=1+1"],
]
ALPHABET = "0123456789+-.eE: TZ'a \t٣"


def _plan() -> FormPlan:
    return build_plan(SCHEMA, SENSITIVITY)


def _by_polars(plan: FormPlan, scope: str | None, rows: list[dict[str, str | None]]) -> list[Any]:
    paths = tuple(
        spec.path
        for spec in (plan.main_fields if scope is None else plan.repeats[scope])
        if any(isinstance(row.get(spec.path), str) for row in rows)
    )
    compiled = _compiled_for(plan, scope, paths)
    assert compiled.readable_alone
    return compiled.run(_frame(rows, paths), sheet="x").problems


def _texts() -> list[str]:
    rng = random.Random(19)  # the same texts every run
    made = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    return TRICKY + made


def test_every_answer_type_reads_alone_as_polars_reads_it() -> None:
    """Each text as the answer to each question, one submission at a time: the problems
    read without Polars are those Polars finds, word for word."""
    plan = _plan()
    fields = [spec.path for spec in plan.main_fields]
    for text in _texts():
        for path in fields:
            # The other required answers given, so that only this one is in question.
            row: dict[str, str | None] = {"name": "Dilnoza", "age": "34", path: text}
            assert _compiled_for(plan, None, tuple(p for p in fields if p in row)).checks
            alone = check_answers(row, plan, name="x")
            assert alone == _by_polars(plan, None, [row]), (path, text)


def test_many_answers_at_once_and_repetitions_read_alone_as_polars_reads_them() -> None:
    plan = _plan()
    fields = [spec.path for spec in plan.main_fields]
    rng = random.Random(6)
    texts = _texts()
    for _ in range(300):
        row = {path: rng.choice(texts) for path in fields if rng.random() < 0.7}
        assert check_answers(row, plan, name="x") == _by_polars(plan, None, [row]), row
        members = [
            {
                path: rng.choice([*texts[:60], "head", "child", None])
                for path in (f"{GROUP}/member_age", f"{GROUP}/member_role")
            }
            for _ in range(rng.randint(1, 4))
        ]
        answers = {
            f"{GROUP}/member_age": [m[f"{GROUP}/member_age"] for m in members],
            f"{GROUP}/member_role": [m[f"{GROUP}/member_role"] for m in members],
        }
        repeat_rows = [{k: v for k, v in m.items() if v is not None} for m in members]
        problems = check_answers({**row, **answers}, plan, name="x")
        expected = _by_polars(plan, None, [row]) + _by_polars(plan, GROUP, repeat_rows)
        assert problems == expected, (row, members)


def test_a_bad_answer_of_each_type_is_found_alone_with_its_message() -> None:
    plan = _plan()
    row = {
        "count": "3.5",
        "income": "lots",
        "visit": "2021-02-30",
        "met": "yesterday",
        "district": "c",
        "code": "'-98",
        "worries": "theft flood",
        "age": "",
    }
    messages = [f"{p.column}: {p.message}" for p in check_answers(row, plan, name="x")]
    assert messages[:3] == [
        "count: “3.5” is not a whole number.",
        "income: “•••” is not a number.",
        "visit: “2021-02-30” is not a date (YYYY-MM-DD).",
    ]
    assert "district: “c” is not one of the choices: a, b." in messages
    assert "code: “'-98” is not one of the choices: -99, x." in messages
    assert messages[-2:] == [
        "name: This question requires an answer.",
        "age: This question requires an answer.",
    ]
    assert messages == [f"{p.column}: {p.message}" for p in _by_polars(plan, None, [row])]


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        ({"constraint": ". > 0"}, {"count": "0"}),
        ({"required": True, "relevant": "${district} = 'a'"}, {}),
    ],
)
def test_constraints_and_skip_logic_are_left_to_polars(
    extra: dict[str, Any], count: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An XLSForm expression is evaluated by one compiler only, the one to Polars."""
    schema = [{**item, **extra} if item["name"] == "count" else item for item in SCHEMA]
    plan = build_plan(schema, SENSITIVITY)
    row = {**count, "district": "a", "name": "x", "age": "1"}
    assert not _compiled_for(plan, None, tuple(row)).readable_alone
    ran: list[bool] = []
    run = CompiledChecks.run

    def counted(self: CompiledChecks, *args: Any, **kwargs: Any) -> Any:
        ran.append(True)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(CompiledChecks, "run", counted)
    problems = check_answers(row, plan, name="x")
    assert ran
    assert [p.column for p in problems] == ["count"]


def test_checks_are_built_once_per_plan_and_answered_questions() -> None:
    plan = _plan()
    row = {"name": "x", "age": "1", "count": "2"}
    check_answers(row, plan, name="x")
    kept = dict(plan.compiled_checks)
    check_answers({**row, "count": "3"}, plan, name="x")
    assert plan.compiled_checks == kept  # the same checks, not built again
    check_answers({**row, "income": "1.5"}, plan, name="x")
    assert len(plan.compiled_checks) == len(kept) + 1


def test_the_checks_kept_per_plan_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "COMPILED_MAX", 3)
    plan = _plan()
    fields = [spec.path for spec in plan.main_fields]
    for path in fields:
        check_answers({"name": "x", "age": "1", path: "1"}, plan, name="x")
        assert len(plan.compiled_checks) <= 3
