"""Files prepared in the background for the person who asked for them.

A file that takes more than a moment to write (a form's submissions in a spreadsheet, a
REFI-QDA project of every discussion) is never written inside a request. :func:`download_start`
records who asked for which kind of file (:mod:`.kinds`) with what choices and queues the
``prepare_download`` task once that commits; the task calls :func:`download_run`, which
writes the file with what the person may see at that moment, encrypted at rest
(:mod:`amniyat.core.encrypted_files`), and notes its progress for the page to show.
:func:`download_open` hands it back to its requester alone, decrypted, while they may still
see what it holds, and records the opening as the kind says. Files expire after
``AMNIYAT_EXPORT_HOURS`` (24 by default); :func:`downloads_expired_clear` removes them, after
every file written and when ``amniyat export clean`` runs.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amniyat.accounts import policies
from amniyat.accounts.models import Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.encrypted_files import decrypted_pieces, encrypt_file
from amniyat.downloads import kinds
from amniyat.downloads.models import Download

logger = logging.getLogger(__name__)
Status = Download.Status
LIFETIME = datetime.timedelta(hours=24)
PROGRESS_SECONDS = 1.0


def lifetime() -> datetime.timedelta:
    hours = getattr(settings, "AMNIYAT_EXPORT_HOURS", None)
    return datetime.timedelta(hours=float(hours)) if hours else LIFETIME


def download_start(
    *,
    acting_user: User,
    programme: Programme,
    kind: str,
    choices: Mapping[str, Any] | None = None,
    request: Any = None,
    queue: bool = True,
) -> Download:
    """Record that ``acting_user`` asks for a file of ``kind`` of ``programme``, and queue
    its writing once the current transaction commits (unless ``queue`` is false: the
    command line writes it in its own process with :func:`download_run`). What the file
    writes in words of its own comes in the language active now, as the page showed it."""
    spec = kinds.kind_of(kind)
    policies.require(acting_user, spec.verb, programme)
    choices = dict(choices or {})
    with transaction.atomic():
        download = Download.objects.create(
            programme=programme,
            requested_by=acting_user,
            kind=kind,
            choices=choices,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        audit_record(
            actor=acting_user,
            verb=AuditEvent.Verb.CREATED,
            obj=download,
            programme=programme,
            request=request,
            details={"download": kind, **spec.audited(choices)},
        )
        download_id = download.pk

        def enqueue() -> None:
            from amniyat.downloads.tasks import prepare_download

            prepare_download.enqueue(download_id)

        if queue:
            transaction.on_commit(enqueue)
    return download


def download_run(download_id: int, progress: kinds.Progress | None = None) -> Download:
    """Write a queued download. Never raises for a file that could not be written: the
    download says why. ``progress(done, total)`` is called as the writer goes."""
    download = Download.objects.select_related("programme", "requested_by").get(pk=download_id)
    if download.status not in (Status.QUEUED, Status.RUNNING):
        return download
    download.status = Status.RUNNING
    download.save(update_fields=["status"])
    with translation.override(download.language or settings.LANGUAGE_CODE):
        try:
            _write(download, progress or (lambda done, total: None))
        except PermissionDenied:
            _fail(download, _("You may no longer see what this file would hold."))
        except Exception:
            logger.exception("Download %s failed", download.pk)
            _fail(download, _("The file could not be written. Try again, or ask an administrator."))
    downloads_expired_clear()
    return download


def _fail(download: Download, message: str) -> None:
    download.status = Status.FAILED
    download.message = message
    download.finished_at = timezone.now()
    download.save(update_fields=["status", "message", "finished_at"])


def _write(download: Download, progress: kinds.Progress) -> None:
    spec = kinds.kind_of(download.kind)
    user, programme = download.requested_by, download.programme
    # What the person may see now, not when they asked.
    policies.require(user, spec.verb, programme)
    note = _ProgressNote(download, progress)
    with tempfile.TemporaryDirectory(prefix="amniyat-download-") as folder:
        clear = Path(folder) / "clear"
        with clear.open("wb") as target:
            written = spec.write(
                user=user,
                programme=programme,
                choices=download.choices,
                target=target,
                progress=note,
            )
        sealed = Path(folder) / "sealed"
        with clear.open("rb") as source, sealed.open("wb") as target:
            encrypt_file(source, target)
        download.size = clear.stat().st_size
        clear.unlink()  # the clear text goes as soon as it is sealed
        with sealed.open("rb") as handle:
            download.file.save(f"download-{download.pk}.bin", File(handle), save=False)
    now = timezone.now()
    download.status = Status.SUCCEEDED
    download.finished_at = now
    download.expires_at = now + lifetime()
    download.file_name = written.file_name
    download.content_type = written.content_type
    download.summary = written.summary
    download.done = download.total or download.done
    download.save(
        update_fields=[
            "status",
            "finished_at",
            "expires_at",
            "size",
            "file",
            "file_name",
            "content_type",
            "summary",
            "done",
        ]
    )


class _ProgressNote:
    """How far the writer has got, saved in the download's row at most once a second."""

    def __init__(self, download: Download, progress: kinds.Progress) -> None:
        self.download = download
        self.progress = progress
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS or done >= total:
            self.last = now
            self.download.done, self.download.total = done, total
            try:
                Download.objects.filter(pk=self.download.pk).update(done=done, total=total)
            except DatabaseError:
                # A count not shown is no reason to stop the writing.
                logger.warning("Could not save the progress of download %s", self.download.pk)
        self.progress(done, total)


def download_expired(download: Download, now: datetime.datetime | None = None) -> bool:
    return download.status == Status.EXPIRED or (
        download.expires_at is not None and download.expires_at <= (now or timezone.now())
    )


def download_open(*, download: Download, user: User, request: Any = None) -> Iterable[bytes] | None:
    """The file, decrypted a piece at a time, for its requester; None if it is not (or no
    longer) there to give, or they may no longer see what it holds. The opening is recorded
    as its kind says."""
    if download.requested_by_id != user.pk or download.status != Status.SUCCEEDED:
        return None
    if not download.file or download_expired(download):
        return None
    spec = kinds.kind_of(download.kind)
    if not policies.can(user, spec.verb, download.programme):
        return None
    with transaction.atomic():
        try:
            spec.opened(
                user=user,
                programme=download.programme,
                summary=download.summary,
                download_id=download.pk,
                request=request,
            )
        except PermissionDenied:
            return None
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.EXPORTED,
            obj=download,
            programme=download.programme,
            request=request,
            details={"download": download.kind, "size": download.size},
        )
    return _pieces(download)


def _pieces(download: Download) -> Iterator[bytes]:
    with download.file.open("rb") as handle:
        yield from decrypted_pieces(handle)


def downloads_expired_clear(now: datetime.datetime | None = None) -> int:
    """Delete the files of downloads past their time and mark them expired; how many. Run
    after every download written and by ``amniyat export clean``."""
    now = now or timezone.now()
    cleared = 0
    for download in Download.objects.filter(status=Status.SUCCEEDED, expires_at__lte=now):
        if download.file:
            download.file.delete(save=False)
        download.status = Status.EXPIRED
        download.save(update_fields=["status", "file"])
        cleared += 1
    return cleared
