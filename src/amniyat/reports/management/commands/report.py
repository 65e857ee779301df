"""``amniyat report build``: a report of a kind from its template, built from the programme's
published data and written as DOCX or PDF, without the web pages.

    amniyat report build --programme SLUG --kind briefing --assessment ID \\
        [--language en|ru|tg|uz] --format docx|pdf --output FILE

Every section that can be built from data is built (as the system, from published findings,
approved quotes and agreed priorities only, as for anyone); a section of a kind that cannot
be built yet is left out and named on the standard error. Nothing is stored: the report
exists only in the file. Prints the file's path; exit status 2 with one line when an argument
or the data is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme
from amniyat.fieldwork.models import Assessment
from amniyat.reports import document, pdf, selectors, services, word
from amniyat.reports.models import Report
from amniyat.reports.sections import BUILDERS

EXIT_INVALID = 2


class _Discard(Exception):
    """Rolls back what building the file stored."""


class Command(BaseCommand):
    help = (
        "Reports: build --programme SLUG --kind briefing --assessment ID "
        "--format docx|pdf --output FILE"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        build = sub.add_parser("build", help="Write a report from its template as a file.")
        build.add_argument("--programme", required=True, help="The programme's slug.")
        build.add_argument("--kind", default="briefing", choices=Report.Kind.values)
        build.add_argument("--assessment", type=int, required=True, help="The assessment's id.")
        build.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[c for c, _n in settings.LANGUAGES],
        )
        build.add_argument("--format", required=True, choices=services.RENDERERS)
        build.add_argument("--output", type=Path, required=True, help="The file to write.")
        build.add_argument("--title", default="", help="The report's title.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = self._build(options)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=EXIT_INVALID) from None
        self.stdout.write(str(path))

    def _build(self, options: dict[str, Any]) -> Path:
        programme = Programme.objects.filter(slug=options["programme"]).first()
        if programme is None:
            raise ValidationError(
                _("There is no programme “{slug}”.").format(slug=options["programme"])
            )
        assessment = Assessment.objects.filter(
            programme=programme, pk=options["assessment"]
        ).first()
        if assessment is None:
            raise ValidationError(
                _("The programme has no assessment {id}.").format(id=options["assessment"])
            )
        output: Path = options["output"]
        if not output.parent.is_dir():
            raise ValidationError(_("There is no folder {path}.").format(path=output.parent))
        with translation.override(options["language"]):
            title = options["title"] or str(_("Briefing paper: {assessment}")).format(
                assessment=assessment.translated("title")
            )
        written = output.with_name(f".{output.name}.part")
        try:
            with transaction.atomic():
                report = services.report_create(
                    user=None,
                    programme=programme,
                    kind=options["kind"],
                    language=options["language"],
                    title=title,
                    assessment=assessment,
                )
                for section in selectors.sections_of(report).select_related("report"):
                    if section.is_written:
                        continue
                    if section.kind not in BUILDERS:
                        self.stderr.write(
                            _("Left out, not built from data yet: {section}").format(
                                section=section.get_kind_display()
                            )
                        )
                        section.delete()
                        continue
                    services.build_as_system(section=section)
                with written.open("wb") as target:
                    if options["format"] == "docx":
                        # On the programme's own Word template, as its pages build it.
                        template = services.template_of(programme)
                        fallback = word.write(
                            document.drawn(report),
                            target,
                            template=services.template_content(template) if template else None,
                        )
                        if fallback:
                            self.stderr.write(
                                _(
                                    "The programme's Word template lacks these styles; the "
                                    "usual ones were used: {styles}"
                                ).format(styles=", ".join(fallback))
                            )
                    else:
                        pdf.write(document.drawn(report), target)
                raise _Discard
        except _Discard:
            pass
        except BaseException:
            written.unlink(missing_ok=True)
            raise
        written.replace(output)
        return output
