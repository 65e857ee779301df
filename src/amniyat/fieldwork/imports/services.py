"""Importing files of submissions: all or nothing by default, or the good rows with a report
of every skipped one.

:func:`import_start` records the file and an :class:`ImportJob`; :func:`import_run` (called by
the background task, or in-process by ``amniyat import``) reads the file once, in one
transaction:

* **Read and check** (this thread). The file is streamed batch by batch
  (:class:`~amniyat.fieldwork.imports.convert.SubmissionReader`); every answer is checked against
  the form; each good row's JSON is hashed and its personal answers encrypted
  (:mod:`~amniyat.fieldwork.imports.sealing`). Ids repeated within a batch are settled here.
* **Store** (a writer thread, :class:`_Writer`; on PostgreSQL a second one making the
  binary ``COPY`` tuples of the batch after), overlapping the reading of the next batch:
  on SQLite through ``executemany`` on the driver's cursor, binding only what differs from
  row to row, the database's unique index finding the instance ids stored before as the rows
  go in; on PostgreSQL through a binary ``COPY`` (its tuples made by Arrow's kernels, column
  by column) straight into the table
  of the rows whose ids one lookup did not find stored (read again the careful way if
  another connection stores one meanwhile: :class:`_Raced`). Ids stored before are settled
  as duplicates (same content) or conflicts (different content, never overwritten).

If any row is rejected and skipping was not asked for, storing stops, the reading goes on so
that the report lists every reason, and the transaction is rolled back: nothing is stored.
The job's outcome and the audit record are written in the same transaction as the rows.
Progress is saved where the pages can read it while the transaction is open
(:class:`_ProgressNote`): the job's row, through a second connection, on PostgreSQL; a small
file on SQLite, which lets no other connection write meanwhile.

The uploaded file is deleted when the run ends: it holds personal answers unencrypted.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from amniyat.accounts.models import User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.cells import CellWriter
from amniyat.core.text import format_list
from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.convert import SubmissionReader
from amniyat.fieldwork.imports.errors import FileRejected, Problem
from amniyat.fieldwork.imports.schema import FormPlan, plan_for
from amniyat.fieldwork.imports.sealing import content_hashes, encrypt_many, seal_repeated
from amniyat.fieldwork.imports.sources import FORMATS, ROW
from amniyat.fieldwork.models import Form, ImportJob, Submission
from amniyat.fieldwork.submissions.services import submissions_changed
from amniyat.places.models import Place

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int | None], None]
Verb = AuditEvent.Verb
BATCH_ROWS = 25_000
INSERT_ROWS = 10_000
QUEUED_BATCHES = 2  # read and checked ahead of the writer: memory stays bounded
REPORT_LIMIT = 500
PROGRESS_SECONDS = 1.0
PROBLEM_COLUMNS = ("file", "row", "column", "message", "instance_id")


def import_start(
    *,
    acting_user: User | None,
    form: Form,
    file_name: str,
    content: bytes | File | None = None,  # type: ignore[type-arg]
    path: str | Path | None = None,
    file_format: str = "auto",
    skip_bad_rows: bool = False,
) -> ImportJob:
    """Record a file of submissions to import into ``form``; run it with :func:`import_run`
    (queued by :func:`import_enqueue`, or in-process). ``content`` is an upload; ``path`` a
    file on this machine (the command line), read where it lies rather than copied."""
    programme = form.assessment.programme
    if acting_user is not None:
        require(acting_user, "submission.import", programme)
    if file_format not in FORMATS:
        raise ValidationError({"file_format": _("Choose one of the formats offered.")})
    if form.current_version() is None:
        raise ValidationError(_("This form has no version yet: upload its XLSForm first."))
    if (content is None) == (path is None):
        raise ValueError("Give either content or path.")
    size = _size_of(content, path)
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if size > limits.max_import_bytes():
        raise ValidationError(
            {
                "file": _("The file is too large ({size} MB; the limit is {limit} MB).").format(
                    size=size // 2**20, limit=limits.max_import_bytes() // 2**20
                )
            }
        )
    job = ImportJob(
        form=form,
        file_name=file_name[:255],
        file_format=file_format,
        skip_bad_rows=skip_bad_rows,
        created_by=acting_user,
        report={"language": translation.get_language() or "en", "stage": "queued"},
    )
    with transaction.atomic():
        if path is not None:
            job.report["path"] = str(Path(path).resolve())
        else:
            upload = content if isinstance(content, File) else ContentFile(content or b"")
            job.file.save(get_valid_filename(file_name) or "upload", upload, save=False)
        job.save()
        audit_record(
            actor=acting_user,
            verb=Verb.CREATED,
            obj=job,
            programme=programme,
            details={"file": job.file_name, "format": file_format, "skip_bad_rows": skip_bad_rows},
            actor_label="cli",
        )
    return job


def _size_of(content: bytes | File | None, path: str | Path | None) -> int:  # type: ignore[type-arg]
    if path is not None:
        try:
            return Path(path).stat().st_size
        except OSError as error:
            raise ValidationError({"file": _("The file cannot be read.")}) from error
    if isinstance(content, File):
        return int(content.size or 0)
    return len(content or b"")


def import_enqueue(*, job: ImportJob) -> None:
    """Queue the import to run in a worker once the current transaction commits."""
    from amniyat.fieldwork.imports.tasks import run_import

    job_id = job.pk
    transaction.on_commit(lambda: run_import.enqueue(job_id))


# ----------------------------------------------------------------------------------------
# Running


class _ProblemLog:
    """Every problem, written to a CSV file as found; the first few kept for the page."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.writer = CellWriter.for_csv(self.handle)
        self.writer.row([_("file"), _("row"), _("column"), _("problem"), _("instance id")])
        self.first: list[dict[str, Any]] = []
        self.count = 0
        self.fatal = False

    def add(self, problem: Problem) -> None:
        self.count += 1
        if problem.row is None:
            self.fatal = True
        self.writer.row(
            [problem.file, problem.row, problem.column, problem.message, problem.instance_id]
        )
        if len(self.first) < REPORT_LIMIT:
            self.first.append(problem.as_dict())

    def close(self) -> None:
        self.handle.close()


def import_run(job_id: int, progress: Progress | None = None) -> ImportJob:
    """Run a queued import. Never raises for a bad file: the job records why it failed."""
    job = ImportJob.objects.select_related("form__assessment__programme").get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    with translation.override(job.report.get("language") or "en"):
        workdir = Path(tempfile.mkdtemp(prefix="amniyat-import-"))
        try:
            _run(job, workdir, progress or (lambda stage, done, total: None))
        except FileRejected as error:
            _finish_failed(job, error.message, error.problems, workdir)
        except Exception:
            logger.exception("Import %s failed", job.pk)
            _finish_failed(
                job, _("The import failed unexpectedly; nothing was stored."), [], workdir
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            _delete_upload(job)
    return job


def _delete_upload(job: ImportJob) -> None:
    if job.file:
        name = job.file.name
        try:
            job.file.storage.delete(name)
        except OSError:
            logger.warning("Could not delete the uploaded file %s", name)
        ImportJob.objects.filter(pk=job.pk).update(file="")
        job.file = ""


def _local_path(job: ImportJob) -> Path | None:
    """The upload's path on this machine; None for stores without local files, whose
    storage backends (django-storages) raise NotImplementedError for ``path``."""
    try:
        return Path(job.file.path)
    except NotImplementedError:
        return None


@contextmanager
def _local_file(job: ImportJob, workdir: Path) -> Iterator[Path]:
    if job.report.get("path"):
        yield Path(job.report["path"])
        return
    local = _local_path(job)
    if local is not None:
        yield local
        return
    # A remote store (S3): copy it here in chunks.
    target = workdir / "upload"
    with job.file.open("rb") as source, target.open("wb") as out:
        for chunk in source.chunks():
            out.write(chunk)
    yield target


def place_lookup(form: Form) -> dict[str, int]:
    """Place codes and names (any language), folded as answers are matched to them
    (:func:`~amniyat.core.search.folded`, kept on each place) → place id, for the
    places a programme's submissions may name; a name two places share is left out. An
    import matches a whole file against it; one submission asks
    :func:`~amniyat.places.selectors.place_named`, which answers the same."""
    places = Place.objects.filter(
        Q(programme__isnull=True) | Q(programme_id=form.assessment.programme_id)
    ).values_list("pk", *Place.KEYED.values())  # the code's key first
    codes: dict[str, int] = {}
    names: dict[str, int | None] = {}
    for pk, code, *labels in places:
        if code:
            codes[code] = pk
        for key in labels:
            if key:
                names[key] = pk if names.get(key, pk) == pk else None
    lookup = {k: v for k, v in names.items() if v is not None}
    lookup.update(codes)
    return lookup


def _run(job: ImportJob, workdir: Path, progress: Progress) -> None:
    started = time.monotonic()
    job.status = ImportJob.Status.RUNNING
    job.report = {**job.report, "stage": "reading"}
    job.processed_rows = 0
    job.save(update_fields=["status", "report", "processed_rows"])
    form = job.form
    version = form.current_version()
    if version is None:
        raise FileRejected(_("This form has no version yet: upload its XLSForm first."))
    plan = plan_for(version)
    with _local_file(job, workdir) as path:
        try:
            _read_file(job, path, workdir, plan, progress, version.pk, started, careful=False)
        except _Raced:
            # Another connection stored a submission of this file while it was being
            # stored (nothing was kept): read it again, each row settled as it goes in.
            logger.info("Import %s raced with another writer; running it again", job.pk)
            again = workdir / "again"
            again.mkdir()
            job.processed_rows = 0
            _read_file(job, path, again, plan, progress, version.pk, started, careful=True)


def _read_file(
    job: ImportJob,
    path: Path,
    workdir: Path,
    plan: FormPlan,
    progress: Progress,
    version_id: int,
    started: float,
    *,
    careful: bool,
) -> None:
    log = _ProblemLog(workdir / "problems.csv")
    try:
        reader = SubmissionReader(
            path,
            workdir,
            plan=plan,
            file_format=job.file_format,
            name=job.file_name,
            places=place_lookup(job.form),
        )
        job.total_rows = reader.total_rows
        # The format the content showed, where the person left it to Amniyat to find.
        job.report["format"] = reader.file_format
        if reader.notes:
            job.report["notes"] = reader.notes
        job.save(update_fields=["total_rows", "report"])
        _read_check_and_store(
            job, reader, log, workdir, progress, version_id, started, careful=careful
        )
    finally:
        log.close()


class _Abandon(Exception):
    """Raised inside the import's transaction to roll it back."""


class _Raced(Exception):
    """PostgreSQL: a row copied straight into the table met an instance id that another
    connection stored meanwhile. The transaction is rolled back and the file read again in
    the careful way (:class:`_Writer`), which settles such ids as the rows go in."""


class _Tally:
    def __init__(self) -> None:
        self.rejected = 0
        self.duplicates = 0
        self.conflicts = 0
        self.sent = 0
        # Form versions the file names that the form does not have.
        self.unknown_versions: set[str] = set()


def _read_check_and_store(
    job: ImportJob,
    reader: SubmissionReader,
    log: _ProblemLog,
    workdir: Path,
    progress: Progress,
    version_id: int,
    started: float,
    *,
    careful: bool = False,
) -> None:
    """One pass over the file: each batch is read, checked, hashed and encrypted here while
    a writer thread stores the batch before it, inside one transaction. If a row is rejected
    (and bad rows are not to be skipped) storing stops, the reading goes on to report every
    problem, and the transaction is rolled back: nothing is stored."""
    tally = _Tally()
    content_ids: dict[str, int] = {}
    conflicts: list[tuple[int, str]] = []
    note = _ProgressNote(job)
    # Submissions without a submission time are dated by the import.
    stamp = timezone.now().astimezone(datetime.UTC)
    storing_seconds = 0.0
    # The file may say which version of the form each submission was filled in.
    versions = dict(job.form.versions.values_list("version", "pk"))
    try:

        def prepare(good: pl.DataFrame) -> pl.DataFrame:
            prepared = _prepare(good, content_ids, tally, conflicts, versions, version_id)
            tally.sent += prepared.height
            return prepared

        with _fast_sqlite(), transaction.atomic():
            writer = _Writer(job, stamp, prepare, careful=careful)
            try:
                for batch in reader.batches(BATCH_ROWS):
                    for problem in batch.problems:
                        log.add(problem)
                    if batch.rows == 0:
                        continue
                    frame = batch.frame
                    bad = int(frame["bad"].sum())
                    tally.rejected += bad
                    job.processed_rows += batch.rows
                    if log.fatal or (tally.rejected and not job.skip_bad_rows):
                        writer.abandon()
                    elif frame.height > bad:
                        writer.put(frame.filter(~pl.col("bad")) if bad else frame)
                    note.save("reading", job.processed_rows, job.total_rows)
                    progress("reading", job.processed_rows, job.total_rows)
                waiting = time.monotonic()

                def storing(done: int) -> None:
                    note.save("storing", done, tally.sent)
                    progress("storing", done, tally.sent)

                writer.finish(storing)
                storing_seconds = time.monotonic() - waiting
            finally:
                writer.stop()
            job.total_rows = job.processed_rows
            if log.fatal or (tally.rejected and not job.skip_bad_rows):
                raise _Abandon
            for row, instance_id in sorted(conflicts + writer.conflict_rows):
                log.add(_conflict(job.file_name, row, instance_id))
            log.close()
            _record_success(job, tally, writer, log, workdir, started, storing_seconds)
    except _Abandon:
        for row, instance_id in sorted(conflicts):
            log.add(_conflict(job.file_name, row, instance_id))
        log.close()
        message = (
            _("The file does not fit the form; nothing was stored.")
            if log.fatal
            else _(
                "Nothing was stored: {count} rows have problems. Correct them and import "
                "the file again, or choose to store the good rows and skip the bad ones."
            ).format(count=tally.rejected)
        )
        _finish_failed(job, message, [], workdir, log=log, rejected=tally.rejected)
    finally:
        note.clear()


def _prepare(
    good: pl.DataFrame,
    content_ids: dict[str, int],
    tally: _Tally,
    conflicts: list[tuple[int, str]],
    versions: dict[str, int],
    version_id: int,
) -> pl.DataFrame:
    """Hash each row's answers, encrypt its personal ones and its enumerator (with the
    enumerator's keyed hash, to filter on): the steps Polars cannot do. Settle ids repeated
    within the batch: the first is stored; a later copy with the same answers is a
    duplicate, with different answers a conflict (its row and id added to ``conflicts``).
    Ids repeated across batches, or stored before, are the writer's to settle. Run by the
    writer's preparing thread, one batch after the other."""
    hashes = content_hashes(good["combined"]).alias("content_hash")
    personal = good.select(pl.when(pl.col("protected") != "{}").then(pl.col("protected")))
    protected = encrypt_many(personal.to_series()).fill_null("")
    enumerators, enumerator_hashes = seal_repeated(good["enumerator"])
    ids = good["instance_id"]
    if ids.null_count():
        # No instance id in the file: one made of the answers, the same on every import of
        # the same file, counting identical rows so that none is lost.
        filled = ids.to_list()
        digests = hashes.to_list()
        for index, value in enumerate(filled):
            if value is None:
                occurrence = content_ids.get(digests[index], 0) + 1
                content_ids[digests[index]] = occurrence
                filled[index] = f"sha256:{digests[index][:48]}:{occurrence}"
        ids = pl.Series("instance_id", filled, dtype=pl.String)
    named = good["version"]
    tally.unknown_versions.update(
        named.filter(named.is_not_null() & ~named.is_in(list(versions))).unique().to_list()
    )
    form_version = named.replace_strict(versions, default=version_id, return_dtype=pl.Int64)
    prepared = good.select(
        ROW,
        ids.alias("instance_id"),
        hashes,
        "place_id",
        "submitted_at",
        enumerators.alias("enumerator"),
        enumerator_hashes.alias("enumerator_hash"),
        "data",
        protected.alias("protected"),
        form_version.alias("form_version_id"),
        "review_state",
    )
    first = prepared["instance_id"].is_first_distinct()
    if first.all():
        return prepared
    copies = prepared.with_columns(
        pl.col("content_hash").first().over("instance_id").alias("\x00first")
    ).filter(~first)
    for row, instance_id, content_hash, first_hash in copies.select(
        ROW, "instance_id", "content_hash", "\x00first"
    ).iter_rows():
        if content_hash == first_hash:
            tally.duplicates += 1
        else:
            tally.conflicts += 1
            conflicts.append((row, instance_id))
    return prepared.filter(first)


def _conflict(file: str, row: int, instance_id: str) -> Problem:
    return Problem(
        file=file,
        row=row,
        column="",
        message=_(
            "A submission with this instance id is already stored with different answers; "
            "the stored one was kept."
        ),
        instance_id=instance_id,
    )


# ----------------------------------------------------------------------------------------
# Progress while the transaction is open


class _ProgressNote:
    """How far an import has got, saved at most once a second where the pages can read it
    while the import's transaction is still open.

    On PostgreSQL, in the job's row, through a connection of its own that commits each count
    at once: every web server sees it, on any machine. On SQLite, whose open transaction lets
    no other connection write, in a small file beside the database instead
    (``IMPORT_PROGRESS_DIR``), which the pages read through :func:`live_progress`."""

    def __init__(self, job: ImportJob) -> None:
        self.job_id = int(job.pk)
        self.path = progress_note_path(job.pk)
        self.last = 0.0
        self.side: BaseDatabaseWrapper | None = None
        if connection.vendor == "postgresql":
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def save(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        if self.side is not None:
            self._save_row(self.side, stage, done, total)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps({"stage": stage, "done": done, "total": total}))
        partial.replace(self.path)

    def _save_row(
        self, side: BaseDatabaseWrapper, stage: str, done: int, total: int | None
    ) -> None:
        table = side.ops.quote_name(ImportJob._meta.db_table)
        try:
            with side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET processed_rows = %s, "  # noqa: S608
                    "total_rows = COALESCE(%s, total_rows), report = report || %s::jsonb "
                    "WHERE id = %s",
                    [done, total, json.dumps({"stage": stage}), self.job_id],
                )
        except DatabaseError:
            # A count not shown is no reason to stop the import.
            logger.warning("Could not save the progress of import %s", self.job_id)

    def clear(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".tmp").unlink(missing_ok=True)


def progress_note_path(job_id: int) -> Path:
    return Path(settings.IMPORT_PROGRESS_DIR) / f"import-{int(job_id)}.json"


def live_progress(job: ImportJob) -> ImportJob:
    """``job`` with the progress of its run so far, if it is running (in memory only)."""
    if job.status != ImportJob.Status.RUNNING:
        return job
    try:
        note = json.loads(progress_note_path(job.pk).read_text())
    except (OSError, ValueError):
        return job
    if isinstance(note, dict):
        job.processed_rows = max(job.processed_rows, int(note.get("done") or 0))
        if note.get("total"):
            job.total_rows = int(note["total"])
        if note.get("stage"):
            job.report = {**(job.report or {}), "stage": str(note["stage"])}
    return job


# ----------------------------------------------------------------------------------------
# Storing


COLUMNS = (
    "form",
    "instance_id",
    "content_hash",
    "place",
    "submitted_at",
    "enumerator",
    "enumerator_hash",
    "data",
    "protected_data",
    "form_version",
    "review_state",
    "is_encrypted",
    "encrypted_payload",
    "source",
    "import_job",
    "received_at",
)
# The columns that differ from row to row, and the prepared column each comes from, in the
# order of COLUMNS (SQLite's placeholders take them so); the others are the same for every
# row of an import.
PREPARED = {
    "instance_id": "instance_id",
    "content_hash": "content_hash",
    "place": "place_id",
    "submitted_at": "submitted_at",
    "enumerator": "enumerator",
    "enumerator_hash": "enumerator_hash",
    "data": "data",
    "protected_data": "protected",
    "form_version": "form_version_id",
    "review_state": "review_state",
}


# How an import's connection writes to SQLite (see _fast_sqlite): a 64 MB page cache, no
# checkpoint inside the commit, the commit itself synced (2: FULL).
SQLITE_IMPORT_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 0, "synchronous": 2}
# SQLite keeps datetimes as naive UTC text, written as Django writes them (str() of the
# value: the microseconds only when there are some). Text is what SQLite compares and sorts:
# "10:15:30.000000" beside a "10:15:30" of the same second would sort after it.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S"
SQLITE_DATETIME_FRACTION = "%Y-%m-%d %H:%M:%S%.6f"  # Polars' pattern, with microseconds


def _sqlite_text(moment: datetime.datetime) -> str:
    """A UTC datetime as Django's SQLite backend stores it."""
    return moment.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(sep=" ")


@contextmanager
def _fast_sqlite() -> Iterator[None]:
    """How a large import writes to SQLite, put back afterwards: a bigger page cache; the
    commit made durable by itself (``synchronous = FULL`` syncs the write-ahead log when the
    transaction commits); and no checkpoint inside the commit. A checkpoint copies every
    page the import wrote from the log into the database, several seconds for a million
    submissions that need not keep the import waiting: :func:`checkpoint` does it once the
    job is recorded, and readers see the rows in the log meanwhile."""
    if connection.vendor != "sqlite":
        yield
        return
    wanted = dict(SQLITE_IMPORT_PRAGMAS)
    if connection.in_atomic_block:  # the caller's transaction decides
        del wanted["synchronous"]
    previous = {}
    with connection.cursor() as cursor:
        for name, value in wanted.items():
            cursor.execute(f"PRAGMA {name}")
            (previous[name],) = cursor.fetchone()
            cursor.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")


def checkpoint() -> None:
    """Copy into SQLite's database file what the last import wrote to the write-ahead log,
    after :func:`import_run` has committed (its rows are stored and durable before this).
    Passive: no other connection waits for it. Nothing to do on PostgreSQL, nor inside a
    transaction (the caller's). If it cannot run now, SQLite's next commit does it."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except DatabaseError:
        logger.warning("SQLite's checkpoint after an import could not run", exc_info=True)


def _column_names(columns: tuple[str, ...] = COLUMNS) -> list[str]:
    meta = Submission._meta
    quote = connection.ops.quote_name
    return [quote(str(getattr(meta.get_field(n), "column", n))) for n in columns]


# PostgreSQL's COPY takes every column but encrypted_payload (NULL).
COPY_COLUMNS = tuple(name for name in COLUMNS if name != "encrypted_payload")
COPY_BLOCK = 1 << 20  # bytes handed to the driver at a time
# The binary COPY format's header (its signature, no flags, no extension) and trailer.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970


def copy_binary(rows: pl.DataFrame) -> memoryview:
    """``rows`` as the tuples of a ``COPY … FROM STDIN (FORMAT binary)`` (without the
    header and the trailer, :data:`COPY_HEADER` and :data:`COPY_TRAILER`), the columns in the
    frame's order, made column by column by Arrow's kernels rather than row by row in Python:
    each value its length (-1: NULL) and its bytes; text as its UTF-8 (for ``text`` and
    ``varchar`` columns: the answers are one, :class:`~amniyat.core.jsonfield.JSONTextField`),
    integers as ``bigint``, booleans, date-times (with their time zone) as microseconds since
    2000 in UTC. The server then converts nothing: a binary ``COPY`` costs it about a fifth
    less CPU than the text format's (timestamps, numbers and the lines' escapes)."""
    if not rows.height:
        return memoryview(b"")
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Arrays made from buffers only: pyarrow's conversion of Python values (pa.scalar,
    # pa.array) imports pandas, a third of a second and tens of megabytes for nothing here.
    kind = pa.large_binary()
    count = rows.height

    def fixed(values: Any, code: str, present: Any = None) -> Any:
        """Numbers as fixed-width big-endian bytes, one value each; NULL where not
        ``present`` (the join then writes nothing for it)."""
        raw = np.ascontiguousarray(np.asarray(values).astype(code))
        validity = None
        if present is not None:
            validity = pa.py_buffer(np.packbits(present, bitorder="little"))
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(raw.dtype.itemsize), count, [validity, pa.py_buffer(raw)]
        ).cast(kind)

    pieces: list[Any] = [fixed(np.full(count, rows.width), ">i2")]
    for name, dtype in rows.schema.items():
        column = rows[name]
        present = column.is_not_null().to_numpy() if column.null_count() else None
        if dtype == pl.String:
            lengths = column.str.len_bytes().cast(pl.Int64)
            pieces.append(fixed(lengths.fill_null(-1).to_numpy(), ">i4"))
            pieces.append(pc.cast(column.to_arrow(), kind))
            continue
        if dtype == pl.Boolean:
            numbers, code = column.fill_null(False).cast(pl.UInt8), ">u1"
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                raise TypeError(f"{name}: a date-time without its time zone")
            numbers, code = column.dt.epoch("us").fill_null(0) - POSTGRES_EPOCH_US, ">i8"
        elif dtype.is_integer():
            numbers, code = column.fill_null(0), ">i8"
        else:
            raise TypeError(f"{name}: no binary COPY for {dtype}")
        width = np.dtype(code).itemsize
        length = np.full(count, width) if present is None else np.where(present, width, -1)
        pieces.append(fixed(length, ">i4"))
        pieces.append(fixed(numbers.to_numpy(), code, present))
    nothing = pa.LargeBinaryArray.from_buffers(
        kind, count, [None, pa.py_buffer(np.zeros(count + 1, np.int64)), pa.py_buffer(b"")]
    )
    joined = pc.binary_join_element_wise(
        *pieces, nothing, null_handling="replace", null_replacement=""
    )
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset :]
    return memoryview(joined.buffers()[2])[offsets[0] : offsets[rows.height]]


class _Texted(NamedTuple):
    """PostgreSQL: a prepared batch (``frame``), its rows as copied (``rows``: ROW, then
    COPY_COLUMNS) and their binary ``COPY`` tuples (with ROW in the careful way, for the
    staging table)."""

    frame: pl.DataFrame
    rows: pl.DataFrame
    text: memoryview


class _Bound(NamedTuple):
    """SQLite: a prepared batch (``frame``) and its rows as the values of the ``INSERT``'s
    placeholders, a list of at most INSERT_ROWS for each ``executemany``."""

    frame: pl.DataFrame
    parts: list[list[tuple[Any, ...]]]


class _Writer:
    """Prepares and stores the batches the caller reads and checks, in two threads of its
    own: the preparer (``prepare``: hashing and encrypting, then the rows in the form the
    store takes) and the writer. Reading, preparing and writing three successive batches
    overlap, so that the checking (Polars, in threads of its own), the preparing (mostly
    Python) and the database's work share the cores rather than waiting for each other.

    It uses the caller's connection, inside the caller's transaction; the caller makes no
    query of its own until :meth:`finish` (or :meth:`stop`) returns. A row whose instance
    id is stored already (by an earlier import, by an earlier batch of this file, or by ODK
    Collect meanwhile) is not stored again: it is settled as a duplicate (same answers) or
    a conflict (different answers, never overwritten).

    On SQLite the rows go through ``executemany`` on the driver's cursor, with what is the
    same for every row written into the statement, each ``INSERT … ON CONFLICT (form,
    instance id) DO NOTHING``.

    On PostgreSQL the rows are copied straight into the table (a binary ``COPY`` of the
    tuples :func:`copy_binary` makes, by the preparer, while the batch before is being
    copied: the server then never waits for them between batches), after one query has
    found which of the batch's ids are stored already (all of them if the form had
    submissions before; otherwise only those this import may have stored, told by a hash of
    the ids it sent). If another connection
    stores one of those ids meanwhile, the copy fails, the transaction is rolled back and
    the file is read again ``careful``-ly (:class:`_Raced`): copied into a temporary table,
    then ``INSERT … SELECT … ON CONFLICT DO NOTHING``, which settles such ids as the rows go
    in, at the cost of writing every row twice. The table's foreign keys are checked as each
    batch is stored, while the next one is read: by the import itself, each distinct parent
    once, where the role may turn the key triggers off (:meth:`_parent_keys`); else by
    PostgreSQL's triggers, row by row, rather than all at once at the commit."""

    def __init__(
        self,
        job: ImportJob,
        stamp: datetime.datetime,
        prepare: Callable[[pl.DataFrame], pl.DataFrame],
        *,
        careful: bool,
    ) -> None:
        self.prepare = prepare
        self.job_id = int(job.pk)
        self.form_id = int(job.form_id)
        self.stamp = stamp
        self.table = connection.ops.quote_name(Submission._meta.db_table)
        self.stored = 0
        self.duplicates = 0
        self.conflicts = 0
        self.reviewed = 0  # submissions already stored whose review state the file changed
        self.handled = 0
        self.conflict_rows: list[tuple[int, str]] = []
        self.error: BaseException | None = None
        self.abandoned = False
        self.postgres = connection.vendor == "postgresql"
        # Checked batches, from the caller to the preparer, and prepared ones, from the
        # preparer to the writer: with the one each thread holds, at most QUEUED_BATCHES
        # ahead of the writer.
        self.queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=1)
        self.ready: queue.Queue[_Texted | _Bound | None] = queue.Queue(maxsize=QUEUED_BATCHES - 1)
        connection.ensure_connection()
        self.wrapper = connection.cursor()
        self.raw = connection.connection.cursor()
        self.careful = careful
        if self.postgres:
            self._prepare_postgres()
        else:
            constants = {
                "form": str(self.form_id),
                "is_encrypted": "0",
                "encrypted_payload": "NULL",
                "source": f"'{Submission.Source.IMPORT.value}'",
                "import_job": str(self.job_id),
                "received_at": f"'{_sqlite_text(stamp)}'",
            }
            names = ", ".join(_column_names())
            values = ", ".join(constants.get(name, "?") for name in COLUMNS)
            self.sql = (
                f"INSERT INTO {self.table} ({names}) VALUES ({values}) "  # noqa: S608
                "ON CONFLICT (form_id, instance_id) DO NOTHING"
            )
        self.thread = threading.Thread(target=self._work, name=f"import-{self.job_id}", daemon=True)
        self.thread.start()
        self.preparer = threading.Thread(
            target=self._make_ready, name=f"import-{self.job_id}-prepare", daemon=True
        )
        self.preparer.start()

    def _prepare_postgres(self) -> None:
        names = ", ".join(_column_names(COPY_COLUMNS))
        self.copy_sql = f"COPY {self.table} ({names}) FROM STDIN (FORMAT binary)"
        self.constants = {
            "form": pl.lit(self.form_id, dtype=pl.Int64),
            "is_encrypted": pl.lit(False),
            "source": pl.lit(Submission.Source.IMPORT.value),
            "import_job": pl.lit(self.job_id, dtype=pl.Int64),
            "received_at": pl.lit(self.stamp, dtype=pl.Datetime("us", "UTC")),
        }
        self.parents = self._parent_keys()
        self.deferred = ""
        if self.parents is None:
            # The foreign keys PostgreSQL would check at the commit, checked row by row with
            # each batch instead, while the next one is read.
            self.wrapper.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f' AND condeferred",
                [Submission._meta.db_table],
            )
            self.deferred = ", ".join(
                connection.ops.quote_name(name) for (name,) in self.wrapper.fetchall()
            )
            if self.deferred:
                self.wrapper.execute(f"SET CONSTRAINTS {self.deferred} IMMEDIATE")
        self.wrapper.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.table} WHERE form_id = %s)",  # noqa: S608
            [self.form_id],
        )
        (self.form_had_rows,) = self.wrapper.fetchone()
        self.sent: set[int] = set()  # hashes of the ids this import has copied
        if self.careful:
            self.staging = f"amniyat_import_{self.job_id}"
            self.wrapper.execute(
                f"CREATE TEMPORARY TABLE {self.staging} AS SELECT 0::bigint AS source_row, "  # noqa: S608
                f"{names} FROM {self.table} WITH NO DATA"
            )
            self.staging_copy_sql = (
                f"COPY {self.staging} (source_row, {names}) FROM STDIN (FORMAT binary)"
            )
            self.insert_sql = (
                f"INSERT INTO {self.table} ({names}) SELECT {names} "  # noqa: S608
                f"FROM {self.staging} ORDER BY source_row "
                "ON CONFLICT (form_id, instance_id) DO NOTHING RETURNING instance_id"
            )

    def _parent_keys(self) -> list[tuple[str, str, str]] | None:
        """The table's foreign keys, as (column of the copied rows, parent table, its key), if
        the import may check them itself, a batch at a time, instead of PostgreSQL's
        triggers checking them row by row (a query each, four a submission: a third of the
        server's time). It may when every key is one column the import copies, the table
        has no trigger of its own, and this role may set ``session_replication_role`` (a
        superuser, or one granted it: ``GRANT SET ON PARAMETER``), which the import sets
        to ``replica`` for its ``COPY`` alone so that the key triggers do not fire; None
        otherwise."""
        from psycopg import errors

        table = Submission._meta.db_table
        self.raw.execute(
            "SELECT a.attname, c.confrelid::regclass::text, f.attname, "
            "cardinality(c.conkey) FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1] "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
            [table],
        )
        keys = self.raw.fetchall()
        copied = {
            str(getattr(Submission._meta.get_field(name), "column", name)): name
            for name in COPY_COLUMNS
        }
        if any(width != 1 or column not in copied for column, _p, _k, width in keys):
            return None
        self.raw.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass "
            "AND NOT tgisinternal)",
            [table],
        )
        (triggers,) = self.raw.fetchone()
        if triggers:
            return None
        self.raw.execute("SAVEPOINT amniyat_import_keys")
        try:
            self.raw.execute("SET LOCAL session_replication_role = origin")
        except errors.InsufficientPrivilege:
            self.raw.execute("ROLLBACK TO SAVEPOINT amniyat_import_keys")
            return None
        finally:
            self.raw.execute("RELEASE SAVEPOINT amniyat_import_keys")
        quote = connection.ops.quote_name
        return [(copied[column], parent, quote(key)) for column, parent, key, _w in keys]

    @contextmanager
    def _parents_checked(self, rows: pl.DataFrame) -> Iterator[None]:
        """Around a statement storing ``rows``: the rows their foreign keys name locked as
        PostgreSQL's key triggers lock them (``FOR KEY SHARE``, until the commit, so that
        none can be deleted meanwhile), each distinct one once, an error if one is missing;
        then the statement runs with the key triggers off. Without :meth:`_parent_keys`,
        the triggers check each row as before."""
        from psycopg import pq

        if self.parents is None:
            yield
            return
        for column, parent, key in self.parents:
            wanted = set(rows[column].drop_nulls().unique().to_list())
            if not wanted:
                continue
            self.raw.execute(
                f"SELECT {key} FROM {parent} WHERE {key} = ANY(%s) FOR KEY SHARE",  # noqa: S608
                [sorted(wanted)],
            )
            missing = wanted - {found for (found,) in self.raw.fetchall()}
            if missing:
                raise IntegrityError(
                    f"{self.table}: {column} {min(missing)} is not present in {parent}"
                )
        self.raw.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            # An error aborts the transaction, whose rollback undoes the setting.
            if self.raw.connection.info.transaction_status == pq.TransactionStatus.INTRANS:
                self.raw.execute("SET LOCAL session_replication_role = origin")

    # The caller's side.

    def put(self, frame: pl.DataFrame) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(frame, timeout=0.2)
                return
            except queue.Full:
                continue

    def abandon(self) -> None:
        """Store nothing more: the transaction is to be rolled back."""
        self.abandoned = True

    def finish(self, progress: Callable[[int], None]) -> None:
        """Wait for every batch put to be stored, telling how many are; raise what failed."""
        self._close_queue()
        while self.thread.is_alive():
            self.thread.join(timeout=0.2)
            progress(self.handled)
        progress(self.handled)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """End the thread whatever happened (the transaction is then rolled back or done)."""
        self.abandoned = self.abandoned or self.thread.is_alive()
        self._close_queue()
        self.preparer.join()
        self.thread.join()
        if self.postgres and self.error is None and not connection.needs_rollback:
            with contextlib.suppress(Exception):
                if self.careful:
                    self.wrapper.execute(f"DROP TABLE IF EXISTS {self.staging}")
                if self.deferred:  # as they were, for the rest of a caller's transaction
                    self.wrapper.execute(f"SET CONSTRAINTS {self.deferred} DEFERRED")
        self.raw.close()
        self.wrapper.close()

    def _close_queue(self) -> None:
        while self.preparer.is_alive():
            try:
                self.queue.put(None, timeout=0.2)
                return
            except queue.Full:
                continue

    # The threads' side.

    def _make_ready(self) -> None:
        """Each checked batch prepared, then in the form the store takes (PostgreSQL: its
        binary ``COPY`` tuples, made by Polars and Arrow with the GIL released; SQLite: the
        placeholders' values), made here while the writer stores the batch before, so that
        the database does not wait for them between batches."""
        while True:
            good = self.queue.get()
            if good is None:
                self.ready.put(None)
                return
            if self.abandoned or self.error is not None:
                continue
            try:
                frame = self.prepare(good)
                if self.postgres:
                    rows = self._copy_frame(frame)
                    text = copy_binary(rows if self.careful else rows.drop(ROW))
                    self.ready.put(_Texted(frame, rows, text))
                else:
                    self.ready.put(_Bound(frame, self._bound(frame)))
            except BaseException as error:  # handed to the caller, which re-raises it
                self.error = error

    def _work(self) -> None:
        while True:
            item = self.ready.get()
            if item is None:
                return
            if self.abandoned or self.error is not None:
                continue
            try:
                self._write(item)
            except BaseException as error:  # handed to the caller, which re-raises it
                self.error = error

    def _write(self, item: _Texted | _Bound) -> None:
        if isinstance(item, _Texted):
            frame = item.frame
            # The ids this batch stored, as PostgreSQL said: no MAX(id) here, whose plan a
            # table analysed while empty turns into a scan of every row stored so far.
            stored_ids = self._copy(item)
            if stored_ids is None:  # abandoned
                return
            stored = len(stored_ids)
            if stored < frame.height:
                fresh = set(stored_ids.to_list())
                self._settle(frame, lambda instance_id, pk, job_id: instance_id in fresh)
        else:
            frame = item.frame
            self.wrapper.execute(f"SELECT MAX(id) FROM {self.table}")  # noqa: S608
            (last,) = self.wrapper.fetchone()
            before = int(last or 0)
            inserted = self._insert(item.parts)
            if inserted is None:  # abandoned
                return
            stored = inserted
            if stored < frame.height:
                self._settle(
                    frame, lambda instance_id, pk, job_id: pk > before and job_id == self.job_id
                )
        self.stored += stored

    def _bound(self, frame: pl.DataFrame) -> list[list[tuple[Any, ...]]]:
        """SQLite: a prepared batch's rows as the ``INSERT``'s placeholders' values, in parts
        of at most INSERT_ROWS."""
        at = pl.col("submitted_at")
        frame = frame.with_columns(
            pl.when(at.dt.microsecond() == 0)
            .then(at.dt.strftime(SQLITE_DATETIME))
            .otherwise(at.dt.strftime(SQLITE_DATETIME_FRACTION))
            .fill_null(_sqlite_text(self.stamp))
            .alias("submitted_at")
        )
        parts = []
        for start in range(0, frame.height, INSERT_ROWS):
            part = frame.slice(start, INSERT_ROWS)
            parts.append(list(zip(*(part[c].to_list() for c in PREPARED.values()), strict=True)))
        return parts

    def _insert(self, parts: list[list[tuple[Any, ...]]]) -> int | None:
        """Store a batch on SQLite; answer how many of its rows were stored (None if
        abandoned meanwhile)."""
        stored = 0
        for values in parts:
            if self.abandoned:
                return None
            self.raw.executemany(self.sql, values)
            stored += int(self.raw.rowcount)
            self.handled += len(values)
        return stored

    def _copy_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A prepared batch as the rows to copy: ROW, then COPY_COLUMNS in their order."""
        return frame.select(
            ROW,
            *[
                (self.constants[name] if name in self.constants else pl.col(PREPARED[name])).alias(
                    name
                )
                for name in COPY_COLUMNS
            ],
        ).with_columns(pl.col("submitted_at").fill_null(self.stamp))

    def _copy(self, item: _Texted) -> pl.Series | None:
        """Store a batch on PostgreSQL; answer the instance ids of the rows stored (None if
        abandoned meanwhile)."""
        from psycopg.errors import UniqueViolation

        rows, text = item.rows, item.text
        if self.careful:
            if not self._copy_rows(self.staging_copy_sql, text, rows.height):
                return None
            with self._parents_checked(rows):
                self.raw.execute(self.insert_sql)
                stored = [instance_id for (instance_id,) in self.raw.fetchall()]
            self.raw.execute(f"TRUNCATE {self.staging}")
            return pl.Series("instance_id", stored, dtype=pl.String)
        kept = self._not_stored(rows)
        self.handled += rows.height - kept.height
        if kept.height < rows.height:  # the tuples of the rows left (rare: a form with rows)
            text = copy_binary(kept.drop(ROW))
        try:
            with self._parents_checked(kept):
                if not self._copy_rows(self.copy_sql, text, kept.height):
                    return None
        except UniqueViolation as error:
            raise _Raced from error
        return kept["instance_id"]

    def _copy_rows(self, sql: str, text: memoryview, rows: int) -> bool:
        """``COPY`` the binary tuples of ``rows`` rows (:func:`copy_binary`), a block at a
        time between the format's header and trailer; False if abandoned."""
        if not rows:
            return True
        with self.raw.copy(sql) as copy:
            copy.write(COPY_HEADER)
            for at in range(0, len(text), COPY_BLOCK):
                if self.abandoned:
                    return False
                copy.write(text[at : at + COPY_BLOCK])
            copy.write(COPY_TRAILER)
        self.handled += rows
        return True

    def _not_stored(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows whose instance id this transaction does not see stored. Every id is
        looked up if the form had submissions before the import; otherwise only those whose
        hash this import has sent before (an id of an earlier batch, or one sharing its
        hash): the others cannot be stored, but by another connection meanwhile."""
        ids = rows["instance_id"]
        hashes = ids.hash().to_list()
        sent = self.sent
        if self.form_had_rows:
            asked = ids
        else:
            asked = ids.filter(pl.Series([h in sent for h in hashes], dtype=pl.Boolean))
        sent.update(hashes)
        if asked.is_empty():
            return rows
        # The ids as one JSON array: one parameter however many, and an index lookup each.
        self.raw.execute(
            f"SELECT instance_id FROM {self.table} WHERE form_id = %s AND instance_id = "  # noqa: S608
            "ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
            [self.form_id, json.dumps(asked.to_list())],
        )
        stored = [instance_id for (instance_id,) in self.raw.fetchall()]
        return rows.filter(~pl.col("instance_id").is_in(stored)) if stored else rows

    def _settle(
        self, frame: pl.DataFrame, stored_now: Callable[[str, int, int | None], bool]
    ) -> None:
        """Which rows of ``frame`` were not stored, and why: the stored row of the same id
        either came from this batch (``stored_now(instance_id, id, import job)``) or was
        there before. A submission already stored takes the review state a newer export
        gives it."""
        ids = frame["instance_id"].to_list()
        found: dict[str, tuple[str, bool, int, str]] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            self.wrapper.execute(
                "SELECT instance_id, content_hash, id, import_job_id, review_state "  # noqa: S608
                f"FROM {self.table} WHERE form_id = %s AND instance_id IN ({marks})",
                [self.form_id, *chunk],
            )
            for instance_id, content_hash, pk, job_id, review in self.wrapper.fetchall():
                found[instance_id] = (content_hash, stored_now(instance_id, pk, job_id), pk, review)
        reviewed: list[tuple[str, int]] = []
        for row, instance_id, content_hash, review in frame.select(
            ROW, "instance_id", "content_hash", "review_state"
        ).iter_rows():
            # An id missing now was stored when the row went in and deleted since (PostgreSQL,
            # another connection): the row was not stored, so it is reported, never lost.
            stored_hash, now, pk, stored_review = found.get(instance_id, ("", False, 0, ""))
            if now:
                continue
            if stored_hash == content_hash:
                self.duplicates += 1
                if review and review != stored_review:
                    reviewed.append((review, pk))
            else:
                self.conflicts += 1
                self.conflict_rows.append((row, instance_id))
        if reviewed:
            self.wrapper.executemany(
                f"UPDATE {self.table} SET review_state = %s WHERE id = %s",  # noqa: S608
                reviewed,
            )
            self.reviewed += len(reviewed)


def _record_success(
    job: ImportJob,
    tally: _Tally,
    writer: _Writer,
    log: _ProblemLog,
    workdir: Path,
    started: float,
    storing_seconds: float,
) -> None:
    """The job's outcome and the audit record, in the transaction that stored the rows."""
    job.stored = writer.stored
    job.duplicates = tally.duplicates + writer.duplicates
    job.conflicts = tally.conflicts + writer.conflicts
    job.skipped = tally.rejected
    job.status = ImportJob.Status.SUCCEEDED
    job.finished_at = timezone.now()
    notes = list(job.report.get("notes", []))
    if tally.unknown_versions:
        notes.append(
            _(
                "“{file}” names versions of the form that Amniyat does not have ({versions}): "
                "their submissions were stored with the version the import was made against."
            ).format(
                file=job.file_name,
                versions=format_list(sorted(tally.unknown_versions)[:10]),
            )
        )
    if writer.reviewed:
        notes.append(
            _(
                "{count} submissions already stored took the review state the file gives them."
            ).format(count=writer.reviewed)
        )
    job.report["notes"] = notes
    job.report = _final_report(job, log, workdir, message=_summary(job))
    elapsed = time.monotonic() - started
    job.report["seconds"] = {
        "total": round(elapsed, 1),
        "storing_after_reading": round(storing_seconds, 1),
    }
    job.save(
        update_fields=[
            "processed_rows",
            "total_rows",
            "stored",
            "duplicates",
            "conflicts",
            "skipped",
            "status",
            "finished_at",
            "report",
        ]
    )
    if job.stored or writer.reviewed:
        submissions_changed(form_ids=[job.form_id])
    audit_record(
        actor=job.created_by,
        verb=Verb.IMPORTED,
        obj=job,
        programme=job.form.assessment.programme,
        details={
            "form": job.form_id,
            "stored": job.stored,
            "duplicates": job.duplicates,
            "conflicts": job.conflicts,
            "skipped": job.skipped,
            "seconds": round(elapsed, 1),
        },
        actor_label="cli",
    )


def _summary(job: ImportJob) -> str:
    if job.stored == 0 and job.duplicates and not job.conflicts and not job.skipped:
        return _("Nothing new: all {count} submissions in this file were already stored.").format(
            count=job.duplicates
        )
    return _(
        "{stored} submissions stored; {duplicates} already stored; {conflicts} conflicting; "
        "{skipped} skipped."
    ).format(
        stored=job.stored,
        duplicates=job.duplicates,
        conflicts=job.conflicts,
        skipped=job.skipped,
    )


def _final_report(
    job: ImportJob,
    log: _ProblemLog,
    workdir: Path,
    *,
    message: str,
    rejected: int | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "language": job.report.get("language", "en"),
        "stage": "done",
        "message": message,
        "problems": log.first,
        "problem_count": log.count,
        "rejected_rows": job.skipped if rejected is None else rejected,
    }
    for kept in ("path", "format", "notes"):
        if job.report.get(kept):
            report[kept] = job.report[kept]
    if log.count:
        with log.path.open("rb") as handle:
            report["problems_file"] = default_storage.save(
                f"imports/reports/import-{job.pk}.csv", File(handle)
            )
    return report


def _finish_failed(
    job: ImportJob,
    message: str,
    problems: list[Problem],
    workdir: Path,
    *,
    log: _ProblemLog | None = None,
    rejected: int = 0,
) -> None:
    if log is None:
        log = _ProblemLog(workdir / "failed.csv")
        for problem in problems:
            log.add(problem)
        log.close()
    job.status = ImportJob.Status.FAILED
    job.stored = 0
    job.finished_at = timezone.now()
    job.report = _final_report(job, log, workdir, message=message, rejected=rejected)
    job.save(
        update_fields=["status", "stored", "finished_at", "report", "processed_rows", "total_rows"]
    )


# ----------------------------------------------------------------------------------------
# Reading the report


def problems_file(job: ImportJob) -> File | None:  # type: ignore[type-arg]
    """The CSV of every problem of a finished import, if it had any."""
    name = job.report.get("problems_file")
    if not name or not default_storage.exists(name):
        return None
    return default_storage.open(name, "rb")
