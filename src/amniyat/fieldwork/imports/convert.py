"""Mapping rows of a file onto a form's fields, checking every answer, and preparing the JSON
that will be stored, one batch of rows at a time and column by column (Polars expressions
rather than a Python loop over cells, so that a million rows take seconds).

For each batch the result is a frame with one row per submission: its spreadsheet row, its
instance id, the canonical JSON of all its answers (what ``Submission.hash_content`` hashes,
byte for byte), the JSON of its public and internal answers (``data``), the JSON of its
personal and sensitive answers (to be encrypted into ``protected_data``), when it was
submitted, by whom, where, and whether anything in it is wrong, with every problem named by
file, row and column.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amniyat.analysis.errors import ExpressionError
from amniyat.analysis.expressions import (
    Compiler,
    Expression,
    Node,
    Type,
    Typed,
    parse_expression,
)
from amniyat.analysis.expressions import Field as FieldNode
from amniyat.fieldwork.imports.errors import FileRejected, Problem
from amniyat.fieldwork.imports.labels import label_reading, read_by_labels
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan, nested_answers
from amniyat.fieldwork.imports.sources import (
    OWN,
    PARENT,
    ROW,
    Batch,
    Sheet,
    Workbook,
    open_workbook,
)

# Columns every export tool adds that describe a submission rather than answer a question.
META_COLUMNS = frozenset(
    {
        # KoboToolbox
        "_id",
        "_uuid",
        "_submission_time",
        "_index",
        "_parent_index",
        "_parent_table_name",
        "_submission__id",
        "_submission__uuid",
        "_submission__submission_time",
        "_submission__validation_status",
        "_submission__notes",
        "_submission__status",
        "_submission__submitted_by",
        "_submission___version__",
        "_submission__tags",
        "_validation_status",
        "_status",
        "_submitted_by",
        "__version__",
        "_version_",
        "_notes",
        "_tags",
        "_geolocation",
        "_attachments",
        "_xform_id_string",
        "_bamboo_dataset_id",
        "_media_all_received",
        "_total_media",
        "_media_count",
        "formhub/uuid",
        "meta/instanceID",
        "meta/rootUuid",
        "meta/deprecatedID",
        "meta/instanceName",
        "meta/audit",
        # ODK Central
        "SubmissionDate",
        "KEY",
        "PARENT_KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
        "meta-instanceID",
        "meta-instanceName",
        "meta-deprecatedID",
        "meta-audit",
        # Plain files
        "instanceID",
        "instance_id",
    }
)
INSTANCE_COLUMNS = ("meta/instanceID", "meta-instanceID", "instanceID", "KEY", "instance_id")
SUBMITTED_COLUMNS = ("_submission_time", "SubmissionDate", "submitted_at")
SUBMITTER_COLUMNS = ("_submitted_by", "SubmitterName")
SEPARATORS = ("/", ".", "-", ":")
CHOSEN = ("1", "True", "true", "TRUE")
NOT_CHOSEN = ("0", "False", "false", "FALSE")
# The quote an export puts before text a spreadsheet would run (core.cells.neutralise),
# full-width signs included.
FORMULA = r"^'+[=+\-@\t\r＝＋－＠]"
FORMULA_SIGNS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%dT%H:%M",
)
INSTANCE_ID_MAX = 120
REPORT_ORPHANS = 1000
OUTPUT = (
    "instance_id",
    "combined",
    "data",
    "protected",
    "submitted_at",
    "enumerator",
    "place_id",
    "review_state",
    "version",
)
# Where a submission stands in review: KoboToolbox's ``_validation_status`` (its uid
# ``validation_status_approved`` in XML-name exports and in the API's ``{"uid": …}``, its label
# "Approved" in label exports) and ODK Central's ``ReviewState``, spaces and underscores taken
# out, onto the states both share (``Submission.ReviewState``).
REVIEW_COLUMNS = ("_validation_status", "ReviewState")
REVIEW_STATES = {
    "approved": "approved",
    "notapproved": "rejected",
    "rejected": "rejected",
    "onhold": "has_issues",
    "hasissues": "has_issues",
    "edited": "edited",
}
# The form version a submission was filled in: KoboToolbox's ``__version__``, ODK Central's
# ``FormVersion``.
VERSION_COLUMNS = ("__version__", "FormVersion", "_submission___version__")


def unneutralise(value: str) -> str:
    """Undo the quote an export put before text a spreadsheet would run as a formula."""
    return value[1:] if re.match(FORMULA, value) else value


def json_key(path: str) -> str:
    return json.dumps(path, ensure_ascii=False)


@dataclass
class ColumnMap:
    """Which column of a sheet gives what."""

    fields: dict[str, str] = field(default_factory=dict)  # field path -> column
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> choice -> column
    instance: list[tuple[str, str]] = field(default_factory=list)  # (column, prefix)
    submitted: str | None = None
    submitter: str | None = None
    own_key: str | None = None
    parent_key: str | None = None
    review: str | None = None
    version: str | None = None
    unknown: list[str] = field(default_factory=list)
    misplaced: list[tuple[str, str]] = field(default_factory=list)  # (column, repeat path)


def _variants(path: str) -> list[str]:
    return [path.replace("/", separator) for separator in SEPARATORS]


def map_columns(header: list[str], plan: FormPlan, scope: str | None) -> ColumnMap:
    """Map a sheet's columns onto the fields of ``scope`` (None: the main form; otherwise a
    repeat path)."""
    in_scope = [f for f in plan.fields if f.repeat == scope]
    lookup: dict[str, str] = {}
    choice_lookup: dict[str, tuple[str, str]] = {}
    elsewhere: dict[str, str] = {}
    names = [f.name for f in in_scope]
    for spec in in_scope:
        # ODK Central names a repeat's columns from inside the repeat (``details-date``).
        spellings = _variants(spec.path)
        if scope is not None:
            spellings += _variants(spec.path.removeprefix(f"{scope}/"))
        for variant in spellings:
            lookup.setdefault(variant, spec.path)
        if names.count(spec.name) == 1:
            lookup.setdefault(spec.name, spec.path)
        if spec.kind == "select_multiple":
            for choice in spec.choices:
                # ODK Central joins groups with "-" and a choice with "/" (``g1-q2/m``).
                for variant in spellings:
                    for separator in SEPARATORS:
                        choice_lookup.setdefault(
                            f"{variant}{separator}{choice}", (spec.path, choice)
                        )
                if names.count(spec.name) == 1:
                    for separator in SEPARATORS:
                        choice_lookup.setdefault(
                            f"{spec.name}{separator}{choice}", (spec.path, choice)
                        )
    for spec in plan.fields:
        if spec.repeat != scope and spec.repeat is not None:
            for variant in _variants(spec.path):
                elsewhere.setdefault(variant, spec.repeat)
    geopoints = {f.name for f in in_scope if f.xls_type == "geopoint"} | {
        f.path for f in in_scope if f.xls_type == "geopoint"
    }
    mapping = ColumnMap()
    for column in header:
        if column in (ROW, PARENT, OWN):
            continue
        if column in lookup:
            mapping.fields.setdefault(lookup[column], column)
        elif column in choice_lookup:
            path, choice = choice_lookup[column]
            mapping.choices.setdefault(path, {})[choice] = column
        elif _is_bookkeeping(column) or _is_geopoint_part(column, geopoints):
            continue
        elif column in elsewhere:
            mapping.misplaced.append((column, elsewhere[column]))
        else:
            mapping.unknown.append(column)
    present = set(header)
    for column in INSTANCE_COLUMNS:
        if column in present:
            mapping.instance.append((column, ""))
    if "_uuid" in present:
        mapping.instance.append(("_uuid", "uuid:"))
    mapping.submitted = next((c for c in SUBMITTED_COLUMNS if c in present), None)
    mapping.submitter = next((c for c in SUBMITTER_COLUMNS if c in present), None)
    mapping.review = next((c for c in REVIEW_COLUMNS if c in present), None)
    mapping.version = next((c for c in VERSION_COLUMNS if c in present), None)
    mapping.own_key = next((c for c in ("KEY", "_index") if c in present), None)
    mapping.parent_key = next((c for c in ("PARENT_KEY", "_parent_index") if c in present), None)
    return mapping


def _is_bookkeeping(column: str) -> bool:
    """Whether a column that is not one of the form's questions is one an export tool adds
    about the submission: the known ones; the copies of the submission's own columns that
    KoboToolbox puts on each repeat sheet (``_submission__id``, ``_submission_meta/rootUuid``
    …); and the ``meta`` group ODK Collect fills in (``meta/rootUuid``, ``meta-audit`` …).
    Such a column never refuses a file."""
    return (
        column in META_COLUMNS
        or column.startswith("_submission_")
        or column.startswith(("meta/", "meta-", "meta."))
    )


def _is_legacy_kobo(header: list[str]) -> bool:
    """Whether a sheet is KoboCAT's legacy export (before KoboToolbox's formpack exports,
    which always end with ``_index``): it names submissions by ``_uuid`` and writes "n/a"
    for every question not answered."""
    return "_uuid" in header and "_index" not in header and "_id" not in header


def _unanswered_na(sheet: Sheet) -> Sheet:
    """``sheet`` with its "n/a" cells read as unanswered (legacy KoboToolbox exports)."""
    source = sheet.read

    def read(chunk_size: int) -> Iterator[Batch]:
        for batch in source(chunk_size):
            texts = [c for c, t in batch.main.schema.items() if c != ROW and t == pl.String]
            yield Batch(
                main=batch.main.with_columns(
                    pl.when(pl.col(c) == "n/a").then(None).otherwise(pl.col(c)).alias(c)
                    for c in texts
                ),
                repeats=batch.repeats,
            )

    return replace(sheet, read=read)


# A repeat written out as numbered columns, as KoboCAT's legacy exports write it:
# ``children[2]/childs_name`` is the name in the second repetition of ``children``, and
# ``kids/details[1]/shots[2]/name`` the name in the second ``shots`` of the first ``details``.
NUMBER = re.compile(r"\[(\d+)\]/")


def _numbered(column: str, plan: FormPlan) -> tuple[tuple[int, ...], str, str] | None:
    """A numbered column's numbers (outermost first), innermost repeat and field path; None
    for a column that is not one of the form's repeats written so."""
    parts = NUMBER.split(column)
    if len(parts) < 3 or "[" in parts[-1] or "]" in parts[-1]:
        return None
    path = ""
    chain: list[str] = []
    numbers: list[int] = []
    for index in range(0, len(parts) - 1, 2):
        path = f"{path}/{parts[index]}" if path else parts[index]
        chain.append(path)
        numbers.append(int(parts[index + 1]))
    if chain[-1] not in plan.repeats or plan.repeat_chain(chain[-1]) != chain:
        return None
    return tuple(numbers), chain[-1], f"{path}/{parts[-1]}"


def _numbered_repeats(workbook: Workbook, plan: FormPlan) -> Workbook:
    """``workbook`` with the numbered columns of its main sheet read as a sheet per repeat,
    as if the export had kept each repeat on a sheet of its own: a row per repetition up to
    the last one with an answer (in it or in a repeat inside it), naming the row or
    repetition holding it."""
    # repeat -> numbers -> field path -> column
    numbered: dict[str, dict[tuple[int, ...], dict[str, str]]] = {}
    below: dict[tuple[str, tuple[int, ...]], list[str]] = {}  # (repeat, numbers) -> columns
    for column in workbook.main.header:
        found = _numbered(column, plan)
        if found is None:
            continue  # not a repeat of the form: reported as an unknown column
        numbers, repeat, path = found
        numbered.setdefault(repeat, {}).setdefault(numbers, {})[path] = column
        # An answer in the n-th repetition means the n - 1 before it were there too.
        for depth, holder in enumerate(plan.repeat_chain(repeat), start=1):
            for earlier in range(1, numbers[depth - 1] + 1):
                position = (*numbers[: depth - 1], earlier)
                numbered.setdefault(holder, {}).setdefault(position, {})
                below.setdefault((holder, position), []).append(column)
    if not numbered:
        return workbook
    main = workbook.main
    taken = {c for columns in below.values() for c in columns}
    # Each repetition names what holds it: the submission's ``_index`` (or its row) and the
    # numbers of the repetitions holding it.
    has_index = "_index" in main.header
    key = pl.col("_index") if has_index else pl.col(ROW).cast(pl.String)
    source = main.read

    def read_main(chunk_size: int) -> Iterator[Batch]:
        for batch in source(chunk_size):
            frame = batch.main.drop([c for c in taken if c in batch.main.columns])
            yield Batch(main=frame if has_index else frame.with_columns(key.alias("_index")))

    def numbers_key(numbers: tuple[int, ...]) -> pl.Expr:
        return key.cast(pl.String) + pl.lit("".join(f"[{n}]" for n in numbers))

    def repeat_sheet(repeat: str, by_numbers: dict[tuple[int, ...], dict[str, str]]) -> Sheet:
        paths = sorted({path for columns in by_numbers.values() for path in columns})

        def read(chunk_size: int) -> Iterator[Batch]:
            for batch in source(chunk_size):
                parts = []
                for numbers, columns in sorted(by_numbers.items()):
                    cells = [
                        (pl.col(columns[path]) if path in columns else pl.lit(None, pl.String))
                        .cast(pl.String)
                        .alias(path)
                        for path in paths
                    ]
                    answered = pl.any_horizontal(
                        (pl.col(c).cast(pl.String).str.strip_chars().str.len_bytes() > 0).fill_null(
                            False
                        )
                        for c in below[(repeat, numbers)]
                    )
                    part = batch.main.filter(answered).select(
                        pl.col(ROW),
                        *cells,
                        numbers_key(numbers[:-1]).alias("_parent_index"),
                        numbers_key(numbers).alias("_index"),
                    )
                    parts.append(part)
                yield Batch(main=pl.concat(parts).sort(ROW, maintain_order=True))

        return Sheet(
            name=f"{main.name} › {repeat}",
            header=[*paths, "_parent_index", "_index"],
            read=read,
        )

    return replace(
        workbook,
        main=replace(
            main,
            header=[
                *(c for c in main.header if c not in taken),
                *([] if has_index else ["_index"]),
            ],
            read=read_main,
        ),
        repeats=[
            *workbook.repeats,
            *(repeat_sheet(repeat, by_numbers) for repeat, by_numbers in numbered.items()),
        ],
    )


def _is_geopoint_part(column: str, geopoints: set[str]) -> bool:
    # Kobo: _q_latitude …; ODK Central: q-Latitude …
    for suffix in ("_latitude", "_longitude", "_altitude", "_precision"):
        if (
            column.startswith("_")
            and column.endswith(suffix)
            and column[1 : -len(suffix)] in geopoints
        ):
            return True
    for suffix in ("-Latitude", "-Longitude", "-Altitude", "-Accuracy"):
        if column.endswith(suffix) and column[: -len(suffix)].replace("-", "/") in geopoints:
            return True
    return False


def header_problems(
    sheet: Sheet, mapping: ColumnMap, plan: FormPlan, scope: str | None
) -> list[Problem]:
    problems = [
        Problem(
            file=sheet.name,
            row=1,
            column=column,
            message=_("Unknown column “{column}”: the form has no such question.").format(
                column=column
            ),
        )
        for column in mapping.unknown
    ]
    problems += [
        Problem(
            file=sheet.name,
            row=1,
            column=column,
            message=_(
                "Column “{column}” belongs to the repeat “{repeat}”: import a file that keeps "
                "each repeat on its own sheet or in its own file (KoboToolbox XLSX, ODK "
                "Central zip or JSON)."
            ).format(column=column, repeat=repeat),
        )
        for column, repeat in mapping.misplaced
    ]
    for spec in plan.fields:
        if spec.repeat != scope or not spec.required or spec.relevant:
            continue  # a question asked only sometimes may be absent: its rows say
        if spec.path not in mapping.fields and spec.path not in mapping.choices:
            problems.append(
                Problem(
                    file=sheet.name,
                    row=1,
                    column=spec.path,
                    message=_(
                        "The column “{column}” is missing: the form requires an answer to it."
                    ).format(column=spec.path),
                )
            )
    return problems


# ----------------------------------------------------------------------------------------
# Checking and encoding one frame.


@dataclass
class Check:
    mask: pl.Expr
    column: str
    message: str  # with {value}
    value: pl.Expr | None
    hide: bool
    # Hidden only because nobody has classed the question yet (so it counts as personal):
    # the report says so, so that a person knows how to see such answers.
    unclassed: bool = False
    # What it checks, for the reading of one submission (:meth:`CompiledChecks.problems_of`):
    # "answer" (the answer can be read as its type: a number, a date, one of the choices),
    # "constraint" or "required", of the field ``spec``.
    rule: str = ""
    spec: FieldSpec | None = None


def _choices_text(choices: tuple[str, ...]) -> str:
    shown = ", ".join(choices[:12])
    return shown + (", …" if len(choices) > 12 else "")


def _field_expr(
    spec: FieldSpec, mapping: ColumnMap, columns: set[str], checks: list[Check]
) -> pl.Expr | None:
    """The typed answer of ``spec`` in each row (null where unanswered or wrong), adding the
    checks that find wrong ones. Checks refer to the typed answer by its column
    (``VALUE + path``), computed once."""
    column = mapping.fields.get(spec.path)
    hide = spec.protected
    ref = pl.col(VALUE + spec.path)
    raw = pl.col(column) if column is not None and column in columns else None
    stripped = raw.str.strip_chars() if raw is not None else None
    if stripped is not None and spec.kind in ("select_one", "select_multiple"):
        # A choice list led by a formula sign (``-99 theft``) was quoted by the export. A
        # slice and a set test, not the regular expression free text needs: choice names
        # never start with a quote of their own.
        quoted = stripped.str.starts_with("'") & stripped.str.slice(1, 1).is_in(FORMULA_SIGNS)
        stripped = pl.when(quoted).then(stripped.str.slice(1)).otherwise(stripped)
    present = (stripped.str.len_bytes() > 0).fill_null(False) if stripped is not None else None
    label = column or spec.path
    if spec.kind == "select_multiple":
        choice_columns = {
            c: col for c, col in mapping.choices.get(spec.path, {}).items() if col in columns
        }
        if stripped is not None and present is not None:
            tokens = stripped.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
            valid = tokens.list.len() > 0
            if spec.choices:
                valid = valid & tokens.list.eval(pl.element().is_in(list(spec.choices))).list.all()
                message = _(
                    "“{value}” includes something that is not one of the choices: {choices}."
                ).replace("{choices}", _choices_text(spec.choices))
                checks.append(Check(present & ref.is_null(), label, message, raw, hide))
            return pl.when(valid).then(tokens)
        if not choice_columns:
            return None
        for choice_column in choice_columns.values():
            flag = pl.col(choice_column).str.strip_chars()
            checks.append(
                Check(
                    flag.is_not_null() & ~flag.is_in([*CHOSEN, *NOT_CHOSEN]),
                    choice_column,
                    _("“{value}” should be 1 (chosen) or 0 (not chosen)."),
                    flag,
                    hide,
                )
            )
        tokens = pl.concat_list(
            [
                pl.when(pl.col(col).str.strip_chars().is_in(list(CHOSEN)))
                .then(pl.lit(choice))
                .otherwise(pl.lit(None, dtype=pl.String))
                for choice, col in choice_columns.items()
            ]
        ).list.drop_nulls()
        return pl.when(tokens.list.len() > 0).then(tokens)
    if stripped is None or present is None or raw is None:
        return None
    if spec.kind == "integer":
        checks.append(
            Check(present & ref.is_null(), label, _("“{value}” is not a whole number."), raw, hide)
        )
        return stripped.cast(pl.Int64, strict=False)
    if spec.kind == "decimal":
        checks.append(
            Check(present & ref.is_null(), label, _("“{value}” is not a number."), raw, hide)
        )
        number = stripped.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if spec.kind == "date":
        message = _("“{value}” is not a date (YYYY-MM-DD).")
        checks.append(Check(present & ref.is_null(), label, message, raw, hide))
        return stripped.str.to_date("%Y-%m-%d", strict=False).dt.to_string("%Y-%m-%d")
    if spec.kind == "datetime":
        valid = (
            stripped.str.contains(ISO_DATETIME)
            & stripped.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).is_not_null()
        )
        message = _("“{value}” is not a date and time (YYYY-MM-DDTHH:MM:SS).")
        checks.append(Check(present & ref.is_null(), label, message, raw, hide))
        return pl.when(valid).then(stripped)
    if spec.kind == "select_one":
        if not spec.choices:
            return pl.when(present).then(stripped)
        message = _("“{value}” is not one of the choices: {choices}.").replace(
            "{choices}", _choices_text(spec.choices)
        )
        checks.append(Check(present & ref.is_null(), label, message, raw, hide))
        return pl.when(stripped.is_in(list(spec.choices))).then(stripped)
    text = pl.when(stripped.str.contains(FORMULA)).then(stripped.str.slice(1)).otherwise(stripped)
    return pl.when(present).then(text)


# What Polars' ``str.strip_chars()`` strips: Unicode's White_Space (Rust's
# ``char::is_whitespace``), which is not quite Python's ``str.isspace``.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Texts Polars casts to a 64-bit integer, and to a number (then kept only if finite), and
# the dates its ``%Y-%m-%d`` reads (a year of up to four digits, or signed of any number; a
# month and day of one or two; from -262143-01-01 to +262142-12-31, chrono's range).
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DATE_TEXT = re.compile(r"(?:([+-])([0-9]+)|([0-9]{1,4}))-([0-9]{1,2})-([0-9]{1,2})")
DATE_YEARS = range(-262143, 262143)
ISO_DATETIME_TEXT = re.compile(ISO_DATETIME)
INT64 = 2**63


def _date_alone(text: str) -> bool:
    found = DATE_TEXT.fullmatch(text)
    if found is None:
        return False
    sign, signed, unsigned, month, day = found.groups()
    year = int(signed) * (-1 if sign == "-" else 1) if signed is not None else int(unsigned)
    if year not in DATE_YEARS or not 1 <= int(month) <= 12:
        return False
    # The proleptic Gregorian calendar, year 0 included (a leap year).
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[int(month) - 1]
    return 1 <= int(day) <= days


def typed_alone(spec: FieldSpec, text: str | None) -> tuple[bool, bool]:
    """Of one answer's text, as :func:`_field_expr` reads it in a frame: (whether it was
    given, not blank; whether it reads as the field's type, i.e. the typed answer is not
    null). The text of an answer to a question without a choice list or a type to read is
    given as it is."""
    if text is None:
        return False, False
    stripped = text.strip(WHITE_SPACE)
    kind = spec.kind
    if kind in ("select_one", "select_multiple") and (
        stripped.startswith("'") and stripped[1:2] in FORMULA_SIGNS
    ):
        stripped = stripped[1:]
    present = bool(stripped)
    if kind == "select_multiple":
        tokens = [token for token in stripped.split(" ") if token]
        return present, bool(tokens) and (
            not spec.choices or all(token in spec.choices for token in tokens)
        )
    if kind == "integer":
        return present, bool(INTEGER_TEXT.fullmatch(stripped)) and (-INT64 <= int(stripped) < INT64)
    if kind == "decimal":
        return present, bool(DECIMAL_TEXT.fullmatch(stripped)) and math.isfinite(float(stripped))
    if kind == "date":
        return present, _date_alone(stripped)
    if kind == "datetime":
        return present, bool(ISO_DATETIME_TEXT.search(stripped)) and _date_alone(stripped[:10])
    if kind == "select_one" and spec.choices:
        return present, stripped in spec.choices
    return present, present


SAFE_TEXT = re.compile(r'^[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*$')


def _safe_choices(spec: FieldSpec) -> bool:
    """Choice names that JSON writes between quotes unchanged (XML names always are)."""
    return bool(spec.choices) and all(SAFE_TEXT.match(c) for c in spec.choices)


def _fast_fragment(spec: FieldSpec, value: pl.Expr) -> pl.Expr:
    """``"path":value`` by plain concatenation where no escaping can be needed (numbers,
    dates, checked date-times and choice names): several times quicker than JSON encoding."""
    key = pl.lit(json_key(spec.path) + ":")
    if spec.kind in ("integer", "decimal"):
        return key + value.cast(pl.String)
    if spec.kind in ("date", "datetime") or (spec.kind == "select_one" and _safe_choices(spec)):
        return key + pl.lit('"') + value + pl.lit('"')
    if spec.kind == "select_multiple" and _safe_choices(spec):
        return key + pl.lit('["') + value.list.join('","') + pl.lit('"]')
    return _fragment(spec.path, value)


def _fragment(path: str, value: pl.Expr) -> pl.Expr:
    """``"path":value`` as JSON, written by Polars exactly as ``json.dumps`` would (but for
    tiny floats, see :func:`_redo_tiny`); null where there is no answer."""
    return (
        pl.when(value.is_not_null())
        .then(pl.struct(value.alias(path)).struct.json_encode())
        .str.strip_prefix("{")
        .str.strip_suffix("}")
    )


def _object(fragments: list[pl.Expr]) -> pl.Expr:
    if not fragments:
        return pl.lit("{}")
    return pl.concat_str(
        [pl.lit("{"), pl.concat_str(fragments, separator=",", ignore_nulls=True), pl.lit("}")]
    )


VALUE = "\x00v:"  # typed answer of a field
FRAGMENT = "\x00f:"  # "path":[…] of a repeat field, per submission
TINY = "\x00tiny"
BAD = "bad"


def _tiny(value: pl.Expr) -> pl.Expr:
    return ((value.abs() < 1e-4) & (value != 0)).fill_null(False)


def _answer_columns(
    plan: FormPlan, scope: str | None, values: dict[str, pl.Expr]
) -> dict[str, tuple[pl.Expr, pl.DataType]]:
    """Each question's typed answer in this frame, by its name, as skip logic reads it:
    ``${name}`` (choices of a select_multiple joined by spaces, as the form holds them). A
    question of the form with no column here reads as unanswered."""
    return {
        spec.name: _answer_of(spec, spec.path in values)
        for spec in plan.fields
        if spec.repeat in (None, scope)
    }


def _answer_of(spec: FieldSpec, present: bool) -> tuple[pl.Expr, pl.DataType]:
    column = pl.col(VALUE + spec.path)
    if not present:
        return pl.lit(None, dtype=pl.String), pl.String()
    if spec.kind == "select_multiple":
        return column.list.join(" "), pl.String()
    if spec.kind == "integer":
        return column, pl.Int64()
    if spec.kind == "decimal":
        return column, pl.Float64()
    return column, pl.String()


class _SkipLogic(Compiler):
    """The analysis' compiler of XLSForm conditions, reading ``${name}`` from the typed
    answers of the frame being checked."""

    def __init__(self, expression: Expression, answers: dict[str, tuple[pl.Expr, pl.DataType]]):
        super().__init__(expression, {name: dtype for name, (_, dtype) in answers.items()})
        self.answers = answers

    def compile(self, node: Node) -> Typed:
        if isinstance(node, FieldNode) and node.name in self.answers:
            expr, dtype = self.answers[node.name]
            return Typed(Type.FIELD, expr, dtype=dtype)
        return super().compile(node)


@functools.lru_cache(maxsize=512)
def _parsed(condition: str) -> Expression:
    """A form's condition parsed once, not once per batch of every file."""
    return parse_expression(condition)


def _asked(spec: FieldSpec, answers: dict[str, tuple[pl.Expr, pl.DataType]]) -> pl.Expr | None:
    """Whether ``spec`` was asked, row by row: true without skip logic; its conditions
    evaluated where they can be; None where one cannot (a function or a question this
    importer cannot read), so that ``required`` is then not enforced rather than a correct
    export refused."""
    asked = pl.lit(True)
    for condition in spec.relevant:
        try:
            compiler = _SkipLogic(_parsed(condition), answers)
            asked = asked & compiler.boolean(compiler.compile(compiler.expression.node))
        except ExpressionError:
            return None
    return asked


# What a constraint's ``.`` (the answer being checked) is read as: a name no form can give a
# question, since XLSForm names cannot start with two underscores and a digit.
CURRENT = "__0current"
# A lone ``.`` in a constraint, found past quoted text, ``${…}`` and numbers (``0.5``, ``.5``).
_CURRENT_ANSWER = re.compile(
    r"""'[^']*'|"[^"]*"|\$\{[^}]*\}|\d*\.\d+|\d+\.?|(?<![\w.])\.(?![\w.])"""
)


def _constraint_held(
    spec: FieldSpec, answers: dict[str, tuple[pl.Expr, pl.DataType]]
) -> pl.Expr | None:
    """Whether each row's answer to ``spec`` meets the form's constraint, as ODK Collect would
    have checked it; None where the constraint cannot be evaluated here (a function or a
    question this importer cannot read), so that it is not enforced rather than a correct
    submission refused."""
    condition = _CURRENT_ANSWER.sub(
        lambda found: "${" + CURRENT + "}" if found.group(0) == "." else found.group(0),
        spec.constraint,
    )
    try:
        compiler = _SkipLogic(_parsed(condition), {**answers, CURRENT: _answer_of(spec, True)})
        return compiler.boolean(compiler.compile(compiler.expression.node))
    except ExpressionError:
        return None


@dataclass
class Checked:
    frame: pl.DataFrame  # ROW, kept columns, VALUE+path per answered field, TINY, BAD
    problems: list[Problem]
    paths: list[str]


@dataclass(frozen=True)
class CompiledChecks:
    """Every check of a frame's answers as Polars expressions, built once for a frame's shape
    (its columns, the form and scope, the language of the messages) and then run on any number
    of frames of that shape: :func:`check_frame` builds and runs them on one frame of a file,
    :func:`check_answers` keeps them for the next submission from a phone with the same
    questions answered. One definition, whichever way the answers come."""

    checks: tuple[Check, ...]
    paths: tuple[str, ...]  # the answered fields, each typed into VALUE + path
    typed: tuple[pl.Expr, ...]
    selected: tuple[pl.Expr, ...]
    check_names: tuple[str, ...]

    @functools.cached_property
    def readable_alone(self) -> bool:
        """Whether :meth:`problems_of` can read these checks without Polars: every check is
        of an answer's type or a plain ``required``, not a constraint or a ``required``
        under skip logic (those are XLSForm expressions, which only the compiler to Polars
        evaluates)."""
        return all(check.rule in ("answer", "required") for check in self.checks)

    def problems_of(self, rows: Sequence[Mapping[str, str | None]], *, sheet: str) -> list[Problem]:
        """What :meth:`run` finds in a frame of these ``rows`` (each answer's text by path,
        rows numbered from 1), read in Python: for one submission that is a few string tests,
        where a Polars query costs a millisecond. The same checks, in the same order, with
        the same messages; each answer's type read as Polars reads it (:func:`typed_alone`,
        proven against Polars by the tests). Only where :attr:`readable_alone`."""
        problems: list[Problem] = []
        for number, row in enumerate(rows, start=1):
            for check in self.checks:
                spec = check.spec
                if spec is None:
                    raise AssertionError(check)
                text = row.get(spec.path)
                present, typed = typed_alone(spec, text)
                wrong = present and not typed if check.rule == "answer" else not typed
                if wrong:
                    value = text if check.rule == "answer" else None
                    problems.append(
                        Problem(
                            file=sheet,
                            row=number,
                            column=check.column,
                            message=_reported(check, value),
                        )
                    )
        return problems

    def run(self, frame: pl.DataFrame, *, sheet: str) -> Checked:
        # One query, not one per step: on a one-row frame (a phone's submission) each
        # query's own cost is most of the time.
        bad = pl.any_horizontal(self.check_names) if self.check_names else pl.lit(False)
        result = (
            frame.lazy()
            .with_columns(*self.typed)
            .select(*self.selected)
            .with_columns(bad.alias(BAD))
            .collect()
        )
        problems: list[Problem] = []
        if self.check_names and result.get_column(BAD).any():
            for row in result.filter(pl.col(BAD)).iter_rows(named=True):
                for index, check in enumerate(self.checks):
                    if not row[f"\x00check{index}"]:
                        continue
                    value = row.get(f"\x00value{index}")
                    problems.append(
                        Problem(
                            file=sheet,
                            row=int(row[ROW]) if row[ROW] is not None else None,
                            column=check.column,
                            message=_reported(check, value),
                        )
                    )
        for name in [c for c in result.columns if c.startswith(("\x00check", "\x00value"))]:
            result.drop_in_place(name)  # in place: no further query
        return Checked(frame=result, problems=problems, paths=list(self.paths))


def check_frame(
    frame: pl.DataFrame,
    *,
    plan: FormPlan,
    scope: str | None,
    mapping: ColumnMap,
    sheet: str,
    keep: dict[str, pl.Expr],
) -> Checked:
    """Every answer of ``frame`` typed and checked (``scope``: None for the main sheet, or a
    repeat path); every problem named by sheet, row and column."""
    compiled = compile_checks(
        plan=plan, scope=scope, mapping=mapping, columns=set(frame.columns), keep=keep
    )
    return compiled.run(frame, sheet=sheet)


def compile_checks(
    *,
    plan: FormPlan,
    scope: str | None,
    mapping: ColumnMap,
    columns: set[str],
    keep: dict[str, pl.Expr],
) -> CompiledChecks:
    """The checks of a frame with ``columns`` (see :class:`CompiledChecks`), their messages in
    the active language."""
    checks: list[Check] = []
    values: dict[str, pl.Expr] = {}
    tiny: list[pl.Expr] = []
    for spec in plan.fields:
        if spec.repeat != scope:
            continue
        first = len(checks)
        value = _field_expr(spec, mapping, columns, checks)
        for check in checks[first:]:
            check.unclassed = spec.protected and not spec.classed
            check.rule, check.spec = "answer", spec
        if value is None:
            continue
        values[spec.path] = value
        if spec.kind == "decimal":
            tiny.append(_tiny(pl.col(VALUE + spec.path)))
    answers = _answer_columns(plan, scope, values)
    for spec in plan.fields:
        if spec.repeat != scope or not spec.constraint or spec.path not in values:
            continue
        held = _constraint_held(spec, answers)
        if held is None:
            continue
        answer, _dtype = _answer_of(spec, True)
        checks.append(
            Check(
                answer.is_not_null() & ~held,
                mapping.fields.get(spec.path, spec.path),
                _("“{value}” does not meet the form's constraint: {constraint}").replace(
                    "{constraint}", spec.constraint
                ),
                answer.cast(pl.String),
                spec.protected,
                unclassed=spec.protected and not spec.classed,
                rule="constraint",
                spec=spec,
            )
        )
    for spec in plan.fields:
        if spec.repeat != scope or not spec.required:
            continue
        asked = _asked(spec, answers)
        if asked is None:
            continue  # skip logic beyond what can be evaluated: not enforced
        answered = pl.col(VALUE + spec.path).is_not_null() if spec.path in values else pl.lit(False)
        checks.append(
            Check(
                ~answered & asked,
                mapping.fields.get(spec.path, spec.path),
                _("This question requires an answer."),
                None,
                spec.protected,
                rule="required" if not spec.relevant else "required_where_relevant",
                spec=spec,
            )
        )
    masks = [check.mask.fill_null(False).alias(f"\x00check{i}") for i, check in enumerate(checks)]
    shown = [
        check.value.alias(f"\x00value{i}")
        for i, check in enumerate(checks)
        if check.value is not None
    ]
    return CompiledChecks(
        checks=tuple(checks),
        paths=tuple(values),
        typed=tuple(expr.alias(VALUE + path) for path, expr in values.items()),
        selected=(
            pl.col(ROW),
            *[expr.alias(name) for name, expr in keep.items()],
            *[pl.col(VALUE + path) for path in values],
            (pl.any_horizontal(tiny) if tiny else pl.lit(False)).alias(TINY),
            *masks,
            *shown,
        ),
        check_names=tuple(f"\x00check{i}" for i in range(len(checks))),
    )


def _reported(check: Check, value: Any) -> str:
    """The problem's message with the answer in it, or "•••" where the question is personal
    or sensitive (or not classed yet, which counts as personal, and the message says so)."""
    if not check.hide:
        return check.message.replace("{value}", str(value or ""))
    message = check.message.replace("{value}", "•••")
    if check.unclassed:
        message += " " + _(
            "The answer is hidden because the question has no sensitivity class yet; class it "
            "on the form's sensitivity page to see such answers here."
        )
    return message


# The checks kept for a form's phone submissions: one set per scope, answered questions and
# language, at most this many for one form version (beyond, they are built afresh).
COMPILED_MAX = 256


def _compiled_for(plan: FormPlan, scope: str | None, paths: tuple[str, ...]) -> CompiledChecks:
    """The checks of a frame of answers to ``paths`` (by path, as :func:`check_answers` makes
    it), built once per plan and kept on it: a phone's submission then costs one small query,
    not the building of every expression again."""
    key = (scope, paths, get_language())
    found = plan.compiled_checks.get(key)
    if not isinstance(found, CompiledChecks):
        if len(plan.compiled_checks) >= COMPILED_MAX:
            plan.compiled_checks.clear()
        found = compile_checks(
            plan=plan,
            scope=scope,
            mapping=ColumnMap(fields={path: path for path in paths}),
            columns={ROW, *paths},
            keep={},
        )
        plan.compiled_checks[key] = found
    return found


def _frame(rows: Sequence[Mapping[str, str | None]], paths: tuple[str, ...]) -> pl.DataFrame:
    """A frame of answers' texts, a row per repetition numbered from 1, a column per path."""
    return pl.DataFrame(
        {
            ROW: list(range(1, len(rows) + 1)),
            **{path: [row.get(path) for row in rows] for path in paths},
        },
        schema={ROW: pl.Int64, **dict.fromkeys(paths, pl.String)},
    )


def _problems(
    plan: FormPlan, scope: str | None, rows: Sequence[Mapping[str, str | None]], *, name: str
) -> list[Problem]:
    paths = tuple(
        spec.path
        for spec in (plan.main_fields if scope is None else plan.repeats[scope])
        if any(isinstance(row.get(spec.path), str) for row in rows)
    )
    compiled = _compiled_for(plan, scope, paths)
    if compiled.readable_alone:
        return compiled.problems_of(rows, sheet=name)
    return compiled.run(_frame(rows, paths), sheet=name).problems


def check_answers(texts: dict[str, Any], plan: FormPlan, *, name: str) -> list[Problem]:
    """The checks of an import, run on one submission that arrives alone (from ODK Collect):
    the same checks (:func:`compile_checks`, built once per form version and answered
    questions) as on a one-row frame, and on a frame of each repeat's repetitions, so that a
    phone and a file get the same verdict on the same answers. Where every check is of an
    answer's type or a plain ``required``, they are read in Python
    (:meth:`CompiledChecks.problems_of`) rather than by a Polars query; constraints and
    skip logic go through Polars. ``texts`` holds each answer as the text sent, by field
    path, shaped as stored answers are (a repeat's field a list per level, see
    :mod:`amniyat.fieldwork.imports.schema`; None where unanswered). Problems name the field
    by its path."""
    main = {
        spec.path: text
        for spec in plan.main_fields
        if isinstance(text := texts.get(spec.path), str)
    }
    problems = _problems(plan, None, [main], name=name)
    for repeat, items in _repetitions_by_repeat(nested_answers(texts, plan), plan).items():
        rows = [
            {path: value for path, value in item.items() if isinstance(value, str)}
            for item in items
        ]
        problems += _problems(plan, repeat, rows, name=name)
    return problems


def _repetitions_by_repeat(
    nested: dict[str, Any], plan: FormPlan
) -> dict[str, list[dict[str, Any]]]:
    """Every repetition of every repeat, at any depth, from :func:`nested_answers`."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(items: Any, repeat: str) -> None:
        for item in items if isinstance(items, list) else []:
            found.setdefault(repeat, []).append(item)
            for child in plan.child_repeats(repeat):
                walk(item.get(child), child)

    for repeat in plan.child_repeats(None):
        walk(nested.get(repeat), repeat)
    return found


def assemble(frame: pl.DataFrame, plan: FormPlan) -> pl.DataFrame:
    """The three JSON texts of each submission from its typed answers (VALUE columns) and its
    repeats (FRAGMENT columns): all answers, canonical (sorted keys, compact, UTF-8, as
    ``Submission.hash_content`` writes them); the public and internal ones; the protected."""
    made: dict[str, pl.Expr] = {}
    for column in frame.columns:
        if column.startswith(VALUE):
            path = column[len(VALUE) :]
            value = pl.col(column)
            # Concatenating with a null gives null: no answer, no fragment.
            made[FRAGMENT + path] = _fast_fragment(plan.by_path[path], value)
    frame = frame.with_columns(*[expr.alias(name) for name, expr in made.items()])
    parts = {
        column[len(FRAGMENT) :]: pl.col(column)
        for column in frame.columns
        if column.startswith(FRAGMENT)
    }
    keys = sorted(parts)
    protected = {k for k in keys if plan.by_path[k].protected}
    result = frame.with_columns(
        _object([parts[k] for k in keys]).alias("combined"),
        _object([parts[k] for k in keys if k not in protected]).alias("data"),
        _object([parts[k] for k in keys if k in protected]).alias("protected"),
    )
    return _redo_tiny(result)


def _redo_tiny(result: pl.DataFrame) -> pl.DataFrame:
    """Polars writes 1e-05 as 0.00001, ``json.dumps`` as 1e-05; the stored JSON must be the
    very bytes ``Submission.hash_content`` hashes, so the (rare) rows with such numbers are
    written again by Python."""
    if TINY not in result.columns or not result[TINY].any():
        return result
    indices = result.with_row_index("\x00i").filter(pl.col(TINY))["\x00i"].to_list()
    updates = {}
    for output in ("combined", "data", "protected"):
        texts = result[output].to_list()
        for i in indices:
            texts[i] = json.dumps(
                json.loads(texts[i]),
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
        updates[output] = pl.Series(output, texts, dtype=pl.String)
    return result.with_columns(*updates.values())


# ----------------------------------------------------------------------------------------
# Whole files.


def _instance_expr(mapping: ColumnMap, columns: set[str]) -> pl.Expr:
    parts = [
        (pl.lit(prefix) + pl.col(column).str.strip_chars())
        if prefix
        else pl.col(column).str.strip_chars()
        for column, prefix in mapping.instance
        if column in columns
    ]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce([pl.when(p != "").then(p) for p in parts])


def _review_state(column: str) -> pl.Expr:
    """A review column's states as ``Submission.ReviewState`` values ("" where none or
    unknown)."""
    text = pl.col(column).str.strip_chars().str.to_lowercase()
    uid = text.str.extract(r"validation_status_([a-z_]+)", 1)
    word = pl.coalesce(uid, text).str.replace_all(r"[\s_]", "")
    return word.replace_strict(REVIEW_STATES, default="", return_dtype=pl.String).fill_null("")


def _datetime_expr(column: str, frame: pl.DataFrame | None = None) -> pl.Expr:
    """Date-times in any of the ISO 8601 forms exports use, as UTC. Parsing with one format
    is several times quicker than trying them all, so where the whole batch fits the format
    of its first value, only that one is used."""
    text = pl.col(column).str.strip_chars()

    def parse(fmt: str) -> pl.Expr:
        return text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")

    if frame is not None and column in frame.columns:
        sample = frame[column].drop_nulls().head(1)
        for fmt in DATETIME_FORMATS:
            if (
                sample.len()
                and pl.select(
                    sample.str.strip_chars().str.to_datetime(
                        fmt, strict=False, time_zone="UTC", time_unit="us"
                    )
                ).item()
                is not None
            ):
                failures = frame.select(
                    (pl.col(column).is_not_null() & parse(fmt).is_null()).any()
                ).item()
                if not failures:
                    return parse(fmt)
                break
    return pl.coalesce([parse(fmt) for fmt in DATETIME_FORMATS])


KEY = "\x00key"  # a repeat row: the key of the repetition or submission holding it


@dataclass
class RepeatRows:
    """The checked rows of one repeat, wherever they came from (a sheet, a zip member, the
    lists of a JSON file): :data:`ROW`, :data:`KEY` (what holds the row), :data:`OWN` (the
    row's own key, which rows of repeats inside it name; may be null), a ``VALUE`` column per
    answered field, :data:`BAD` and :data:`TINY`."""

    path: str
    sheet: str  # where the rows were read, for problems
    column: str  # the column that names what holds each row, for problems
    frame: pl.DataFrame
    paths: list[str]


def _grouped(rows: RepeatRows) -> pl.DataFrame:
    """One row per holder (:data:`KEY`): each field's values as a list, one item per
    repetition in the order read, and whether any repetition is bad or holds a tiny number."""
    return (
        rows.frame.sort(ROW, maintain_order=True)  # repetitions of one row keep their order
        .group_by(KEY, maintain_order=True)
        .agg(*[pl.col(VALUE + path) for path in rows.paths], pl.col(BAD).any(), pl.col(TINY).any())
    )


def nest_repeats(rows: list[RepeatRows], plan: FormPlan) -> tuple[list[RepeatRows], list[Problem]]:
    """Rows of repeats inside repeats folded into the rows of the repetitions holding them,
    innermost first: each holding row gets, for every field of the inner repeat (and of those
    inside it), the list of its repetitions' answers (``[]`` where it has none), and is bad
    where any of them is. What is left are the top-level repeats' rows, and problems for rows
    whose holder is not in the file."""
    by_path: dict[str, RepeatRows] = {}
    for item in rows:
        if item.path in by_path:
            known = by_path[item.path]
            known.frame = pl.concat([known.frame, item.frame], how="diagonal_relaxed")
            known.paths = list(dict.fromkeys([*known.paths, *item.paths]))
        else:
            by_path[item.path] = item
    problems: list[Problem] = []
    for path in sorted(by_path, key=plan.depth, reverse=True):
        holder_path = plan.parent_repeat.get(path)
        if holder_path is None:
            continue
        inner = by_path.pop(path)
        holder = by_path.get(holder_path)
        if holder is None or holder.frame[OWN].null_count() == holder.frame.height:
            problems.append(
                Problem(
                    file=inner.sheet,
                    row=None,
                    column=inner.column,
                    message=_(
                        "The rows of the repeat “{repeat}” belong to repetitions of “{holder}”, "
                        "which the file does not have with their keys."
                    ).format(repeat=path, holder=holder_path),
                )
            )
            continue
        grouped = _grouped(inner)
        lost = grouped.filter(~pl.col(KEY).is_in(holder.frame[OWN].drop_nulls().implode()))
        for key in lost[KEY].head(REPORT_ORPHANS).to_list():
            problems.append(
                Problem(
                    file=inner.sheet,
                    row=None,
                    column=inner.column,
                    message=_(
                        "Repeat rows belong to the repetition “{key}” of “{holder}”, which is "
                        "not in the file."
                    ).format(key=key, holder=holder_path),
                )
            )
        schema = grouped.schema
        joined = holder.frame.join(
            grouped.rename({BAD: "\x00inner_bad", TINY: "\x00inner_tiny"}),
            left_on=OWN,
            right_on=KEY,
            how="left",
            maintain_order="left",
        )
        holder.frame = joined.with_columns(
            *[
                pl.col(VALUE + p).fill_null(pl.lit([], dtype=schema[VALUE + p]))
                for p in inner.paths
            ],
            (pl.col(BAD) | pl.col("\x00inner_bad").fill_null(False)).alias(BAD),
            (pl.col(TINY) | pl.col("\x00inner_tiny").fill_null(False)).alias(TINY),
        ).drop("\x00inner_bad", "\x00inner_tiny")
        holder.paths = [*holder.paths, *inner.paths]
    return list(by_path.values()), problems


def repeat_fragments(rows: RepeatRows, plan: FormPlan) -> pl.DataFrame:
    """A top-level repeat's rows → per submission key (:data:`KEY`): ``"path":[v1,v2,…]``
    for each field of the repeat (one value per repetition, null where unanswered; a list per
    repetition for the fields of the repeats inside it), and whether any row is bad or holds a
    tiny number. A field no repetition answered gets no fragment: it is unanswered."""
    grouped = _grouped(rows)
    return grouped.select(
        pl.col(KEY),
        *[
            _repeat_fragment(
                path, plan.depth(plan.by_path[path].repeat), pl.col(VALUE + path)
            ).alias(FRAGMENT + path)
            for path in rows.paths
        ],
        pl.col(BAD),
        pl.col(TINY),
    )


def _repeat_fragment(path: str, depth: int, value: pl.Expr) -> pl.Expr:
    leaves = value
    for _level in range(depth - 1):
        leaves = leaves.list.eval(pl.element().explode())
    answered = (leaves.list.drop_nulls().list.len() > 0).fill_null(False)
    return pl.when(answered).then(_fragment(path, value))


@dataclass
class RepeatTable:
    sheet: str
    column: str  # the column naming each row's submission
    parts: pl.DataFrame  # see repeat_fragments


@dataclass
class Converted:
    frame: pl.DataFrame  # ROW, instance_id, combined, data, protected, submitted_at, …, bad
    problems: list[Problem]
    rows: int


class SubmissionReader:
    """A file of submissions read against a form: its header checked at once, its rows
    checked and encoded batch by batch."""

    def __init__(
        self,
        path: Path,
        workdir: Path,
        *,
        plan: FormPlan,
        file_format: str,
        name: str,
        places: dict[str, int] | None = None,
    ) -> None:
        self.plan = plan
        self.name = name
        self.places = places or {}
        self.workbook: Workbook = open_workbook(path, workdir, file_format=file_format, name=name)
        self.file_format = self.workbook.file_format
        # Sentences for the report about how the file was read (its labels, for one).
        self.notes: list[str] = []
        if _is_legacy_kobo(self.workbook.main.header):
            self.workbook.main = _unanswered_na(self.workbook.main)
            self.workbook.repeats = [_unanswered_na(sheet) for sheet in self.workbook.repeats]
            self.notes.append(
                _(
                    "“{file}” is an older KoboToolbox export, which writes “n/a” for a question "
                    "that was not asked or not answered: such cells were read as unanswered."
                ).format(file=name)
            )
        self.headers: dict[str, dict[str, str]] = {}  # sheet -> column as read -> as in the file
        self.workbook = _numbered_repeats(self.workbook, plan)
        if self.file_format == "kobo-json":  # names, always
            self.main_map = map_columns(self.workbook.main.header, plan, None)
        else:
            self.workbook.main, self.main_map = self._by_labels(self.workbook.main, None)
        problems: list[Problem] = []
        if self.file_format != "kobo-json":
            problems += header_problems(self.workbook.main, self.main_map, plan, None)
        self.repeat_sheets: list[tuple[Sheet, str, ColumnMap]] = []
        for sheet in self.workbook.repeats:
            sheet, repeat = self._repeat_by_labels(sheet, self._repeat_of(sheet))
            if repeat is None:
                problems.append(
                    Problem(
                        file=sheet.name,
                        row=None,
                        column="",
                        message=_("“{sheet}” matches no repeat of the form.").format(
                            sheet=sheet.name
                        ),
                    )
                )
                continue
            mapping = map_columns(sheet.header, plan, repeat)
            problems += header_problems(sheet, mapping, plan, repeat)
            self.repeat_sheets.append((sheet, repeat, mapping))
        if problems:
            raise FileRejected(
                _("“{file}” does not fit the form; nothing was imported.").format(file=name),
                problems,
            )
        self.json_unknown: set[str] = set()
        self.parents_seen: list[pl.Series] = []

    def _by_labels(self, sheet: Sheet, scope: str | None) -> tuple[Sheet, ColumnMap]:
        """``sheet`` and its columns' map; read through the form's labels where its headers
        are labels rather than names (KoboToolbox's default export)."""
        mapping = map_columns(sheet.header, self.plan, scope)
        if not mapping.unknown:
            return sheet, mapping
        reading = label_reading(sheet.header, self.plan, scope, mapping.unknown, sheet.name)
        if reading is None:
            return sheet, mapping
        note = _(
            "“{file}” names questions and choices by their labels ({language}); they were "
            "matched to the form's names."
        ).format(file=sheet.name, language=reading.language)
        if note not in self.notes:
            self.notes.append(note)
        # Problems name a column as the file does, not as it was renamed.
        self.headers.setdefault(sheet.name, {}).update(
            {renamed: header for header, renamed in reading.columns.items()}
        )
        sheet = read_by_labels(sheet, reading)
        return sheet, map_columns(sheet.header, self.plan, scope)

    def _repeat_by_labels(self, sheet: Sheet, repeat: str | None) -> tuple[Sheet, str | None]:
        """A repeat sheet and its repeat, through the labels where its headers are labels:
        the repeat whose labels explain most of them."""
        if repeat is not None and not map_columns(sheet.header, self.plan, repeat).unknown:
            return sheet, repeat
        best: tuple[int, str | None] = (0, repeat)
        for path in [repeat] if repeat is not None else list(self.plan.repeats):
            mapping = map_columns(sheet.header, self.plan, path)
            reading = label_reading(sheet.header, self.plan, path, mapping.unknown, sheet.name)
            if reading is not None and len(reading.columns) > best[0]:
                best = (len(reading.columns), path)
        if best[1] is None:
            return sheet, None
        sheet, _mapping = self._by_labels(sheet, best[1])
        return sheet, best[1]

    @property
    def total_rows(self) -> int | None:
        return self.workbook.main.total_rows

    def _repeat_of(self, sheet: Sheet) -> str | None:
        """The repeat a sheet holds: the one it is named after (KoboToolbox names a sheet by
        the repeat, ODK Central a file ``{form}-{repeat}.csv``), else the one whose fields
        its columns name most (repeats inside repeats often share names such as ``name``)."""
        title = sheet.name.rsplit("›", 1)[-1].strip().removesuffix(".csv")
        named = [
            path
            for path, name in self.plan.repeat_names.items()
            if title == name[:31] or title.endswith(f"-{name}")
        ]
        if len(named) == 1:
            return named[0]
        best, best_score = None, 0
        for path in named or self.plan.repeats:
            mapping = map_columns(sheet.header, self.plan, path)
            score = len(mapping.fields) + len(mapping.choices)
            if score > best_score:
                best, best_score = path, score
        return best

    # -- repeats kept apart (XLSX sheets, zip members) ---------------------------------

    def _load_repeat_tables(self, chunk_size: int) -> tuple[list[RepeatTable], list[Problem]]:
        rows: list[RepeatRows] = []
        problems: list[Problem] = []
        for sheet, path, mapping in self.repeat_sheets:
            parent_key = mapping.parent_key
            if parent_key is None:
                raise FileRejected(
                    _("“{sheet}” does not say which submission each row belongs to.").format(
                        sheet=sheet.name
                    )
                )
            own: pl.Expr = (
                pl.col(mapping.own_key).str.strip_chars()
                if mapping.own_key
                else pl.lit(None, dtype=pl.String)
            )
            pieces: list[pl.DataFrame] = []
            paths: list[str] = []
            for batch in sheet.read(chunk_size):
                checked = check_frame(
                    batch.main,
                    plan=self.plan,
                    scope=path,
                    mapping=mapping,
                    sheet=sheet.name,
                    keep={KEY: pl.col(parent_key).str.strip_chars(), OWN: own},
                )
                pieces.append(checked.frame)
                paths = checked.paths
                problems += checked.problems
            if pieces:
                rows.append(
                    RepeatRows(
                        path=path,
                        sheet=sheet.name,
                        column=parent_key,
                        frame=pl.concat(pieces),
                        paths=paths,
                    )
                )
        top, found = nest_repeats(rows, self.plan)
        problems += found
        tables = [
            RepeatTable(
                sheet=item.sheet, column=item.column, parts=repeat_fragments(item, self.plan)
            )
            for item in top
        ]
        return tables, problems

    def batches(self, chunk_size: int = 50_000) -> Iterator[Converted]:
        """The file's submissions, batch by batch; problems of repeat rows come with the first
        batch, problems found only at the end (repeat rows of no submission) last."""
        tables, pending = self._load_repeat_tables(chunk_size)
        for batch in self.workbook.main.read(chunk_size):
            converted = self._convert(batch, tables)
            if pending:
                converted.problems[:0] = pending
                pending = []
            converted.problems = self._as_in_file(converted.problems)
            yield converted
        orphans = pending + self._orphans(tables)
        if orphans:
            yield Converted(frame=pl.DataFrame(), problems=self._as_in_file(orphans), rows=0)

    def _as_in_file(self, problems: list[Problem]) -> list[Problem]:
        if not self.headers:
            return problems
        return [
            replace(p, column=self.headers.get(p.file, {}).get(p.column, p.column))
            for p in problems
        ]

    def _orphans(self, tables: list[RepeatTable]) -> list[Problem]:
        if not tables:
            return []
        seen = (
            pl.concat(self.parents_seen)
            if self.parents_seen
            else pl.Series(KEY, [], dtype=pl.String)
        )
        problems = []
        for table in tables:
            lost = table.parts.filter(~pl.col(KEY).is_in(seen.implode()))
            for key in lost[KEY].head(REPORT_ORPHANS).to_list():
                problems.append(
                    Problem(
                        file=table.sheet,
                        row=None,
                        column=table.column,
                        message=_(
                            "Repeat rows belong to submission “{key}”, which is not in the file."
                        ).format(key=key),
                    )
                )
        return problems

    def _convert(self, batch: Batch, tables: list[RepeatTable]) -> Converted:
        frame = batch.main
        mapping = self.main_map
        problems: list[Problem] = []
        if self.file_format == "kobo-json":
            mapping = map_columns(frame.columns, self.plan, None)
            problems += self._unknown_json(mapping)
        repeat_bad: list[str] = []
        if batch.repeats:
            frame, found = self._join_nested(frame, batch.repeats, repeat_bad)
            problems += found
        elif tables:
            own = mapping.own_key
            if own is None or own not in frame.columns:
                raise FileRejected(
                    _(
                        "“{file}” has repeat rows but no “_index” or “KEY” column to link them "
                        "to their submissions."
                    ).format(file=self.name)
                )
            key = pl.col(own).str.strip_chars().alias(KEY)
            keys = frame.select(key).to_series()
            self.parents_seen.append(keys)
            for index, table in enumerate(tables):
                # The batch's own repeat rows first: joining a batch to the whole table would
                # hash all of the file's repeat rows again for every batch.
                mine = table.parts.filter(pl.col(KEY).is_in(keys.implode()))
                renamed = mine.rename({BAD: f"\x00rbad{index}", TINY: f"\x00rtiny{index}"})
                frame = (
                    frame.with_columns(key)
                    .join(renamed, on=KEY, how="left", maintain_order="left")
                    .drop(KEY)
                )
                repeat_bad.append(str(index))
        keep = self._keep(mapping, frame)
        keep.update({c: pl.col(c) for c in frame.columns if c.startswith(FRAGMENT)})
        checked = check_frame(
            frame, plan=self.plan, scope=None, mapping=mapping, sheet=self.name, keep=keep
        )
        result = checked.frame
        problems += checked.problems
        bad = pl.col(BAD)
        tiny = pl.col(TINY)
        for number in repeat_bad:
            bad = bad | frame[f"\x00rbad{number}"].fill_null(False)
            tiny = tiny | frame[f"\x00rtiny{number}"].fill_null(False)
        if "\x00submitted_bad" in result.columns:
            bad = bad | pl.col("\x00submitted_bad")
            for row, value in (
                result.filter(pl.col("\x00submitted_bad"))
                .select(ROW, "\x00submitted_raw")
                .iter_rows()
            ):
                problems.append(
                    Problem(
                        file=self.name,
                        row=row,
                        column=mapping.submitted or "",
                        message=_("“{value}” is not a date and time.").format(value=value),
                    )
                )
        too_long = (pl.col("instance_id").str.len_chars() > INSTANCE_ID_MAX).fill_null(False)
        for row in result.filter(too_long)[ROW].to_list():
            problems.append(
                Problem(
                    file=self.name,
                    row=row,
                    column=mapping.instance[0][0] if mapping.instance else "",
                    message=_("The instance id is longer than 120 characters."),
                )
            )
        result = assemble(result.with_columns(bad | too_long, tiny), self.plan)
        return Converted(
            frame=result.select(ROW, *OUTPUT, BAD), problems=problems, rows=frame.height
        )

    def _unknown_json(self, mapping: ColumnMap) -> list[Problem]:
        problems = []
        for column in mapping.unknown + [c for c, _r in mapping.misplaced]:
            if column not in self.json_unknown:
                self.json_unknown.add(column)
                problems.append(
                    Problem(
                        file=self.name,
                        row=None,
                        column=column,
                        message=_(
                            "Unknown question “{column}”: the form has no such question."
                        ).format(column=column),
                    )
                )
        return problems

    def _keep(self, mapping: ColumnMap, frame: pl.DataFrame) -> dict[str, pl.Expr]:
        columns = set(frame.columns)
        keep: dict[str, pl.Expr] = {"instance_id": _instance_expr(mapping, columns)}
        submitted: pl.Expr = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
        if mapping.submitted and mapping.submitted in columns:
            parsed = _datetime_expr(mapping.submitted, frame)
            raw = pl.col(mapping.submitted)
            keep["\x00submitted_bad"] = (raw.is_not_null() & parsed.is_null()).fill_null(False)
            keep["\x00submitted_raw"] = raw
            submitted = parsed
        else:
            for xls_type in ("end", "start"):
                spec = next((f for f in self.plan.main_fields if f.xls_type == xls_type), None)
                if spec is not None and spec.protected:
                    continue  # an indexed copy would escape its class: the import's time
                column = mapping.fields.get(spec.path) if spec else None
                if column and column in columns:
                    submitted = _datetime_expr(column, frame)
                    break
        keep["submitted_at"] = submitted
        enumerator = self.plan.enumerator_field()
        source = mapping.fields.get(enumerator.path) if enumerator else None
        if not source or source not in columns:
            source = mapping.submitter if mapping.submitter in columns else None
        keep["enumerator"] = (
            pl.col(source).str.strip_chars().str.slice(0, 120).fill_null("")
            if source
            else pl.lit("")
        )
        place: pl.Expr = pl.lit(None, dtype=pl.Int64)
        if self.places:
            candidates = [
                pl.col(mapping.fields[f.path])
                .str.strip_chars()
                .str.to_lowercase()
                .replace_strict(self.places, default=None, return_dtype=pl.Int64)
                for f in self.plan.place_fields()
                if mapping.fields.get(f.path) in columns
            ]
            if candidates:
                place = pl.coalesce(candidates)
        keep["place_id"] = place
        keep["review_state"] = (
            _review_state(mapping.review) if mapping.review in columns else pl.lit("")
        )
        keep["version"] = (
            pl.col(mapping.version).str.strip_chars()
            if mapping.version in columns
            else pl.lit(None, dtype=pl.String)
        )
        return keep

    def _join_nested(
        self, frame: pl.DataFrame, repeats: dict[str, pl.DataFrame], repeat_bad: list[str]
    ) -> tuple[pl.DataFrame, list[Problem]]:
        """JSON: the repeats came inside each submission; check them, fold the inner ones
        into the repetitions holding them, and join the top-level ones on."""
        problems: list[Problem] = []
        lookup: dict[str, str] = {}
        for known in self.plan.repeats:
            for variant in _variants(known):
                lookup.setdefault(variant, known)
            lookup.setdefault(self.plan.repeat_names[known], known)
        found: list[RepeatRows] = []
        for key, rows in repeats.items():
            path = lookup.get(key)
            if path is None:
                if key not in self.json_unknown:
                    self.json_unknown.add(key)
                    problems.append(
                        Problem(
                            file=self.name,
                            row=None,
                            column=key,
                            message=_(
                                "Unknown repeat “{column}”: the form has no such repeat."
                            ).format(column=key),
                        )
                    )
                continue
            mapping = map_columns(rows.columns, self.plan, path)
            problems += self._unknown_json(mapping)
            checked = check_frame(
                rows,
                plan=self.plan,
                scope=path,
                mapping=mapping,
                sheet=self.name,
                keep={KEY: pl.col(PARENT), OWN: pl.col(OWN)},
            )
            problems += checked.problems
            found.append(
                RepeatRows(
                    path=path, sheet=self.name, column=key, frame=checked.frame, paths=checked.paths
                )
            )
        top, lost = nest_repeats(found, self.plan)
        problems += lost
        if top:
            frame = frame.with_columns(pl.col(ROW).cast(pl.String).alias(KEY))
        for index, item in enumerate(top):
            parts = repeat_fragments(item, self.plan).rename(
                {BAD: f"\x00rbad{index}", TINY: f"\x00rtiny{index}"}
            )
            frame = frame.join(parts, on=KEY, how="left", maintain_order="left")
            repeat_bad.append(str(index))
        return (frame.drop(KEY) if top else frame), problems
