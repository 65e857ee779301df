"""Scoped reads of stored submissions and of the exports people asked for."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.accounts.models import Programme
from amniyat.fieldwork.models import Form, Submission, SubmissionExport

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def submissions_visible(*, user: AnyUser, form: Form | None = None) -> QuerySet[Submission]:
    queryset = Submission.objects.filter(policies.submission_scope(user))
    if form is not None:
        queryset = queryset.filter(form=form)
    # Not the form version: nothing shown per row reads it beyond its id, and joining it
    # parsed its whole schema (64 kB on the demo form) once for every row of a page. Nor what
    # no page, export or API reads: the payload a device encrypted (kept, never decrypted on
    # the server), the place's boundary and population.
    return queryset.select_related("place").defer(
        "encrypted_payload", "place__boundary", "place__population"
    )


def submissions_filtered(
    *, user: AnyUser, form: Form, filters: Mapping[str, Any]
) -> QuerySet[Submission]:
    """The submissions of ``form`` that ``user`` sees, narrowed by the table's filters as
    :meth:`SubmissionFilterForm.as_filters` gives them, newest first: what the table pages
    through and what an export of it writes."""
    return submissions_narrowed(submissions_visible(user=user, form=form), filters=filters)


def submissions_narrowed(
    submissions: QuerySet[Submission], *, filters: Mapping[str, Any]
) -> QuerySet[Submission]:
    """``submissions`` (as :func:`submissions_visible` gave them) narrowed by the table's
    filters, newest first: for a page that has the visible submissions in hand already (its
    filters list their places), so that the user's scope is not worked out twice."""
    if filters.get("place"):
        submissions = submissions.filter(place=filters["place"])
    if filters.get("submitted_from"):
        start = datetime.date.fromisoformat(filters["submitted_from"])
        submissions = submissions.filter(submitted_at__date__gte=start)
    if filters.get("submitted_to"):
        end = datetime.date.fromisoformat(filters["submitted_to"])
        submissions = submissions.filter(submitted_at__date__lte=end)
    if filters.get("version"):
        submissions = submissions.filter(form_version=filters["version"])
    if "review_state" in filters:
        submissions = submissions.filter(review_state=filters["review_state"])
    if filters.get("enumerator_hashes"):
        # Stored encrypted: found by its keyed hash (under every key, for rotation).
        submissions = submissions.filter(enumerator_hash__in=filters["enumerator_hashes"])
    return submissions.order_by("-submitted_at", "-id")


def exports_of(*, user: AnyUser, form: Form) -> QuerySet[SubmissionExport]:
    """The exports of ``form`` that ``user`` asked for, newest first."""
    if not user.is_authenticated:
        return SubmissionExport.objects.none()
    return SubmissionExport.objects.filter(form=form, requested_by_id=user.pk)


def export_get(*, user: AnyUser, programme: Programme, pk: int) -> SubmissionExport:
    """An export of ``programme`` that ``user`` asked for and may still export; 404 for any
    other, whoever asked for it (an export holds what its requester may see)."""
    if not policies.can(user, "submission.export", programme):
        raise Http404("No such export.")
    export = (
        SubmissionExport.objects.select_related("form__assessment__programme")
        .filter(pk=pk, requested_by_id=user.pk, form__assessment__programme=programme)
        .first()
        if user.is_authenticated
        else None
    )
    if export is None:
        raise Http404("No such export.")
    return export
