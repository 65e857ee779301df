"""The plans' services: starting a plan from agreed priorities, endorsing it, its statuses,
actions and their tree, and the bad input the issue lists (a translated message; nothing
changed)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from djmoney.money import Money

from amniyat.audit.models import AuditEvent
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan, Objective, Signatory
from tests.plans.conftest import Role, Scene, action_values, make_action, make_plan


def _messages(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return error.value.messages


def test_a_plan_starts_from_agreed_priorities_with_their_factors(scene: Scene) -> None:
    plan = make_plan(scene)
    assert plan.status == ActionPlan.Status.DRAFT
    assert plan.group == scene.group and plan.programme == scene.programme
    objectives = list(plan.objectives.order_by("position"))
    assert [o.title for o in objectives] == [p.concern for p in scene.priorities]
    assert [o.priority for o in objectives] == scene.priorities
    # Each objective carries the factors its priority's code names, nothing else.
    assert list(objectives[0].factors.all()) == [scene.factors[0]]
    assert list(objectives[1].factors.all()) == [scene.factors[1]]
    assert AuditEvent.objects.filter(object_type="plans.actionplan", verb="created").exists()


def test_a_list_not_agreed_is_refused_with_a_translated_message(scene: Scene) -> None:
    scene.priority_list.agreed_on = None
    scene.priority_list.save()
    with pytest.raises(ValidationError) as error:
        make_plan(scene)
    assert "agreed" in _messages(error)[0]
    with translation.override("ru"), pytest.raises(ValidationError):
        make_plan(scene)
    assert not ActionPlan.objects.exists() and not Objective.objects.exists()


def test_priorities_of_another_list_are_refused(scene: Scene) -> None:
    with pytest.raises(ValidationError):
        services.plan_create_from_priorities(
            user=scene.users[Role.LEAD],
            priority_list=scene.priority_list,
            priorities=[scene.foreign_priority],
            title="X",
            period_start=datetime.date(2024, 1, 1),
            period_end=datetime.date(2024, 2, 1),
        )
    assert not ActionPlan.objects.exists()


def test_who_may_start_a_plan(scene: Scene) -> None:
    make_plan(scene, scene.users[Role.FACILITATOR])
    for role in (Role.ANALYST, Role.GROUP_MEMBER, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            make_plan(scene, scene.users[role])
    with pytest.raises(PermissionDenied):
        make_plan(scene, scene.outsider)
    assert ActionPlan.objects.count() == 1


def test_a_facilitator_links_only_factors_of_maps_they_read(scene: Scene) -> None:
    # A map of another partner's team, drawn for no group: the lead reads it, the
    # facilitator does not, so their plan's objective does not carry its factor.
    hidden_map = scene.other_factor.map
    hidden_map.group = None
    hidden_map.save()
    scene.other_factor.code = scene.priorities[0].code
    scene.other_factor.save()
    by_facilitator = make_plan(scene, scene.users[Role.FACILITATOR])
    first = by_facilitator.objectives.order_by("position").first()
    assert first is not None and scene.other_factor not in first.factors.all()
    by_lead = make_plan(scene, scene.users[Role.LEAD])
    first = by_lead.objectives.order_by("position").first()
    assert first is not None and scene.other_factor in first.factors.all()


# Endorsement and status ------------------------------------------------------------------


def _endorse(plan: ActionPlan, kind: str) -> Signatory:
    return services.signatory_add(
        user=None,
        plan=plan,
        kind=kind,
        name=f"The {kind}",
        role="chair",
        endorsed_on=datetime.date(2024, 1, 5),
    )


def test_agreed_only_with_the_group_and_an_authority(scene: Scene) -> None:
    plan = make_plan(scene)
    lead = scene.users[Role.LEAD]
    with pytest.raises(ValidationError):
        services.plan_status_set(user=lead, plan=plan, status="agreed")
    _endorse(plan, Signatory.Kind.GROUP)
    _endorse(plan, Signatory.Kind.CSO)  # a CSO is not an authority
    with pytest.raises(ValidationError) as error:
        services.plan_status_set(user=lead, plan=plan, status="agreed")
    assert "authority" in _messages(error)[0]
    plan.refresh_from_db()
    assert plan.status == "draft"
    _endorse(plan, Signatory.Kind.DISTRICT)
    services.plan_status_set(user=lead, plan=plan, status="agreed")
    services.plan_status_set(user=lead, plan=plan, status="in_progress")
    services.plan_status_set(user=lead, plan=plan, status="completed")
    plan.refresh_from_db()
    assert plan.status == "completed"
    with pytest.raises(ValidationError):
        services.plan_status_set(user=lead, plan=plan, status="in_progress")


def test_authorities_without_the_group_do_not_agree_a_plan(scene: Scene) -> None:
    plan = make_plan(scene)
    _endorse(plan, Signatory.Kind.POLICE)
    _endorse(plan, Signatory.Kind.DISTRICT)
    with pytest.raises(ValidationError):
        services.plan_status_set(user=None, plan=plan, status="agreed")


def test_closing_early_needs_a_reason(scene: Scene) -> None:
    plan = make_plan(scene)
    with pytest.raises(ValidationError):
        services.plan_status_set(user=None, plan=plan, status="closed", reason=" ")
    services.plan_status_set(user=None, plan=plan, status="closed", reason="Group dissolved")
    plan.refresh_from_db()
    assert (plan.status, plan.closed_reason) == ("closed", "Group dissolved")
    with pytest.raises(ValidationError):
        _endorse(plan, Signatory.Kind.GROUP)


def test_an_endorsement_in_the_future_is_refused(scene: Scene) -> None:
    plan = make_plan(scene)
    with pytest.raises(ValidationError):
        services.signatory_add(
            user=None,
            plan=plan,
            kind="police",
            name="Police",
            role="chief",
            endorsed_on=datetime.date(2999, 1, 1),
        )
    assert not Signatory.objects.exists()


def test_only_who_edits_the_group_endorses(scene: Scene) -> None:
    plan = make_plan(scene)
    for user in (scene.users[Role.GROUP_MEMBER], scene.users[Role.VIEWER], scene.outsider):
        with pytest.raises(PermissionDenied):
            services.signatory_add(
                user=user,
                plan=plan,
                kind="group",
                name="G",
                role="chair",
                endorsed_on=datetime.date(2024, 1, 2),
            )


# Actions ---------------------------------------------------------------------------------


def test_an_action_with_its_links_money_and_actors(scene: Scene) -> None:
    plan = make_plan(scene)
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    action = services.action_create(
        user=scene.users[Role.FACILITATOR],
        objective=objective,
        factors=[scene.factors[0]],
        priorities=[scene.priorities[0]],
        **action_values(
            cost=Money("1500.50", "TJS"),
            funding="authority",
            supporting_actors=[
                {"name": "Mahalla committee", "side": "authority"},
                {"name": "Women's group", "side": "community"},
            ],
            beneficiaries=["women", "youth"],
        ),
    )
    action.refresh_from_db()
    assert action.cost == Money(Decimal("1500.50"), "TJS")
    assert isinstance(action.cost.amount, Decimal)
    assert list(action.factors.all()) == [scene.factors[0]]
    assert action.supporting_actors[1] == {"name": "Women's group", "side": "community"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_on": datetime.date(2023, 12, 31)}, "due_on"),
        ({"progress": 101}, "progress"),
        ({"progress": -1}, "progress"),
        ({"status": "done", "progress": 0}, "progress"),
        ({"status": "dropped"}, "status_reason"),
        ({"cost": Money("10", "EUR")}, "cost"),
        ({"cost": Money("-1", "USD")}, "cost"),
        ({"weight": 0}, "weight"),
        ({"beneficiaries": ["aliens"]}, "beneficiaries"),
        ({"lead_side": "neither"}, "lead_side"),
    ],
)
def test_bad_action_values_are_refused(scene: Scene, overrides: dict, field: str) -> None:  # type: ignore[type-arg]
    plan = make_plan(scene)
    with pytest.raises(ValidationError) as error:
        make_action(plan, **overrides)
    assert field in error.value.error_dict
    assert not Action.objects.exists()


def test_links_of_another_programme_or_group_are_refused(scene: Scene) -> None:
    plan = make_plan(scene)
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    lead = scene.users[Role.LEAD]
    for links in (
        {"factors": [scene.foreign_factor]},  # another programme's
        {"factors": [scene.other_factor]},  # a map of another group
        {"priorities": [scene.foreign_priority]},  # another group's priority
    ):
        with pytest.raises(ValidationError):
            services.action_create(user=lead, objective=objective, **links, **action_values())
    assert not Action.objects.exists()


def test_a_sub_action_cycle_is_refused(scene: Scene) -> None:
    plan = make_plan(scene)
    top = make_action(plan)
    middle = make_action(plan, parent=top)
    bottom = make_action(plan, parent=middle)
    for parent in (bottom, middle, top):
        with pytest.raises(ValidationError) as error:
            services.action_update(user=None, action=top, parent=parent)
        assert "parent" in error.value.error_dict
    top.refresh_from_db()
    assert top.parent_id is None


def test_moving_an_action_takes_its_parts_along(scene: Scene) -> None:
    plan = make_plan(scene)
    first, second = plan.objectives.order_by("position")
    top = make_action(plan)
    part = make_action(plan, parent=top)
    services.action_update(user=None, action=top, objective=second)
    part.refresh_from_db()
    assert part.objective == second and part.parent == top
    other = make_action(plan)  # under the first objective
    with pytest.raises(ValidationError):
        services.action_update(user=None, action=other, objective=first, parent=part)


def test_the_roll_up_of_stored_actions(scene: Scene) -> None:
    plan = make_plan(scene)
    top = make_action(plan)
    make_action(plan, parent=top, progress=100, status="done")
    middle = make_action(plan, parent=top, weight=3)
    make_action(plan, parent=middle, progress=20)
    make_action(plan, parent=middle, progress=40)
    actions = list(Action.objects.filter(objective__plan=plan))
    rolled = services.progress_of(actions)
    assert rolled[middle.pk] == pytest.approx(30.0)
    assert rolled[top.pk] == pytest.approx((100 + 3 * 30) / 4)
    by_objective = services.objective_progress(actions, rolled)
    assert by_objective[top.objective_id] == pytest.approx(47.5)


def test_a_priority_list_a_plan_answers_is_kept(scene: Scene) -> None:
    from amniyat.drivers.models import PriorityList
    from amniyat.drivers.priorities import services as priority_services

    make_plan(scene)
    with pytest.raises(ValidationError) as error:
        priority_services.priority_list_delete(user=None, priority_list=scene.priority_list)
    assert "action plan" in _messages(error)[0]
    assert PriorityList.objects.filter(pk=scene.priority_list.pk).exists()


def test_an_edit_without_a_parent_keeps_the_action_where_it_is(scene: Scene) -> None:
    plan = make_plan(scene)
    top = make_action(plan)
    part = make_action(plan, parent=top)
    services.action_update(user=None, action=part, progress=50, status="on_track")
    part.refresh_from_db()
    assert (part.parent_id, part.progress) == (top.pk, 50)
    services.action_update(user=None, action=part, parent=None)
    part.refresh_from_db()
    assert part.parent_id is None


def test_an_objective_reads_as_its_priority_in_every_language(scene: Scene) -> None:
    code = scene.priorities[0].code
    assert code is not None
    code.name_ru, code.name_tg, code.name_uz = "Кражи", "Дуздӣ", "Oʻgʻrilik"
    code.save()
    plan = make_plan(scene)
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    assert objective.translated("title", "ru") == "Кражи"
    assert objective.translated("title", "uz") == "Oʻgʻrilik"
