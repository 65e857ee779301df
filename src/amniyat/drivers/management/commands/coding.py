"""``amniyat coding``: how well assisted coding predicts each code.

``amniyat coding evaluate --programme SLUG [--test-size 0.25] [--seed N]`` holds out a share
of the programme's coded sources (whole sources, so sentences of one discussion are never on
both sides), fits the model on the rest and prints per code the held-out and training
passages, precision, recall and whether its suggestions are shown — the figures of the
assisted coding page, which it also stores. Exit 0, or 2 with a one-line message when the
programme is unknown or has too little coded data. Recorded in the audit log as done by "cli".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme
from amniyat.drivers.assist import services as assist

EXIT_INVALID = 2


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


class Command(BaseCommand):
    help = "Assisted coding: evaluate --programme SLUG (precision and recall per code)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        evaluate = sub.add_parser(
            "evaluate", help="Per code precision and recall on held-out coded passages."
        )
        evaluate.add_argument("--programme", required=True, help="The programme's slug.")
        evaluate.add_argument(
            "--test-size",
            type=float,
            default=assist.TEST_SIZE,
            help="Share of coded passages to hold out, 0.05–0.5 (default 0.25).",
        )
        evaluate.add_argument(
            "--seed", type=int, default=assist.SEED, help="Seed of the random split (default 0)."
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        programme = Programme.objects.filter(slug=options["programme"]).first()
        if programme is None:
            raise CommandError(
                _("No programme with the slug “{slug}”.").format(slug=options["programme"]),
                returncode=EXIT_INVALID,
            )
        test_size: float = options["test_size"]
        if not 0.05 <= test_size <= 0.5:
            raise CommandError(
                _("--test-size must lie between 0.05 and 0.5 (got {value}).").format(
                    value=test_size
                ),
                returncode=EXIT_INVALID,
            )
        try:
            evaluation = assist.evaluate(
                programme=programme,
                test_size=test_size,
                seed=options["seed"],
                actor_label="cli",
            )
        except assist.TooLittleCodedData as problem:
            raise CommandError(str(problem), returncode=EXIT_INVALID) from None
        self._report(programme, evaluation)

    def _report(self, programme: Programme, evaluation: assist.Evaluation) -> None:
        held_out = len(evaluation.held_out_passage_ids)
        total = held_out + len(evaluation.training_passage_ids)
        self.stdout.write(
            _(
                "{programme}: {total} coded passages of {sources} sources. Held out "
                "{held_out} passages of {held_out_sources} sources (test size {test_size}, "
                "seed {seed}); the split is by source, so no discussion is in both training "
                "and test. Figures are for the held-out passages only."
            ).format(
                programme=programme.name,
                total=total,
                sources=len(evaluation.held_out_source_ids | evaluation.training_source_ids),
                held_out=held_out,
                held_out_sources=len(evaluation.held_out_source_ids),
                test_size=_percent(evaluation.test_size),
                seed=evaluation.seed,
            )
        )
        header = [
            _("code"),
            _("name"),
            _("held-out"),
            _("training"),
            _("precision"),
            _("recall"),
            _("reliable"),
        ]
        rows = [
            [
                figures.code.key,
                figures.code.name,
                str(figures.support),
                str(figures.trained_on),
                _percent(figures.precision),
                _percent(figures.recall),
                (_("yes") if figures.reliable else _("no"))
                + ("" if figures.reliable else f" ({figures.status.label})"),
            ]
            for figures in evaluation.codes
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        numeric = {2, 3, 4, 5}
        for row in [header, *rows]:
            cells = [
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            self.stdout.write("  ".join(cells).rstrip())
        self.stdout.write(
            _(
                "Reliable: precision ≥ {precision} and recall ≥ {recall} with at least "
                "{held_out} held-out passages; a code needs {positives} coded passages to be "
                "learnt. Suggestions are shown for {count} codes."
            ).format(
                precision=_percent(assist.MIN_PRECISION),
                recall=_percent(assist.MIN_RECALL),
                held_out=assist.MIN_HELD_OUT,
                positives=assist.MIN_POSITIVES,
                count=len(evaluation.reliable_codes),
            )
        )
