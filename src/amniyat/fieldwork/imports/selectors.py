"""Scoped reads of import jobs: a facilitator follows only the imports they started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.fieldwork.models import Form, ImportJob

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def import_jobs_visible(*, user: AnyUser, form: Form | None = None) -> QuerySet[ImportJob]:
    queryset = ImportJob.objects.filter(
        form__assessment__programme_id__in=policies.fieldwork_programmes(user)
    )
    # A facilitator follows only the imports they started.
    facilitator_of = [
        pid for pid, m in policies.memberships(user).items() if m.role == policies.Role.FACILITATOR
    ]
    if facilitator_of:
        queryset = queryset.filter(
            ~Q(form__assessment__programme_id__in=facilitator_of) | Q(created_by_id=user.pk)
        )
    if form is not None:
        queryset = queryset.filter(form=form)
    return queryset.select_related("form")


def import_job_get(*, user: AnyUser, pk: int) -> ImportJob:
    job = import_jobs_visible(user=user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import.")
    return job
