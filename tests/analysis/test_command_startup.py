"""``amniyat analyze`` starts only what it uses (`amniyat.cli`, `amniyat.analysis.cli`).

Each test runs the command in a fresh Python process, as a user does, and reads back which
libraries that process loaded: the test process has Django set up and Polars loaded already.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.utils import translation

import amniyat.analysis
import amniyat.stats
from amniyat.analysis.cli import analyze_cli

from .survey import INDICATORS_FILE, make_demo_survey

HEAVY = ("django", "django.apps", "polars", "numpy", "lark", "yaml", "openpyxl", "babel")

# Runs ``amniyat ARGS…`` (or, with --code, a snippet) and writes to the file named first which of
# the modules named second the process loaded, beside the exit status.
PROBE = textwrap.dedent(
    """
    import json, sys

    report, heavy, mode, *args = sys.argv[1:]
    status = 0
    try:
        if mode == "--code":
            exec(args[0])
        else:
            from amniyat.cli import main

            main(["amniyat", *args])
    except SystemExit as done:
        status = done.code
    with open(report, "w") as file:
        loaded = [name for name in json.loads(heavy) if name in sys.modules]
        json.dump({"status": status, "loaded": loaded}, file)
    """
)


def probe(
    tmp_path: Path, *args: str | Path, code: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, list[str], str, str]:
    """(exit status, heavy modules loaded, standard output, standard error) of one process."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-c", PROBE, str(report), json.dumps(HEAVY)]
    command += ["--code", code] if code is not None else ["--", *map(str, args)]
    environment = {**os.environ, **(env or {})}
    environment.pop("DJANGO_SETTINGS_MODULE", None)  # as in a user's shell
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, env=environment, timeout=120, check=False
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    return found["status"], found["loaded"], done.stdout, done.stderr


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "survey.csv"
    make_demo_survey().write_csv(path)
    return path


def test_help_loads_neither_django_nor_polars(tmp_path: Path) -> None:
    status, loaded, out, err = probe(tmp_path, "analyze", "--help")
    assert status == 0, err
    assert "--lonely-psu {fail,adjust,remove,certainty}" in out and "--min-cell K" in out
    assert out.startswith("usage: amniyat analyze ")
    assert loaded == []


def test_a_mistyped_command_line_is_answered_before_anything_loads(tmp_path: Path) -> None:
    status, loaded, out, err = probe(
        tmp_path, "analyze", "x.csv", "--indicators", INDICATORS_FILE, "--format", "xlsx"
    )
    assert (status, out) == (2, "")
    assert err == "amniyat analyze: error: --format xlsx needs --output FILE.xlsx\n"
    assert loaded == []
    status, loaded, _, err = probe(tmp_path, "analyze", "x.csv", "--min-cell", "many")
    assert status == 2 and "--min-cell: invalid int value: 'many'" in err
    assert loaded == []


def test_an_analysis_of_a_file_does_not_start_django(tmp_path: Path, data_file: Path) -> None:
    """The words of the table in Tajik come from the catalogues without Django, and the whole
    output is what the command gives inside Django."""
    argv = [data_file, "--indicators", INDICATORS_FILE, "--by", "sex", "--language", "tg"]
    status, loaded, out, err = probe(tmp_path, "analyze", *argv)
    assert (status, err) == (0, "")
    assert loaded == ["polars", "lark", "yaml", "babel"]
    assert out.splitlines()[1].split()[0] == "зергурӯҳ"
    inside = io.StringIO()
    assert analyze_cli([str(a) for a in argv], stdout=inside) == 0
    assert out == inside.getvalue()


def test_a_workbook_loads_openpyxl_when_asked(tmp_path: Path, data_file: Path) -> None:
    target = tmp_path / "out.xlsx"
    status, loaded, _, err = probe(
        tmp_path, "analyze", data_file, "--indicators", INDICATORS_FILE, "--output", target
    )
    assert status == 0, err
    assert "openpyxl" in loaded and "django" not in loaded and target.stat().st_size > 0


def test_messages_are_translated_without_django(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from amniyat.analysis.cli import analyze_cli
        from amniyat.analysis.translation import override

        with override("ru"):
            analyze_cli(["--help"])
            analyze_cli(["x.csv", "--indicators", {str(INDICATORS_FILE)!r}, "--format", "xlsx"])
        """
    )
    status, loaded, out, err = probe(tmp_path, code=code)
    assert status == 0
    assert loaded == []
    description = (
        "Estimate survey indicators (weighted, with confidence intervals), overall and by "
        "domain, with small cells suppressed."
    )
    with translation.override("ru"):
        russian = translation.gettext(description)
        message = translation.gettext("--format xlsx needs --output FILE.xlsx")
        line = translation.gettext("{program}: error: {message}").format(
            program="amniyat analyze", message=message
        )
    assert russian != description and message.startswith("для --format xlsx")
    assert " ".join(russian.split()) in " ".join(out.split())
    assert err == line + "\n"


def test_the_environment_does_not_choose_the_language(tmp_path: Path) -> None:
    """As before, when Django answered: the interface's default language, not the locale."""
    russian = {"LANGUAGE": "ru", "LANG": "ru_RU.UTF-8", "LC_ALL": "ru_RU.UTF-8"}
    status, _, out, _ = probe(tmp_path, "analyze", "--help", env=russian)
    assert status == 0 and "Estimate survey indicators (weighted" in out


def test_help_analyze_still_goes_through_django(tmp_path: Path) -> None:
    status, loaded, out, err = probe(tmp_path, "help", "analyze")
    assert status == 0, err
    assert "Estimate survey indicators, weighted and disaggregated" in out
    assert "django.apps" in loaded


def test_an_assessment_sets_django_up_when_asked(tmp_path: Path) -> None:
    """``--assessment`` reads the database: the command sets Django up with the project's
    settings (here on a database holding only the assessments table)."""
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    create = textwrap.dedent(
        """
        import os, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "amniyat.settings"
        django.setup()
        from django.db import connection
        from amniyat.fieldwork.models import Assessment
        with connection.schema_editor() as editor:
            editor.create_model(Assessment)
        """
    )
    assert probe(tmp_path, code=create, env=database)[0] == 0
    status, loaded, out, err = probe(
        tmp_path,
        "analyze",
        "--assessment",
        "987654",
        "--indicators",
        INDICATORS_FILE,
        env=database,
    )
    assert (status, out) == (2, "")
    assert err == "amniyat analyze: error: there is no assessment 987654\n"
    assert "django.apps" in loaded


@pytest.mark.parametrize("package", [amniyat.analysis, amniyat.stats])
def test_the_packages_load_each_name_they_list(package: Any) -> None:
    """`amniyat.analysis` and `amniyat.stats` import their modules on first use: every name
    they list resolves, and nothing they list is left out of the loader."""
    assert sorted(package._HOME_OF) == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_the_data_is_read_as_before(tmp_path: Path) -> None:
    """Column types come from every row: a question skipped in the first rows still reads as
    numbers, as Polars reads with ``infer_schema_length=None``."""
    from amniyat.analysis.loading import read_data_file

    path = tmp_path / "late.csv"
    path.write_text("a,b,c\n" + ",x,1\n" * 150 + "5,y,1.5\n")
    frame = read_data_file(path)
    assert frame.schema == {"a": pl.Int64, "b": pl.String, "c": pl.Float64}
    assert frame.equals(pl.read_csv(path, infer_schema_length=None, encoding="utf8-lossy"))
