"""Writing submissions out: labelled tables (CSV, XLSX) for people, and the KoboToolbox CSV,
XLSX and API JSON and ODK Central CSV/zip formats that the importers read back, value for value.

A cell reaches a CSV or XLSX file only through a :class:`CellWriter`, so no format can forget
to make it safe: numbers are written as numbers, and text that a spreadsheet would run as a
formula (OWASP's rule: starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
and the full-width ``＝``, ``＋``, ``－``, ``＠`` that some spreadsheets honour) gets a single
quote in front, unless it is a plain number such as ``-5``. The importers take that quote off
again (:func:`neutralise` and :func:`amniyat.fieldwork.imports.convert.unneutralise` are
each other's inverse for the ASCII characters). The Kobo JSON holds no cells: programs read it,
so its values are written as stored (see :func:`write_kobo_json`).

Repeats may hold repeats, at any depth. Each format writes them the way the tool it copies
does: KoboToolbox's XLSX a sheet per repeat, each row naming the row of the sheet above it;
its JSON the repetitions inside the repetition holding them; its legacy CSV numbered columns;
ODK Central's zip a CSV per repeat linked by ``PARENT_KEY`` and ``KEY``. Every writer walks
the same :func:`repetitions_in`, over the answers :func:`nested_answers` puts together.

Personal and sensitive answers are written only when the caller may see them; otherwise each
is replaced by ``•••``.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from django.utils.translation import gettext as _

from amniyat.core.cells import CellWriter, neutralise
from amniyat.fieldwork.imports.convert import unneutralise
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan, nested_answers, stored_answers
from amniyat.fieldwork.models import FormVersion, Submission

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_TYPES",
    "MASK",
    "CellWriter",
    "Children",
    "ExportRow",
    "Repetition",
    "masked_answers",
    "neutralise",
    "numbered_column",
    "odk_file_names",
    "repeat_children",
    "repeats_in_order",
    "repetitions_in",
    "rows_of",
    "stored_answers",
    "write_export",
    "write_kobo_csv",
    "write_kobo_json",
    "write_kobo_xlsx",
    "write_odk_csv",
    "write_odk_zip",
    "write_table_csv",
    "write_table_xlsx",
]
MASK = "•••"
EXPORT_FORMATS = ("csv", "xlsx", "kobo-csv", "kobo-xlsx", "kobo-json", "odk-csv", "odk-zip")


@dataclass
class ExportRow:
    instance_id: str
    submitted_at: datetime.datetime
    enumerator: str
    place: str
    answers: dict[str, Any]
    review_state: str = ""  # Submission.ReviewState
    version: str = ""  # the form version it was filled in


def rows_of(
    submissions: Iterable[Submission], *, plan: FormPlan, reveal: bool
) -> Iterator[ExportRow]:
    """Submissions as export rows, with protected answers masked unless ``reveal``."""
    depths = _protected_depths(plan)
    names: dict[int, str] = {}

    def version_of(pk: int) -> str:
        # A form has a few versions: each named once, not fetched with every row.
        if pk not in names:
            names[pk] = str(
                FormVersion.objects.filter(pk=pk).values_list("version", flat=True).first() or ""
            )
        return names[pk]

    for submission in submissions:
        answers = stored_answers(submission.data, submission.protected_data or "")
        if not reveal:
            answers = _masked(answers, depths, plan)
        yield ExportRow(
            instance_id=submission.instance_id,
            submitted_at=submission.submitted_at,
            # Copied out of the answers: masked as its question's class says.
            enumerator=MASK
            if submission.enumerator and not reveal and plan.enumerator_protected
            else submission.enumerator,
            place=submission.place.name if submission.place_id and submission.place else "",
            answers=answers,
            review_state=submission.review_state,
            version=version_of(submission.form_version_id),
        )


def _protected_depths(plan: FormPlan) -> dict[str, int]:
    """Each protected field's path → how many repeats hold it (the depth of its lists)."""
    return {spec.path: plan.depth(spec.repeat) for spec in plan.fields if spec.protected}


def _masked(answers: dict[str, Any], depths: dict[str, int], plan: FormPlan) -> dict[str, Any]:
    """``answers`` with every protected answer, and every answer the form does not know,
    replaced by :data:`MASK`: in a repeat, each repetition's answer (unanswered ones too), so
    that the repetitions keep their places and nothing tells which were answered; a
    select_multiple as one mask, not one per choice."""
    masked: dict[str, Any] = {}
    for key, value in answers.items():
        if key in depths:
            masked[key] = _mask_at(value, depths[key])
        elif key not in plan.by_path:
            masked[key] = _mask_at(value, _list_depth(value))
        else:
            masked[key] = value
    return masked


def _mask_at(value: Any, depth: int) -> Any:
    if depth > 0 and isinstance(value, list):
        return [_mask_at(item, depth - 1) for item in value]
    return MASK


def _list_depth(value: Any) -> int:
    """How deep lists go in an answer the form does not know (it might be in a repeat)."""
    if not isinstance(value, list):
        return 0
    return 1 + max((_list_depth(item) for item in value), default=0)


def masked_answers(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    return _masked(answers, _protected_depths(plan), plan)


def _text(value: Any) -> str:
    """An answer as the text a KoboToolbox or ODK export holds (as given: the cell writer
    makes it safe)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _cell(value: Any) -> Any:
    """An answer as a spreadsheet cell: numbers stay numbers, a select_multiple is one text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    return _text(value) if value is not None else None


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


# ----------------------------------------------------------------------------------------
# Repeats inside repeats


@dataclass(frozen=True)
class Repetition:
    """One repetition of a repeat in one submission."""

    repeat: str
    # Its number in each repeat holding it and in its own, outermost first, from 1:
    # ``(2, 1)`` is the first incident of the second member.
    numbers: tuple[int, ...]
    # Its answers by field path (and, under each inner repeat's path, that repeat's
    # repetitions, as :func:`nested_answers` gives them).
    answers: dict[str, Any]


Children = dict[str | None, list[str]]


def repeat_children(plan: FormPlan) -> Children:
    """Each repeat (None: the submission itself) → the repeats directly inside it, in form
    order: :meth:`FormPlan.child_repeats` for all of them at once."""
    children: Children = {None: [], **{repeat: [] for repeat in plan.repeats}}
    for repeat, parent in plan.parent_repeat.items():
        children.setdefault(parent, []).append(repeat)
    return children


def repeats_in_order(children: Children) -> list[str]:
    """Every repeat, each followed by the repeats inside it (the order of the form)."""
    order: list[str] = []

    def visit(holder: str | None) -> None:
        for repeat in children.get(holder, []):
            order.append(repeat)
            visit(repeat)

    visit(None)
    return order


def repetitions_in(nested: dict[str, Any], children: Children) -> Iterator[Repetition]:
    """Every repetition in a submission's :func:`nested_answers`, each one before the
    repetitions inside it."""

    def walk(
        holder: dict[str, Any], repeats: list[str], numbers: tuple[int, ...]
    ) -> Iterator[Repetition]:
        for repeat in repeats:
            items = holder.get(repeat)
            if not isinstance(items, list):
                continue
            for number, item in enumerate(items, start=1):
                answers = item if isinstance(item, dict) else {}
                at = (*numbers, number)
                yield Repetition(repeat=repeat, numbers=at, answers=answers)
                yield from walk(answers, children.get(repeat, []), at)

    return walk(nested, children.get(None, []), ())


def _relative(path: str, holder: str | None) -> str:
    """``path`` from inside ``holder`` (None: the submission)."""
    if holder is not None and path.startswith(f"{holder}/"):
        return path[len(holder) + 1 :]
    return path


# Characters a sheet name may not hold (Excel); a name is at most 31 characters, and no two
# sheets of a workbook may share one, whatever their case.
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(first: str, repeats: list[str], plan: FormPlan) -> dict[str | None, str]:
    """The first sheet's name (key None) and each repeat's, after its last name, made
    unique by a ``~2``, ``~3``… (as ODK Central numbers its files)."""
    taken: set[str] = set()

    def claim(wanted: str) -> str:
        name = _NOT_IN_SHEET_NAMES.sub("_", wanted).strip("'")[:31] or "data"
        candidate, count = name, 1
        while candidate.lower() in taken:
            count += 1
            candidate = f"{name[: 31 - len(str(count)) - 1]}~{count}"
        taken.add(candidate.lower())
        return candidate

    names: dict[str | None, str] = {None: claim(first)}
    for repeat in repeats:
        names[repeat] = claim(plan.repeat_names[repeat])
    return names


class _Spill:
    """Rows waiting in temporary files, one per repeat, until their sheet or column layout
    can be written: a write-only workbook writes one sheet after another, and a numbered
    column's place is known only once every row has been seen. A million submissions never
    sit in memory."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.files: dict[str, IO[str]] = {}
        try:
            for key in keys:
                self.files[key] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        except BaseException:
            self.close()
            raise

    def write(self, key: str, row: Any) -> None:
        self.files[key].write(json.dumps(row, ensure_ascii=False) + "\n")

    def read(self, key: str) -> Iterator[Any]:
        handle = self.files[key]
        handle.seek(0)
        for line in handle:
            yield json.loads(line)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------
# Labelled tables, for people


def _label_value(spec: FieldSpec, value: Any, language: str) -> Any:
    if value is None:
        return None
    if value == MASK:
        return MASK
    if spec.kind == "select_one":
        return spec.choice_label(str(value), language)
    if spec.kind == "select_multiple" and isinstance(value, list):
        return ", ".join(spec.choice_label(str(v), language) for v in value)
    return _cell(value)


def table_header(plan: FormPlan, language: str) -> list[str]:
    """The main table's header: the submission, its answers, then per repeat its number of
    entries (for a repeat inside a repeat, all of its entries in the submission: the
    incidents of every member of a household)."""
    header = [_("instance id"), _("submitted"), _("place"), _("enumerator")]
    header += [spec.label(language) for spec in plan.main_fields]
    header += [
        _("{repeat}: number of entries").format(repeat=plan.repeat_names[path])
        for path in repeats_in_order(repeat_children(plan))
    ]
    return header


def table_row(
    plan: FormPlan,
    row: ExportRow,
    language: str,
    repetitions: list[Repetition] | None = None,
) -> list[Any]:
    """A submission's row in the labelled table (:func:`table_header`); ``repetitions``
    where the caller has walked them already."""
    children = repeat_children(plan)
    if repetitions is None:
        repetitions = list(repetitions_in(nested_answers(row.answers, plan), children))
    counts = Counter(repetition.repeat for repetition in repetitions)
    values: list[Any] = [
        row.instance_id,
        _utc(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
        row.place,
        row.enumerator,
    ]
    values += [
        _label_value(spec, row.answers.get(spec.path), language) for spec in plan.main_fields
    ]
    values += [counts[path] for path in repeats_in_order(children)]
    return values


def write_table_csv(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow], language: str) -> None:
    """The submissions as a table with labels (one row each, repeats as their numbers of
    entries: the workbook has their answers)."""
    writer = CellWriter.for_csv(out)
    writer.row(table_header(plan, language))
    for row in rows:
        writer.row(table_row(plan, row, language))


def table_repeat_header(plan: FormPlan, repeat: str, language: str) -> list[str]:
    """A repeat's sheet in the labelled workbook: the submission's instance id, the entry's
    number in each repeat holding it and in its own (“members: entry number” 2, “incidents:
    entry number” 1: the first incident of the second member), then its answers."""
    return [
        _("instance id"),
        *[
            _("{repeat}: entry number").format(repeat=plan.repeat_names[path])
            for path in plan.repeat_chain(repeat)
        ],
        *[spec.label(language) for spec in plan.repeats[repeat]],
    ]


def write_table_xlsx(
    path: Path | IO[bytes], plan: FormPlan, rows: Iterable[ExportRow], language: str
) -> None:
    """The labelled table on the first sheet, then a sheet per repeat (inner repeats too),
    each row naming its submission and where it sits (:func:`table_repeat_header`)."""
    from openpyxl import Workbook

    children = repeat_children(plan)
    order = repeats_in_order(children)
    names = _sheet_names(_("Submissions"), order, plan)
    book = Workbook(write_only=True)
    sheet = CellWriter.for_sheet(book.create_sheet(names[None]))
    sheet.row(table_header(plan, language))
    with _Spill(order) as spill:
        for row in rows:
            repetitions = list(repetitions_in(nested_answers(row.answers, plan), children))
            sheet.row(table_row(plan, row, language, repetitions))
            for repetition in repetitions:
                spill.write(
                    repetition.repeat,
                    [
                        row.instance_id,
                        *repetition.numbers,
                        *[
                            _label_value(spec, repetition.answers.get(spec.path), language)
                            for spec in plan.repeats[repetition.repeat]
                        ],
                    ],
                )
        for repeat in order:
            extra = CellWriter.for_sheet(book.create_sheet(names[repeat]))
            extra.row(table_repeat_header(plan, repeat, language))
            for values in spill.read(repeat):
                extra.row(values)
        book.save(path)


# ----------------------------------------------------------------------------------------
# KoboToolbox


KOBO_META = (
    "meta/instanceID",
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_submitted_by",
    "__version__",
    "_index",
)
# Review states as KoboToolbox's validation statuses (it has none for "edited").
KOBO_VALIDATION = {
    "approved": "validation_status_approved",
    "rejected": "validation_status_not_approved",
    "has_issues": "validation_status_on_hold",
}
# … and as ODK Central's review states.
ODK_REVIEW = {
    "approved": "approved",
    "rejected": "rejected",
    "has_issues": "hasIssues",
    "edited": "edited",
}


def _kobo_header(plan: FormPlan, *, choice_columns: bool) -> list[str]:
    header: list[str] = []
    for spec in plan.main_fields:
        header.append(spec.path)
        if choice_columns and spec.kind == "select_multiple":
            header += [f"{spec.path}/{choice}" for choice in spec.choices]
    return [*header, *KOBO_META]


def _kobo_values(
    plan: FormPlan, row: ExportRow, index: int, *, choice_columns: bool, cells: bool
) -> list[Any]:
    convert = _cell if cells else _text
    values: list[Any] = []
    for spec in plan.main_fields:
        value = row.answers.get(spec.path)
        values.append(convert(value))
        if choice_columns and spec.kind == "select_multiple":
            chosen = set(value) if isinstance(value, list) else set()
            empty = value is None or value == MASK
            values += ["" if empty else ("1" if c in chosen else "0") for c in spec.choices]
    return [
        *values,
        row.instance_id,
        index,
        row.instance_id.removeprefix("uuid:"),
        _utc(row.submitted_at).isoformat(),
        KOBO_VALIDATION.get(row.review_state, ""),
        row.enumerator,
        row.version,
        index,
    ]


def numbered_column(plan: FormPlan, repeat: str, numbers: tuple[int, ...], spec: FieldSpec) -> str:
    """A field of one repetition as KoboCAT's legacy CSV named its column: the outermost
    repeat's path, each repeat inside it from there, each with the repetition's number, then
    the field from its repeat: ``members[1]/incidents[2]/incident_type``."""
    parts: list[str] = []
    holder: str | None = None
    for path, number in zip(plan.repeat_chain(repeat), numbers, strict=True):
        parts.append(f"{_relative(path, holder)}[{number}]")
        holder = path
    parts.append(_relative(spec.path, repeat))
    return "/".join(parts)


def write_kobo_csv(
    out: TextIO, plan: FormPlan, rows: Iterable[ExportRow], *, delimiter: str = ";"
) -> None:
    """KoboToolbox's CSV export: the main sheet as formpack writes it (a select_multiple
    also split into a column per choice), with the repeats as KoboCAT's legacy CSV export
    wrote them: numbered columns after the main answers (``members[1]/member_name``,
    ``members[1]/incidents[2]/incident_type``), one set per repetition any submission of the
    export has at that place (KoboCAT's layout: as many incidents of the first member as the
    first member with most incidents had), in form order. Unlike KoboCAT, unanswered is an
    empty cell, not "n/a", and formpack's ``_id`` and ``_index`` stay, which tells the
    importer so. A repetition with no answer, in it or in the repeats inside it, leaves
    nothing in the file (as in KoboCAT's).

    The columns are known only once every submission has been seen: the rows wait in a
    temporary file meanwhile."""
    children = repeat_children(plan)
    order = repeats_in_order(children)
    seen: dict[str, set[tuple[int, ...]]] = {repeat: set() for repeat in order}
    main_count = len(_kobo_header(plan, choice_columns=True)) - len(KOBO_META)
    with _Spill(["rows"]) as spill:
        for index, row in enumerate(rows, start=1):
            values = _kobo_values(plan, row, index, choice_columns=True, cells=False)
            repeated: list[list[Any]] = []
            for repetition in repetitions_in(nested_answers(row.answers, plan), children):
                seen[repetition.repeat].add(repetition.numbers)
                texts = [
                    _text(repetition.answers.get(spec.path))
                    for spec in plan.repeats[repetition.repeat]
                ]
                if any(texts):
                    repeated.append([repetition.repeat, repetition.numbers, texts])
            spill.write("rows", [values, repeated])
        numbered: list[str] = []
        starts: dict[tuple[str, tuple[int, ...]], int] = {}
        for repeat in order:
            for numbers in sorted(seen[repeat]):
                starts[(repeat, numbers)] = len(numbered)
                numbered += [
                    numbered_column(plan, repeat, numbers, spec) for spec in plan.repeats[repeat]
                ]
        header = _kobo_header(plan, choice_columns=True)
        writer = CellWriter.for_csv(out, delimiter=delimiter)
        writer.row([*header[:main_count], *numbered, *header[main_count:]])
        for values, repeated in spill.read("rows"):
            cells = [""] * len(numbered)
            for repeat, numbers, texts in repeated:
                start = starts[(repeat, tuple(numbers))]
                cells[start : start + len(texts)] = texts
            writer.row([*values[:main_count], *cells, *values[main_count:]])


def write_kobo_xlsx(
    path: Path | IO[bytes], plan: FormPlan, rows: Iterable[ExportRow], *, title: str = "data"
) -> None:
    """KoboToolbox's XLSX export (formpack's): the submissions on the first sheet, then a
    sheet per repeat, inner repeats too, in form order. A repeat's sheet has its fields, then
    ``_index`` (its rows numbered from 1 across all submissions), ``_parent_table_name`` and
    ``_parent_index``: the sheet of what holds the repetition and the ``_index`` of its row
    there (the submission's on the first sheet; for an incident inside a member, the
    member's row on the members' sheet), then the submission's ``_submission__uuid``."""
    from openpyxl import Workbook

    children = repeat_children(plan)
    order = repeats_in_order(children)
    names = _sheet_names(title or "data", order, plan)
    book = Workbook(write_only=True)
    main = CellWriter.for_sheet(book.create_sheet(names[None]))
    main.row(_kobo_header(plan, choice_columns=False))
    counters = dict.fromkeys(order, 0)
    with _Spill(order) as spill:
        for index, row in enumerate(rows, start=1):
            main.row(_kobo_values(plan, row, index, choice_columns=False, cells=True))
            uuid = row.instance_id.removeprefix("uuid:")
            placed: dict[tuple[str, tuple[int, ...]], int] = {}
            for repetition in repetitions_in(nested_answers(row.answers, plan), children):
                repeat = repetition.repeat
                counters[repeat] += 1
                placed[(repeat, repetition.numbers)] = counters[repeat]
                parent = plan.parent_repeat.get(repeat)
                parent_index = (
                    index if parent is None else placed[(parent, repetition.numbers[:-1])]
                )
                spill.write(
                    repeat,
                    [
                        *[
                            _cell(repetition.answers.get(spec.path))
                            for spec in plan.repeats[repeat]
                        ],
                        counters[repeat],
                        names[parent],
                        parent_index,
                        uuid,
                    ],
                )
        for repeat in order:
            sheet = CellWriter.for_sheet(book.create_sheet(names[repeat]))
            sheet.row(
                [spec.path for spec in plan.repeats[repeat]]
                + ["_index", "_parent_table_name", "_parent_index", "_submission__uuid"]
            )
            for values in spill.read(repeat):
                sheet.row(values)
        book.save(path)


# Kinds whose text the importer reads as it is; it takes a quote off the text of the others.
_READ_AS_IS = frozenset({"integer", "decimal", "date", "datetime", "select_one", "select_multiple"})


def _json_answer(spec: FieldSpec, value: Any) -> str:
    """An answer as Kobo's API gives it: the text as stored. JSON is read by programs (Kobo's
    API clients, pandas, R), never run by a spreadsheet, and a quote against formulas would
    corrupt the value for each of them, so none is added. One exception keeps the round trip
    exact: the importer takes a leading quote before a formula character off free text in
    every format, so free text that itself starts that way gets one more quote."""
    text = _text(value)
    if spec.kind in _READ_AS_IS or unneutralise(text) == text:
        return text
    return "'" + text


def _json_repetitions(
    items: list[Any], repeat: str, plan: FormPlan, children: Children
) -> list[dict[str, Any]]:
    """A repeat's repetitions as Kobo's API gives them: an object each, keyed by full path,
    a repeat inside it as a list of such objects under its own path."""
    records = []
    for item in items:
        answers = item if isinstance(item, dict) else {}
        record: dict[str, Any] = {
            spec.path: _json_answer(spec, answers[spec.path])
            for spec in plan.repeats[repeat]
            if answers.get(spec.path) is not None
        }
        for child in children.get(repeat, []):
            inner = answers.get(child)
            if isinstance(inner, list) and inner:
                record[child] = _json_repetitions(inner, child, plan, children)
        records.append(record)
    return records


def write_kobo_json(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow]) -> None:
    """KoboToolbox's API answer: ``{"count", "next", "previous", "results": [...]}``, each
    repeat a list of objects inside its submission, a repeat inside a repeat a list inside
    each repetition (:func:`_json_repetitions`). No cells, hence no :class:`CellWriter`:
    values as stored (:func:`_json_answer`)."""
    children = repeat_children(plan)
    out.write('{"next": null, "previous": null, "results": [')
    count = 0
    for index, row in enumerate(rows, start=1):
        record: dict[str, Any] = {}
        for spec in plan.main_fields:
            value = row.answers.get(spec.path)
            if value is not None:
                record[spec.path] = _json_answer(spec, value)
        nested = nested_answers(row.answers, plan)
        for repeat in children[None]:
            items = nested.get(repeat)
            if isinstance(items, list) and items:
                record[repeat] = _json_repetitions(items, repeat, plan, children)
        record["meta/instanceID"] = row.instance_id
        record["_id"] = index
        record["_uuid"] = row.instance_id.removeprefix("uuid:")
        record["_submission_time"] = _utc(row.submitted_at).isoformat()
        validation = KOBO_VALIDATION.get(row.review_state)
        record["_validation_status"] = {"uid": validation} if validation else {}
        record["_submitted_by"] = row.enumerator or None
        record["__version__"] = row.version
        out.write(("" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        count += 1
    out.write(f'], "count": {count}}}\n')


# ----------------------------------------------------------------------------------------
# ODK Central


def _odk(path: str) -> str:
    return path.replace("/", "-")


def _odk_header(plan: FormPlan) -> list[str]:
    return [
        "SubmissionDate",
        *[_odk(spec.path) for spec in plan.main_fields],
        "meta-instanceID",
        "KEY",
        "SubmitterName",
        "ReviewState",
        "FormVersion",
    ]


def _odk_time(moment: datetime.datetime) -> str:
    utc = _utc(moment)
    # ODK Central writes milliseconds; more digits where the time has them, so nothing is lost.
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.isoformat(timespec=spec) + "Z"


def _odk_values(plan: FormPlan, row: ExportRow) -> list[str]:
    return [
        _odk_time(row.submitted_at),
        *[_text(row.answers.get(spec.path)) for spec in plan.main_fields],
        row.instance_id,
        row.instance_id,
        row.enumerator,
        ODK_REVIEW.get(row.review_state, ""),
        row.version,
    ]


def write_odk_csv(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow]) -> None:
    """ODK Central's CSV of submissions (group paths joined with ``-``): the submissions
    only, as Central's; its zip has the repeats."""
    writer = CellWriter.for_csv(out)
    writer.row(_odk_header(plan))
    for row in rows:
        writer.row(_odk_values(plan, row))


# Characters ODK Central's file names leave out (``sanitize-filename``).
_NOT_IN_FILE_NAMES = re.compile(r'[/\\?<>:*|"\x00-\x1f\x7f]')


def odk_file_names(form_id: str, order: list[str], plan: FormPlan) -> dict[str, str]:
    """Each repeat's file in Central's zip: ``{form}-{repeat name}.csv``, or where several
    repeats share a name ``{form}-{name}~1.csv``, ``~2`` … in form order (central-backend's
    ``addSubstreamsToArchive``)."""
    totals = Counter(plan.repeat_names[repeat] for repeat in order)
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for repeat in order:
        name = plan.repeat_names[repeat]
        if totals[name] > 1:
            counts[name] += 1
            name = f"{name}~{counts[name]}"
        names[repeat] = _NOT_IN_FILE_NAMES.sub("", f"{form_id}-{name}.csv")
    return names


def write_odk_zip(
    path: Path | IO[bytes], plan: FormPlan, rows: Iterable[ExportRow], *, form_id: str = "form"
) -> None:
    """ODK Central's zip (``submissions.csv.zip``): ``{form}.csv``, then a CSV per repeat,
    inner repeats too (:func:`odk_file_names`). A repeat's CSV names its fields from inside
    the repeat (groups joined with ``-``), then ``PARENT_KEY`` and ``KEY``: the ``KEY`` of a
    repetition is its holder's ``KEY`` (the instance id for a top-level repeat), ``/``, the
    repeat's path from there and its number, as in ``uuid:…/children/child[1]/toy[2]``;
    ``PARENT_KEY`` is its holder's ``KEY``."""
    children = repeat_children(plan)
    order = repeats_in_order(children)
    file_names = odk_file_names(form_id, order, plan)
    with tempfile.TemporaryDirectory() as folder:
        main_path = Path(folder) / _NOT_IN_FILE_NAMES.sub("", f"{form_id}.csv")
        repeat_paths = {repeat: Path(folder) / f"{index}.csv" for index, repeat in enumerate(order)}
        handles = {
            repeat: p.open("w", encoding="utf-8", newline="") for repeat, p in repeat_paths.items()
        }
        try:
            writers = {repeat: CellWriter.for_csv(handle) for repeat, handle in handles.items()}
            for repeat, writer in writers.items():
                writer.row(
                    [_odk(_relative(spec.path, repeat)) for spec in plan.repeats[repeat]]
                    + ["PARENT_KEY", "KEY"]
                )
            with main_path.open("w", encoding="utf-8", newline="") as main:
                writer = CellWriter.for_csv(main)
                writer.row(_odk_header(plan))
                for row in rows:
                    writer.row(_odk_values(plan, row))
                    keys: dict[tuple[str, tuple[int, ...]], str] = {}
                    for repetition in repetitions_in(nested_answers(row.answers, plan), children):
                        repeat = repetition.repeat
                        parent = plan.parent_repeat.get(repeat)
                        parent_key = (
                            row.instance_id
                            if parent is None
                            else keys[(parent, repetition.numbers[:-1])]
                        )
                        key = f"{parent_key}/{_relative(repeat, parent)}[{repetition.numbers[-1]}]"
                        keys[(repeat, repetition.numbers)] = key
                        writers[repeat].row(
                            [
                                _text(repetition.answers.get(spec.path))
                                for spec in plan.repeats[repeat]
                            ]
                            + [parent_key, key]
                        )
        finally:
            for handle in handles.values():
                handle.close()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(main_path, main_path.name)
            for repeat in order:
                archive.write(repeat_paths[repeat], file_names[repeat])


# ----------------------------------------------------------------------------------------
# One export, whichever the format

# Each format's file name extension and content type.
EXPORT_TYPES = {
    "csv": ("csv", "text/csv; charset=utf-8"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "kobo-csv": ("csv", "text/csv; charset=utf-8"),
    "kobo-xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "kobo-json": ("json", "application/json"),
    "odk-csv": ("csv", "text/csv; charset=utf-8"),
    "odk-zip": ("zip", "application/zip"),
}


def write_export(
    target: IO[bytes],
    export_format: str,
    plan: FormPlan,
    rows: Iterable[ExportRow],
    *,
    language: str,
    form_id: str,
) -> None:
    """Write ``rows`` to ``target`` in ``export_format`` (one of :data:`EXPORT_FORMATS`): the
    text formats in UTF-8 with a byte-order mark, so that spreadsheets read them right."""
    if export_format == "csv":
        _text_file(target, lambda out: write_table_csv(out, plan, rows, language))
    elif export_format == "xlsx":
        write_table_xlsx(target, plan, rows, language)
    elif export_format == "kobo-csv":
        _text_file(target, lambda out: write_kobo_csv(out, plan, rows))
    elif export_format == "kobo-xlsx":
        write_kobo_xlsx(target, plan, rows, title=form_id)
    elif export_format == "kobo-json":
        _text_file(target, lambda out: write_kobo_json(out, plan, rows))
    elif export_format == "odk-csv":
        _text_file(target, lambda out: write_odk_csv(out, plan, rows))
    elif export_format == "odk-zip":
        write_odk_zip(target, plan, rows, form_id=form_id)
    else:
        raise ValueError(f"Unknown export format {export_format!r}.")


def _text_file(target: IO[bytes], write: Callable[[TextIO], None]) -> None:
    out = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    try:
        write(out)
        out.flush()
    finally:
        out.detach()  # the target is its caller's to close
