"""The demo's plan, built through the services on a group with agreed priorities."""

from __future__ import annotations

from amniyat.demo.plans import GROUPS, build_plans_demo, remove_plans
from amniyat.plans.models import Action, ActionPlan
from amniyat.plans.services import objective_progress, progress_of
from tests.plans.conftest import Scene


def test_the_demo_plan_is_agreed_in_progress_and_rolls_up(scene: Scene) -> None:
    country = scene.programme.country.code
    scene.group.name = GROUPS[country]
    scene.group.save()
    plan = build_plans_demo(scene.programme)
    assert plan is not None and plan.status == ActionPlan.Status.IN_PROGRESS
    assert plan.signatories.count() == 3
    actions = list(Action.objects.filter(objective__plan=plan))
    assert len(actions) == 5 and any(a.parent_id for a in actions)
    rolled = progress_of(actions)
    patrols = next(a for a in actions if a.title.startswith("Joint police"))
    assert rolled[patrols.pk] == 65.0  # (100 + 30) / 2
    assert all(v is not None for v in objective_progress(actions, rolled).values())
    remove_plans(scene.programme)
    assert not ActionPlan.objects.exists()
