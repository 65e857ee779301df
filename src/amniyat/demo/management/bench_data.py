"""``amniyat bench-data``: build a generated programme at national size (see
:mod:`amniyat.demo.scale`), with a progress bar for each stage, then print the time each stage
took and the accounts to sign in with.

The command's module is ``commands/bench-data.py`` (the name people type), which imports
:class:`Command` from here, where Python and mypy can read it."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from amniyat.demo import scale
from amniyat.demo.build import DEMO_PASSWORD

FAILED = 2


class Command(BaseCommand):
    help = (
        "Build a generated programme at national size for measuring Amniyat: the demo "
        "survey's submissions in monthly rounds over a year, with groups, notes, maps and "
        "priorities in proportion."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--submissions", type=int, default=1_000_000, help="How many submissions."
        )
        parser.add_argument(
            "--programme",
            default=scale.DEFAULT_SLUG,
            help="The new programme's short address (slug).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=scale.DEFAULT_SEED,
            help="The same seed and size give the same data.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Remove the generated programme of that address first, if there is one.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        quiet = options["no_progress"] or options["verbosity"] == 0
        bars: dict[str, tqdm[Any]] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if quiet:
                return
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = tqdm(
                    total=total,
                    desc=_stage_label(stage),
                    unit=_("rows") if stage in ("generating", "importing") else "",
                    unit_scale=stage in ("generating", "importing"),
                    file=self.stderr._out,
                    leave=True,
                )
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        try:
            result = scale.build_scale(
                submissions=options["submissions"],
                slug=options["programme"],
                seed=options["seed"],
                reset=options["reset"],
                progress=progress,
            )
        except scale.ScaleRefused as error:
            raise CommandError(error.message, returncode=FAILED) from error
        finally:
            for bar in bars.values():
                bar.close()
        self._report(result)

    def _report(self, result: scale.ScaleResult) -> None:
        out = self.stdout
        size = result.size
        out.write(
            _(
                "Built “{name}” ({slug}): {submissions} submissions in {rounds} monthly rounds "
                "by {enumerators} enumerators; {groups} community groups, {partners} partner "
                "organisations, {discussions} discussions."
            ).format(
                name=result.programme.name,
                slug=result.programme.slug,
                submissions=size.submissions,
                rounds=size.rounds,
                enumerators=size.enumerators,
                groups=size.groups,
                partners=size.partners + 1,
                discussions=size.discussions,
            )
        )
        out.write("")
        out.write(_("Time by stage:"))
        for stage in result.stages:
            line = f"  {_stage_label(stage.name):<24} {stage.seconds:>8.1f} s"
            if stage.rows and stage.seconds > 0:
                line += "  " + _("{rate} rows/s").format(rate=f"{stage.rows / stage.seconds:,.0f}")
            out.write(line)
        out.write(
            "  {label:<24} {seconds:>8.1f} s  {rate}".format(
                label=_("total"),
                seconds=result.seconds,
                rate=_("{rate} submissions/s").format(
                    rate=f"{size.submissions / result.seconds:,.0f}"
                )
                if result.seconds
                else "",
            )
        )
        out.write("")
        out.write(
            self.style.SUCCESS(
                _("Accounts for this programme (password: {password}):").format(
                    password=DEMO_PASSWORD
                )
            )
        )
        for account in result.accounts:
            out.write(f"  {account.username:<32} {_(account.description)}")


def _stage_label(stage: str) -> str:
    labels = {
        "removing": _("removing the old one"),
        "programme": _("programme and groups"),
        "accounts": _("accounts"),
        "form": _("survey form"),
        "generating": _("generating submissions"),
        "importing": _("importing submissions"),
        "notes": _("notes"),
        "coding": _("coding"),
        "maps": _("driver maps"),
        "priorities": _("priorities"),
        "findings": _("findings"),
        "translations": _("translations"),
        "reports": _("briefing papers"),
        "plans": _("action plans"),
    }
    return labels.get(stage, stage)
