"""Scoped reads of findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.fieldwork.models import Assessment
from amniyat.findings.models import Findings

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def assessments_with_findings(*, user: AnyUser, programme: Programme) -> QuerySet[Assessment]:
    """Assessments whose findings this user may open: all of them for those who analyse, the
    ones with published findings for everyone else in the programme."""
    # With their programme: whose policy decides what of their findings the reader sees.
    if policies.can(user, "findings.view_draft", programme):
        return Assessment.objects.filter(programme=programme).select_related("programme")
    if policies.can(user, "findings.view_published", programme):
        return (
            Assessment.objects.filter(programme=programme, findings__published_at__isnull=False)
            .select_related("programme")
            .distinct()
        )
    return Assessment.objects.none()


def assessment_for_findings(*, user: AnyUser, programme: Programme, pk: int) -> Assessment:
    assessment = assessments_with_findings(user=user, programme=programme).filter(pk=pk).first()
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def published_findings(*, assessment: Assessment) -> Findings | None:
    return (
        Findings.objects.filter(assessment=assessment, published_at__isnull=False)
        .order_by("-published_at", "-id")
        .first()
    )


def published_findings_per_form(*, assessment: Assessment) -> list[Findings]:
    """The latest published findings of each of the assessment's forms, with their form and
    without their results (pages take what they show of them from `findings.shown`)."""
    latest: dict[int, Findings] = {}
    for findings in (
        Findings.objects.filter(assessment=assessment, published_at__isnull=False)
        .select_related("form")
        .defer("results")
        .order_by("-published_at", "-id")
    ):
        latest.setdefault(findings.form_id, findings)
    return sorted(latest.values(), key=lambda f: (f.form.title, f.form_id))
