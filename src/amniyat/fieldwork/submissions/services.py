"""Writes about stored submissions: the record that someone was shown their personal and
sensitive answers, and exports written in the background.

An export is never written inside a request. :func:`export_start` records what the person
chose (format, label language, the table's filters) as a :class:`SubmissionExport` and
:func:`export_enqueue` queues the ``write_export`` task once that commits; the task calls
:func:`export_run`, which writes the file with the rows the person sees at that moment
(masked as their role says), saves its progress at most once a second, and stores the file
encrypted (:mod:`~amniyat.fieldwork.submissions.encrypted_files`) under ``MEDIA_ROOT``.
:func:`export_open` hands it back to its requester alone, decrypted, and audits the showing of
personal answers as the synchronous export did. Files expire after
:data:`EXPORT_LIFETIME`; :func:`exports_expired_clear` removes them.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record, audit_records_across
from amniyat.core.encrypted_files import decrypted_pieces, encrypt_file
from amniyat.fieldwork.imports.schema import plan_for
from amniyat.fieldwork.models import Form, Submission, SubmissionExport, new_data_revision
from amniyat.fieldwork.submissions import exporters, selectors

logger = logging.getLogger(__name__)
Verb = AuditEvent.Verb
Progress = Callable[[int, int], None]
Status = SubmissionExport.Status
BATCH = 2000
PROGRESS_SECONDS = 1.0
EXPORT_LIFETIME = datetime.timedelta(hours=24)


def submissions_changed(*, form_ids: Iterable[int]) -> None:
    """Give the forms a new data revision: call it in the transaction of every write of their
    submissions (stored, deleted, their answers, place or review changed), whatever writes
    them. Findings and the cached frames are keyed by the revision
    (:func:`~amniyat.fieldwork.submissions.frames.data_key`), so they change exactly when the
    data do, and reading the state of a million submissions costs one row."""
    ids = sorted(set(form_ids))
    if ids:
        Form.objects.filter(pk__in=ids).update(data_revision=new_data_revision())


def protected_answers_viewed(
    *,
    user: User,
    form: Form,
    export: str,
    count: int,
    request: Any = None,
    job: SubmissionExport | None = None,
) -> None:
    """Record that ``user`` was given the personal and sensitive answers of ``form``'s
    submissions in an export (its format, how many, and which export job); on a page or
    through the API, :func:`protected_answers_shown`."""
    details: dict[str, Any] = {"form": form.pk, "export": export, "count": count}
    if job is not None:
        details["job"] = job.pk
    audit_record(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        obj=form,
        programme=form.assessment.programme,
        request=request,
        details=details,
    )


def protected_answers_shown(
    *, user: User, submissions: list[Submission], request: Any = None
) -> None:
    """Record that ``user`` was shown the personal and sensitive answers of ``submissions`` on
    a page or through the API: a row per form (the submissions' ids), the rows of a page
    written at once, whatever forms it holds. The submissions come with their form and its
    assessment and programme."""
    by_form: dict[int, list[Submission]] = {}
    for submission in submissions:
        by_form.setdefault(submission.form_id, []).append(submission)
    audit_records_across(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        objects=[
            (
                shown[0].form,
                shown[0].form.assessment.programme,
                {"form": shown[0].form_id, "submissions": [s.pk for s in shown]},
            )
            for shown in by_form.values()
        ],
        request=request,
    )


# ----------------------------------------------------------------------------------------
# Exports


def export_lifetime() -> datetime.timedelta:
    hours = getattr(settings, "AMNIYAT_EXPORT_HOURS", None)
    return datetime.timedelta(hours=float(hours)) if hours else EXPORT_LIFETIME


def export_start(
    *,
    acting_user: User,
    form: Form,
    export_format: str,
    language: str,
    filters: Mapping[str, Any] | None = None,
    request: Any = None,
) -> SubmissionExport:
    """Record that ``acting_user`` asks for ``form``'s submissions in ``export_format``, labels
    in ``language``, narrowed by ``filters`` (:meth:`SubmissionFilterForm.as_filters`); write
    it with :func:`export_run` (queued by :func:`export_enqueue`, or in-process). Headers the
    export writes itself come in the language active now, as the page showed them."""
    programme = form.assessment.programme
    policies.require(acting_user, "submission.export", programme)
    if export_format not in exporters.EXPORT_FORMATS:
        raise ValidationError({"export_format": _("Choose one of the formats offered.")})
    if form.current_version() is None:
        raise ValidationError(_("This form has no version yet: upload its XLSForm first."))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    extension, _content_type = exporters.EXPORT_TYPES[export_format]
    filters = dict(filters or {})
    with transaction.atomic():
        job = SubmissionExport.objects.create(
            form=form,
            requested_by=acting_user,
            export_format=export_format,
            language=language,
            interface_language=translation.get_language() or settings.LANGUAGE_CODE,
            filters=filters,
            file_name=f"{form.form_id}-{stamp}.{extension}",
        )
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED,
            obj=job,
            programme=programme,
            request=request,
            details={
                "form": form.pk,
                "export": export_format,
                "language": language,
                # Which filters, not their values: an enumerator's name is personal data.
                "filters": sorted(filters),
            },
        )
    return job


def export_enqueue(*, job: SubmissionExport) -> None:
    """Queue the export to be written by a worker once the current transaction commits."""
    from amniyat.fieldwork.submissions.tasks import write_export

    job_id = job.pk
    transaction.on_commit(lambda: write_export.enqueue(job_id))


def export_run(job_id: int, progress: Progress | None = None) -> SubmissionExport:
    """Write a queued export. Never raises for a failed export: the job says why.
    ``progress(done, total)`` is called as submissions are written (the command line's bar)."""
    job = SubmissionExport.objects.select_related(
        "form__assessment__programme", "requested_by"
    ).get(pk=job_id)
    if job.status not in (Status.QUEUED, Status.RUNNING):
        return job
    job.status = Status.RUNNING
    job.save(update_fields=["status"])
    with translation.override(job.interface_language or settings.LANGUAGE_CODE):
        try:
            _write(job, progress or (lambda done, total: None))
        except PermissionDenied:
            _fail(job, _("You may no longer export these submissions."))
        except Exception:
            logger.exception("Export %s failed", job.pk)
            _fail(job, _("The export could not be written. Try again, or ask an administrator."))
    exports_expired_clear()
    return job


def _fail(job: SubmissionExport, message: str) -> None:
    job.status = Status.FAILED
    job.message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])


def _write(job: SubmissionExport, progress: Progress) -> None:
    form, user = job.form, job.requested_by
    programme = form.assessment.programme
    # What the person may see and export now, not when they asked.
    policies.require(user, "submission.export", programme)
    version = form.current_version()
    if version is None:
        raise ValueError("The form has no version.")
    plan = plan_for(version)
    reveal = policies.can(user, "submission.view_protected", programme)
    submissions = selectors.submissions_filtered(user=user, form=form, filters=job.filters)
    total = submissions.count()
    job.total_rows = total
    job.processed_rows = 0
    job.save(update_fields=["total_rows", "processed_rows"])
    note = _ProgressNote(job, total, progress)
    rows = exporters.rows_of(_in_batches(submissions, note), plan=plan, reveal=reveal)
    with tempfile.TemporaryDirectory(prefix="amniyat-export-") as folder:
        clear = Path(folder) / "export"
        exporters.write_export(
            clear,
            job.export_format,
            plan,
            rows,
            language=job.language,
            form_id=form.form_id,
        )
        note.done()
        sealed = Path(folder) / "sealed"
        with clear.open("rb") as source, sealed.open("wb") as target:
            encrypt_file(source, target)
        job.size = clear.stat().st_size
        clear.unlink()  # the clear text goes as soon as it is sealed
        with sealed.open("rb") as handle:
            job.file.save(f"export-{job.pk}.bin", File(handle), save=False)
    now = timezone.now()
    job.status = Status.SUCCEEDED
    job.finished_at = now
    job.expires_at = now + export_lifetime()
    job.holds_protected = bool(reveal and (plan.protected_paths or plan.enumerator_protected))
    job.holds_protected = job.holds_protected and total > 0
    job.save(
        update_fields=[
            "status",
            "finished_at",
            "expires_at",
            "size",
            "file",
            "holds_protected",
            "processed_rows",
        ]
    )


def _in_batches(submissions: Any, note: _ProgressNote) -> Iterator[Submission]:
    """``submissions`` (ordered newest first) a batch at a time, by their place in that
    order, so that no query is left open while the progress is saved (SQLite would refuse
    a write on a connection that is still reading)."""
    last: tuple[datetime.datetime, int] | None = None
    while True:
        page = submissions
        if last is not None:
            at, pk = last
            page = page.filter(Q(submitted_at__lt=at) | Q(submitted_at=at, pk__lt=pk))
        batch = list(page[:BATCH])
        if not batch:
            return
        for submission in batch:
            yield submission
            note.step()
        last = (batch[-1].submitted_at, batch[-1].pk)
        note.save()


class _ProgressNote:
    """How many submissions have been written, saved in the job's row at most once a
    second (between batches, when no query is open)."""

    def __init__(self, job: SubmissionExport, total: int, progress: Progress) -> None:
        self.job = job
        self.total = total
        self.progress = progress
        self.count = 0
        self.last = time.monotonic()

    def step(self) -> None:
        self.count += 1

    def save(self) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self._store()
        self.progress(self.count, self.total)

    def done(self) -> None:
        self._store()
        self.progress(self.count, self.total)

    def _store(self) -> None:
        self.job.processed_rows = self.count
        try:
            SubmissionExport.objects.filter(pk=self.job.pk).update(processed_rows=self.count)
        except DatabaseError:
            # A count not shown is no reason to stop the export.
            logger.warning("Could not save the progress of export %s", self.job.pk)


def export_expired(job: SubmissionExport, now: datetime.datetime | None = None) -> bool:
    return job.status == Status.EXPIRED or (
        job.expires_at is not None and job.expires_at <= (now or timezone.now())
    )


def export_open(
    *, job: SubmissionExport, user: User, request: Any = None
) -> Iterable[bytes] | None:
    """The export's file, decrypted a piece at a time, for its requester; None if it is not
    (or no longer) there to give. Personal and sensitive answers in it are audited as shown
    to ``user``, and only given while they may still see them."""
    if job.requested_by_id != user.pk or job.status != Status.SUCCEEDED or not job.file:
        return None
    programme = job.form.assessment.programme
    if export_expired(job) or not policies.can(user, "submission.export", programme):
        return None
    if job.holds_protected:
        if not policies.can(user, "submission.view_protected", programme):
            return None
        protected_answers_viewed(
            user=user,
            form=job.form,
            export=job.export_format,
            count=job.total_rows or 0,
            request=request,
            job=job,
        )
    return _pieces(job)


def _pieces(job: SubmissionExport) -> Iterator[bytes]:
    with job.file.open("rb") as handle:
        yield from decrypted_pieces(handle)


def exports_expired_clear(now: datetime.datetime | None = None) -> int:
    """Delete the files of exports past their time and mark them expired; how many. Run
    after every export and by ``amniyat export clean``."""
    now = now or timezone.now()
    cleared = 0
    for job in SubmissionExport.objects.filter(status=Status.SUCCEEDED, expires_at__lte=now):
        if job.file:
            job.file.delete(save=False)
        job.status = Status.EXPIRED
        job.save(update_fields=["status", "file"])
        cleared += 1
    return cleared
