"""Model choice fields read their options in one statement, without a server-side cursor."""

from __future__ import annotations

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amniyat.accounts.models import Organisation
from amniyat.core.forms import ChoicesAtOnce
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


class Choosing(forms.Form):
    one = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"))
    several = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )


def test_every_model_choice_field_reads_its_options_at_once() -> None:
    named = sorted(OrganisationFactory().name for _ in range(3))
    form = Choosing()
    assert isinstance(form.fields["one"].choices, ChoicesAtOnce)
    assert isinstance(form.fields["several"].choices, ChoicesAtOnce)
    with CaptureQueriesContext(connection) as read:
        drawn = form.as_p()
    # One statement each: on PostgreSQL, QuerySet.iterator() would DECLARE a cursor, FETCH
    # from it and CLOSE it.
    assert len(read.captured_queries) == 2
    assert not any(q["sql"].lstrip().upper().startswith("DECLARE") for q in read.captured_queries)
    assert [drawn.index(name) for name in named] == sorted(drawn.index(name) for name in named)
    assert drawn.count(named[0]) == 2
    assert '<option value="" selected>---------</option>' in drawn


def test_prefetched_options_are_read_once_and_kept() -> None:
    OrganisationFactory()

    class Prefetched(forms.Form):
        one = forms.ModelChoiceField(
            queryset=Organisation.objects.prefetch_related("partner_programmes")
        )

    form = Prefetched()
    with CaptureQueriesContext(connection) as read:
        form.as_p()
        form.as_p()
    assert len(read.captured_queries) == 2  # the rows and their programmes, once
