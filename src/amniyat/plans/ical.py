"""A plan's due dates as an iCalendar feed (RFC 5545), for the calendar of whoever follows it.

One all-day ``VEVENT`` per action, on its due date (a ``VTODO`` would carry a due date too,
but Google Calendar and most phone calendars show only events). Each event has a UID of its
own that never changes (``plan-action-<id>@amniyat``), so that a calendar re-reading the
feed moves an event whose date changed instead of adding another. The summary is the action in
the reader's language; the description its status and progress. Nothing else: no actor, cost
or person is in the feed.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils.translation import gettext as _

from amniyat.core.i18n import reader_language
from amniyat.plans.models import Action, ActionPlan

UID_DOMAIN = "amniyat"
PRODID = "-//Amniyat//Action plans//EN"
# An event's STATUS (RFC 5545 3.8.1.11: TENTATIVE, CONFIRMED, CANCELLED).
EVENT_STATUS: dict[str, str] = {Action.Status.DROPPED: "CANCELLED"}


def action_uid(action: Action) -> str:
    return f"plan-action-{action.pk}@{UID_DOMAIN}"


def dated_actions(plan: ActionPlan) -> list[Action]:
    """The actions of a plan read through ``selectors.plan_get``, with only what the feed
    shows."""
    return list(
        Action.objects.filter(objective__plan=plan)
        .only(
            "title",
            "content_language",
            "translations",
            "due_on",
            "status",
            "progress",
            "updated_at",
        )
        .order_by("due_on", "pk")
    )


def plan_calendar(plan: ActionPlan, actions: Sequence[Action]) -> bytes:
    """The calendar of ``plan``'s due dates (``actions``: :func:`dated_actions`)."""
    from icalendar import Calendar, Event

    language = reader_language()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", str(plan.translated("title", language)))
    for action in actions:
        event = Event()
        event.add("uid", action_uid(action))
        event.add("dtstamp", action.updated_at.astimezone(datetime.UTC))
        event.add("last-modified", action.updated_at.astimezone(datetime.UTC))
        event.add("dtstart", action.due_on)
        event.add("dtend", action.due_on + datetime.timedelta(days=1))
        event.add("summary", str(action.translated("title", language)))
        event.add(
            "description",
            _("Due. Status: {status}; progress {progress} %.").format(
                status=action.get_status_display(), progress=action.progress
            ),
        )
        event.add("status", EVENT_STATUS.get(action.status, "CONFIRMED"))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
