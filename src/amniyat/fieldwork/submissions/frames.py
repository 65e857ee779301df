"""Submissions as a columnar frame for analysis, cached per form and version.

Analysis never loops over submissions in Python: it reads the stored answers once into a
Polars frame (one column per form field, typed from the form schema) and works on that. The
frame is cached on disk as Parquet, keyed by the form, its versions and the newest stored
submission, so a page view after no new data reads the cache and a new submission (or
import) makes the next read rebuild it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models import Count, Max

from amniyat.fieldwork.models import Form, FormVersion, Submission

_CHUNK = 20_000
# Bump when the way frames are built changes, so cached frames are rebuilt.
FRAME_FORMAT = 2
_POLARS_TYPES: dict[str, pl.DataType] = {
    "integer": pl.Int64(),
    "decimal": pl.Float64(),
    "range": pl.Float64(),
}
_META_TYPES = frozenset({"_place_id", "_version_id", "_submitted_at"})
_SKIPPED_TYPES = frozenset({"note", "begin group", "end group", "begin repeat", "end repeat"})


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


def data_key(form: Form, versions: list[FormVersion]) -> str:
    stats = Submission.objects.filter(form=form, form_version__in=versions).aggregate(
        n=Count("pk"), newest=Max("pk"), received=Max("received_at")
    )
    raw = json.dumps(
        [
            FRAME_FORMAT,
            form.pk,
            sorted(v.pk for v in versions),
            stats["n"],
            stats["newest"],
            str(stats["received"]),
        ]
    )
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
    allowed = set(classes) - {"personal", "sensitive"}
    columns = {
        column: spec
        for column, spec in analysis_columns(newest.schema).items()
        if newest.sensitivity.get(spec[0]) in allowed
        or (column in always and newest.sensitivity.get(spec[0]) not in ("personal", "sensitive"))
    }
    variant = hashlib.sha256(json.dumps([sorted(allowed), sorted(always)]).encode()).hexdigest()[:8]
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
