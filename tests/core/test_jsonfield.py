"""FastJSONField reads what Django's JSONField stored into the same values, faster."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amniyat.core.jsonfield import FastJSONField
from amniyat.findings.models import Findings

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON)
def test_it_reads_what_the_standard_library_reads(value: object) -> None:
    field = FastJSONField()
    stored = json.dumps(value)
    assert field.from_db_value(stored, None, None) == json.loads(stored)


def test_what_orjson_refuses_is_read_as_django_reads_it() -> None:
    field = FastJSONField()
    assert math.isnan(field.from_db_value('{"x": NaN}', None, None)["x"])
    assert field.from_db_value("not json", None, None) == "not json"
    assert field.from_db_value(None, None, None) is None


@pytest.mark.django_db
def test_the_heavy_columns_are_read_with_it() -> None:
    from amniyat.fieldwork.models import FormVersion, Submission

    for model, name in ((Findings, "results"), (FormVersion, "schema"), (Submission, "data")):
        assert isinstance(model._meta.get_field(name), FastJSONField)
