"""The analysis table and workbook written for a reader of Russian, Tajik or Uzbek: decimal
commas, grouped counts, the percent sign where the language puts it, intervals whose bounds a
decimal comma cannot run together, lists with the language's "and", and the date written out.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from amniyat.analysis import load_indicators, run_analysis
from amniyat.analysis.output import render_table, write_xlsx
from amniyat.analysis.runner import AnalysisResult

NBSP = "\u00a0"


def survey() -> AnalysisResult:
    frame = pl.DataFrame(
        {
            "safe": ["safe", "unsafe", "safe", "safe", "unsafe", "safe", "safe", "unsafe"],
            "income": ["1200", "900", "1500", "1100", "1300", "1000", "1400", "1600"],
            "sex": ["female", "male"] * 4,
            "district": ["vose", "vose", "kulob", "kulob"] * 2,
        }
    )
    indicators = load_indicators(
        """
indicators:
  - {id: feels_safe, label: Safe, type: proportion, numerator: "${safe} = 'safe'"}
  - {id: income, label: Income, type: mean, value: "${income}"}
""",
        fields=frame.columns,
    )
    return run_analysis(frame, indicators, by=[["sex", "district"]], min_cell=1)


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return survey()


def overall_row(table: str, indicator: str) -> str:
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{indicator}:"))
    return next(line for line in lines[start:] if line.strip().startswith("all"))


@pytest.mark.parametrize(
    ("language", "share", "interval", "level"),
    [
        ("en", "62.5%", r"\[\d+\.\d, \d+\.\d\]", "95% CI"),
        ("ru", f"62,5{NBSP}%", r"\[\d+,\d; \d+,\d\]", f"95{NBSP}% CI"),
        ("tg", "62,5%", r"\[\d+,\d; \d+,\d\]", "95% CI"),
        ("uz", "62,5%", r"\[\d+,\d; \d+,\d\]", "95% CI"),
    ],
)
def test_a_proportion_reads_as_the_reader_writes_it(
    result: AnalysisResult, language: str, share: str, interval: str, level: str
) -> None:
    table = render_table(result, language=language)
    row = overall_row(table, "feels_safe")
    assert share in row
    assert re.search(interval, row), row
    assert level in table


@pytest.mark.parametrize(
    ("language", "mean"), [("en", "1,250"), ("ru", f"1{NBSP}250"), ("uz", f"1{NBSP}250")]
)
def test_a_large_mean_is_a_grouped_whole_number_not_scientific(
    result: AnalysisResult, language: str, mean: str
) -> None:
    row = overall_row(render_table(result, language=language), "income")
    assert mean in row
    assert "e+" not in row


def test_the_design_notes_use_the_readers_numbers(result: AnalysisResult) -> None:
    table = render_table(result, language="ru")
    assert re.search(rf"Confidence level\s+95{NBSP}%", table)
    assert re.search(r"Respondents \(rows\)\s+8$", table, re.M)


@pytest.mark.parametrize(
    ("language", "crossed", "generated"),
    [
        ("en", "sex and district", r"^\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC$"),
        ("ru", "sex и district", r"^\d{1,2} [а-я]+ \d{4}\u202fг\., \d\d:\d\d UTC$"),
        ("uz", "sex va district", r"^\d{1,2}-[a-zʻ]+ \d{4}, \d\d:\d\d UTC$"),
    ],
)
def test_the_workbook_lists_and_dates_in_the_readers_language(
    result: AnalysisResult, tmp_path: Path, language: str, crossed: str, generated: str
) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "findings.xlsx"
    write_xlsx(result, path, language=language)
    workbook = load_workbook(path)
    estimates = workbook["Estimates"]
    breakdowns = {row[3] for row in estimates.iter_rows(min_row=2, values_only=True)}
    assert crossed in breakdowns
    notes = {row[0]: row[1] for row in workbook["Notes"].iter_rows(values_only=True) if row}
    assert re.match(generated, str(notes["Generated"])), notes["Generated"]
