"""``amniyat plan_reminders``: queue the day's reminders of action plans' due dates.

Run once a day from cron (docs/deploy.md); the worker sends them. Running it more than once a
day sends nothing twice (``plans.reminders`` records every reminder sent). ``--now`` sends
them in this process instead of queueing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from amniyat.plans import services


class Command(BaseCommand):
    help = "Queue (or, with --now, send) the day's e-mail reminders of action plans' due dates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="send in this process instead of queueing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            sent = services.reminders_send()
            self.stdout.write(f"{sent} e-mail(s) sent.")
            return
        from amniyat.plans.tasks import send_plan_reminders

        result = send_plan_reminders.enqueue()
        self.stdout.write(f"Queued: {result.id}")
