"""Scoped reads of action plans, their objectives, actions and endorsements: every read takes
the user, the one policy (``policies.plan_scope``) decides, and what they may not read is
absent (404)."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, F, Prefetch, Q, QuerySet

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import DriverMap, Factor, Priority, PriorityList
from amniyat.drivers.priorities.selectors import priority_list_list
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Dispute,
    Evidence,
    Objective,
    Signatory,
)

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser

# A plan's group and place are named on its pages, never drawn nor counted.
_UNREAD = (
    "group__place__boundary",
    "group__place__population",
    "place__boundary",
    "place__population",
)


def plans_visible(*, user: AnyUser) -> QuerySet[ActionPlan]:
    """Every plan of every programme the user may read (``policies.plan_scope``)."""
    return ActionPlan.objects.filter(policies.plan_scope(user))


def plan_list(*, user: AnyUser, programme: Programme) -> QuerySet[ActionPlan]:
    """The programme's plans the user may read, latest period first, with what the list
    names of each (its group, place and priority list)."""
    return (
        plans_visible(user=user)
        .filter(programme=programme)
        .select_related("group__place", "place", "priority_list")
        .defer(*_UNREAD)
        .order_by("-period_start", "title", "pk")
    )


def plan_get(*, user: AnyUser, programme: Programme, pk: int | str) -> ActionPlan:
    return one_or_404(plan_list(user=user, programme=programme), pk, "action plan")


def readable_factors(user: AnyUser) -> QuerySet[Factor]:
    """Factors of the driver maps the user may read: a plan shows only those of its links
    (a group member reads their group's plan, not a partner's unpublished map)."""
    return (
        Factor.objects.filter(policies.driver_map_scope(user, "map__"))
        .select_related("code")
        .order_by("pk")
    )


def objectives_of(plan: ActionPlan, *, user: AnyUser) -> list[Objective]:
    """A plan's objectives (of a plan read through :func:`plan_get`), in order, each with its
    priority and the factors it carries that the user may read (with their codes, whose
    names they read as)."""
    return list(
        plan.objectives.select_related("priority__code", "plan")
        .prefetch_related(Prefetch("factors", queryset=readable_factors(user)))
        .order_by("position", "pk")
    )


def actions_of(plan: ActionPlan, *, user: AnyUser) -> list[Action]:
    """Every action of a plan, at any depth, with the factors (those the user may read) and
    priorities each addresses."""
    return list(
        Action.objects.filter(objective__plan=plan)
        .select_related("objective__plan")
        .prefetch_related(
            Prefetch("factors", queryset=readable_factors(user)),
            Prefetch("priorities", queryset=Priority.objects.select_related("code").order_by("pk")),
        )
        .order_by("objective_id", "position", "pk")
    )


def signatories_of(plan: ActionPlan) -> QuerySet[Signatory]:
    return plan.signatories.order_by("endorsed_on", "pk")


def action_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Action:
    """One action of a plan the user may read."""
    queryset = (
        Action.objects.filter(
            policies.plan_scope(user, "objective__plan__"), objective__plan__programme=programme
        )
        .select_related("objective__plan__group", "objective__plan__priority_list", "parent")
        .defer("objective__plan__group__description")
    )
    return one_or_404(queryset, pk, "action")


def agreed_priority_lists(*, user: AnyUser, programme: Programme) -> QuerySet[PriorityList]:
    """The priority lists a plan can start from: agreed, of a group the user may read."""
    return priority_list_list(user=user, programme=programme).filter(agreed_on__isnull=False)


def factors_for(*, user: AnyUser | None, plan: ActionPlan) -> QuerySet[Factor]:
    """The factors an objective or action of ``plan`` may address: of driver maps of the
    plan's programme that the user may read (any, for the system: ``user`` None), drawn for
    the plan's group or for no group."""
    maps = DriverMap.objects.filter(programme_id=plan.programme_id).filter(
        Q(group__isnull=True) | Q(group_id=plan.group_id)
    )
    if user is not None:
        maps = maps.filter(policies.driver_map_scope(user))
    return (
        Factor.objects.filter(map__in=maps)
        .select_related("code", "map")
        .defer("map__description", "note")
        .order_by("map__title", "label", "pk")
    )


def priorities_for(*, plan: ActionPlan) -> QuerySet[Priority]:
    """The priorities an action of ``plan`` may address: those of its group's agreed lists
    (the plan having been read through :func:`plan_get`, so the group is the user's)."""
    if plan.group_id is None:
        return Priority.objects.none()
    return (
        Priority.objects.filter(
            priority_list__group_id=plan.group_id, priority_list__agreed_on__isnull=False
        )
        .select_related("code")
        .order_by("priority_list_id", "rank", "pk")
    )


# Accountability and public pages ----------------------------------------------------------


def public_plan_list(*, user: AnyUser, programme: Programme) -> QuerySet[ActionPlan]:
    """The programme's plans whose public page the user may read (``plan_scope`` with
    ``public``: for viewers, the published ones only)."""
    return (
        ActionPlan.objects.filter(policies.plan_scope(user, public=True), programme=programme)
        .select_related("group__place", "place")
        .defer(*_UNREAD, "group__description")
        .order_by("-period_start", "title", "pk")
    )


def public_plan_get(*, user: AnyUser, programme: Programme, pk: int | str) -> ActionPlan:
    return one_or_404(public_plan_list(user=user, programme=programme), pk, "action plan")


def actions_with_chain(plan: ActionPlan, *, user: AnyUser) -> list[Action]:
    """Every action of a plan with the chain behind it: the priorities it addresses (with
    their list) and the factors it addresses that the user may read, each with its map and
    the number of excerpts (evidence) behind it."""
    factors = (
        Factor.objects.filter(policies.driver_map_scope(user, "map__"))
        .select_related("code", "map")
        .defer("map__description", "note")
        .annotate(evidence=Count("excerpts", distinct=True))
        .order_by("pk")
    )
    return list(
        Action.objects.filter(objective__plan=plan)
        .prefetch_related(
            Prefetch("factors", queryset=factors),
            Prefetch("priorities", queryset=Priority.objects.select_related("code").order_by("pk")),
        )
        .order_by("objective_id", "position", "pk")
    )


@dataclass(frozen=True)
class ActionRow:
    """What the programme's accountability page counts of one action: read as plain values
    (no model instance per row), for programmes with thousands of actions."""

    pk: int
    plan_id: int
    parent_id: int | None
    lead_actor: str
    lead_side: str
    status: str
    start_on: datetime.date
    due_on: datetime.date
    done_on: datetime.date | None
    progress: int
    weight: int


def action_rows_of_plans(plans: QuerySet[ActionPlan]) -> list[ActionRow]:
    """Every action of the given plans (read through a selector) as :class:`ActionRow`, in
    one query."""
    fields = [f.name for f in dataclasses.fields(ActionRow)]
    fields[fields.index("plan_id")] = "objective__plan_id"
    rows = (
        Action.objects.filter(objective__plan__in=plans.values("pk"))
        .order_by("objective__plan_id", "objective_id", "position", "pk")
        .values_list(*fields)
    )
    return [ActionRow(*row) for row in rows]


def actions_counted(*, pks: list[int], limit: int) -> list[Action]:
    """The actions a count stands for (ids already scoped by the caller's selector), with
    their plans, at most ``limit``."""
    return list(
        Action.objects.filter(pk__in=pks[:limit])
        .select_related("objective__plan")
        .defer("objective__plan__closed_reason", "expected_result", "status_reason")
        .order_by("objective__plan_id", "objective_id", "position", "pk")
    )


# Progress updates, evidence and disputes (plans/updates.py writes them) --------------------


def updates_of(action: Action, *, user: AnyUser) -> QuerySet[ActionUpdate]:
    """The updates of an action (read through :func:`action_get`), latest first, each with the
    evidence the user may see (``policies.evidence_scope``: photos not marked publishable only
    for the team around the plan)."""
    return action.updates.order_by("-reported_on", "-pk").prefetch_related(
        Prefetch(
            "evidence",
            queryset=Evidence.objects.filter(policies.evidence_scope(user)).order_by("pk"),
        )
    )


def disputes_of(action: Action) -> QuerySet[Dispute]:
    """Every dispute of an action (read through :func:`action_get`), open ones first."""
    return action.disputes.order_by(F("resolved_at").desc(nulls_first=True), "-raised_at", "-pk")


def update_get(*, user: AnyUser, programme: Programme, pk: int | str) -> ActionUpdate:
    """One update of an action of a plan the user may read."""
    queryset = ActionUpdate.objects.filter(
        policies.plan_scope(user, "action__objective__plan__"),
        action__objective__plan__programme=programme,
    ).select_related("action__objective__plan__group", "action__objective__plan__programme")
    return one_or_404(queryset, pk, "progress update")


def dispute_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Dispute:
    """One dispute about an action of a plan the user may read."""
    queryset = Dispute.objects.filter(
        policies.plan_scope(user, "action__objective__plan__"),
        action__objective__plan__programme=programme,
    ).select_related("action__objective__plan__group", "action__objective__plan__programme")
    return one_or_404(queryset, pk, "dispute")


def evidence_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Evidence:
    """One file of evidence the user may see (``policies.evidence_scope``)."""
    queryset = Evidence.objects.filter(
        policies.evidence_scope(user),
        update__action__objective__plan__programme=programme,
    ).select_related(
        "update__action__objective__plan__group", "update__action__objective__plan__programme"
    )
    return one_or_404(queryset, pk, "evidence")


def publishable_evidence(plan: ActionPlan) -> QuerySet[Evidence]:
    """What of a plan's evidence may be shown on a public page: only files marked
    publishable (a photo not so marked may show faces)."""
    return Evidence.objects.filter(update__action__objective__plan=plan, publishable=True).order_by(
        "update__action_id", "pk"
    )


@dataclass
class UpdatesSummary:
    """What the plan's page says of its actions' updates: how many there are and how many wait
    for verification, and the disputes not yet resolved (with their actions)."""

    updates: int
    waiting: int
    open_disputes: list[Dispute]


def disputed_statuses(plan: ActionPlan) -> dict[int, list[str]]:
    """For a plan read through a selector: the statuses the community says hold, of each
    action with a dispute not yet resolved (one query; the statuses alone, no text, no
    name), so that every page showing the reported status shows the dispute beside it."""
    found: dict[int, list[str]] = {}
    for action_id, claimed in (
        Dispute.objects.filter(action__objective__plan=plan, resolved_at__isnull=True)
        .order_by("raised_at", "pk")
        .values_list("action_id", "claimed_status")
    ):
        found.setdefault(action_id, []).append(claimed)
    return found


def updates_summary(plan: ActionPlan) -> UpdatesSummary:
    """Counted by the database (two queries, whatever the number of updates), for a plan read
    through :func:`plan_get`. No free text is read."""
    counts = ActionUpdate.objects.filter(action__objective__plan=plan).aggregate(
        n=Count("pk"), waiting=Count("pk", filter=Q(verified_at__isnull=True))
    )
    disputes = list(
        Dispute.objects.filter(action__objective__plan=plan, resolved_at__isnull=True)
        .select_related("action")
        .defer("text", "resolution")
        .order_by("-raised_at", "-pk")
    )
    return UpdatesSummary(
        updates=counts["n"] or 0, waiting=counts["waiting"] or 0, open_disputes=disputes
    )
