"""The demo's plans, built through the services on groups with agreed priorities: a plan for
every such group, a year of updates, consultations, a dispute, a published plan."""

from __future__ import annotations

import datetime

from amniyat.demo.plans import GROUPS, build_plans_demo, remove_plans
from amniyat.drivers.models import PriorityList
from amniyat.plans import accountability
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Commitment,
    Consultation,
    Dispute,
)
from amniyat.plans.services import objective_progress, progress_of
from tests.factories import CommunityGroupFactory
from tests.plans.conftest import Role, Scene


def test_every_group_with_an_agreed_list_gets_a_plan_with_a_year_of_updates(
    scene: Scene,
) -> None:
    country = scene.programme.country.code
    scene.group.name = GROUPS[country]
    scene.group.save()
    # A group whose list is not agreed yet, and one with no list: no plan.
    unagreed = CommunityGroupFactory(programme=scene.programme)
    PriorityList.objects.create(group=unagreed, title="Draft")
    CommunityGroupFactory(programme=scene.programme)
    lead = scene.users[Role.LEAD]

    plans = build_plans_demo(scene.programme, lead=lead)

    assert {p.group_id for p in plans} == {scene.group.pk, scene.other_group.pk}
    for plan in plans:
        assert plan.status == ActionPlan.Status.IN_PROGRESS
        assert plan.signatories.count() == 3
        actions = list(Action.objects.filter(objective__plan=plan))
        assert len(actions) >= 4 and any(a.parent_id for a in actions)
        assert all(
            v is not None for v in objective_progress(actions, progress_of(actions)).values()
        )
        # Updates through the plan's year, each with who took part.
        dates = sorted(
            ActionUpdate.objects.filter(action__objective__plan=plan).values_list(
                "reported_on", flat=True
            )
        )
        assert (dates[-1] - dates[0]).days >= 300
        assert dates[0] >= plan.period_start
        assert all(
            u.participant_total > 0
            for u in ActionUpdate.objects.filter(action__objective__plan=plan)
        )
        statuses = {a.status for a in actions}
        assert {Action.Status.DONE, Action.Status.DELAYED} <= statuses
        # Done on the day its update said so, near its due date: the share done on time is
        # neither nothing nor everything, and no action is "done without a date".
        done = [a for a in actions if a.status == Action.Status.DONE]
        assert all(a.done_on is not None and abs((a.done_on - a.due_on).days) <= 40 for a in done)
        share = accountability.on_time_share(actions, datetime.date(2030, 1, 1))
        assert share.undated == 0 and share.share is not None and 0 < share.share < 1

    chosen = next(p for p in plans if p.group_id == scene.group.pk)
    disputes = Dispute.objects.filter(action__objective__plan__in=plans)
    if country == "TJ":
        assert chosen.published_at is not None
        assert [d.is_open for d in disputes] == [True]
    else:
        assert [d.is_open for d in disputes] == [False]
    assert ActionUpdate.objects.filter(verified_by=lead).exists()

    consultations = Consultation.objects.filter(programme=scene.programme)
    assert consultations.count() == 3
    for consultation in consultations:
        assert consultation.community_women + consultation.authority_men > 0
        assert consultation.priorities.exists() and consultation.commitments.exists()
    turned = Commitment.objects.filter(
        consultation__programme=scene.programme, action__isnull=False
    )
    assert turned.count() == 1
    assert turned.get().action.objective.plan_id == chosen.pk

    # Built again, the same demo.
    first = sorted(
        ActionUpdate.objects.filter(action__objective__plan__in=plans).values_list(
            "reported_on", "status", "progress"
        )
    )
    remove_plans(scene.programme)
    assert not ActionPlan.objects.exists() and not Consultation.objects.exists()
    plans = build_plans_demo(scene.programme, lead=lead)
    again = sorted(
        ActionUpdate.objects.filter(action__objective__plan__in=plans).values_list(
            "reported_on", "status", "progress"
        )
    )
    assert again == first
