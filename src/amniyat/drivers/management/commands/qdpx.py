"""``amniyat qdpx``: move a programme's codebook, notes and coding to and from other
qualitative analysis programs (REFI-QDA project exchange).

``amniyat qdpx export --programme SLUG --user USERNAME OUT.qdpx`` writes the codebook, the
sources the user may read and their excerpts (audited as the user's export).

``amniyat qdpx import --programme SLUG --assessment ID --user USERNAME FILE.qdpx`` imports
a project into the assessment as that user, all or nothing. Exit status 2 with the reason
when the file or an argument is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User
from amniyat.drivers.coding import qdpx
from amniyat.fieldwork.models import Assessment

EXIT_INVALID = 2


class Command(BaseCommand):
    help = "REFI-QDA projects (.qdpx): export OUT --programme SLUG --user NAME; import FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the programme's codebook and coding.")
        export.add_argument("file", type=Path)
        export.add_argument("--programme", required=True, help="The programme's slug.")
        export.add_argument("--user", required=True, help="Export what this user may read.")
        load = sub.add_parser("import", help="Import a .qdpx project into an assessment.")
        load.add_argument("file", type=Path)
        load.add_argument("--programme", required=True, help="The programme's slug.")
        load.add_argument("--assessment", type=int, required=True, help="The assessment's id.")
        load.add_argument("--user", required=True, help="Import as this user.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        programme = Programme.objects.filter(slug=options["programme"]).first()
        if programme is None:
            raise CommandError(
                _("There is no programme “{slug}”.").format(slug=options["programme"]),
                returncode=EXIT_INVALID,
            )
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(
                _("There is no user “{user}”.").format(user=options["user"]),
                returncode=EXIT_INVALID,
            )
        path: Path = options["file"]
        try:
            if action == "export":
                self._export(user, programme, path)
            else:
                self._import(user, programme, options["assessment"], path)
        except PermissionDenied as error:
            raise CommandError(
                _("{user} may not do this in {programme}.").format(
                    user=user.get_username(), programme=programme.name
                ),
                returncode=EXIT_INVALID,
            ) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=EXIT_INVALID) from error

    def _export(self, user: User, programme: Programme, path: Path) -> None:
        exported = qdpx.qdpx_export(user=user, programme=programme)
        try:
            path.write_bytes(exported.content)
        except OSError as error:
            raise CommandError(
                _("Cannot write “{file}”: {reason}").format(file=path, reason=error.strerror),
                returncode=EXIT_INVALID,
            ) from error
        self.stdout.write(
            _("{file}: {codes} codes, {sources} sources, {excerpts} excerpts.").format(
                file=path,
                codes=exported.codes,
                sources=exported.sources,
                excerpts=exported.excerpts,
            )
        )

    def _import(self, user: User, programme: Programme, assessment_id: int, path: Path) -> None:
        assessment = Assessment.objects.filter(pk=assessment_id, programme=programme).first()
        if assessment is None:
            raise CommandError(
                _("Programme {programme} has no assessment {id}.").format(
                    programme=programme.slug, id=assessment_id
                ),
                returncode=EXIT_INVALID,
            )
        if not path.is_file():
            raise CommandError(
                _("There is no file “{file}”.").format(file=path), returncode=EXIT_INVALID
            )
        with path.open("rb") as data:
            report = qdpx.qdpx_import(
                user=user,
                programme=programme,
                assessment=assessment,
                data=data,
                file_name=path.name,
            )
        self.stdout.write(
            _(
                "{file}: {sources} sources and {excerpts} excerpts imported; {created} codes "
                "added, {matched} matched."
            ).format(
                file=path.name,
                sources=report.sources,
                excerpts=report.excerpts,
                created=report.codes_created,
                matched=report.codes_matched,
            )
        )
