"""``amniyat analyze``: weighted, disaggregated, disclosure-safe estimates from the command line.

::

    amniyat analyze (DATA_FILE | --assessment ID) --indicators SPEC.yaml
        [--weight COL] [--strata COL] [--cluster COL] [--fpc COL]
        [--lonely-psu fail|adjust|remove|certainty]
        [--by COL[,COL...]]... [--compare COL=A,B]... [--min-cell K] [--confidence 0.95]
        [--format json|csv|xlsx|table] [--output FILE] [--language en|ru|tg|uz]

`analyze_cli` holds the logic and returns the exit status (0, or 2 with a one-line message on
standard error for anything the user can fix); ``amniyat analyze`` calls it before Django starts
(`amniyat.cli`) and the management command (``call_command("analyze", …)``) only calls it.

The command starts only what it uses: its words come through `amniyat.analysis.translation`
(Django's translation when Django is set up, the same catalogues read directly when it is not);
Polars, Lark, the estimators and the writers are imported once the command line has been
checked, so ``--help`` and a mistyped option answer at once; Django is set up only for
``--assessment``, which reads the database.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from amniyat.analysis.errors import AnalysisError, EstimationError
from amniyat.analysis.translation import LANGUAGES, override
from amniyat.analysis.translation import gettext as _
from amniyat.stats.choices import DEFAULT_MIN_CELL, LONELY_PSU_POLICIES
from amniyat.stats.errors import LonelyPsuError

if TYPE_CHECKING:
    import polars as pl

    from amniyat.analysis.indicators import Indicator, Repeat

__all__ = ["analyze_cli"]

PROGRAM = "amniyat analyze"
FORMATS = ("json", "csv", "xlsx", "table")
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".xlsx": "xlsx", ".txt": "table"}


class Stream(Protocol):
    """Where output goes: a text file, ``sys.stdout`` or a command's ``OutputWrapper``."""

    def write(self, text: str, /) -> object: ...


class UsageError(Exception):
    """A bad command line; the message is shown as is."""


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that reports to the given streams and raises instead of calling sys.exit."""

    def __init__(self, *args: object, out: Stream, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.out = out

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.out.write(message)
        raise _Exit(status)

    def _print_message(self, message: str, file: object = None) -> None:
        if message:
            self.out.write(message)


def build_parser(out: Stream) -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        out=out,
        description=_(
            "Estimate survey indicators (weighted, with confidence intervals), overall and by "
            "domain, with small cells suppressed."
        ),
    )
    parser.add_argument(
        "data_file", nargs="?", metavar="DATA_FILE", help=_("a .csv, .xlsx or .parquet file")
    )
    parser.add_argument(
        "--assessment", type=int, metavar="ID", help=_("the stored data of an assessment")
    )
    parser.add_argument(
        "--indicators", required=True, metavar="SPEC.yaml", help=_("the indicator definitions")
    )
    parser.add_argument("--weight", metavar="COL", help=_("sampling weight column"))
    parser.add_argument("--strata", metavar="COL", help=_("stratum column"))
    parser.add_argument("--cluster", metavar="COL", help=_("first-stage cluster (PSU) column"))
    parser.add_argument("--fpc", metavar="COL", help=_("finite population correction column"))
    parser.add_argument(
        "--lonely-psu",
        choices=LONELY_PSU_POLICIES,
        default="fail",
        help=_("what to do with a stratum that has a single PSU (default: fail)"),
    )
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="COL[,COL...]",
        help=_("a disaggregation; repeat for several (e.g. --by sex --by sex,district)"),
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="COL=A,B",
        help=_("compare two domains (A − B), overall and within each other disaggregation"),
    )
    parser.add_argument(
        "--min-cell",
        type=int,
        default=DEFAULT_MIN_CELL,
        metavar="K",
        help=_("suppress estimates resting on fewer than K respondents (default: 5)"),
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help=_("confidence level (default: 0.95)")
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help=_("output format (default: from the --output suffix, else table)"),
    )
    parser.add_argument("--output", metavar="FILE", help=_("write here instead of the screen"))
    parser.add_argument(
        "--language",
        choices=LANGUAGES,
        default="en",
        help=_("language of the indicator labels, the table and the workbook (default: en)"),
    )
    return parser


def _split_by(values: Sequence[str]) -> list[list[str]]:
    found = []
    for value in values:
        columns = [column.strip() for column in value.split(",")]
        if not all(columns):
            raise UsageError(
                _("--by {value}: give column names separated by commas").format(value=value)
            )
        found.append(columns)
    return found


def _comparison(value: str) -> tuple[str, str, str]:
    """``COL=A,B`` as (column, A, B)."""
    column, equals, rest = value.partition("=")
    values = [part.strip() for part in rest.split(",")]
    if not equals or not column.strip() or len(values) != 2 or not all(values):
        raise UsageError(
            _("--compare {value}: write COLUMN=A,B, e.g. --compare sex=female,male").format(
                value=value
            )
        )
    return column.strip(), values[0], values[1]


def _output_format(requested: str | None, output: str | None) -> str:
    if requested is not None:
        chosen = requested
    elif output is not None:
        chosen = SUFFIX_FORMATS.get(Path(output).suffix.lower(), "table")
    else:
        chosen = "table"
    if chosen == "xlsx" and output is None:
        raise UsageError(_("--format xlsx needs --output FILE.xlsx"))
    return chosen


def _write_text(text: str, output: str | None, stdout: Stream) -> None:
    if output is None:
        stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def _comparisons_path(output: str) -> Path:
    path = Path(output)
    return path.with_name(f"{path.stem}-comparisons{path.suffix or '.csv'}")


def _analyze(argv: Sequence[str], stdout: Stream) -> int:
    args = build_parser(stdout).parse_args(list(argv))
    if (args.data_file is None) == (args.assessment is None):
        raise UsageError(_("give either a DATA_FILE or --assessment ID (one of them)"))
    by = _split_by(args.by)
    compare = [_comparison(value) for value in args.compare]
    output_format = _output_format(args.format, args.output)
    try:
        specification = Path(args.indicators).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(
            _("cannot read the indicator file {file}: {reason}").format(
                file=args.indicators, reason=getattr(error, "strerror", None) or str(error)
            )
        ) from error
    # The command line is sound: load what the analysis needs (Polars, Lark, the estimators and
    # the writers: most of the command's start-up) only now, so --help and a mistyped option
    # answer at once.
    from amniyat.analysis.indicators import load_indicators
    from amniyat.analysis.loading import read_data_file
    from amniyat.analysis.output import render_csv, render_json, render_table, write_xlsx
    from amniyat.analysis.runner import Comparison, run_analysis
    from amniyat.stats.design import Design

    indicators = load_indicators(specification)
    repeats: dict[str, Repeat] = {}
    repeat_frames: dict[str, pl.DataFrame] = {}
    if args.data_file is not None:
        frame = read_data_file(args.data_file)
    else:
        frame, stored, repeats, repeat_frames = _assessment_frame(args.assessment, indicators)
        # The assessment's own design fills whatever the command line leaves out.
        args.weight = args.weight or stored.weight_field or None
        args.strata = args.strata or stored.strata_field or None
        args.cluster = args.cluster or stored.cluster_field or None
        args.fpc = args.fpc or stored.fpc_field or None
    design = Design(
        weight=args.weight,
        strata=args.strata,
        cluster=args.cluster,
        fpc=args.fpc,
        lonely_psu=args.lonely_psu,
    )
    result = run_analysis(
        frame,
        indicators,
        design=design,
        by=by,
        compare=[Comparison(*parts) for parts in compare],
        min_cell=args.min_cell,
        confidence=args.confidence,
        repeats=repeats,
        repeat_frames=repeat_frames,
    )
    language = args.language
    try:
        if output_format == "json":
            _write_text(render_json(result), args.output, stdout)
        elif output_format == "table":
            with override(language):
                table = render_table(result, _, language=language)
            _write_text(table, args.output, stdout)
        elif output_format == "xlsx":
            with override(language):
                write_xlsx(result, args.output, _, language=language)
        else:
            estimates, comparisons = render_csv(result, language=language)
            if args.output is None:
                stdout.write(estimates)
                if comparisons is not None:
                    stdout.write("\n" + comparisons)
            else:
                _write_text(estimates, args.output, stdout)
                if comparisons is not None:
                    _write_text(comparisons, str(_comparisons_path(args.output)), stdout)
    except OSError as error:
        raise UsageError(
            _("cannot write {file}: {reason}").format(
                file=args.output, reason=error.strerror or str(error)
            )
        ) from error
    return 0


def _message(error: Exception) -> str:
    if isinstance(error, AnalysisError):
        message = error.translated(_)
        if isinstance(error, EstimationError) and isinstance(error.__cause__, LonelyPsuError):
            message += " " + _("Use --lonely-psu adjust, remove or certainty to estimate anyway.")
        return message
    return str(error)


def analyze_cli(
    argv: Sequence[str], *, stdout: Stream | None = None, stderr: Stream | None = None
) -> int:
    """Run ``amniyat analyze`` with ``argv`` (the arguments after ``analyze``).

    Returns 0 on success; 2 with a one-line message on ``stderr`` for a bad command line,
    unreadable or unsuitable data, an invalid indicator or a design that cannot be estimated.
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        return _analyze(argv, out)
    except _Exit as done:
        return done.status
    except (UsageError, AnalysisError) as error:
        line = " ".join(_message(error).split())
        err.write(_("{program}: error: {message}").format(program=PROGRAM, message=line) + "\n")
        return 2


def _assessment_frame(
    assessment_id: int, indicators: Sequence[Indicator]
) -> tuple[pl.DataFrame, Any, dict[str, Repeat], dict[str, pl.DataFrame]]:
    """The stored submissions of every form of an assessment, one row per respondent (the
    answers classed public or internal), with the assessment itself, the forms' repeats and,
    for each level an indicator is counted at, one row per repetition."""
    import polars as pl

    _setup_django()
    from amniyat.analysis.indicators import merge_repeats, resolve_levels
    from amniyat.fieldwork.models import Assessment
    from amniyat.fieldwork.submissions.frames import form_repeats, repeat_frame, submissions_frame

    assessment = Assessment.objects.filter(pk=assessment_id).first()
    if assessment is None:
        raise UsageError(_("there is no assessment {id}").format(id=assessment_id))
    forms = list(assessment.forms.all())
    frames = [submissions_frame(form) for form in forms]
    frames = [frame for frame in frames if frame.height]
    if not frames:
        raise UsageError(
            _("assessment {id} has no stored submissions yet").format(id=assessment_id)
        )
    versions = {form.pk: form.current_version() for form in forms}
    of_form = {pk: form_repeats(v) if v is not None else {} for pk, v in versions.items()}
    repeats = merge_repeats(of_form.values())
    levels = {i.level for i in resolve_levels(indicators, repeats) if i.level is not None}
    repeat_frames = {}
    for level in levels:
        found = [repeat_frame(form, level) for form in forms if level in of_form[form.pk]]
        found = [frame for frame in found if frame.width]
        if found:
            repeat_frames[level] = pl.concat(found, how="diagonal_relaxed")
    return pl.concat(frames, how="diagonal_relaxed"), assessment, repeats, repeat_frames


def _setup_django() -> None:
    """Set the web application up (settings, app registry, models) unless this process already
    has (a view, ``call_command``, the tests): only ``--assessment`` needs it."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amniyat.settings")
        django.setup()
