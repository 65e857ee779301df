"""The daily reminders of action plans' due dates: e-mailed once a week before the due date
and once on the day it is missed, to those responsible for the plan, in their language; a
missed commitment of an authority flagged to the programme's leads; running twice a day sends
nothing twice."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from amniyat.plans import reminders
from amniyat.plans.models import Action, ActionPlan, ReminderSent
from tests.factories import member_of
from tests.plans.conftest import Role, Scene, make_action, make_plan

DUE = datetime.date(2025, 3, 10)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def people(scene: Scene) -> dict[str, Any]:
    """Everyone of the scene with an e-mail address: the lead (reading Russian) and the
    partner's facilitator are responsible; the others are not."""
    for role, user in scene.users.items():
        user.email = f"{role}@example.org"
        user.save()
    scene.outsider.email = "outsider@example.org"
    scene.outsider.save()
    lead = scene.users[Role.LEAD]
    lead.preferred_language = "ru"
    lead.save()
    return {"lead": lead, "facilitator": scene.users[Role.FACILITATOR]}


def _agreed_plan(scene: Scene) -> ActionPlan:
    plan = make_plan(scene)
    ActionPlan.objects.filter(pk=plan.pk).update(status=ActionPlan.Status.IN_PROGRESS)
    plan.refresh_from_db()
    return plan


def _to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if address in m.to]


def test_a_week_before_and_on_the_missed_day_once_each(scene: Scene, people: Any) -> None:
    plan = _agreed_plan(scene)
    make_action(plan, title="Street lights", lead_side="community", due_on=DUE)
    days = {DUE - 8 * DAY: 0, DUE - 7 * DAY: 2, DUE - 6 * DAY: 0, DUE: 0, DUE + DAY: 2}
    for today, expected in days.items():
        mail.outbox.clear()
        assert reminders.send_reminders(today=today) == expected, today
        # Run again the same day: nothing more.
        assert reminders.send_reminders(today=today) == 0
        assert len(mail.outbox) == expected
    assert sorted(m for (m,) in ReminderSent.objects.values_list("kind")) == [
        "missed",
        "missed",
        "week_before",
        "week_before",
    ]
    # Only those responsible: the lead and the partner's facilitator.
    assert set(ReminderSent.objects.values_list("recipient__email", flat=True)) == {
        "lead@example.org",
        "facilitator@example.org",
    }


def test_in_the_recipients_language_with_a_link(scene: Scene, people: Any) -> None:
    plan = _agreed_plan(scene)
    action = make_action(plan, title="Street lights", lead_side="community", due_on=DUE)
    reminders.send_reminders(today=DUE - 7 * DAY)
    (english,) = _to("facilitator@example.org")
    assert "Actions due within a week:" in english.body
    assert "Street lights" in english.body and f"#action-{action.pk}" in english.body
    assert "10 March 2025" in english.body
    (russian,) = _to("lead@example.org")
    assert "10 марта 2025" in russian.body  # the date as a Russian reader writes it


def test_a_missed_authority_commitment_is_flagged_to_the_lead(scene: Scene, people: Any) -> None:
    plan = _agreed_plan(scene)
    make_action(plan, title="Patrols", lead_actor="District police", due_on=DUE)
    second_lead = member_of(scene.programme, Role.LEAD)
    second_lead.email = "second-lead@example.org"
    second_lead.save()
    reminders.send_reminders(today=DUE + DAY)
    kinds = dict(ReminderSent.objects.values_list("recipient__email", "kind"))
    assert kinds == {
        "lead@example.org": "authority_missed",
        "second-lead@example.org": "authority_missed",
        "facilitator@example.org": "missed",
    }
    (flag,) = _to("second-lead@example.org")
    assert flag.subject == "Action plans: an authority's commitment was missed"
    assert "Patrols" in flag.body


def test_done_dropped_draft_and_rescheduled(scene: Scene, people: Any) -> None:
    plan = _agreed_plan(scene)
    done = make_action(plan, title="Done", due_on=DUE, status=Action.Status.DONE, progress=100)
    make_action(plan, title="Dropped", due_on=DUE, status="dropped", status_reason="no money")
    draft = make_plan(scene)
    make_action(draft, title="Draft", due_on=DUE)
    assert reminders.send_reminders(today=DUE + DAY) == 0
    # An open action given a new due date is reminded of again when that one is missed.
    moved = make_action(plan, title="Moved", due_on=DUE)
    assert reminders.send_reminders(today=DUE + DAY) == 2
    Action.objects.filter(pk=moved.pk).update(due_on=DUE + 10 * DAY)
    assert reminders.send_reminders(today=DUE + 2 * DAY) == 0
    assert reminders.send_reminders(today=DUE + 3 * DAY) == 2  # a week before the new date
    assert done.pk not in set(ReminderSent.objects.values_list("action_id", flat=True))


def test_the_command_queues_the_task_or_sends_now(scene: Scene, people: Any) -> None:
    plan = _agreed_plan(scene)
    make_action(plan, due_on=timezone.localdate() + 3 * DAY)
    call_command("plan_reminders", stdout=io.StringIO())
    assert len(mail.outbox) == 0
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "amniyat.plans.tasks.send_plan_reminders"
    call_command("plan_reminders", "--now", stdout=io.StringIO())
    assert len(mail.outbox) == 2
