"""``amniyat export``: exports of submissions on the command line.

``amniyat export submissions OUT --form ID --user NAME [--format F] [--language L]`` writes
what ``NAME`` would download from the export page (the same prepared download, the same
file, masked as their role says, audited as theirs), in this process, with a progress bar.
``amniyat export clean`` deletes the files of prepared downloads past their time, exports of
submissions and every other kind (the worker also does this after every file it writes).
Exit status 2 when the export cannot be written.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from amniyat.accounts.models import User
from amniyat.downloads.models import Download
from amniyat.downloads.services import download_open, download_run, downloads_expired_clear
from amniyat.fieldwork.models import Form
from amniyat.fieldwork.submissions import exporters, services

FAILED = 2


class Command(BaseCommand):
    help = "Export a form's submissions to a file, or delete the files of expired exports."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        write = sub.add_parser("submissions", help="Write a form's submissions to a file.")
        write.add_argument("file", type=Path)
        write.add_argument("--form", type=int, required=True, help="The form's id.")
        write.add_argument("--user", required=True, help="Export what this user may export.")
        write.add_argument(
            "--format", dest="export_format", default="xlsx", choices=exporters.EXPORT_FORMATS
        )
        write.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help="The language of the labels.",
        )
        write.add_argument("--no-progress", action="store_true", help="No progress bar.")
        sub.add_parser("clean", help="Delete the files of exports and downloads past their time.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "clean":
            cleared = downloads_expired_clear()
            self.stdout.write(_("Expired exports cleared: {n}").format(n=cleared))
            return
        form = Form.objects.select_related("assessment__programme").filter(pk=options["form"])
        found = form.first()
        if found is None:
            raise CommandError(
                _("There is no form {id}.").format(id=options["form"]), returncode=FAILED
            )
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(
                _("There is no user “{user}”.").format(user=options["user"]), returncode=FAILED
            )
        try:
            download = services.submissions_export_start(
                acting_user=user,
                form=found,
                export_format=options["export_format"],
                language=options["language"],
                queue=False,  # written here, not by a worker
            )
        except PermissionDenied as error:
            raise CommandError(
                _("{user} may not export these submissions.").format(user=user.get_username()),
                returncode=FAILED,
            ) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=FAILED) from error
        download = self._run(download, quiet=options["no_progress"] or options["verbosity"] == 0)
        pieces = download_open(download=download, user=user)
        if pieces is None:
            raise CommandError(
                download.message or _("The export could not be written."), returncode=FAILED
            )
        path: Path = options["file"]
        with path.open("wb") as out:
            for piece in pieces:
                out.write(piece)
        self.stdout.write(
            _("Written: {file} ({n} submissions)").format(
                file=path, n=download.summary.get("submissions", 0)
            )
        )

    def _run(self, download: Download, *, quiet: bool) -> Download:
        bar: tqdm[Any] | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if quiet:
                return
            if bar is None:
                bar = tqdm(
                    total=total, desc=_("writing"), unit=_("submissions"), file=self.stderr._out
                )
            bar.update(done - bar.n)

        try:
            return download_run(download.pk, progress=progress)
        finally:
            if bar is not None:
                bar.close()
