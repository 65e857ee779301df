"""Scoped reads of assessments, their forms and the forms' versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.accounts.selectors import programme_get
from amniyat.fieldwork.models import Assessment, Form, FormVersion

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
        # The programme is in hand: not read again with the form.
        queryset = queryset.filter(assessment__programme=programme).select_related(None)
        queryset = queryset.select_related("assessment")
    form = queryset.filter(pk=pk).first()
    if form is None:
        raise Http404("No such form.")
    if programme is not None:
        form.assessment.programme = programme
    return form


def programme_form_get(*, user: AnyUser, slug: str, pk: int, verb: str) -> tuple[Programme, Form]:
    """The programme of ``slug`` and its form ``pk``, where the user may ``verb``; a page
    they may not use is absent (404), like the form."""
    programme = programme_get(user=user, slug=slug)
    if not policies.can(user, verb, programme):
        raise Http404("No such page.")
    return programme, form_get(user=user, pk=pk, programme=programme)


def form_versions(*, form: Form) -> QuerySet[FormVersion]:
    """Versions of a form already obtained through :func:`form_get`."""
    return FormVersion.objects.filter(form=form).order_by("-created_at", "-id")
