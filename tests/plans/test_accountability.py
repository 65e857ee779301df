"""Accountability views of action plans (#16 point 5): overdue actions highlighted, the
commitments of each actor as a sentence, the share of actions done on time, publishing a plan
and what its public page shows, and who sees which page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from amniyat.audit.models import AuditEvent
from amniyat.plans import accountability as ac
from amniyat.plans import services
from amniyat.plans.models import Action, ActionPlan, Signatory
from tests.plans.conftest import Role, Scene, make_action, make_plan

TODAY = datetime.date(2025, 3, 1)
DAY = datetime.timedelta(days=1)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _act(plan: ActionPlan, **values: Any) -> Action:
    """An action straight from the service, then given the status (and completion day) a
    test needs without waiting for the days to pass."""
    done_on = values.pop("done_on", None)
    status = values.pop("status", Action.Status.ON_TRACK)
    action = make_action(plan, start_on=datetime.date(2024, 1, 1), **values)
    Action.objects.filter(pk=action.pk).update(
        status=status,
        done_on=done_on,
        progress=100 if status == Action.Status.DONE else action.progress,
        status_reason="no money" if status == Action.Status.DROPPED else "",
    )
    action.refresh_from_db()
    return action


# Overdue --------------------------------------------------------------------------------


def test_an_action_is_overdue_once_its_due_date_has_passed_unless_done_or_dropped(
    scene: Scene,
) -> None:
    plan = make_plan(scene)
    late = _act(plan, due_on=TODAY - 45 * DAY)
    due_today = _act(plan, due_on=TODAY)
    done = _act(plan, due_on=TODAY - 3 * DAY, status=Action.Status.DONE)
    dropped = _act(plan, due_on=TODAY - 3 * DAY, status=Action.Status.DROPPED)
    assert ac.is_overdue(late, TODAY) and ac.days_late(late, TODAY) == 45
    assert not any(ac.is_overdue(a, TODAY) for a in (due_today, done, dropped))


@pytest.mark.parametrize("page", ["plans:accountability", "plans:public"])
def test_the_page_highlights_overdue_actions_only(
    scene: Scene, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a: TODAY)
    plan = make_plan(scene)
    late = _act(plan, title="Street lights", due_on=TODAY - 45 * DAY)
    done = _act(plan, title="Patrols", due_on=TODAY - 3 * DAY, status=Action.Status.DONE)
    ahead = _act(plan, title="Helpline", due_on=TODAY + 10 * DAY)
    html = _client(scene.users[Role.LEAD]).get(reverse(page, args=[scene.programme.slug, plan.pk]))
    text = html.content.decode()
    assert html.status_code == 200
    assert f'id="action-{late.pk}" class="depth-0 overdue"' in text
    assert f'id="action-{done.pk}" class="depth-0"' in text
    assert f'id="action-{ahead.pk}" class="depth-0"' in text
    assert "Overdue by 45 days" in text
    assert "<svg" in text  # the timeline, drawn on the server
    assert "#b3412f" in text  # ... with the overdue bar in red


# Commitments by actor --------------------------------------------------------------------


def _police_and_council(plan: ActionPlan) -> None:
    _act(plan, lead_actor="District police", due_on=TODAY - 45 * DAY)
    _act(plan, lead_actor="District police", due_on=TODAY - 9 * DAY, status=Action.Status.DONE)
    _act(plan, lead_actor="district  police", due_on=TODAY + 9 * DAY, status=Action.Status.DONE)
    _act(plan, lead_actor="District police", due_on=TODAY + 30 * DAY)
    _act(plan, lead_actor="Women's council", lead_side="community", due_on=TODAY + 30 * DAY)


def test_commitments_by_actor_in_english(scene: Scene) -> None:
    plan = make_plan(scene)
    _police_and_council(plan)
    actions = list(Action.objects.filter(objective__plan=plan))
    lines = ac.commitments_by_actor(actions, TODAY)
    with translation.override("en"):
        assert [line.sentence() for line in lines] == [
            "District police: 4 commitments, 2 done, 1 delayed 45 days",
            "Women's council: 1 commitment",
        ]
    assert lines[0].is_authority and not lines[1].is_authority


def test_commitments_by_actor_in_russian(scene: Scene) -> None:
    plan = make_plan(scene)
    _police_and_council(plan)
    actions = list(Action.objects.filter(objective__plan=plan))
    lines = ac.commitments_by_actor(actions, TODAY)
    with translation.override("ru"):
        assert lines[0].sentence() == (
            "District police: 4 обязательства, 2 выполнено, 1 просрочено на 45 дней"
        )
        assert lines[1].sentence() == "Women's council: 1 обязательство"


def test_each_count_links_to_the_actions_it_counts(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a: TODAY)
    plan = make_plan(scene)
    _police_and_council(plan)
    client = _client(scene.users[Role.FACILITATOR])
    url = reverse("plans:accountability", args=[scene.programme.slug, plan.pk])
    page = client.get(url).content.decode()
    assert '?actor=district%20police&amp;show=done#counted">2 done</a>' in page
    counted = client.get(url, {"actor": "district police", "show": "overdue"})
    section = counted.content.decode().split('id="counted"')[1].split("</section>")[0]
    assert section.count("<li") == 1 and "45 days late" in section
    # Garbage is no filter, and no error.
    assert client.get(url, {"actor": "x" * 5000, "show": "<script>"}).status_code == 200


# Done on time ----------------------------------------------------------------------------


def test_the_share_done_on_time_on_hand_computed_cases(scene: Scene) -> None:
    plan = make_plan(scene)
    due = TODAY - 10 * DAY
    cases = [
        # (status, due, done on): counted?, on time?
        (Action.Status.DONE, due, due),  # on the day: on time
        (Action.Status.DONE, due, due - 5 * DAY),  # early: on time
        (Action.Status.DONE, due, due + DAY),  # a day late: late
        (Action.Status.DONE, TODAY + 20 * DAY, TODAY),  # done before it is due: on time
        (Action.Status.ON_TRACK, due, None),  # past due, not done: late
        (Action.Status.DELAYED, TODAY, None),  # due today: not counted yet
        (Action.Status.ON_TRACK, TODAY + DAY, None),  # not due: not counted
        (Action.Status.DROPPED, due, None),  # dropped: not counted
        (Action.Status.DONE, due, None),  # done before dates were kept: left out
    ]
    for status, due_on, done_on in cases:
        _act(plan, due_on=due_on, status=status, done_on=done_on)
    actions = list(Action.objects.filter(objective__plan=plan))
    result = ac.on_time_share(actions, TODAY)
    assert (result.on_time, result.counted, result.undated) == (3, 5, 1)
    assert result.share == pytest.approx(0.6)
    assert ac.on_time_share([], TODAY).share is None


def test_the_service_keeps_the_day_an_action_became_done(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a: TODAY)
    plan = make_plan(scene)
    action = make_action(plan, start_on=TODAY - 30 * DAY, due_on=TODAY - DAY)
    assert action.done_on is None
    services.action_update(user=None, action=action, status=Action.Status.DONE, progress=100)
    assert action.done_on == TODAY
    # Saved again a week later while still done: the day stays.
    monkeypatch.setattr(timezone, "localdate", lambda *a: TODAY + 7 * DAY)
    services.action_update(user=None, action=action, title="Patrols, weekly")
    action.refresh_from_db()
    assert action.done_on == TODAY and not ac.done_on_time(action)
    services.action_update(user=None, action=action, status=Action.Status.ON_TRACK)
    action.refresh_from_db()
    assert action.done_on is None


# Publishing and the public page -----------------------------------------------------------

PERSONAL = ("Zarina Karimova", "Rustam Nazarov", "the chair fell ill")


def _published_plan(scene: Scene) -> ActionPlan:
    plan = make_plan(scene)
    lead = scene.users[Role.LEAD]
    lead.first_name, lead.last_name = "Rustam", "Nazarov"
    lead.save()
    ActionPlan.objects.filter(pk=plan.pk).update(created_by=lead)
    Signatory.objects.create(
        plan=plan,
        kind=Signatory.Kind.POLICE,
        name="Vakhsh district police",
        role="deputy head",
        endorsed_on=datetime.date(2024, 1, 10),
    )
    _act(plan, title="Street lights", due_on=TODAY - 45 * DAY)
    _act(plan, title="Sports club", due_on=TODAY - DAY, status=Action.Status.DROPPED)
    Action.objects.filter(title="Sports club").update(status_reason="the chair fell ill")
    ActionPlan.objects.filter(pk=plan.pk).update(
        status=ActionPlan.Status.CLOSED, closed_reason="Zarina Karimova moved away"
    )
    plan.refresh_from_db()
    return plan


def _agreed(plan: ActionPlan) -> ActionPlan:
    ActionPlan.objects.filter(pk=plan.pk).update(status=ActionPlan.Status.AGREED)
    plan.refresh_from_db()
    return plan


def test_a_draft_is_not_published(scene: Scene) -> None:
    plan = make_plan(scene)
    client = _client(scene.users[Role.LEAD])
    url = reverse("plans:publish", args=[scene.programme.slug, plan.pk])
    response = client.post(url, {"action": "publish"}, follow=True)
    assert "A draft is not published: publish the plan once it is agreed." in (
        response.content.decode()
    )
    plan.refresh_from_db()
    assert plan.published_at is None
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.PUBLISHED).exists()


def test_a_lead_publishes_and_withdraws_a_plan_audited(scene: Scene) -> None:
    plan = _agreed(make_plan(scene))
    lead = scene.users[Role.LEAD]
    client = _client(lead)
    url = reverse("plans:publish", args=[scene.programme.slug, plan.pk])
    assert client.post(url, {"action": "publish"}).status_code == 302
    plan.refresh_from_db()
    assert plan.published_at is not None and plan.published_by == lead
    client.post(url, {"action": "unpublish"})
    plan.refresh_from_db()
    assert plan.published_at is None and plan.published_by is None
    verbs = list(
        AuditEvent.objects.filter(object_id=str(plan.pk), verb__contains="publish")
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == [AuditEvent.Verb.PUBLISHED, AuditEvent.Verb.UNPUBLISHED]
    # Nobody else publishes: the page is absent for them.
    for role in (Role.ANALYST, Role.FACILITATOR, Role.GROUP_MEMBER, Role.VIEWER):
        assert _client(scene.users[role]).post(url, {"action": "publish"}).status_code == 404
    plan.refresh_from_db()
    assert plan.published_at is None


def _status(user: Any, scene: Scene, name: str, plan: ActionPlan) -> int:
    return _client(user).get(reverse(name, args=[scene.programme.slug, plan.pk])).status_code


# Who reads which page of a plan, unpublished then published.
PAGES = ("plans:detail", "plans:accountability", "plans:public")
SEES = {
    Role.LEAD: {"plans:detail", "plans:accountability", "plans:public"},
    Role.ANALYST: {"plans:detail", "plans:accountability", "plans:public"},
    Role.FACILITATOR: {"plans:detail", "plans:accountability", "plans:public"},
    Role.GROUP_MEMBER: {"plans:detail", "plans:accountability", "plans:public"},
}


@pytest.mark.parametrize("role", [*SEES, Role.VIEWER, "outsider"])
def test_each_role_sees_the_pages_the_policy_gives_it(scene: Scene, role: str) -> None:
    plan = _agreed(make_plan(scene))
    user = scene.outsider if role == "outsider" else scene.users[role]
    unpublished = {name: _status(user, scene, name, plan) for name in PAGES}
    services.plan_publish(user=scene.users[Role.LEAD], plan=plan)
    published = {name: _status(user, scene, name, plan) for name in PAGES}
    expected = SEES.get(role, set())
    assert unpublished == {name: 200 if name in expected else 404 for name in PAGES}
    if role == Role.VIEWER:
        expected = {"plans:public"}  # published: its public page, nothing else
    assert published == {name: 200 if name in expected else 404 for name in PAGES}


def test_the_viewer_reads_published_plans_only_on_the_programme_page(scene: Scene) -> None:
    shown, hidden = _agreed(make_plan(scene)), _agreed(make_plan(scene))
    ActionPlan.objects.filter(pk=shown.pk).update(title="Shown plan")
    ActionPlan.objects.filter(pk=hidden.pk).update(title="Hidden plan")
    services.plan_publish(user=scene.users[Role.LEAD], plan=shown)
    url = reverse("plans:programme_accountability", args=[scene.programme.slug])
    page = _client(scene.users[Role.VIEWER]).get(url).content.decode()
    assert "Shown plan" in page and "Hidden plan" not in page
    assert reverse("plans:public", args=[scene.programme.slug, shown.pk]) in page
    assert reverse("plans:accountability", args=[scene.programme.slug, shown.pk]) not in page
    lead_page = _client(scene.users[Role.LEAD]).get(url).content.decode()
    assert "Shown plan" in lead_page and "Hidden plan" in lead_page


@pytest.mark.parametrize("language", ["en", "ru", "uz"])
def test_the_public_page_shows_no_personal_data(scene: Scene, language: str) -> None:
    plan = _published_plan(scene)
    services.plan_publish(user=scene.users[Role.LEAD], plan=plan)
    viewer = scene.users[Role.VIEWER]
    viewer.preferred_language = language
    viewer.save()
    client = _client(viewer)
    client.cookies["django_language"] = language
    response = client.get(
        reverse("plans:public", args=[scene.programme.slug, plan.pk]),
        HTTP_ACCEPT_LANGUAGE=language,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Street lights" in page and "Vakhsh district police" in page and "deputy head" in page
    for personal in (*PERSONAL, scene.users[Role.LEAD].username):
        assert personal not in page, personal
    assert f'lang="{language}"' in page


def test_an_open_dispute_shows_beside_the_reported_status_on_every_plan_page(
    scene: Scene,
) -> None:
    """Progress is not only what the actor responsible says: while the community's dispute
    is open, the public and the accountability pages show the status it says holds beside
    the one reported (the status alone: not the dispute's words); once the lead resolves
    it, only the status remains."""
    from amniyat.plans import updates

    plan = _agreed(make_plan(scene))
    patrols = _act(plan, title="Patrols", due_on=TODAY - DAY, status=Action.Status.DONE)
    services.plan_publish(user=scene.users[Role.LEAD], plan=plan)
    dispute = updates.dispute_raise(
        user=None,
        action=patrols,
        claimed_status=Action.Status.DELAYED,
        text="PRIVATE-WORDS the police never came",
    )
    shown = "Disputed: the status that holds is “delayed”, they say."
    pages = [
        (scene.users[Role.VIEWER], reverse("plans:public", args=[scene.programme.slug, plan.pk])),
        (
            scene.users[Role.LEAD],
            reverse("plans:accountability", args=[scene.programme.slug, plan.pk]),
        ),
    ]
    for user, url in pages:
        page = _client(user).get(url).content.decode()
        assert shown in page and "PRIVATE-WORDS" not in page, url
    updates.dispute_resolve(
        user=scene.users[Role.LEAD], dispute=dispute, resolution="They came on the 3rd."
    )
    for user, url in pages:
        assert shown not in _client(user).get(url).content.decode(), url


def test_the_public_page_reads_the_plan_in_the_readers_language(scene: Scene) -> None:
    plan = _agreed(make_plan(scene))
    plan.set_translation("title", "ru", "Безопасный рынок")
    plan.save()
    services.plan_publish(user=scene.users[Role.LEAD], plan=plan)
    client = _client(scene.users[Role.VIEWER])
    url = reverse("plans:public", args=[scene.programme.slug, plan.pk])
    assert "Безопасный рынок" in client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Safer market" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_viewers_menu_leads_to_the_published_plans(scene: Scene) -> None:
    url = reverse("plans:programme_accountability", args=[scene.programme.slug])
    home = reverse("core:programme", args=[scene.programme.slug])
    assert f'href="{url}"' in _client(scene.users[Role.VIEWER]).get(home).content.decode()
    lead_home = _client(scene.users[Role.LEAD]).get(home).content.decode()
    assert f'href="{reverse("plans:list", args=[scene.programme.slug])}"' in lead_home
