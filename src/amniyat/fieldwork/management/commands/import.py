"""``amniyat import --form ID FILE``: import a file of submissions in this process, with a
progress bar. Exit status 0 when the import succeeded, 2 (with every reason, nothing stored)
when it did not."""

from __future__ import annotations

import csv
import io
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from amniyat.accounts.models import User
from amniyat.fieldwork.imports.services import checkpoint, import_run, import_start, problems_file
from amniyat.fieldwork.imports.sources import FORMATS
from amniyat.fieldwork.models import Form, ImportJob

FAILED = 2


class Command(BaseCommand):
    help = "Import a file of submissions (KoboToolbox, ODK Central, CSV, XLSX) into a form."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="The file of submissions.")
        parser.add_argument("--form", type=int, required=True, help="The form's id.")
        parser.add_argument("--format", dest="file_format", default="auto", choices=FORMATS)
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Store the good rows and report the bad ones instead of storing nothing.",
        )
        parser.add_argument(
            "--user", default="", help="Import as this user (checked against their role)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        form = Form.objects.select_related("assessment__programme").filter(pk=options["form"])
        found = form.first()
        if found is None:
            raise CommandError(
                _("There is no form {id}.").format(id=options["form"]), returncode=FAILED
            )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("There is no file “{file}”.").format(file=path), returncode=FAILED)
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(
                    _("There is no user “{user}”.").format(user=options["user"]),
                    returncode=FAILED,
                )
        try:
            job = import_start(
                acting_user=user,
                form=found,
                file_name=path.name,
                path=path,
                file_format=options["file_format"],
                skip_bad_rows=options["skip_bad_rows"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=FAILED) from error
        job = self._run(job, quiet=options["no_progress"] or options["verbosity"] == 0)
        self._report(job)
        checkpoint()
        if job.status != ImportJob.Status.SUCCEEDED:
            raise CommandError(job.report.get("message", ""), returncode=FAILED)

    def _run(self, job: ImportJob, *, quiet: bool) -> ImportJob:
        bars: dict[str, tqdm[Any]] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if quiet:
                return
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                label = _("reading") if stage == "reading" else _("storing")
                bar = bars[stage] = tqdm(
                    total=total, desc=label, unit=_("rows"), file=self.stderr._out, leave=True
                )
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        try:
            return import_run(job.pk, progress=progress)
        finally:
            for bar in bars.values():
                bar.close()

    def _report(self, job: ImportJob) -> None:
        out = self.stdout
        out.write(_("Stored: {n}").format(n=job.stored))
        out.write(_("Already stored (duplicates): {n}").format(n=job.duplicates))
        out.write(_("Conflicting (not overwritten): {n}").format(n=job.conflicts))
        out.write(_("Skipped: {n}").format(n=job.skipped))
        for problem in _every_problem(job):
            where = ", ".join(
                part
                for part in (
                    problem.get("file") or "",
                    _("row {row}").format(row=problem["row"]) if problem.get("row") else "",
                    problem.get("column") or "",
                )
                if part
            )
            self.stderr.write(f"{where}: {problem['message']}")
        for note in job.report.get("notes", []):
            self.stdout.write(note)
        self.stdout.write(job.report.get("message", ""))


def _every_problem(job: ImportJob) -> Iterator[dict[str, Any]]:
    """Every problem of the job, from its full report file where there is one."""
    handle = problems_file(job)
    if handle is None:
        yield from job.report.get("problems") or []
        return
    with handle:
        reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8"))
        next(reader, None)
        for file, row, column, message, *_rest in reader:
            yield {"file": file, "row": row, "column": column, "message": message}
