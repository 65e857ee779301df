"""Dates with a time, intervals, and the promise that core.text needs no Django to be given a
language (amniyat.core.text, added for the analysis table and the workbook's notes)."""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest

from amniyat.core.text import format_datetime, format_interval, format_number

MOMENT = datetime.datetime(2021, 4, 19, 17, 5, tzinfo=datetime.UTC)
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "19 April 2021, 17:05"),
        ("ru", f"19 апреля 2021{NNBSP}г., 17:05"),
        ("tg", "19 апрел 2021 17:05"),
        ("uz", "19-aprel 2021, 17:05"),
    ],
)
def test_a_moment_is_its_date_and_a_24_hour_time(language: str, expected: str) -> None:
    assert format_datetime(MOMENT, language) == expected


def test_a_short_moment_is_numeric() -> None:
    assert format_datetime(MOMENT, "uz", "short") == "19.04.2021, 17:05"
    assert format_datetime(MOMENT, "tg", "short") == "19.04.2021 17:05"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "[21.5, 30.1]"),
        ("ru", "[21,5; 30,1]"),
        ("tg", "[21,5; 30,1]"),
        ("uz", "[21,5; 30,1]"),
    ],
)
def test_an_intervals_bounds_are_not_run_together_by_a_decimal_comma(
    language: str, expected: str
) -> None:
    low = format_number(21.5, language, decimals=1)
    high = format_number(30.1, language, decimals=1)
    assert format_interval(low, high, language) == expected


def test_the_helpers_import_no_django_so_the_analysis_modules_stay_pure() -> None:
    # A fresh interpreter: the test process has Django loaded already.
    script = (
        "import sys\n"
        "from amniyat.core.text import format_list, format_percent\n"
        "import amniyat.analysis.output\n"
        "assert format_list(['a', 'b', 'c'], 'uz') == 'a, b va c'\n"
        "assert format_percent(0.5, 'tg') == '50%'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
