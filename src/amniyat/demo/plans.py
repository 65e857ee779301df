"""A joint action plan for one community group of each demo programme, started from the
group's agreed priorities through the plans' services, endorsed by the group, the district
administration and the police, with actions and sub-actions some way along (the rest of the
demo's plans, their progress updates and consultations come with the rest of issue #16)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from djmoney.money import Money

from amniyat.accounts.models import Programme
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.models import PriorityList
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan, Signatory

# The group of each demo programme whose plan is built (the demo group member's in Tajikistan,
# the Uzbek demo facilitator's in Uzbekistan).
GROUPS = {
    "TJ": "Mahalla Guliston community group",
    "UZ": "Mahalla Navbahor community security working group",
}
CURRENCY = {"TJ": "TJS", "UZ": "UZS"}
DISTRICT = {"TJ": "Kulob district hukumat", "UZ": "Jizzakh district hokimiyat"}


@dataclass(frozen=True)
class DemoAction:
    title: str
    lead: str
    side: str
    days: tuple[int, int]  # start and due, in days from the plan's start
    cost: int | None = None
    funding: str = "own"
    status: str = "not_started"
    progress: int = 0
    beneficiaries: tuple[str, ...] = ()
    supporting: tuple[tuple[str, str], ...] = ()
    parts: list[DemoAction] = field(default_factory=list)


ACTIONS = [
    DemoAction(
        "Joint police–community patrols and monthly meetings",
        "District police",
        "authority",
        (14, 180),
        status="on_track",
        beneficiaries=("women", "men", "youth"),
        supporting=(("Mahalla committee", "authority"), ("Women's council", "community")),
        parts=[
            DemoAction(
                "Agree the patrol routes with residents",
                "Women's council",
                "community",
                (14, 45),
                status="done",
                progress=100,
            ),
            DemoAction(
                "Monthly open meeting with the district police inspector",
                "District police",
                "authority",
                (30, 180),
                status="delayed",
                progress=30,
            ),
        ],
    ),
    DemoAction(
        "Street lighting on the roads to the school and the market",
        "District administration",
        "authority",
        (30, 240),
        cost=45000,
        funding="authority",
        status="on_track",
        progress=40,
        beneficiaries=("women", "girls"),
    ),
    DemoAction(
        "Evening sports and vocational courses for young people and returning migrants",
        "Youth club",
        "community",
        (60, 300),
        cost=12000,
        funding="small_grant",
        beneficiaries=("youth", "returnees", "boys"),
        supporting=(("Vocational college", "authority"),),
    ),
]


def _add(
    plan: ActionPlan,
    objective_index: int,
    item: DemoAction,
    currency: str,
    parent: Action | None = None,
) -> None:
    objectives = list(plan.objectives.order_by("position"))
    objective = parent.objective if parent else objectives[objective_index % len(objectives)]
    action = services.action_create(
        user=None,
        objective=objective,
        parent=parent,
        title=item.title,
        lead_actor=item.lead,
        lead_side=item.side,
        supporting_actors=[{"name": n, "side": s} for n, s in item.supporting],
        start_on=plan.period_start + datetime.timedelta(days=item.days[0]),
        due_on=plan.period_start + datetime.timedelta(days=item.days[1]),
        cost=Money(Decimal(item.cost), currency) if item.cost is not None else None,
        funding=item.funding,
        beneficiaries=list(item.beneficiaries),
        status=item.status,
        progress=item.progress,
        priorities=[objective.priority] if objective.priority else [],
        factors=list(objective.factors.all()[:2]),
    )
    for part in item.parts:
        _add(plan, objective_index, part, currency, parent=action)


def build_plans_demo(programme: Programme) -> ActionPlan | None:
    """The demo plan of ``programme``'s chosen group, from its agreed priority list."""
    country = programme.country.code
    group = CommunityGroup.objects.filter(programme=programme, name=GROUPS.get(country)).first()
    if group is None:
        return None
    return build_plan(group)


def build_plan(group: CommunityGroup) -> ActionPlan | None:
    """A plan of ``group`` (the demo's: three of its agreed priorities, endorsed by the group,
    the district and the police, five actions, in progress), from its latest agreed priority
    list; None if it has none."""
    country = group.programme.country.code
    priority_list = (
        PriorityList.objects.filter(group=group, agreed_on__isnull=False)
        .order_by("-agreed_on")
        .first()
    )
    if priority_list is None or priority_list.agreed_on is None:
        return None
    chosen = list(priority_list.priorities.select_related("code").order_by("rank", "pk")[:3])
    start = priority_list.agreed_on + datetime.timedelta(days=14)
    plan = services.plan_create_from_priorities(
        user=None,
        priority_list=priority_list,
        priorities=chosen,
        title="Joint community safety plan",
        period_start=start,
        period_end=start + datetime.timedelta(days=364),
        content_language="en",
        is_demo=True,
    )
    endorsed = start - datetime.timedelta(days=3)
    for kind, name, role in (
        (Signatory.Kind.GROUP, group.name, "group chair"),
        (Signatory.Kind.DISTRICT, DISTRICT[country], "deputy head"),
        (Signatory.Kind.POLICE, "District police", "community policing inspector"),
    ):
        services.signatory_add(
            user=None, plan=plan, kind=kind, name=name, role=role, endorsed_on=endorsed
        )
    for index, item in enumerate(ACTIONS):
        _add(plan, index, item, CURRENCY[country])
    services.plan_status_set(user=None, plan=plan, status=ActionPlan.Status.AGREED)
    services.plan_status_set(user=None, plan=plan, status=ActionPlan.Status.IN_PROGRESS)
    return plan


def remove_plans(programme: Programme) -> None:
    """Plans hold protected references to groups and priority lists: they go first."""
    ActionPlan.objects.filter(programme=programme).delete()
