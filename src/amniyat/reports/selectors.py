"""Scoped reads of reports, their sections and rendered files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Factor, Priority
from amniyat.reports.models import Recommendation, Rendering, Report, ReportTemplate, Section

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def reports_visible(*, user: AnyUser) -> QuerySet[Report]:
    """The reports of every programme the user is in that they may read: all for its leads
    and analysts, the published ones for everyone else in it."""
    return Report.objects.filter(policies.report_scope(user))


def report_list(*, user: AnyUser, programme: Programme) -> QuerySet[Report]:
    """The programme's reports the user may read (:func:`reports_visible`)."""
    return (
        reports_visible(user=user)
        .filter(programme=programme)
        .select_related("assessment")
        .order_by("-created_at", "-id")
    )


def report_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Report:
    return one_or_404(report_list(user=user, programme=programme), pk, "report")


def sections_of(report: Report) -> QuerySet[Section]:
    """A report's sections in order (the report having been read through :func:`report_get`)."""
    return report.sections.order_by("position", "id")


def section_get(
    *, user: AnyUser, programme: Programme, report_pk: int | str, pk: int | str
) -> Section:
    report = report_get(user=user, programme=programme, pk=report_pk)
    return one_or_404(sections_of(report).select_related("report"), pk, "section")


def renderings_of(*, user: AnyUser, report: Report) -> QuerySet[Rendering]:
    """The files rendered from a report the user may read: every one for those who may edit
    it, only those approved for publication for everyone else."""
    renderings = report.renderings.order_by("-number")
    if policies.can(user, "report.edit", report):
        return renderings
    return renderings.filter(status=Rendering.Status.READY, approved_by__isnull=False)


def recommendations_of(sections: Sequence[Section]) -> QuerySet[Recommendation]:
    """The recommendations of these sections (of a report read through :func:`report_get`),
    in order, with the factors and priorities each answers and their codes' names."""
    return (
        Recommendation.objects.filter(section__in=[s.pk for s in sections])
        .order_by("section_id", "position", "pk")
        .prefetch_related(
            Prefetch("factors", queryset=Factor.objects.select_related("code").order_by("pk")),
            Prefetch("priorities", queryset=Priority.objects.select_related("code").order_by("pk")),
        )
    )


def templates_visible(*, user: AnyUser, programme: Programme) -> QuerySet[ReportTemplate]:
    """The programme's Word template (at most one), for those who manage it: its leads."""
    if not policies.can(user, "report.template", programme):
        return ReportTemplate.objects.none()
    return ReportTemplate.objects.filter(programme=programme)
