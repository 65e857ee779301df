"""``amniyat demo``: migrate, build the demo programmes, print how to sign in."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from amniyat.demo import build as demo


class Command(BaseCommand):
    help = "Create the database if needed and load the two demo programmes (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Rebuild the demo data.")

    def handle(self, *args: Any, reset: bool = False, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if reset and demo.demo_exists():
            demo.remove_demo()
        if demo.demo_exists():
            self.stdout.write("Demo programmes already loaded.")
        else:
            programmes = demo.build_demo()
            for programme in programmes:
                self.stdout.write(
                    f"Built {programme.name}: {programme.community_groups.count()} groups, "
                    f"{programme.partners.count()} partner organisations."
                )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo accounts (password: {demo.DEMO_PASSWORD}):"))
        for account in demo.DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<22} {account.description}")
