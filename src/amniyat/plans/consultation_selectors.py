"""Scoped reads of consultations and their commitments: every read takes the user, the one
policy (``policies.consultation_scope``, the plans' own rule) decides, and what they may not
read is absent (404)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet, Sum

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import DriverMap, Factor, Priority
from amniyat.plans.models import ActionPlan, Commitment, Consultation, Objective
from amniyat.plans.selectors import plan_list, readable_factors

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser
    from amniyat.communities.models import CommunityGroup

# A consultation's group and place are named on its pages, never drawn nor counted.
_UNREAD = (
    "group__description",
    "place__boundary",
    "place__population",
    "issues_note",
    "reflected_note",
)
# The attendance columns, each a side and a sex, in the order the summary shows them.
ATTENDANCE = ("community_women", "community_men", "authority_women", "authority_men")


def consultations_visible(*, user: AnyUser) -> QuerySet[Consultation]:
    """Every consultation of every programme the user may read."""
    return Consultation.objects.filter(policies.consultation_scope(user))


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; each value already checked (None: not narrowed)."""

    level: str | None = None
    group_id: int | None = None
    start: datetime.date | None = None
    end: datetime.date | None = None
    attended: str | None = None  # one of ATTENDANCE: only those where that count is above 0

    def query(self) -> dict[str, str]:
        """The filters as the list's address carries them."""
        values = {
            "level": self.level or "",
            "group": str(self.group_id or ""),
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "attended": self.attended or "",
        }
        return {key: value for key, value in values.items() if value}


def consultation_list(
    *, user: AnyUser, programme: Programme, filters: Filters | None = None
) -> QuerySet[Consultation]:
    """The programme's consultations the user may read, latest first, narrowed by
    ``filters``, with the group and place each is named by."""
    filters = filters or Filters()
    queryset = consultations_visible(user=user).filter(programme=programme)
    if filters.level:
        queryset = queryset.filter(level=filters.level)
    if filters.group_id:
        queryset = queryset.filter(group_id=filters.group_id)
    if filters.start:
        queryset = queryset.filter(held_on__gte=filters.start)
    if filters.end:
        queryset = queryset.filter(held_on__lte=filters.end)
    if filters.attended in ATTENDANCE:
        queryset = queryset.filter(**{f"{filters.attended}__gt": 0})
    return queryset.select_related("group", "place").defer(*_UNREAD).order_by("-held_on", "-pk")


@dataclass
class SummaryRow:
    """The consultations of one level (or all of them): how many, and who came, by side and
    sex."""

    level: str
    label: str
    consultations: int = 0
    attendance: dict[str, int] = field(default_factory=dict)

    @property
    def people(self) -> int:
        return sum(self.attendance.values())


def consultation_summary(consultations: QuerySet[Consultation]) -> list[SummaryRow]:
    """Counts of ``consultations`` by level, and a total row (level ""), in one query."""
    sums = {name: Sum(name) for name in ATTENDANCE}
    rows = {
        row["level"]: row
        for row in consultations.order_by()
        .values("level")
        .annotate(consultations=Count("pk"), **sums)
    }
    summary: list[SummaryRow] = []
    total = SummaryRow(level="", label="", attendance=dict.fromkeys(ATTENDANCE, 0))
    for level, label in Consultation.Level.choices:
        row = rows.get(level)
        if row is None:
            continue
        counted = SummaryRow(
            level=level,
            label=str(label),
            consultations=row["consultations"],
            attendance={name: row[name] or 0 for name in ATTENDANCE},
        )
        summary.append(counted)
        total.consultations += counted.consultations
        for name in ATTENDANCE:
            total.attendance[name] += counted.attendance[name]
    if summary:
        summary.append(total)
    return summary


def consultation_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Consultation:
    """One consultation the user may read, with its group and place (its encrypted notes
    are read: decide with ``consultation.view_notes`` whether to show them)."""
    queryset = (
        consultations_visible(user=user)
        .filter(programme=programme)
        .select_related("group", "place", "programme")
        .defer("group__description", "place__boundary", "place__population")
    )
    return one_or_404(queryset, pk, "consultation")


def issues_of(consultation: Consultation, *, user: AnyUser) -> tuple[list[Factor], list[Priority]]:
    """The factors (of maps the user may read) and priorities raised at a consultation."""
    factors = list(readable_factors(user).filter(consultations=consultation).select_related("map"))
    priorities = list(
        consultation.priorities.select_related("code", "priority_list").order_by(
            "priority_list_id", "rank", "pk"
        )
    )
    return factors, priorities


def commitments_of(consultation: Consultation) -> list[Commitment]:
    """A consultation's commitments in order, each with the action (and its plan) it became."""
    return list(
        consultation.commitments.select_related("action__objective__plan").order_by(
            "position", "pk"
        )
    )


def commitment_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Commitment:
    """One commitment of a consultation the user may read."""
    queryset = Commitment.objects.filter(
        policies.consultation_scope(user, "consultation__"),
        consultation__programme=programme,
    ).select_related("consultation__group", "consultation__programme", "action")
    return one_or_404(queryset, pk, "commitment")


def factors_for(
    *, user: AnyUser | None, programme: Programme, group: CommunityGroup | None
) -> QuerySet[Factor]:
    """The factors a consultation may name as issues raised: of driver maps of its programme
    that the user may read (any, for the system: ``user`` None), drawn for its group or for
    no group."""
    maps = DriverMap.objects.filter(programme_id=programme.pk).filter(
        Q(group__isnull=True) | Q(group_id=group.pk if group else None)
    )
    if user is not None:
        maps = maps.filter(policies.driver_map_scope(user))
    return (
        Factor.objects.filter(map__in=maps)
        .select_related("code", "map")
        .defer("map__description", "note")
        .order_by("map__title", "label", "pk")
    )


def priorities_for(*, group: CommunityGroup | None) -> QuerySet[Priority]:
    """The priorities a consultation may name: those its group agreed (none without one)."""
    if group is None:
        return Priority.objects.none()
    return (
        Priority.objects.filter(
            priority_list__group_id=group.pk, priority_list__agreed_on__isnull=False
        )
        .select_related("code")
        .order_by("priority_list_id", "rank", "pk")
    )


def plans_for(*, user: AnyUser, consultation: Consultation) -> list[ActionPlan]:
    """The plans a commitment of ``consultation`` may become an action of: of its programme
    and its group (plans of no group for a consultation of no group), not completed nor
    closed, and that the user may write."""
    plans = plan_list(user=user, programme=consultation.programme).exclude(
        status__in=[ActionPlan.Status.COMPLETED, ActionPlan.Status.CLOSED]
    )
    if consultation.group_id is None:
        plans = plans.filter(group__isnull=True)
    else:
        plans = plans.filter(group_id=consultation.group_id)
    return [plan for plan in plans if policies.can(user, "plan.edit", plan)]


def objectives_for(*, user: AnyUser, consultation: Consultation) -> QuerySet[Objective]:
    """The objectives of :func:`plans_for`'s plans, each with its plan."""
    plans = plans_for(user=user, consultation=consultation)
    return (
        Objective.objects.filter(plan_id__in=[plan.pk for plan in plans])
        .select_related("plan")
        .order_by("plan__title", "plan_id", "position", "pk")
    )
