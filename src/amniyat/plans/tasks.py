"""Background work of action plans: thin, calling the service."""

from __future__ import annotations

from django_tasks import task

from amniyat.plans import services


@task()
def send_plan_reminders() -> int:
    """The day's reminders of due dates (``plans.reminders``); answers how many e-mails went."""
    return services.reminders_send()
