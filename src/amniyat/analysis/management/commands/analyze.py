"""``amniyat analyze``: see `amniyat.analysis.cli` (the command's logic and its options)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amniyat.analysis.cli import analyze_cli


class Command(BaseCommand):
    help = (
        "Estimate survey indicators, weighted and disaggregated, with small cells suppressed. "
        "Run 'amniyat analyze --help' for the options."
    )

    def run_from_argv(self, argv: list[str]) -> None:
        # The command owns its argument parsing (argv[0] is the program, argv[1] "analyze").
        sys.exit(analyze_cli(argv[2:]))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("arguments", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, **options: Any) -> None:
        # For call_command("analyze", "data.csv", "--indicators", "spec.yaml", ...).
        status = analyze_cli(
            [*args, *options.get("arguments", [])], stdout=self.stdout, stderr=self.stderr
        )
        if status:
            raise CommandError(returncode=status)
