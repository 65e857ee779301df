"""A JSON column read with orjson.

Django's JSONField parses every value it reads with the standard library's ``json``: for the
findings of an assessment (half a megabyte of estimates) that is 10–20 ms of a page's time,
more than the rest of the page. orjson reads the same JSON several times faster, into the same
Python values; what it refuses (NaN, which ``json.dumps`` writes) goes to Django's reading.
Writing is left to Django, so what is stored does not change.
"""

from __future__ import annotations

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
