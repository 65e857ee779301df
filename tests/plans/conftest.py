"""A programme with a partner's group, its agreed priority list (two coded concerns) and a
driver map of the group naming the same codes; another partner's group and another
programme's, for what must be refused."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest

from amniyat.accounts.models import Membership, Programme, User
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.models import Code, DriverMap, Factor, Priority, PriorityList
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan
from tests.factories import CommunityGroupFactory, OrganisationFactory, ProgrammeFactory, member_of

Role = Membership.Role
START = datetime.date(2024, 1, 1)


@dataclass
class Scene:
    programme: Programme
    group: CommunityGroup
    other_group: CommunityGroup
    priority_list: PriorityList
    priorities: list[Priority]
    factors: list[Factor]
    foreign_factor: Factor
    foreign_priority: Priority
    other_factor: Factor
    users: dict[str, User]
    outsider: User


def _stuff(programme: Programme, group: CommunityGroup, marker: str, **org: Any) -> Any:
    code = Code.objects.create(
        programme=programme, key=f"{marker}-code", kind=Code.Kind.CONCERN, name_en=f"{marker} code"
    )
    other_code = Code.objects.create(
        programme=programme, key=f"{marker}-code2", kind=Code.Kind.CONCERN, name_en=f"{marker} 2"
    )
    driver_map = DriverMap.objects.create(
        programme=programme, title=f"{marker} map", group=group, **org
    )
    factors = [
        Factor.objects.create(map=driver_map, kind="concern", label=f"{marker} theft", code=code),
        Factor.objects.create(
            map=driver_map, kind="driver", label=f"{marker} lighting", code=other_code
        ),
    ]
    priority_list = PriorityList.objects.create(
        group=group, title=f"{marker} priorities", agreed_on=datetime.date(2023, 12, 1)
    )
    priorities = [
        Priority.objects.create(
            priority_list=priority_list,
            concern=f"{marker} theft at the market",
            code=code,
            severity=4,
            affected=4,
            urgency=4,
            changeable=3,
            rank=1,
        ),
        Priority.objects.create(
            priority_list=priority_list,
            concern=f"{marker} dark streets",
            code=other_code,
            severity=3,
            affected=3,
            urgency=3,
            changeable=5,
            rank=2,
        ),
    ]
    return priority_list, priorities, factors


@pytest.fixture
def scene(db: None) -> Scene:
    programme = ProgrammeFactory()
    partner, other_partner = OrganisationFactory(name="Own CSO"), OrganisationFactory(name="Other")
    programme.partners.add(partner, other_partner)
    group = CommunityGroupFactory(programme=programme, facilitating_organisation=partner)
    other_group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=other_partner
    )
    priority_list, priorities, factors = _stuff(programme, group, "own", organisation=partner)
    _l, other_priorities, other_factors = _stuff(
        programme, other_group, "other", organisation=other_partner
    )
    foreign = ProgrammeFactory()
    foreign_group = CommunityGroupFactory(programme=foreign)
    _fl, _fp, foreign_factors = _stuff(foreign, foreign_group, "foreign")
    users = {
        Role.LEAD: member_of(programme, Role.LEAD),
        Role.ANALYST: member_of(programme, Role.ANALYST),
        Role.FACILITATOR: member_of(programme, Role.FACILITATOR, organisation=partner),
        Role.GROUP_MEMBER: member_of(programme, Role.GROUP_MEMBER, group=group),
        Role.VIEWER: member_of(programme, Role.VIEWER),
    }
    return Scene(
        programme=programme,
        group=group,
        other_group=other_group,
        priority_list=priority_list,
        priorities=priorities,
        factors=factors,
        foreign_factor=foreign_factors[0],
        foreign_priority=other_priorities[0],
        other_factor=other_factors[0],
        users=users,
        outsider=member_of(programme, Role.FACILITATOR, organisation=other_partner),
    )


def make_plan(scene: Scene, user: User | None = None) -> ActionPlan:
    return services.plan_create_from_priorities(
        user=user or scene.users[Role.LEAD],
        priority_list=scene.priority_list,
        priorities=scene.priorities,
        title="Safer market",
        period_start=START,
        period_end=datetime.date(2024, 12, 31),
    )


def action_values(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Joint patrols",
        "lead_actor": "District police",
        "lead_side": "authority",
        "start_on": START,
        "due_on": datetime.date(2024, 6, 30),
        **overrides,
    }


def make_action(plan: ActionPlan, parent: Action | None = None, **overrides: Any) -> Action:
    objective = parent.objective if parent else plan.objectives.order_by("position").first()
    assert objective is not None
    return services.action_create(
        user=None, objective=objective, parent=parent, **action_values(**overrides)
    )
