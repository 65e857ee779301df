"""The XLSForm-style expression language: parsing, XPath semantics, errors with positions."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from amniyat.analysis import ExpressionError, parse_expression

FRAME = pl.DataFrame(
    {
        "text": ["5.0", "abc", "", None, "7", " 8 "],
        "choices": ["gbv theft", "theft", "", None, "gbvx drugs", "gbv"],
        "count": [1, 2, None, 4, 5, 0],
        "decimal": [4.0, 2.5, None, float("nan"), 1.0, 0.0],
        "flag": [True, False, None, True, False, True],
        "sex": ["female", "male", "female", None, "male", "female"],
    },
    schema_overrides={"count": pl.Int64},
)


def condition(text: str, frame: pl.DataFrame = FRAME) -> list[Any]:
    expression = parse_expression(text)
    return frame.select(expression.condition(frame.schema).alias("x"))["x"].to_list()


def number(text: str, frame: pl.DataFrame = FRAME) -> list[Any]:
    expression = parse_expression(text)
    return frame.select(expression.number(frame.schema).alias("x"))["x"].to_list()


def scalar(text: str) -> Any:
    return number(text)[0] if len(number(text)) == 1 else number(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A text field compared with a number compares numerically, as XPath does.
        ("${text} >= 6", [False, False, False, False, True, True]),
        ("${text} > 5", [False, False, False, False, True, True]),
        ("${text} <= 5", [True, False, False, False, False, False]),
        ("${text} < 7", [True, False, False, False, False, False]),
        ("${text} = 5", [True, False, False, False, False, False]),
        # Not a number (or empty) against a number: false, != included.
        ("${text} != 5", [False, False, False, False, True, True]),
        # Text against text: string comparison; empty compares as ''.
        ("${text} = '5.0'", [True, False, False, False, False, False]),
        ("${text} = '5'", [False, False, False, False, False, False]),
        ("${text} = ''", [False, False, True, True, False, False]),
        ("${text} != ''", [True, True, False, False, True, True]),
        ("${sex} = 'female'", [True, False, True, False, False, True]),
        ("${sex} != 'female'", [False, True, False, True, True, False]),
        # Relational operators are always numeric: text that is not a number is false.
        ("${sex} < 'zzz'", [False] * 6),
        # Typed columns read as the form wrote them: integer 1 is '1', decimal 4.0 is '4'.
        ("${count} = '1'", [True, False, False, False, False, False]),
        ("${count} >= 4", [False, False, False, True, True, False]),
        ("${decimal} = '4'", [True, False, False, False, False, False]),
        ("${decimal} = '2.5'", [False, True, False, False, False, False]),
        ("${decimal} > 0", [True, True, False, False, True, False]),
        ("${flag} = 'true'", [True, False, False, True, False, True]),
        # and / or / not, with a field as a condition (true when answered).
        ("${sex} = 'female' and ${count} > 0", [True, False, False, False, False, False]),
        ("${sex} = 'male' or ${count} = 4", [False, True, False, True, True, False]),
        ("not(${sex} = 'male')", [True, False, True, True, False, True]),
        ("not(${text})", [False, False, True, True, False, False]),
        ("not(${count})", [False, False, True, False, False, True]),
        # selected(): whole choice names in a space-separated list.
        ("selected(${choices}, 'gbv')", [True, False, False, False, False, True]),
        ("selected(${choices}, 'theft')", [True, True, False, False, False, False]),
        ("selected(${choices}, 'drugs')", [False, False, False, False, True, False]),
        ("count-selected(${choices}) = 2", [True, False, False, False, True, False]),
        ("count-selected(${choices}) = 0", [False, False, True, True, False, False]),
        # Arithmetic on fields.
        ("${count} * 2 + 1 > 5", [False, False, False, True, True, False]),
        ("${count} mod 2 = 1", [True, False, False, False, True, False]),
        ("${count} div 2 = 2", [False, False, False, True, False, False]),
    ],
)
def test_conditions(text: str, expected: list[bool]) -> None:
    assert condition(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 - 1 - 1", 0.0),  # left-associative
        ("8 div 2 div 2", 2.0),
        ("7 div 2", 3.5),
        ("7 mod 3", 1.0),
        ("-7 mod 3", -1.0),  # XPath truncates
        ("7 mod -3", 1.0),
        ("7.5 mod 2", 1.5),
        ("- 2 * 3", -6.0),
        ("--2", 2.0),
        ("1 div 0", None),  # no number rather than infinity
        ("0 div 0", None),
        ("'abc' + 1", None),
        ("'' + 1", None),
        ("' 4 ' + 1", 5.0),
        ("1 < 2 < 3", 1.0),  # (1 < 2) < 3: true is 1
        ("1 = 1 and 2 = 3 or 1 = 1", 1.0),  # and binds tighter than or
        ("1 = 2 and (2 = 3 or 1 = 1)", 0.0),
        ("1 + 1 = 2", 1.0),  # arithmetic binds tighter than comparison
        ("3 > 2 = 1 > 0", 1.0),  # relational binds tighter than equality
        ("'5.0' >= 6", 0.0),
        ("'5.0' = 5", 1.0),
        ("'abc' != 5", 0.0),
    ],
)
def test_arithmetic_and_precedence(text: str, expected: float | None) -> None:
    assert scalar(text) == expected


def test_empty_and_null_are_both_empty() -> None:
    frame = pl.DataFrame({"answer": ["", None, "x"]})
    assert condition("${answer} = ''", frame) == [True, True, False]
    assert condition("${answer}", frame) == [False, False, True]
    assert number("${answer} + 1", frame) == [None, None, None]


def test_double_quotes_and_whitespace() -> None:
    assert condition(' ${sex}="female"  and\n${count}>0 ') == condition(
        "${sex} = 'female' and ${count} > 0"
    )


def test_fields_in_order() -> None:
    expression = parse_expression("${b} = 1 or selected(${a}, 'x') or ${b} = 2")
    assert expression.fields == ("b", "a")
    assert expression.field_columns() == {"b": 1, "a": 22}


def test_unknown_column_at_compile_time() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("${sex} = 'x' or ${sexx} = 'y'").condition(FRAME.schema)
    assert caught.value.column == 17
    assert "${sexx}" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("${a} = ", 7, "the expression ends too early (column 7); expected a value"),
        ("${a} == 1", 7, "expected a value"),
        ("1 2", 3, "expected an operator"),
        ("(${a} = 1", 10, "a parenthesis is opened but never closed (column 10)"),
        ("${a} = 1)", 9, "the parenthesis at column 9 closes nothing"),
        ("${a} = 'x", 8, "a quote at column 8 is never closed"),
        ("${a = 1", 1, "a field reference at column 1 is not closed"),
        ("${1a} = 1", 1, "${1a} is not a field reference (column 1)"),
        ("${a} = # 1", 8, "unexpected character '#' at column 8"),
        ("foo(${a})", 1, "unknown function foo() at column 1"),
        ("1 = 1 and ends-with(${a}, 'x')", 11, "unknown function ends-with() at column 11"),
        ("selected(${a})", 1, "selected() at column 1 takes 2 argument(s), not 1"),
        ("not(${a}, ${b})", 1, "not() at column 1 takes 1 argument(s), not 2"),
        ("selected(${a}, ${b})", 1, "takes a choice name in quotes"),
        ("", 1, "the expression is empty"),
        ("   ", 1, "the expression is empty"),
    ],
)
def test_malformed_input_reports_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert caught.value.column == column
    assert message in str(caught.value)
    assert caught.value.pointer.splitlines()[-1] == " " * (column - 1) + "^"


def test_never_evaluates_python() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("__import__('os').system('true')")
