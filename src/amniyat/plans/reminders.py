"""Reminders of action plans' due dates, e-mailed once a day (``amniyat plan_reminders``, run by
cron, queues :func:`amniyat.plans.tasks.send_plan_reminders`; docs/deploy.md).

Who is reminded of what, for the actions (neither done nor dropped) of plans that are agreed or
in progress:

* **due within a week** (due after today and at most 7 days from now): those responsible for
  the plan, that is whoever may edit it: the facilitators of the organisation that facilitates
  the group, and the programme's leads (a place's plan: the leads);
* **missed** (due before today; the first run after the due date sends it, and runs up to
  :data:`CATCH_UP_DAYS` later still do, should a day have been skipped): the same people;
* **an authority's commitment missed** (the lead actor on the authority side): flagged to the
  programme's leads as such (in place of the plain "missed").

Each person gets one e-mail per run listing everything for them, in their language
(``User.preferred_language``, else the site's), through Django's e-mail backend (the console in
the demo). Every reminder sent is recorded (:class:`~amniyat.plans.models.ReminderSent`: action,
person, kind, due date), so a second run on the same day, or the next day, sends nothing again;
an action given a new due date is reminded of anew.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amniyat.accounts.models import Membership, User
from amniyat.core import text
from amniyat.plans.models import Action, ActionPlan, ReminderSent, Side

Kind = ReminderSent.Kind
WEEK = 7
CATCH_UP_DAYS = 7
REMINDED_PLANS = (ActionPlan.Status.AGREED, ActionPlan.Status.IN_PROGRESS)


@dataclass(frozen=True)
class Reminder:
    action: Action
    kind: str


def _actions(today: datetime.date) -> list[Action]:
    """Open actions of agreed or running plans due within a week or missed lately."""
    return list(
        Action.objects.filter(
            objective__plan__status__in=REMINDED_PLANS,
            due_on__gte=today - datetime.timedelta(days=CATCH_UP_DAYS),
            due_on__lte=today + datetime.timedelta(days=WEEK),
        )
        .exclude(due_on=today)
        .exclude(status__in=[Action.Status.DONE, Action.Status.DROPPED])
        .select_related("objective__plan__programme", "objective__plan__group")
        .order_by("due_on", "pk")
    )


def _responsible(plans: Iterable[ActionPlan]) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """For each plan, the ids of those responsible (its editors), and of its programme's
    leads; read in one query."""
    plans = list(plans)
    rows = (
        Membership.objects.filter(
            programme_id__in={p.programme_id for p in plans},
            role__in=[Membership.Role.LEAD, Membership.Role.FACILITATOR],
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("programme_id", "role", "organisation_id", "user_id")
    )
    leads: dict[int, set[int]] = defaultdict(set)
    facilitators: dict[tuple[int, int], set[int]] = defaultdict(set)
    for programme_id, role, organisation_id, user_id in rows:
        if role == Membership.Role.LEAD:
            leads[programme_id].add(user_id)
        else:
            facilitators[(programme_id, organisation_id)].add(user_id)
    responsible: dict[int, set[int]] = {}
    lead_of: dict[int, set[int]] = {}
    for plan in plans:
        people = set(leads[plan.programme_id])
        group = plan.group
        if group is not None and group.programme_id == plan.programme_id:
            people |= facilitators[(plan.programme_id, group.facilitating_organisation_id)]
        responsible[plan.pk] = people
        lead_of[plan.pk] = set(leads[plan.programme_id])
    return responsible, lead_of


def reminders_due(today: datetime.date) -> dict[int, list[Reminder]]:
    """What each person (by id) is to be reminded of today, before what was sent is taken
    away."""
    actions = _actions(today)
    plans = {a.objective.plan_id: a.objective.plan for a in actions}
    responsible, lead_of = _responsible(plans.values())
    due: dict[int, list[Reminder]] = defaultdict(list)
    for action in actions:
        plan_id = action.objective.plan_id
        if action.due_on > today:
            for user_id in responsible[plan_id]:
                due[user_id].append(Reminder(action, Kind.WEEK_BEFORE))
            continue
        flagged = action.lead_side == Side.AUTHORITY
        for user_id in responsible[plan_id]:
            kind = Kind.AUTHORITY_MISSED if flagged and user_id in lead_of[plan_id] else Kind.MISSED
            due[user_id].append(Reminder(action, kind))
    return due


def _not_sent(user_id: int, reminders: list[Reminder]) -> list[Reminder]:
    sent = set(
        ReminderSent.objects.filter(
            recipient_id=user_id, action_id__in=[r.action.pk for r in reminders]
        ).values_list("action_id", "kind", "due_on")
    )
    return [r for r in reminders if (r.action.pk, r.kind, r.action.due_on) not in sent]


def _link(action: Action) -> str:
    plan = action.objective.plan
    path = reverse("plans:accountability", args=[plan.programme.slug, plan.pk])
    return f"{settings.AMNIYAT_SITE_URL.rstrip('/')}{path}#action-{action.pk}"


def _item(action: Action, today: datetime.date) -> str:
    plan = action.objective.plan
    when = text.format_date(action.due_on)
    if action.due_on < today:
        late = (today - action.due_on).days
        when = ngettext("due on {date}, {n} day ago", "due on {date}, {n} days ago", late).format(
            date=when, n=text.format_number(late)
        )
    else:
        when = _("due on {date}").format(date=when)
    return "\n".join(
        [
            f"- {action.translated('title')} ({action.lead_actor})",
            f"  {plan.translated('title')}: {when}",
            f"  {_link(action)}",
        ]
    )


def _message(user: User, reminders: list[Reminder], today: datetime.date) -> EmailMessage:
    sections = [
        (
            Kind.AUTHORITY_MISSED,
            _(
                "Commitments of the authorities that were missed (flagged to you as the "
                "programme's lead):"
            ),
        ),
        (Kind.MISSED, _("Actions past their due date, neither done nor dropped:")),
        (Kind.WEEK_BEFORE, _("Actions due within a week:")),
    ]
    body = [_("Hello {name},").format(name=user.get_full_name() or user.username), ""]
    for kind, heading in sections:
        items = [r.action for r in reminders if r.kind == kind]
        if items:
            body += [heading, *(_item(a, today) for a in items), ""]
    body.append(
        _(
            "You receive this because you are responsible for these action plans in "
            "Amniyat. Mark an action done, or give it a new due date, and it is not "
            "reminded of again."
        )
    )
    flagged = any(r.kind == Kind.AUTHORITY_MISSED for r in reminders)
    subject = (
        _("Action plans: an authority's commitment was missed")
        if flagged
        else ngettext(
            "Action plans: {n} action to follow up",
            "Action plans: {n} actions to follow up",
            len(reminders),
        ).format(n=text.format_number(len(reminders)))
    )
    return EmailMessage(subject=subject, body="\n".join(body), to=[user.email])


def send_reminders(*, today: datetime.date | None = None) -> int:
    """E-mail everyone what they are to be reminded of today and was not sent yet; the number
    of e-mails sent. A reminder is recorded in the transaction that sends it: an e-mail that
    could not be sent is tried again at the next run, and one recorded by a run at the same
    time is not sent twice."""
    today = today or timezone.localdate()
    sent = 0
    due = reminders_due(today)
    users = User.objects.in_bulk(list(due))
    for user_id, reminders in sorted(due.items()):
        user = users.get(user_id)
        if user is None or not user.email:
            continue
        with transaction.atomic():
            fresh = []
            for reminder in _not_sent(user_id, reminders):
                try:
                    with transaction.atomic():
                        ReminderSent.objects.create(
                            action=reminder.action,
                            recipient_id=user_id,
                            kind=reminder.kind,
                            due_on=reminder.action.due_on,
                        )
                except IntegrityError:
                    continue  # sent by another run meanwhile
                fresh.append(reminder)
            if not fresh:
                continue
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                _message(user, fresh, today).send()
            sent += 1
    return sent
