"""A JSON column read with orjson.

Django's JSONField parses every value it reads with the standard library's ``json``: for the
findings of an assessment (half a megabyte of estimates) that is 10–20 ms of a page's time,
more than the rest of the page. orjson reads the same JSON several times faster, into the same
Python values; what it refuses (NaN, which ``json.dumps`` writes) goes to Django's reading.
Writing is left to Django, so what is stored does not change.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform


class FastJSONField(models.JSONField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or self.decoder is not None:
            return super().from_db_value(value, expression, connection)
        if isinstance(expression, KeyTransform) and not isinstance(value, str):
            return value
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            # What orjson refuses and the standard library reads (NaN, which json.dumps
            # writes), or no JSON at all: Django's own reading decides.
            return super().from_db_value(value, expression, connection)


class JSONTextField(FastJSONField):
    """JSON kept as its text in a ``text`` column on every database, read with orjson.

    For values that are written and read whole and never searched inside by the database
    (a submission's answers: every page, export and analysis parses them in Python). On
    PostgreSQL a ``jsonb`` column parses each value on its way in (a third of the server's
    work in an import, measured in docs/architecture.md) and prints it again on its way out,
    for operators nothing here uses; SQLite checks each value with ``JSON_VALID``. The
    writers make the JSON (Django, orjson, Polars), so the text is valid as written.

    No lookup reaches inside the value: ``answers__key`` is an error rather than SQL that
    works on one database and fails on the other. A query that needs it can cast the column
    (``CAST(data AS jsonb)`` on PostgreSQL)."""

    def get_internal_type(self) -> str:
        # A text column on every database, with no check (SQLite's JSON_VALID); a change
        # from or to a jsonb column casts the values (USING).
        return "TextField"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        # The text itself, as Django writes JSON on SQLite (PostgreSQL's operations would
        # wrap it as jsonb); UTF-8 rather than \u escapes, a third of the bytes of Cyrillic.
        return json.dumps(value, cls=self.encoder, ensure_ascii=False)

    def get_transform(self, name: str) -> Any:
        return None

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None
