"""The plan pages: each role sees what the policy lets it and nothing else (404), a plan is
started, endorsed, moved on and given actions through the pages, and bad input is shown
again with its message and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from amniyat.plans.models import Action, ActionPlan, Signatory
from tests.plans.conftest import Role, Scene, make_action, make_plan


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _urls(scene: Scene, plan: ActionPlan, action: Action) -> dict[str, str]:
    slug = scene.programme.slug
    return {
        "list": reverse("plans:list", args=[slug]),
        "create": reverse("plans:create", args=[slug, scene.priority_list.pk]),
        "detail": reverse("plans:detail", args=[slug, plan.pk]),
        "endorse": reverse("plans:endorse", args=[slug, plan.pk]),
        "action_create": reverse("plans:action_create", args=[slug, plan.pk]),
        "action_edit": reverse("plans:action_edit", args=[slug, action.pk]),
    }


# What each role gets on each page: 200 or 404.
EXPECTED = {
    Role.LEAD: dict.fromkeys(
        ("list", "create", "detail", "endorse", "action_create", "action_edit"), 200
    ),
    Role.FACILITATOR: dict.fromkeys(
        ("list", "create", "detail", "endorse", "action_create", "action_edit"), 200
    ),
    Role.ANALYST: {
        "list": 200,
        "create": 404,
        "detail": 200,
        "endorse": 404,
        "action_create": 404,
        "action_edit": 404,
    },
    Role.GROUP_MEMBER: {
        "list": 200,
        "create": 404,
        "detail": 200,
        "endorse": 404,
        "action_create": 404,
        "action_edit": 404,
    },
    Role.VIEWER: {
        "list": 200,
        "create": 404,
        "detail": 404,
        "endorse": 404,
        "action_create": 404,
        "action_edit": 404,
    },
}


def test_each_role_sees_what_the_policy_allows(scene: Scene) -> None:
    plan = make_plan(scene)
    action = make_action(plan, title="Street lights on Bozor street")
    urls = _urls(scene, plan, action)
    for role, expected in EXPECTED.items():
        client = _client(scene.users[role])
        for name, status in expected.items():
            response = client.get(urls[name])
            assert response.status_code == status, (role, name, response.status_code)
        listed = client.get(urls["list"]).content.decode()
        assert ("Safer market" in listed) == (role != Role.VIEWER), role
    # Another partner's facilitator: the plan does not exist for them.
    outsider = _client(scene.outsider)
    for name in ("detail", "endorse", "action_create", "action_edit", "create"):
        assert outsider.get(urls[name]).status_code == 404, name
    assert "Safer market" not in outsider.get(urls["list"]).content.decode()


def test_a_plan_through_the_pages(scene: Scene) -> None:
    client = _client(scene.users[Role.FACILITATOR])
    slug = scene.programme.slug
    response = client.post(
        reverse("plans:create", args=[slug, scene.priority_list.pk]),
        {
            "title": "Market plan",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "priorities": [p.pk for p in scene.priorities],
        },
    )
    plan = ActionPlan.objects.get(title="Market plan")
    assert response.status_code == 302
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    response = client.post(
        reverse("plans:action_create", args=[slug, plan.pk]),
        {
            "objective": objective.pk,
            "title": "Joint patrols",
            "factors": [scene.factors[0].pk],
            "priorities": [scene.priorities[0].pk],
            "lead_actor": "District police",
            "lead_side": "authority",
            "supporting_community": "Women's council\nYouth club",
            "supporting_authority": "Mahalla committee",
            "start_on": "2024-02-01",
            "due_on": "2024-05-01",
            "cost_amount": "1200.00",
            "cost_currency": "UZS",
            "funding": "small_grant",
            "beneficiaries": ["women", "returnees"],
            "status": "on_track",
            "progress": "30",
            "weight": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    action = Action.objects.get(title="Joint patrols")
    assert len(action.supporting_actors) == 3 and action.cost == Money("1200.00", "UZS")
    for kind, name in (("group", "The group"), ("district", "Hokimiyat")):
        client.post(
            reverse("plans:endorse", args=[slug, plan.pk]),
            {"kind": kind, "name": name, "role": "chair", "endorsed_on": "2024-01-10"},
        )
    assert Signatory.objects.filter(plan=plan).count() == 2
    client.post(reverse("plans:status", args=[slug, plan.pk]), {"status": "agreed"})
    plan.refresh_from_db()
    assert plan.status == "agreed"
    page = client.get(reverse("plans:detail", args=[slug, plan.pk])).content.decode()
    assert "Joint patrols" in page and "Hokimiyat" in page and "30% done" in page


def _action_post(scene: Scene, plan: ActionPlan, **overrides: Any) -> dict[str, Any]:
    objective = plan.objectives.order_by("position").first()
    assert objective is not None
    return {
        "objective": objective.pk,
        "title": "Lights",
        "lead_actor": "Hokimiyat",
        "lead_side": "authority",
        "start_on": "2024-03-01",
        "due_on": "2024-04-01",
        "funding": "own",
        "status": "not_started",
        "progress": "0",
        "weight": "1",
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"due_on": "2024-02-01"}, "An action cannot be due before it starts."),
        ({"progress": "150"}, "Progress is a whole number from 0 to 100 %."),
        ({"status": "done", "progress": "0"}, "An action that is done cannot be at 0 %."),
        ({"due_on": "2024-13-45"}, "Enter a valid date."),
        ({"title": ""}, "This field is required."),
    ],
)
def test_bad_action_input_is_shown_again(
    scene: Scene, overrides: dict[str, Any], message: str
) -> None:
    plan = make_plan(scene)
    client = _client(scene.users[Role.LEAD])
    response = client.post(
        reverse("plans:action_create", args=[scene.programme.slug, plan.pk]),
        _action_post(scene, plan, **overrides),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Action.objects.exists()


def test_foreign_links_in_the_body_are_refused(scene: Scene) -> None:
    plan = make_plan(scene)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:action_create", args=[scene.programme.slug, plan.pk])
    for field, value in (
        ("factors", scene.foreign_factor.pk),
        ("factors", scene.other_factor.pk),
        ("priorities", scene.foreign_priority.pk),
    ):
        response = client.post(url, _action_post(scene, plan, **{field: [value]}))
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert not Action.objects.exists()


def test_a_sub_action_cycle_through_the_page(scene: Scene) -> None:
    plan = make_plan(scene)
    top = make_action(plan)
    part = make_action(plan, parent=top)
    client = _client(scene.users[Role.LEAD])
    data = _action_post(scene, plan, title=top.title, parent=part.pk)
    response = client.post(reverse("plans:action_edit", args=[scene.programme.slug, top.pk]), data)
    assert response.status_code == 200
    assert (
        "An action cannot be a part of itself or of one of its parts." in response.content.decode()
    )
    top.refresh_from_db()
    assert top.parent_id is None


def test_a_plan_from_a_list_not_agreed_through_the_page(scene: Scene) -> None:
    scene.priority_list.agreed_on = None
    scene.priority_list.save()
    client = _client(scene.users[Role.LEAD])
    response = client.post(
        reverse("plans:create", args=[scene.programme.slug, scene.priority_list.pk]),
        {
            "title": "Too early",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "priorities": [scene.priorities[0].pk],
        },
    )
    assert response.status_code == 200
    assert "A plan starts from a priority list the group has agreed." in response.content.decode()
    assert not ActionPlan.objects.exists()


def test_the_plan_page_reads_the_same_whatever_the_number_of_actions(scene: Scene) -> None:
    plan = make_plan(scene)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:detail", args=[scene.programme.slug, plan.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    top = make_action(plan)
    make_action(plan, parent=top)
    few = count()
    for _ in range(5):
        parent = make_action(plan)
        make_action(plan, parent=make_action(plan, parent=parent))
    assert count() == few


def test_the_edit_form_keeps_its_dates_in_every_language(scene: Scene) -> None:
    plan = make_plan(scene)
    action = make_action(plan)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:action_edit", args=[scene.programme.slug, action.pk])
    for language in ("uz", "ru", "tg"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert 'value="2024-01-01"' in page and 'value="2024-06-30"' in page, language
