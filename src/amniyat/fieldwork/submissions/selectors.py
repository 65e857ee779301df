"""Scoped reads of stored submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from amniyat.accounts import policies
from amniyat.fieldwork.models import Form, Submission

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def submissions_visible(*, user: AnyUser, form: Form | None = None) -> QuerySet[Submission]:
    queryset = Submission.objects.filter(policies.submission_scope(user))
    if form is not None:
        queryset = queryset.filter(form=form)
    return queryset.select_related("form_version", "place")
