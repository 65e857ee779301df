"""Scoped reads of reports, their sections and rendered files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Count, Min, Prefetch, QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Code, Factor, Priority
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


def recommendation_links(
    sections: Sequence[Section],
) -> tuple[list[Recommendation], dict[int, list[Factor]], dict[int, list[tuple[Priority, int]]]]:
    """The recommendations of these sections (as :func:`recommendations_of`) with what each
    answers: the factors (one per map, few) and the priorities grouped by what they say —
    one unsaved :class:`Priority` carrying the concern, its translations and its code for
    each distinct concern, with the number of groups whose agreed lists hold it. A national
    programme's recommendation may answer the same concern in hundreds of groups' lists;
    this reads a row per distinct concern, not an object per list. Four queries."""
    recommendations = list(
        Recommendation.objects.filter(section__in=[s.pk for s in sections]).order_by(
            "section_id", "position", "pk"
        )
    )
    ids = [r.pk for r in recommendations]
    if not ids:
        return [], {}, {}
    factors: dict[int, list[Factor]] = {}
    for link in (
        Recommendation.factors.through.objects.filter(recommendation_id__in=ids)
        .select_related("factor__code")
        .order_by("factor_id")
    ):
        factors.setdefault(link.recommendation_id, []).append(link.factor)
    grouped = (
        Recommendation.priorities.through.objects.filter(recommendation_id__in=ids)
        .values(
            "recommendation_id",
            "priority__concern",
            "priority__content_language",
            "priority__translations",
            "priority__code_id",
        )
        .annotate(groups=Count("priority__priority_list__group", distinct=True), first=Min("id"))
        .order_by("recommendation_id", "first")
    )
    rows = list(grouped)
    codes = Code.objects.in_bulk({r["priority__code_id"] for r in rows} - {None})
    priorities: dict[int, list[tuple[Priority, int]]] = {}
    for row in rows:
        code_id = row["priority__code_id"]
        concern = Priority(
            concern=row["priority__concern"],
            content_language=row["priority__content_language"],
            translations=row["priority__translations"],
            code_id=code_id,
            code=codes.get(code_id) if code_id is not None else None,
        )
        priorities.setdefault(row["recommendation_id"], []).append((concern, row["groups"]))
    return recommendations, factors, priorities


def templates_visible(*, user: AnyUser, programme: Programme) -> QuerySet[ReportTemplate]:
    """The programme's Word template (at most one), for those who manage it: its leads."""
    if not policies.can(user, "report.template", programme):
        return ReportTemplate.objects.none()
    return ReportTemplate.objects.filter(programme=programme)
