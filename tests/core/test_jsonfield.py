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


@pytest.mark.django_db
def test_answers_are_kept_as_text_and_read_back_whole() -> None:
    """A submission's answers are a text column on either database (no jsonb parsing on the
    way in, no printing on the way out), written as UTF-8 JSON and read back equal; nothing
    reaches inside them in SQL, which would work on one database and fail on the other."""
    from django.core.exceptions import FieldError
    from django.db import connection
    from django.utils import timezone

    from amniyat.core.jsonfield import JSONTextField
    from amniyat.fieldwork.models import Assessment, Form, FormVersion, Submission
    from tests.factories import ProgrammeFactory

    field = Submission._meta.get_field("data")
    assert isinstance(field, JSONTextField)
    assert field.db_type(connection) == "text"
    assert field.db_check(connection) is None
    assessment = Assessment.objects.create(
        programme=ProgrammeFactory(), title="Baseline", kind=Assessment.Kind.BASELINE
    )
    form = Form.objects.create(assessment=assessment, form_id="survey", title="Survey")
    version = FormVersion.objects.create(form=form, version="1", xform="<h:html/>", schema=[])
    answers = {"district": "Бохтар", "worries": ["theft", "police"], "age": 34, "n": None}
    submission = Submission.objects.create(
        form=form,
        form_version=version,
        instance_id="uuid:1",
        content_hash="x",
        submitted_at=timezone.now(),
        data=answers,
        source=Submission.Source.IMPORT,
    )
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Submission._meta.db_table)
        cursor.execute(f"SELECT data FROM {table} WHERE id = %s", [submission.pk])  # noqa: S608
        (stored,) = cursor.fetchone()
    assert isinstance(stored, str)
    assert "Бохтар" in stored  # UTF-8, not \u escapes
    assert json.loads(stored) == answers
    assert Submission.objects.get(pk=submission.pk).data == answers
    with pytest.raises(FieldError):
        list(Submission.objects.filter(data__district="Бохтар"))
    with pytest.raises(FieldError):
        list(Submission.objects.filter(data__has_key="district"))
