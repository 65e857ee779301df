"""Reading a file that names questions and choices by their labels, as KoboToolbox's default
export ("Labels") does, instead of by their XML names.

A sheet is read this way only when some of its columns match no question by path or name but
do match the labels of one of the form's languages. Each such header is a question's label,
alone or after its groups' labels (``External Characteristics/How many segments …``, Kobo's
"include groups in headers"); a multiple-choice question's 0/1 columns are its header, "/"
and a choice's label. Answers to choice questions are turned back into choice names; a list of
several choices in one cell (labels joined by spaces) is cut where the choices' labels allow
exactly one reading, and otherwise the question's 0/1 columns are read instead. A label two
questions (or two choices of one question) share cannot say which is meant: the file is
refused with the label named, never guessed.

The sheet then reads as if it had been exported with XML names, so everything after it (the
checks, the report, the stored JSON) is the same as for any other file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import polars as pl
from django.utils.translation import gettext as _

from amniyat.core.text import format_list
from amniyat.fieldwork.imports.errors import FileRejected
from amniyat.fieldwork.imports.schema import FieldSpec, FormPlan
from amniyat.fieldwork.imports.sources import Batch, Sheet


@dataclass
class LabelReading:
    """How one sheet's labels map to the form's names."""

    language: str
    columns: dict[str, str] = field(default_factory=dict)  # header -> column as named by paths
    # Column (as renamed) of a choice question -> choice label -> choice name.
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    multiple: set[str] = field(default_factory=set)  # of those, the multiple-choice ones
    split: dict[str, list[str]] = field(default_factory=dict)  # multiple-choice -> 0/1 columns


def _clean(text: str) -> str:
    return " ".join(text.split())


def _labels_by_language(fields: list[FieldSpec]) -> dict[str, dict[str, list[FieldSpec]]]:
    by_language: dict[str, dict[str, list[FieldSpec]]] = {}
    for spec in fields:
        for language, label in spec.labels.items():
            if label:
                by_language.setdefault(language, {}).setdefault(_clean(label), []).append(spec)
    return by_language


def _question_of(
    header: str, labels: dict[str, list[FieldSpec]]
) -> tuple[list[FieldSpec], str] | None:
    """The questions a header names by its label, alone or after its groups' labels, and the
    label matched; None if it names none."""
    text = _clean(header)
    if text in labels:
        return labels[text], text
    # Groups' labels first, joined by "/": the longest label that ends the header.
    parts = text.split("/")
    for start in range(1, len(parts)):
        tail = "/".join(parts[start:]).strip()
        if tail in labels:
            return labels[tail], tail
    return None


def _choice_labels(spec: FieldSpec, language: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in spec.choices:
        label = _clean(spec.choice_labels.get(name, {}).get(language, "") or name)
        found.setdefault(label, []).append(name)
    return found


def label_reading(
    header: list[str], plan: FormPlan, scope: str | None, unknown: list[str], sheet: str
) -> LabelReading | None:
    """How ``header``'s labels map to the form, in the language that explains most of the
    ``unknown`` columns; None where no language explains any."""
    fields = [spec for spec in plan.fields if spec.repeat == scope]
    best: LabelReading | None = None
    best_count = 0
    for language, labels in _labels_by_language(fields).items():
        reading = LabelReading(language=language)
        questions: dict[str, str] = {}  # path -> header
        for column in header:
            if column not in unknown:
                continue
            found = _question_of(column, labels)
            if found is None:
                continue
            specs, label = found
            if len(specs) > 1:
                raise FileRejected(
                    _(
                        "“{file}” names its columns by their labels, and the label “{label}” "
                        "belongs to several questions ({paths}): export the file again with "
                        "“XML values and headers”."
                    ).format(file=sheet, label=label, paths=format_list([s.path for s in specs]))
                )
            spec = specs[0]
            questions[spec.path] = column
            reading.columns[column] = spec.path
            if spec.kind in ("select_one", "select_multiple"):
                by_label = _choice_labels(spec, language)
                reading.choices[spec.path] = {
                    label: names[0] for label, names in by_label.items() if len(names) == 1
                }
                if spec.kind == "select_multiple":
                    reading.multiple.add(spec.path)
        # A multiple-choice question's 0/1 columns: its header, "/", a choice's label.
        for path in reading.multiple:
            spec = plan.by_path[path]
            for label, names in _choice_labels(spec, language).items():
                column = f"{questions[path]}/{label}"
                if column in header and column in unknown and len(names) == 1:
                    reading.columns[column] = f"{path}/{names[0]}"
                    reading.split.setdefault(path, []).append(column)
        if len(reading.columns) > best_count:
            best, best_count = reading, len(reading.columns)
    return best


def _segmentations(text: str, labels: dict[str, str]) -> list[list[str]]:
    """The ways ``text`` reads as choice labels joined by spaces: none, one, or two of them
    (two meaning "more than one"). Counted from the end of the text backwards, each position
    once, so that a long or hostile cell costs time in proportion to its length."""
    words = text.split()
    longest = max((len(label.split()) for label in labels), default=0)
    # ways[i]: how many readings words[i:] has (capped at 2); step[i]: the first choice of one
    # of them and where the rest starts.
    ways = [0] * (len(words) + 1)
    step: list[tuple[str, int] | None] = [None] * (len(words) + 1)
    ways[len(words)] = 1
    for start in range(len(words) - 1, -1, -1):
        for end in range(start + 1, min(len(words), start + longest) + 1):
            name = labels.get(" ".join(words[start:end]))
            if name is None or not ways[end]:
                continue
            if step[start] is None:
                step[start] = (name, end)
            ways[start] = min(2, ways[start] + ways[end])
    if not ways[0]:
        return []
    reading, at = [], 0
    while (taken := step[at]) is not None:
        reading.append(taken[0])
        at = taken[1]
    return [reading] if ways[0] == 1 else [reading, reading]


def _names_of(value: str | None, labels: dict[str, str], multiple: bool) -> str | None:
    """A cell's choice labels as the choice names an export with XML names would hold; the
    cell unchanged where it does not read as labels (the checks then report it)."""
    if value is None or not value.strip():
        return value
    text = _clean(value)
    if not multiple:
        return labels.get(text, value)
    readings = _segmentations(text, labels)
    return " ".join(readings[0]) if len(readings) == 1 else value


def _renamed(frame: pl.DataFrame, reading: LabelReading) -> pl.DataFrame:
    return frame.rename({c: n for c, n in reading.columns.items() if c in frame.columns})


def _with_choice_names(frame: pl.DataFrame, reading: LabelReading) -> pl.DataFrame:
    updates = []
    for path, labels in reading.choices.items():
        if path not in frame.columns:
            continue
        multiple = path in reading.multiple
        values = frame[path].unique().to_list()
        mapping = {v: _names_of(v, labels, multiple) for v in values if v is not None}
        updates.append(pl.col(path).replace_strict(mapping, default=pl.col(path)))
    return frame.with_columns(updates) if updates else frame


def relabel(frame: pl.DataFrame, reading: LabelReading) -> pl.DataFrame:
    """A batch of the sheet as an export with XML names would give it. A multiple-choice
    cell whose labels read more than one way is left to the question's 0/1 columns where the
    file has them (the cell's column is left out), and otherwise to the checks."""
    renamed = _renamed(frame, reading)
    unreadable = [p for p in _ambiguous_multiple(renamed, reading) if reading.split.get(p)]
    return _with_choice_names(renamed, reading).drop(unreadable)


def _ambiguous_multiple(frame: pl.DataFrame, reading: LabelReading) -> set[str]:
    """Multiple-choice columns with a cell whose labels read more than one way."""
    found = set()
    for path in reading.multiple:
        if path not in frame.columns:
            continue
        labels = reading.choices[path]
        for value in frame[path].drop_nulls().unique().to_list():
            if value.strip() and len(_segmentations(_clean(value), labels)) != 1:
                found.add(path)
                break
    return found


def read_by_labels(sheet: Sheet, reading: LabelReading) -> Sheet:
    """``sheet`` read through ``reading`` (see :func:`relabel`)."""
    header = [reading.columns.get(column, column) for column in sheet.header]
    source: Callable[[int], Iterator[Batch]] = sheet.read

    def read(chunk_size: int) -> Iterator[Batch]:
        for batch in source(chunk_size):
            repeats = {key: relabel(rows, reading) for key, rows in batch.repeats.items()}
            yield Batch(main=relabel(batch.main, reading), repeats=repeats)

    return replace(sheet, header=header, read=read)
