"""Keyset positions: "the rows after this one" in an ordering, for pages that read on from
where the last one ended (the API's cursors, the submissions table's older and newer links)
instead of skipping an offset, which walks and throws away every row before the page.

A position holds the value of *every* ordering column of the row it stands on, and the rows
after it are compared column by column (``submitted_at < t OR (submitted_at = t AND id < i)``),
with the first column bounded on its own as well, which lets the database seek in the index.
The ordering must be unique (end on the primary key) and the order of an index.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model, Q

# A datetime is compared as the half-open range of its microsecond: "at t" is "from t, before
# t + 1 µs". The same rows on any database; and on SQLite, which keeps datetimes as text,
# also the rows stored with a different number of decimals ("10:15:30.000000" where Django
# writes "10:15:30"), which an equality would miss.
_MICROSECOND = datetime.timedelta(microseconds=1)


class BadPosition(ValueError):
    """A position that is not one of :func:`position_of` for this ordering."""


def position_of(row: Any, ordering: Sequence[str]) -> list[Any]:
    """Every ordering column of ``row`` (an instance or a dict of values), as JSON values."""
    values = []
    for column in ordering:
        name = column.lstrip("-")
        value = row[name] if isinstance(row, dict) else getattr(row, name)
        values.append(value if isinstance(value, int | str) else str(value))
    return values


def rows_after(model: type[Model], ordering: Sequence[str], position: Sequence[Any]) -> Q:
    """The rows of ``model`` after ``position`` in ``ordering`` (``-column``: descending).
    Raises :class:`BadPosition` for values that do not fit the ordering's columns."""
    if not isinstance(position, list | tuple) or len(position) != len(ordering):
        raise BadPosition("The position does not fit the ordering.")
    columns = [column.lstrip("-") for column in ordering]
    read = []
    try:
        for column, value in zip(columns, position, strict=True):
            field = model._meta.get_field(column)
            if not isinstance(field, Field) or value is None:
                raise BadPosition(column)
            read.append(field.to_python(value))
    except (ValueError, ValidationError, FieldDoesNotExist) as error:
        raise BadPosition(str(error)) from error
    past = ["lt" if column.startswith("-") else "gt" for column in ordering]
    after = _compared(columns[-1], past[-1], read[-1])
    for index in range(len(columns) - 2, -1, -1):
        column, value = columns[index], read[index]
        after = _compared(column, past[index], value) | (_equal(column, value) & after)
    return _compared(columns[0], past[0] + "e", read[0]) & after


def encoded(position: Sequence[Any]) -> str:
    """A position as a short token for an address (base64 of its JSON)."""
    text = json.dumps(list(position), ensure_ascii=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decoded(token: str) -> list[Any]:
    """The position :func:`encoded` wrote; :class:`BadPosition` for anything else."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        position = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadPosition("Not a position.") from error
    if not isinstance(position, list):
        raise BadPosition("Not a position.")
    return position


def _compared(column: str, lookup: str, value: Any) -> Q:
    """``column`` ``lookup`` (lt, lte, gt, gte) ``value``."""
    if isinstance(value, datetime.datetime) and lookup in ("lte", "gt"):
        lookup = {"lte": "lt", "gt": "gte"}[lookup]
        value = value + _MICROSECOND
    return Q(**{f"{column}__{lookup}": value})


def _equal(column: str, value: Any) -> Q:
    if isinstance(value, datetime.datetime):
        return Q(**{f"{column}__gte": value, f"{column}__lt": value + _MICROSECOND})
    return Q(**{column: value})
