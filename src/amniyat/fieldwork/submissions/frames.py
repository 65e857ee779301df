"""Submissions as a columnar frame for analysis, cached per form and version.

Analysis never loops over submissions in Python: it reads the stored answers once into a
Polars frame (one column per form field, typed from the form schema) and works on that. The
frame is cached on disk as Parquet, keyed by the form, its versions and the form's data
revision (which every write of its submissions changes), so a page view after no new data
reads the cache and a new submission, import, edit or deletion makes the next read rebuild it.

`submissions_frame` has one row per submission and the top-level questions; `repeat_frame` one
row per repetition of a repeat (a household member), at any depth, with that repetition's
answers, those of the repetitions holding it and its submission's (`form_repeats` describes the
repeats for indicators). A question is named alike in every frame (`analysis_columns`,
`repeat_columns`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl
from defusedxml import ElementTree
from django.conf import settings

from amniyat.analysis.indicators import Repeat, form_labels
from amniyat.fieldwork.imports.schema import FormPlan, build_plan
from amniyat.fieldwork.models import Form, FormVersion, Submission

_CHUNK = 20_000
# Bump when the way frames are built changes, so cached frames are rebuilt.
FRAME_FORMAT = 2
# Bump when the way repeat frames are built changes (the submissions frame is part of them, so
# FRAME_FORMAT counts too, through `data_key`).
REPEAT_FRAME_FORMAT = 1
_POLARS_TYPES: dict[str, pl.DataType] = {
    "integer": pl.Int64(),
    "decimal": pl.Float64(),
    "range": pl.Float64(),
}
_META_TYPES = frozenset({"_place_id", "_version_id", "_submitted_at"})
_SKIPPED_TYPES = frozenset({"note", "begin group", "end group", "begin repeat", "end repeat"})
_PROTECTED = frozenset({"personal", "sensitive"})
COUNT = "repeat"
"""The kind of a `repeat_columns` column that counts the repetitions of a repeat inside."""
_XFORMS = "{http://www.w3.org/2002/xforms}"


def analysis_columns(schema: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """{column name: (field path, type)} for the top-level answer fields of a schema.

    A field is named by its XLSForm ``name`` (what indicators write as ``${name}``); paths
    are only used where two fields share a name. Fields inside repeats belong to other
    frames and are left out here.
    """
    fields = [f for f in schema if f.get("type") not in _SKIPPED_TYPES and not f.get("repeat")]
    names = [f["name"] for f in fields]
    columns: dict[str, tuple[str, str]] = {}
    for field in fields:
        column = field["name"] if names.count(field["name"]) == 1 else field["path"]
        columns[column] = (field["path"], field.get("type", "text"))
    return columns


def repeat_columns(schema: Iterable[dict[str, Any]]) -> dict[str, dict[str, tuple[str, str]]]:
    """{repeat path: {column: (field path, type)}} for every repeat of a schema: its own answer
    fields, and for each repeat directly inside it a column counting that repeat's repetitions
    (path: the inner repeat's, type `COUNT`).

    A column is the XLSForm ``name`` where no other question (top-level or in a repeat) and no
    counted repeat of the form has that name, else the path; top-level questions keep the names
    `analysis_columns` gives them. So ``${name}`` means one question in every frame.
    """
    schema = list(schema)
    plan = _structure(schema)
    fields = [f for f in schema if f.get("type") not in _SKIPPED_TYPES]
    nested = [path for path, parent in plan.parent_repeat.items() if parent is not None]
    names = Counter(str(f["name"]) for f in fields)
    names.update(plan.repeat_names[path] for path in nested)
    columns: dict[str, dict[str, tuple[str, str]]] = {path: {} for path in plan.repeats}
    for spec in fields:
        repeat = spec.get("repeat")
        if not repeat or repeat not in columns:
            continue
        column = spec["name"] if names[spec["name"]] == 1 else spec["path"]
        columns[repeat][column] = (spec["path"], spec.get("type", "text"))
    for path in nested:
        name = plan.repeat_names[path]
        parent = plan.parent_repeat[path]
        assert parent is not None
        columns[parent][name if names[name] == 1 else path] = (path, COUNT)
    return columns


def _structure(schema: list[dict[str, Any]]) -> FormPlan:
    """The repeats of a schema and how they nest (classes do not matter here)."""
    return build_plan(schema, {})


def _permitted(
    sensitivity: Mapping[str, str], classes: frozenset[str] | None, always: tuple[str, ...]
) -> Callable[[str, str], bool]:
    """Whether a frame may hold column ``column`` (of field ``path``): its class is in
    ``classes`` (never personal or sensitive), or it is named in ``always`` and not protected.
    ``classes=None`` allows every question: only for naming them, never for reading answers."""
    if classes is None:
        return lambda _column, _path: True
    allowed = set(classes) - _PROTECTED
    return lambda column, path: (
        sensitivity.get(path) in allowed
        or (column in always and sensitivity.get(path) not in _PROTECTED)
    )


def _variant(classes: frozenset[str], always: tuple[str, ...]) -> str:
    allowed = set(classes) - _PROTECTED
    return hashlib.sha256(json.dumps([sorted(allowed), sorted(always)]).encode()).hexdigest()[:8]


def _repeat_labels(xform: str) -> dict[str, dict[str, str]]:
    """Each repeat's label by XLSForm language (``{"English (en)": "Household members"}``),
    read from the XForm: pyxform labels a repeat's enclosing group."""
    try:
        root = ElementTree.fromstring(xform)
    except ElementTree.ParseError:
        return {}
    texts: dict[str, dict[str, str]] = {}
    for translation in root.iter(f"{_XFORMS}translation"):
        language = translation.get("lang") or "default"
        for text in translation.iter(f"{_XFORMS}text"):
            value = next(
                (v.text for v in text.iter(f"{_XFORMS}value") if v.get("form") is None), None
            )
            if value and value.strip() and value.strip() != "-":
                texts.setdefault(text.get("id") or "", {})[language] = value.strip()
    labels: dict[str, dict[str, str]] = {}
    for group in root.iter(f"{_XFORMS}group"):
        repeat = group.find(f"{_XFORMS}repeat")
        label = group.find(f"{_XFORMS}label")
        if repeat is None or label is None:
            continue
        path = str(repeat.get("nodeset") or "").strip("/").partition("/")[2]
        reference = label.get("ref") or ""
        if reference.startswith("jr:itext("):
            found = texts.get(reference[len("jr:itext(") : -1].strip("'\""), {})
        else:
            found = {"default": label.text.strip()} if label.text and label.text.strip() else {}
        if path and found:
            labels[path] = found
    return labels


def form_repeats(
    version: FormVersion,
    *,
    classes: frozenset[str] | None = frozenset({"public", "internal"}),
    always: tuple[str, ...] = (),
) -> dict[str, Repeat]:
    """The repeats of a form version as indicators see them (`Repeat`), by path: how they nest,
    their labels, and the columns `repeat_frame` gives each with the same ``classes`` and
    ``always`` (a count of an inner repeat only where that repeat has such a question).
    ``classes=None`` names every question, to check indicators against the form."""
    plan = _structure(version.schema)
    named = repeat_columns(version.schema)
    permitted = _permitted(version.sensitivity, classes, always)
    labels = _repeat_labels(version.xform)

    def readable(path: str) -> list[str]:
        return [
            column
            for column, (field, kind) in named[path].items()
            if kind != COUNT and permitted(column, field)
        ]

    found: dict[str, Repeat] = {}
    for path in plan.repeats:
        counts = [
            column
            for column, (child, kind) in named[path].items()
            if kind == COUNT and readable(child)
        ]
        found[path] = Repeat(
            path=path,
            name=plan.repeat_names[path],
            parent=plan.parent_repeat.get(path),
            columns=(*readable(path), *counts),
            labels=form_labels(labels.get(path)),
        )
    return found


def data_key(form: Form, versions: list[FormVersion]) -> str:
    """The key of the form's data as they stand: the form's data revision and its stripes
    (one of which every write of its submissions changes, `submissions_changed`), read
    afresh in one query, and the versions read."""
    # A form without versions has no submissions (each has its version): nothing to read.
    revision = (
        list(
            Form.objects.filter(pk=form.pk)
            .order_by("data_revisions__stripe")
            .values_list("data_revision", "data_revisions__stripe", "data_revisions__value")
        )
        if versions
        else None
    )
    raw = json.dumps([FRAME_FORMAT, form.pk, sorted(v.pk for v in versions), revision])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _cache_dir() -> Path:
    path = Path(settings.MEDIA_ROOT).parent / "cache" / "frames"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _text(value: Any) -> str | None:
    """Answers as XForms hold them: text; select_multiple as space-separated choice names."""
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _rows(queryset: Any, columns: dict[str, tuple[str, str]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for instance_id, data, place_id, submitted_at, version_id in queryset.iterator(
        chunk_size=_CHUNK
    ):
        row = {column: _text(data.get(path)) for column, (path, _type) in columns.items()}
        row["_instance_id"] = instance_id
        row["_place_id"] = place_id
        row["_submitted_at"] = submitted_at
        row["_version_id"] = version_id
        batch.append(row)
        if len(batch) >= _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _numeric_calculations(frame: pl.DataFrame, calculated: list[str]) -> pl.DataFrame:
    """XForms keep calculations as text; one whose every answer is a number (a design
    weight, a score) becomes a number column so analysis can use it."""
    numeric = []
    for column in calculated:
        values = frame[column]
        as_number = values.cast(pl.Float64, strict=False)
        if values.null_count() < len(values) and as_number.null_count() == values.null_count():
            numeric.append(as_number.alias(column))
    return frame.with_columns(numeric) if numeric else frame


def submissions_frame(
    form: Form,
    *,
    versions: list[FormVersion] | None = None,
    classes: frozenset[str] = frozenset({"public", "internal"}),
    always: tuple[str, ...] = (),
) -> pl.DataFrame:
    """One row per stored submission of ``form`` (all versions unless given), one column per
    top-level field of the newest version whose sensitivity is in ``classes`` (personal and
    sensitive answers are never included), plus the fields named in ``always`` (the sampling
    design, which shapes estimates but is never shown)."""
    versions = versions if versions is not None else list(form.versions.all())
    if not versions:
        return pl.DataFrame()
    newest = max(versions, key=lambda v: (v.created_at, v.pk))
    permitted = _permitted(newest.sensitivity, classes, always)
    columns = {
        column: spec
        for column, spec in analysis_columns(newest.schema).items()
        if permitted(column, spec[0])
    }
    variant = _variant(classes, always)
    cache = _cache_dir() / f"form-{form.pk}-{data_key(form, versions)}-{variant}.parquet"
    if cache.exists():
        return pl.read_parquet(cache)

    schema: dict[str, pl.DataType] = {
        column: _POLARS_TYPES.get(kind, pl.String()) for column, (_path, kind) in columns.items()
    }
    schema |= {
        "_instance_id": pl.String(),
        "_place_id": pl.Int64(),
        "_submitted_at": pl.Datetime(time_zone="UTC"),
        "_version_id": pl.Int64(),
    }
    queryset = (
        Submission.objects.filter(form=form, form_version__in=versions, is_encrypted=False)
        .order_by("pk")
        .values_list("instance_id", "data", "place_id", "submitted_at", "form_version_id")
    )
    text_schema = {
        column: (pl.String() if column not in _META_TYPES else dtype)
        for column, dtype in schema.items()
    }
    parts = [pl.DataFrame(batch, schema=text_schema) for batch in _rows(queryset, columns)]
    frame = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    frame = frame.with_columns(
        [pl.col(column).cast(dtype, strict=False) for column, dtype in schema.items()]
    )
    frame = _numeric_calculations(
        frame, [c for c, (_p, kind) in columns.items() if kind == "calculate"]
    )
    for stale in cache.parent.glob(f"form-{form.pk}-*-{variant}.parquet"):
        stale.unlink(missing_ok=True)
    frame.write_parquet(cache)
    return frame


def _nested(dtype: pl.DataType, depth: int) -> pl.DataType:
    for _ in range(depth):
        dtype = pl.List(dtype)
    return dtype


def _nested_text(value: Any, depth: int) -> Any:
    """A repeat's stored answers (one list per repeat holding the field) with each answer as
    text, the shape kept: ``[[3, 1], []]`` at depth 2 is ``[["3", "1"], []]``."""
    if depth == 0:
        return _text(value)
    if not isinstance(value, list):
        return None
    return [_nested_text(item, depth - 1) for item in value]


def _lengths(value: Any, depth: int) -> Any:
    """How many repetitions an inner repeat's field has in each repetition ``depth`` levels
    down: ``[["theft", "fraud"], []]`` at depth 1 is ``[2, 0]``."""
    if not isinstance(value, list):
        return None
    if depth == 0:
        return len(value)
    return [_lengths(item, depth - 1) for item in value]


def _explode(frame: pl.DataFrame, depths: Mapping[str, int], indexes: list[str]) -> pl.DataFrame:
    """One row per repetition of the innermost of ``len(indexes)`` nested repeats.

    Level by level, every column still holding lists is cut to the number of repetitions at
    that level (the longest of them: a question no repetition answered is absent, a shorter
    list is padded with nulls) and exploded together; ``indexes[k]`` numbers the repetitions of
    level ``k + 1`` from 1. Submissions (or repetitions) without repetitions at a level leave
    no row.
    """
    for level, index in enumerate(indexes, 1):
        listed = [column for column, depth in depths.items() if depth >= level]
        if not listed:  # nothing read at this depth: no repetition is known
            return frame.clear().with_columns(
                [pl.lit(None, pl.Int64).alias(name) for name in indexes[level - 1 :]]
            )
        size = pl.max_horizontal([pl.col(c).list.len() for c in listed]).fill_null(0)
        frame = frame.with_columns(size.alias("__size"))
        positions = pl.int_ranges(0, pl.col("__size"))
        frame = (
            frame.with_columns(
                *[
                    pl.col(column)
                    .fill_null(pl.lit([], dtype=frame.schema[column]))
                    .list.gather(positions, null_on_oob=True)
                    for column in listed
                ],
                pl.int_ranges(1, pl.col("__size") + 1).alias(index),
            )
            .explode([*listed, index])
            .filter(pl.col(index).is_not_null())
            .drop("__size")
        )
    return frame


def repeat_frame(
    form: Form,
    repeat: str,
    *,
    versions: list[FormVersion] | None = None,
    classes: frozenset[str] = frozenset({"public", "internal"}),
    always: tuple[str, ...] = (),
) -> pl.DataFrame:
    """One row per repetition of the repeat at path ``repeat`` (a household member; at any
    depth: each incident of each member) in the stored submissions of ``form``.

    A row holds the answers of its repetition, of the repetitions of the repeats holding it
    and of its submission (every column of `submissions_frame` with the same ``classes`` and
    ``always``, ``_instance_id`` … ``_version_id`` included), each typed as there; for each
    repeat directly inside, the number of its repetitions (Int64, 0 for none); and
    ``_<repeat name>_index``, the repetition's position (from 1) in each repeat of the chain.
    Questions are named as `repeat_columns` names them. Personal and sensitive answers are
    never read; repetitions are known from the answers that may be read. Cached like
    `submissions_frame`.

    Raises:
        KeyError: ``repeat`` is not a repeat of the form's newest version.
    """
    versions = versions if versions is not None else list(form.versions.all())
    if not versions:
        return pl.DataFrame()
    newest = max(versions, key=lambda v: (v.created_at, v.pk))
    plan = _structure(newest.schema)
    if repeat not in plan.repeats:
        raise KeyError(repeat)
    chain = plan.repeat_chain(repeat)
    named = repeat_columns(newest.schema)
    permitted = _permitted(newest.sensitivity, classes, always)
    answers: dict[str, tuple[str, str, int]] = {}
    for held_in, path in enumerate(chain, 1):  # how many repeats hold its answers
        for column, (field, kind) in named[path].items():
            if kind != COUNT and permitted(column, field):
                answers[column] = (field, kind, held_in)
    counts: dict[str, list[str]] = {}
    for column, (child, kind) in named[repeat].items():
        if kind == COUNT:
            fields = [f for c, (f, k) in named[child].items() if k != COUNT and permitted(c, f)]
            if fields:
                counts[column] = fields

    main = submissions_frame(form, versions=versions, classes=classes, always=always)
    level = hashlib.sha256(json.dumps([REPEAT_FRAME_FORMAT, repeat]).encode()).hexdigest()[:8]
    variant = _variant(classes, always)
    cache = _cache_dir() / f"repeat-{form.pk}-{level}-{data_key(form, versions)}-{variant}.parquet"
    if cache.exists():
        return pl.read_parquet(cache)

    depth = len(chain)
    lengths = {
        f"__count_{k}_{j}": (column, path)
        for k, (column, paths) in enumerate(counts.items())
        for j, path in enumerate(paths)
    }
    text_schema: dict[str, pl.DataType] = {"_instance_id": pl.String()}
    text_schema |= {c: _nested(pl.String(), d) for c, (_f, _k, d) in answers.items()}
    text_schema |= {c: _nested(pl.Int64(), depth) for c in lengths}
    depths = {c: d for c, (_f, _k, d) in answers.items()} | dict.fromkeys(lengths, depth)
    indexes: list[str] = []
    for path in chain:
        index = f"_{plan.repeat_names[path]}_index"
        indexes.append(index if index not in indexes else f"_{path}_index")

    queryset = (
        Submission.objects.filter(form=form, form_version__in=versions, is_encrypted=False)
        .order_by("pk")
        .values_list("instance_id", "data")
    )
    parts = []
    batch: list[str] = []

    def exploded() -> pl.DataFrame:
        # Polars reads nested lists from JSON lines several times faster than from objects.
        lines = io.StringIO("\n".join(batch))
        read = (
            pl.read_ndjson(lines, schema=text_schema) if batch else pl.DataFrame(schema=text_schema)
        )
        return _explode(read, depths, indexes)

    for instance_id, data in queryset.iterator(chunk_size=_CHUNK):
        row: dict[str, Any] = {"_instance_id": instance_id}
        for column, (field, _kind, field_depth) in answers.items():
            row[column] = _nested_text(data.get(field), field_depth)
        for column, (_count, field) in lengths.items():
            row[column] = _lengths(data.get(field), depth)
        batch.append(json.dumps(row))
        if len(batch) >= _CHUNK:
            parts.append(exploded())
            batch = []
    if batch or not parts:
        parts.append(exploded())
    frame = pl.concat(parts)

    frame = frame.with_columns(
        *[
            pl.col(column).cast(_POLARS_TYPES.get(kind, pl.String()), strict=False)
            for column, (_field, kind, _depth) in answers.items()
        ],
        *[
            pl.max_horizontal([pl.col(c) for c, (name, _f) in lengths.items() if name == column])
            .fill_null(0)
            .cast(pl.Int64)
            .alias(column)
            for column in counts
        ],
    ).drop(list(lengths))
    frame = _numeric_calculations(
        frame, [c for c, (_f, kind, _d) in answers.items() if kind == "calculate"]
    )
    frame = frame.join(main, on="_instance_id", how="inner", maintain_order="left")
    meta = ["_instance_id", "_place_id", "_submitted_at", "_version_id"]
    top = [column for column in main.columns if column not in meta]
    frame = frame.select(
        *top,
        *answers,
        *counts,
        *[column for column in meta if column in frame.columns],
        *indexes,
    )
    for stale in cache.parent.glob(f"repeat-{form.pk}-{level}-*-{variant}.parquet"):
        stale.unlink(missing_ok=True)
    frame.write_parquet(cache)
    return frame
