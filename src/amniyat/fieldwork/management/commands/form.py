"""``amniyat form``: check an XLSForm, or add it to an assessment.

``amniyat form check FORM.xlsx`` converts the form and changes nothing: exit 0 with a
one-line summary and Amniyat's advice as warnings, or exit 2 with every problem found (file,
sheet, row, column).

``amniyat form add --assessment ID FORM.xlsx`` stores it as a new form or a new version,
recorded in the audit log as done by "cli", and prints the form's id, which
``amniyat import --form ID`` takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from amniyat.core.text import format_list
from amniyat.fieldwork import conf
from amniyat.fieldwork.forms.services import form_add
from amniyat.fieldwork.forms.xlsform import ConvertedForm, FormError, xlsform_convert
from amniyat.fieldwork.models import Assessment

EXIT_INVALID = 2


class Command(BaseCommand):
    help = "XLSForms: check FILE (validate only); add --assessment ID FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="Validate an XLSForm; store nothing.")
        check.add_argument("file", type=Path)
        add = sub.add_parser("add", help="Add an XLSForm (or a new version) to an assessment.")
        add.add_argument("file", type=Path)
        add.add_argument("--assessment", type=int, required=True, help="The assessment's id.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        path: Path = options["file"]
        content = self._read(path)
        try:
            if action == "check":
                self._summarise(xlsform_convert(file_name=path.name, content=content))
                return
            assessment = (
                Assessment.objects.select_related("programme")
                .filter(pk=options["assessment"])
                .first()
            )
            if assessment is None:
                raise CommandError(
                    _("No assessment with id {id}.").format(id=options["assessment"]),
                    returncode=EXIT_INVALID,
                )
            version = form_add(
                acting_user=None,
                actor_label="cli",
                assessment=assessment,
                file_name=path.name,
                content=content,
            )
        except FormError as error:
            for problem in error.problems:
                self.stderr.write(str(problem))
                if problem.detail:
                    self.stderr.write("    pyxform: " + problem.detail)
            raise CommandError(
                _("{count} problem(s); nothing was stored.").format(count=len(error.problems)),
                returncode=EXIT_INVALID,
            ) from None
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(message)
            raise CommandError(_("Nothing was stored."), returncode=EXIT_INVALID) from None
        self.stdout.write(
            _(
                "Form {id} (“{form_id}”, version {version}) stored. "
                "Import its submissions with: amniyat import FILE --form {id}"
            ).format(id=version.form.pk, form_id=version.form.form_id, version=version.version)
        )
        lacking = version.fields_lacking_sensitivity()
        if lacking:
            self.stderr.write(
                self.style.WARNING(
                    _("warning: fields without a sensitivity class: {fields}").format(
                        fields=format_list(lacking)
                    )
                )
            )

    def _read(self, path: Path) -> bytes:
        if not path.is_file():
            raise CommandError(
                _("{path}: no such file.").format(path=path), returncode=EXIT_INVALID
            )
        if path.stat().st_size > conf.max_upload_bytes():
            raise CommandError(
                _("{path}: larger than {limit}, the most this server accepts.").format(
                    path=path, limit=conf.size_label(conf.max_upload_bytes())
                ),
                returncode=EXIT_INVALID,
            )
        try:
            return path.read_bytes()
        except OSError as error:
            raise CommandError(
                _("{path}: cannot be read ({reason}).").format(path=path, reason=error.strerror),
                returncode=EXIT_INVALID,
            ) from None

    def _summarise(self, converted: ConvertedForm) -> None:
        languages = ", ".join(converted.languages) or "-"
        self.stdout.write(
            _("{form_id} version {version}: {count} fields; languages: {languages}").format(
                form_id=converted.form_id,
                version=converted.version,
                count=len(converted.fields),
                languages=languages,
            )
        )
        for warning in converted.warnings:
            self.stderr.write(self.style.WARNING(_("warning: {text}").format(text=warning)))
        lacking = converted.fields_lacking_sensitivity()
        if lacking:
            self.stderr.write(
                self.style.WARNING(
                    _(
                        "warning: {count} field(s) have no sensitivity class yet and must get "
                        "one before the form is published: {fields}"
                    ).format(count=len(lacking), fields=format_list(lacking))
                )
            )
