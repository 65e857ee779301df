"""Scoped reads of assessments, forms, submissions, imports and collection devices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.fieldwork.models import (
    Assessment,
    DeviceUser,
    Form,
    FormVersion,
    ImportJob,
    Submission,
)

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def assessments_visible(
    *, user: AnyUser, programme: Programme | None = None
) -> QuerySet[Assessment]:
    queryset = Assessment.objects.filter(programme_id__in=policies.fieldwork_programmes(user))
    if programme is not None:
        queryset = queryset.filter(programme=programme)
    return queryset.select_related("programme")


def assessment_get(*, user: AnyUser, programme: Programme, pk: int) -> Assessment:
    assessment = assessments_visible(user=user, programme=programme).filter(pk=pk).first()
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def forms_visible(*, user: AnyUser, assessment: Assessment | None = None) -> QuerySet[Form]:
    queryset = Form.objects.filter(assessment__programme_id__in=policies.fieldwork_programmes(user))
    if assessment is not None:
        queryset = queryset.filter(assessment=assessment)
    return queryset.select_related("assessment", "assessment__programme")


def form_get(*, user: AnyUser, pk: int, programme: Programme | None = None) -> Form:
    queryset = forms_visible(user=user)
    if programme is not None:
        queryset = queryset.filter(assessment__programme=programme)
    form = queryset.filter(pk=pk).first()
    if form is None:
        raise Http404("No such form.")
    return form


def form_versions(*, form: Form) -> QuerySet[FormVersion]:
    """Versions of a form already obtained through :func:`form_get`."""
    return FormVersion.objects.filter(form=form).order_by("-created_at", "-id")


def submissions_visible(*, user: AnyUser, form: Form | None = None) -> QuerySet[Submission]:
    queryset = Submission.objects.filter(policies.submission_scope(user))
    if form is not None:
        queryset = queryset.filter(form=form)
    return queryset.select_related("form_version", "place")


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


def devices_visible(*, user: AnyUser, programme: Programme) -> QuerySet[DeviceUser]:
    m = policies.membership_in(user, programme)
    if m is None or not policies.can(user, "device.manage", programme):
        return DeviceUser.objects.none()
    queryset = DeviceUser.objects.filter(programme=programme)
    if m.role == policies.Role.FACILITATOR:
        queryset = queryset.filter(organisation_id=m.organisation_id)
    return queryset
