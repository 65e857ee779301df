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

Personal and sensitive answers are written only when the caller may see them; otherwise each
is replaced by ``•••``.
"""

from __future__ import annotations

import datetime
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.utils.translation import gettext as _

from amniyat.core.cells import CellWriter, neutralise
from amniyat.fieldwork.imports.convert import unneutralise
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan, repetitions, stored_answers
from amniyat.fieldwork.models import Submission

__all__ = [
    "EXPORT_FORMATS",
    "MASK",
    "CellWriter",
    "ExportRow",
    "masked_answers",
    "neutralise",
    "rows_of",
    "stored_answers",
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


def rows_of(
    submissions: Iterable[Submission], *, plan: FormPlan, reveal: bool
) -> Iterator[ExportRow]:
    """Submissions as export rows, with protected answers masked unless ``reveal``."""
    protected = plan.protected_paths
    known = set(plan.by_path)
    for submission in submissions:
        answers = stored_answers(submission.data, submission.protected_data or "")
        if not reveal:
            answers = _masked(answers, protected, known)
        yield ExportRow(
            instance_id=submission.instance_id,
            submitted_at=submission.submitted_at,
            # Copied out of the answers: masked as its question's class says.
            enumerator=MASK
            if submission.enumerator and not reveal and plan.enumerator_protected
            else submission.enumerator,
            place=submission.place.name if submission.place_id and submission.place else "",
            answers=answers,
        )


def _masked(answers: dict[str, Any], protected: set[str], known: set[str]) -> dict[str, Any]:
    masked: dict[str, Any] = {}
    for key, value in answers.items():
        if key in protected or key not in known:
            masked[key] = [MASK] * len(value) if isinstance(value, list) else MASK
        else:
            masked[key] = value
    return masked


def masked_answers(answers: dict[str, Any], plan: FormPlan) -> dict[str, Any]:
    return _masked(answers, plan.protected_paths, set(plan.by_path))


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
    header = [_("instance id"), _("submitted"), _("place"), _("enumerator")]
    header += [spec.label(language) for spec in plan.main_fields]
    header += [
        _("{repeat}: number of entries").format(repeat=name) for name in plan.repeat_names.values()
    ]
    return header


def table_row(plan: FormPlan, row: ExportRow, language: str) -> list[Any]:
    values: list[Any] = [
        row.instance_id,
        _utc(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
        row.place,
        row.enumerator,
    ]
    values += [
        _label_value(spec, row.answers.get(spec.path), language) for spec in plan.main_fields
    ]
    values += [len(repetitions(row.answers, plan.repeats[path])) for path in plan.repeat_names]
    return values


def write_table_csv(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow], language: str) -> None:
    writer = CellWriter.for_csv(out)
    writer.row(table_header(plan, language))
    for row in rows:
        writer.row(table_row(plan, row, language))


def write_table_xlsx(path: Path, plan: FormPlan, rows: Iterable[ExportRow], language: str) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = CellWriter.for_sheet(book.create_sheet(_("Submissions")[:31]))
    sheet.row(table_header(plan, language))
    repeat_rows: dict[str, list[list[Any]]] = {path: [] for path in plan.repeats}
    for row in rows:
        sheet.row(table_row(plan, row, language))
        for repeat, fields in plan.repeats.items():
            for item in repetitions(row.answers, fields):
                repeat_rows[repeat].append(
                    [row.instance_id]
                    + [_label_value(spec, item.get(spec.path), language) for spec in fields]
                )
    for repeat, fields in plan.repeats.items():
        extra = CellWriter.for_sheet(book.create_sheet(plan.repeat_names[repeat][:31]))
        extra.row([_("instance id")] + [spec.label(language) for spec in fields])
        for values in repeat_rows[repeat]:
            extra.row(values)
    book.save(path)


# ----------------------------------------------------------------------------------------
# KoboToolbox


def _kobo_header(plan: FormPlan, *, choice_columns: bool) -> list[str]:
    header: list[str] = []
    for spec in plan.main_fields:
        header.append(spec.path)
        if choice_columns and spec.kind == "select_multiple":
            header += [f"{spec.path}/{choice}" for choice in spec.choices]
    return [
        *header,
        "meta/instanceID",
        "_id",
        "_uuid",
        "_submission_time",
        "_submitted_by",
        "_index",
    ]


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
        row.enumerator,
        index,
    ]


def write_kobo_csv(
    out: TextIO, plan: FormPlan, rows: Iterable[ExportRow], *, delimiter: str = ";"
) -> None:
    """KoboToolbox's CSV export: the main sheet only (repeats need XLSX or JSON)."""
    writer = CellWriter.for_csv(out, delimiter=delimiter)
    writer.row(_kobo_header(plan, choice_columns=True))
    for index, row in enumerate(rows, start=1):
        writer.row(_kobo_values(plan, row, index, choice_columns=True, cells=False))


def write_kobo_xlsx(
    path: Path, plan: FormPlan, rows: Iterable[ExportRow], *, title: str = "data"
) -> None:
    """KoboToolbox's XLSX export: the submissions on the first sheet, one sheet per repeat
    linked by ``_parent_index``."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    main = CellWriter.for_sheet(book.create_sheet(title[:31] or "data"))
    main.row(_kobo_header(plan, choice_columns=False))
    # Repeat rows wait in temporary files until the main sheet is written (write-only
    # workbooks write one sheet after another).
    spill = {
        path_: tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        for path_ in plan.repeats
    }
    try:
        for index, row in enumerate(rows, start=1):
            main.row(_kobo_values(plan, row, index, choice_columns=False, cells=True))
            for repeat, handle in spill.items():
                for item in repetitions(row.answers, plan.repeats[repeat]):
                    handle.write(json.dumps([index, row.instance_id, item]) + "\n")
        for repeat, handle in spill.items():
            fields = plan.repeats[repeat]
            sheet = CellWriter.for_sheet(book.create_sheet(plan.repeat_names[repeat][:31]))
            sheet.row(
                [spec.path for spec in fields]
                + ["_index", "_parent_table_name", "_parent_index", "_submission__uuid"]
            )
            handle.seek(0)
            for number, line in enumerate(handle, start=1):
                parent, instance_id, item = json.loads(line)
                sheet.row(
                    [_cell(item.get(spec.path)) for spec in fields]
                    + [number, title[:31], parent, instance_id.removeprefix("uuid:")]
                )
        book.save(path)
    finally:
        for handle in spill.values():
            handle.close()


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


def write_kobo_json(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow]) -> None:
    """KoboToolbox's API answer: ``{"count", "next", "previous", "results": [...]}``, each
    repeat a list of objects inside its submission. No cells, hence no :class:`CellWriter`:
    values as stored (:func:`_json_answer`)."""
    out.write('{"next": null, "previous": null, "results": [')
    count = 0
    for index, row in enumerate(rows, start=1):
        record: dict[str, Any] = {}
        for spec in plan.main_fields:
            value = row.answers.get(spec.path)
            if value is not None:
                record[spec.path] = _json_answer(spec, value)
        for repeat, fields in plan.repeats.items():
            items = repetitions(row.answers, fields)
            if items:
                record[repeat] = [
                    {
                        spec.path: _json_answer(spec, item[spec.path])
                        for spec in fields
                        if item.get(spec.path) is not None
                    }
                    for item in items
                ]
        record["meta/instanceID"] = row.instance_id
        record["_id"] = index
        record["_uuid"] = row.instance_id.removeprefix("uuid:")
        record["_submission_time"] = _utc(row.submitted_at).isoformat()
        record["_submitted_by"] = row.enumerator or None
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
    ]


def write_odk_csv(out: TextIO, plan: FormPlan, rows: Iterable[ExportRow]) -> None:
    """ODK Central's CSV of submissions (group paths joined with ``-``)."""
    writer = CellWriter.for_csv(out)
    writer.row(_odk_header(plan))
    for row in rows:
        writer.row(_odk_values(plan, row))


def write_odk_zip(
    path: Path, plan: FormPlan, rows: Iterable[ExportRow], *, form_id: str = "form"
) -> None:
    """ODK Central's zip: ``{form}.csv`` and ``{form}-{repeat}.csv`` per repeat, linked by
    ``PARENT_KEY``."""
    with tempfile.TemporaryDirectory() as folder:
        main_path = Path(folder) / f"{form_id}.csv"
        repeat_paths = {
            repeat: Path(folder) / f"{form_id}-{name}.csv"
            for repeat, name in plan.repeat_names.items()
        }
        handles = {
            repeat: p.open("w", encoding="utf-8", newline="") for repeat, p in repeat_paths.items()
        }
        try:
            writers = {repeat: CellWriter.for_csv(handle) for repeat, handle in handles.items()}
            for repeat, writer in writers.items():
                writer.row(
                    [_odk(spec.path) for spec in plan.repeats[repeat]] + ["PARENT_KEY", "KEY"]
                )
            with main_path.open("w", encoding="utf-8", newline="") as main:
                writer = CellWriter.for_csv(main)
                writer.row(_odk_header(plan))
                for row in rows:
                    writer.row(_odk_values(plan, row))
                    for repeat, repeat_writer in writers.items():
                        name = plan.repeat_names[repeat]
                        items = repetitions(row.answers, plan.repeats[repeat])
                        for number, item in enumerate(items, start=1):
                            repeat_writer.row(
                                [_text(item.get(spec.path)) for spec in plan.repeats[repeat]]
                                + [row.instance_id, f"{row.instance_id}/{name}[{number}]"]
                            )
        finally:
            for handle in handles.values():
                handle.close()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(main_path, main_path.name)
            for repeat_path in repeat_paths.values():
                archive.write(repeat_path, repeat_path.name)
