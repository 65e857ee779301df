"""A read whose SQL is written once gives what the ORM gives, for every shape of its
parameters, and falls back to the ORM where it cannot substitute them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amniyat.core.compiled import CompiledRead
from amniyat.places.models import Place
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db


def _by_code(codes: list[str], level: str) -> Any:
    return (
        Place.objects.filter(code__in=codes, level=level).order_by("code").values_list("code", "pk")
    )


def test_rows_are_the_orms_for_every_number_of_keys() -> None:
    read = CompiledRead(_by_code)
    codes = list(Place.objects.filter(level="district").values_list("code", flat=True)[:5])
    assert codes
    for n in range(1, len(codes) + 1):
        wanted = list(_by_code([*codes[:n], "nowhere"], "district"))
        assert read.rows(codes=[*codes[:n], "nowhere"], level="district") == wanted
        assert read.rows(codes=codes[:n], level="region") == []
    assert len(read._compiled) == len(codes) + 1  # one SQL per number of keys
    assert None not in read._compiled.values()  # none of them run through the ORM


def test_values_are_converted_as_the_orm_converts_them() -> None:
    programme = ProgrammeFactory()
    read = CompiledRead(
        lambda pk: type(programme).objects.filter(pk=pk).values_list("starts_on", "created_at")
    )
    assert read.rows(pk=programme.pk) == list(
        type(programme).objects.filter(pk=programme.pk).values_list("starts_on", "created_at")
    )


def test_the_sql_is_written_once() -> None:
    read = CompiledRead(_by_code)
    read.rows(codes=["TJ"], level="country")
    with CaptureQueriesContext(connection) as queries:
        assert read.rows(codes=["TJ"], level="country")
    assert len(queries.captured_queries) == 1


def test_a_parameter_the_orm_transforms_falls_back_to_the_orm() -> None:
    """``icontains`` wraps its text in wildcards: not substituted, run through the ORM."""
    read = CompiledRead(
        lambda text: Place.objects.filter(code__icontains=text).order_by("pk").values_list("pk")
    )
    assert read.rows(text="tj-kt") == list(
        Place.objects.filter(code__icontains="tj-kt").order_by("pk").values_list("pk")
    )
    assert list(read._compiled.values()) == [None]
