"""Importing files of submissions: all or nothing by default, or the good rows with a report
of every skipped one.

:func:`import_start` records the file and an :class:`ImportJob`; :func:`import_run` (called by
the background task, or in-process by ``amniyat import``) does the work in two passes:

1. **Read and check.** The file is streamed batch by batch
   (:class:`~amniyat.fieldwork.importers.SubmissionReader`); every answer is checked against
   the form; each good row's JSON is hashed, its personal answers encrypted, and the result
   spooled to a temporary Arrow file (:mod:`~amniyat.fieldwork.importers.sealing` does a
   batch at a time).
   Instance ids already stored (same content: a duplicate; different content: a conflict,
   never overwritten) and repeated within the file are found here. Progress is saved as it
   goes, visible to the page that polls it.
2. **Store.** If nothing was rejected (or bad rows are to be skipped), the spooled rows go into
   the database in one transaction, with the audit record: on SQLite through ``executemany``
   on the driver's cursor, binding only what differs from row to row; on PostgreSQL through
   ``COPY`` of CSV written by Polars. If any row was rejected and skipping was not asked for,
   nothing is stored and the report lists every reason.

The uploaded file is deleted when the run ends: it holds personal answers unencrypted.
"""

from __future__ import annotations

import csv
import datetime
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import polars as pl
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from amniyat.accounts.models import User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.services import require
from amniyat.fieldwork.exporters import neutralise
from amniyat.fieldwork.importers import (
    FORMATS,
    FileRejected,
    Problem,
    SubmissionReader,
    limits,
    plan_for,
)
from amniyat.fieldwork.importers.sealing import content_hashes, encrypt_many
from amniyat.fieldwork.importers.sources import ROW
from amniyat.fieldwork.models import Form, ImportJob, Submission
from amniyat.places.models import Place

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int | None], None]
Verb = AuditEvent.Verb
BATCH_ROWS = 50_000
INSERT_ROWS = 10_000
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
    from amniyat.fieldwork.tasks import run_import

    job_id = job.pk
    transaction.on_commit(lambda: run_import.enqueue(job_id))


# ----------------------------------------------------------------------------------------
# Running


class _ProblemLog:
    """Every problem, written to a CSV file as found; the first few kept for the page."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow([_("file"), _("row"), _("column"), _("problem"), _("instance id")])
        self.first: list[dict[str, Any]] = []
        self.count = 0
        self.fatal = False

    def add(self, problem: Problem) -> None:
        self.count += 1
        if problem.row is None:
            self.fatal = True
        self.writer.writerow(
            [
                neutralise(problem.file),
                problem.row if problem.row is not None else "",
                neutralise(problem.column),
                neutralise(problem.message),
                neutralise(problem.instance_id),
            ]
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
    """Lower-cased place codes and names (any language) → place id, for the places a
    programme's submissions may name; a name two places share is left out."""
    places = Place.objects.filter(
        Q(programme__isnull=True) | Q(programme_id=form.assessment.programme_id)
    ).values_list("pk", "code", "name_en", "name_ru", "name_tg", "name_uz")
    codes: dict[str, int] = {}
    names: dict[str, int | None] = {}
    for pk, code, *labels in places:
        if code:
            codes[code.strip().lower()] = pk
        for label in labels:
            key = (label or "").strip().lower()
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
    log = _ProblemLog(workdir / "problems.csv")
    try:
        with _local_file(job, workdir) as path:
            reader = SubmissionReader(
                path,
                workdir,
                plan=plan,
                file_format=job.file_format,
                name=job.file_name,
                places=place_lookup(form),
            )
            job.total_rows = reader.total_rows
            job.save(update_fields=["total_rows"])
            spool = _read_and_check(job, reader, log, workdir, progress)
            spool.read_seconds = time.monotonic() - started
        if log.fatal or (spool.rejected and not job.skip_bad_rows):
            log.close()
            message = (
                _("The file does not fit the form; nothing was stored.")
                if log.fatal
                else _(
                    "Nothing was stored: {count} rows have problems. Correct them and import "
                    "the file again, or choose to store the good rows and skip the bad ones."
                ).format(count=spool.rejected)
            )
            _finish_failed(job, message, [], workdir, log=log, rejected=spool.rejected)
            return
        log.close()
        _store(job, spool, log, workdir, progress, version.pk, started)
    finally:
        log.close()


class _Spool:
    def __init__(self) -> None:
        self.files: list[Path] = []
        self.rejected = 0
        self.duplicates = 0
        self.conflicts = 0
        self.excluded: set[int] = set()
        self.to_store = 0
        self.read_seconds = 0.0


def _read_and_check(
    job: ImportJob,
    reader: SubmissionReader,
    log: _ProblemLog,
    workdir: Path,
    progress: Progress,
) -> _Spool:
    spool = _Spool()
    form_has_submissions = Submission.objects.filter(form_id=job.form_id).exists()
    last_saved = time.monotonic()
    content_ids: dict[str, int] = {}
    for number, batch in enumerate(reader.batches(BATCH_ROWS)):
        for problem in batch.problems:
            log.add(problem)
        if batch.rows == 0:
            continue
        frame = batch.frame
        bad = int(frame["bad"].sum())
        spool.rejected += bad
        job.processed_rows += batch.rows
        good = frame.filter(~pl.col("bad")) if bad else frame
        if good.height and (job.skip_bad_rows or not spool.rejected):
            prepared = _prepare(good, content_ids)
            if form_has_submissions:
                prepared = _drop_stored(job, prepared, spool, log)
            target = workdir / f"spool-{number:05d}.arrow"
            prepared.write_ipc(target)
            spool.files.append(target)
        now = time.monotonic()
        if now - last_saved >= PROGRESS_SECONDS:
            job.save(update_fields=["processed_rows"])
            last_saved = now
        progress("reading", job.processed_rows, job.total_rows)
    job.total_rows = job.processed_rows
    job.save(update_fields=["processed_rows", "total_rows"])
    _find_repeated_ids(spool, log, job.file_name)
    return spool


def _prepare(good: pl.DataFrame, content_ids: dict[str, int]) -> pl.DataFrame:
    """Hash each row's answers and encrypt its personal ones: the few steps Polars cannot do."""
    hashes = content_hashes(good["combined"]).alias("content_hash")
    personal = good.select(pl.when(pl.col("protected") != "{}").then(pl.col("protected")))
    protected = encrypt_many(personal.to_series()).fill_null("")
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
    return good.select(
        ROW,
        ids.alias("instance_id"),
        hashes,
        "place_id",
        "submitted_at",
        "enumerator",
        "data",
        protected.alias("protected"),
    )


def _drop_stored(
    job: ImportJob, prepared: pl.DataFrame, spool: _Spool, log: _ProblemLog
) -> pl.DataFrame:
    """Leave out rows whose instance id is stored already: duplicates if the answers are the
    same, conflicts (reported, never overwritten) if not."""
    ids = prepared["instance_id"].to_list()
    stored: dict[str, str] = {}
    for start in range(0, len(ids), 900):
        stored.update(
            Submission.objects.filter(
                form_id=job.form_id, instance_id__in=ids[start : start + 900]
            ).values_list("instance_id", "content_hash")
        )
    if not stored:
        return prepared
    keep = []
    for row, instance_id, content_hash in prepared.select(
        ROW, "instance_id", "content_hash"
    ).iter_rows():
        known = stored.get(instance_id)
        if known is None:
            keep.append(True)
            continue
        keep.append(False)
        if known == content_hash:
            spool.duplicates += 1
        else:
            spool.conflicts += 1
            log.add(_conflict(job.file_name, row, instance_id))
    return prepared.filter(pl.Series(keep))


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


def _find_repeated_ids(spool: _Spool, log: _ProblemLog, file_name: str) -> None:
    """An instance id that comes twice in the file: the first is stored; a later copy with the
    same answers is a duplicate, with different answers a conflict.

    Memory stays small whatever the file's size: the whole file is scanned for a 64-bit hash
    of each instance id only (8 bytes a row), and just the rows whose hash repeats are read
    back with their ids and content hashes, which settle it exactly (a hash collision between
    two different ids is told apart there)."""
    if not spool.files:
        return
    repeated_keys = (
        pl.scan_ipc(spool.files)
        .select(pl.col("instance_id").hash().alias("id_key"))
        .group_by("id_key")
        .agg(pl.len().alias("copies"))
        .filter(pl.col("copies") > 1)
        .select("id_key")
        .collect()
        .to_series()
    )
    if repeated_keys.is_empty():
        return
    repeated = (
        pl.scan_ipc(spool.files)
        .select(ROW, "instance_id", "content_hash")
        .filter(pl.col("instance_id").hash().is_in(repeated_keys.implode()))
        .sort(ROW)
        .with_columns(
            pl.col("content_hash").first().over("instance_id").alias("first_hash"),
            pl.int_range(pl.len()).over("instance_id").alias("occurrence"),
        )
        .filter(pl.col("occurrence") > 0)
        .collect()
    )
    for row, instance_id, content_hash, first_hash, _occurrence in repeated.iter_rows():
        spool.excluded.add(row)
        if content_hash == first_hash:
            spool.duplicates += 1
        else:
            spool.conflicts += 1
            log.add(_conflict(file_name, row, instance_id))


# ----------------------------------------------------------------------------------------
# Storing


COLUMNS = (
    "form",
    "form_version",
    "instance_id",
    "content_hash",
    "place",
    "submitted_at",
    "enumerator",
    "data",
    "protected_data",
    "is_encrypted",
    "encrypted_payload",
    "source",
    "import_job",
    "received_at",
)
# The columns that differ from row to row, and the spooled column each comes from; the
# others are the same for every row of an import.
SPOOLED = {
    "instance_id": "instance_id",
    "content_hash": "content_hash",
    "place": "place_id",
    "submitted_at": "submitted_at",
    "enumerator": "enumerator",
    "data": "data",
    "protected_data": "protected",
}


@contextmanager
def _fast_sqlite() -> Iterator[None]:
    """A bigger page cache while a large import writes; put back afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _column_names() -> list[str]:
    meta = Submission._meta
    quote = connection.ops.quote_name
    return [quote(str(getattr(meta.get_field(n), "column", n))) for n in COLUMNS]


class _SqliteWriter:
    """``executemany`` on the driver's own cursor, with what is the same for every row
    written into the statement, so that only seven values a row are bound."""

    def __init__(self, job: ImportJob, version_id: int, stamp: str) -> None:
        constants = {
            "form": str(int(job.form_id)),
            "form_version": str(int(version_id)),
            "is_encrypted": "0",
            "encrypted_payload": "NULL",
            "source": f"'{Submission.Source.IMPORT.value}'",
            "import_job": str(int(job.pk)),
            "received_at": f"'{stamp}'",
        }
        values = ", ".join(constants.get(name, "?") for name in COLUMNS)
        table = connection.ops.quote_name(Submission._meta.db_table)
        self.sql = f"INSERT INTO {table} ({', '.join(_column_names())}) VALUES ({values})"  # noqa: S608
        connection.ensure_connection()
        self.cursor = connection.connection.cursor()

    def write(self, frame: pl.DataFrame) -> None:
        # A slice at a time: the rows as Python values take several times their Arrow size.
        for start in range(0, frame.height, INSERT_ROWS):
            part = frame.slice(start, INSERT_ROWS)
            rows = zip(*(part[c].to_list() for c in SPOOLED.values()), strict=True)
            self.cursor.executemany(self.sql, rows)

    def close(self) -> None:
        self.cursor.close()


class _PostgresWriter:
    """``COPY … FROM STDIN`` in CSV, the CSV written by Polars."""

    def __init__(self, job: ImportJob, version_id: int, stamp: str) -> None:
        table = connection.ops.quote_name(Submission._meta.db_table)
        self.sql = f"COPY {table} ({', '.join(_column_names())}) FROM STDIN WITH (FORMAT csv)"
        self.constants = {
            "form": pl.lit(job.form_id, dtype=pl.Int64),
            "form_version": pl.lit(version_id, dtype=pl.Int64),
            "is_encrypted": pl.lit(False),
            "encrypted_payload": pl.lit(None, dtype=pl.String),
            "source": pl.lit(Submission.Source.IMPORT.value),
            "import_job": pl.lit(job.pk, dtype=pl.Int64),
            "received_at": pl.lit(stamp),
        }
        self.wrapper = connection.cursor()
        self.cursor = self.wrapper.cursor

    def write(self, frame: pl.DataFrame) -> None:
        rows = frame.select(
            (self.constants[name] if name in self.constants else pl.col(SPOOLED[name])).alias(name)
            for name in COLUMNS
        )
        with self.cursor.copy(self.sql) as copy:
            for start in range(0, rows.height, INSERT_ROWS):
                copy.write(rows.slice(start, INSERT_ROWS).write_csv(include_header=False))

    def close(self) -> None:
        self.wrapper.close()


def _datetime_format() -> str:
    # SQLite keeps naive UTC text; PostgreSQL takes the offset.
    return (
        "%Y-%m-%d %H:%M:%S%.6f" if connection.vendor == "sqlite" else "%Y-%m-%d %H:%M:%S%.6f+00:00"
    )


def _store(
    job: ImportJob,
    spool: _Spool,
    log: _ProblemLog,
    workdir: Path,
    progress: Progress,
    version_id: int,
    started: float,
) -> None:
    job.report = {**job.report, "stage": "storing"}
    job.save(update_fields=["report"])
    # Submissions without a submission time are dated by the import.
    stamp = timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if connection.vendor != "sqlite":
        stamp += "+00:00"
    excluded = pl.Series(sorted(spool.excluded), dtype=pl.Int64)
    stored = 0
    try:
        with _fast_sqlite(), transaction.atomic():
            writer: _SqliteWriter | _PostgresWriter = (
                _PostgresWriter(job, version_id, stamp)
                if connection.vendor == "postgresql"
                else _SqliteWriter(job, version_id, stamp)
            )
            try:
                for path in spool.files:
                    frame = pl.read_ipc(path)
                    if len(excluded):
                        frame = frame.filter(~pl.col(ROW).is_in(excluded.implode()))
                    frame = frame.with_columns(
                        pl.col("submitted_at").dt.strftime(_datetime_format()).fill_null(stamp)
                    )
                    writer.write(frame)
                    stored += frame.height
                    progress("storing", stored, None)
            finally:
                writer.close()
            job.stored = stored
            job.duplicates = spool.duplicates
            job.conflicts = spool.conflicts
            job.skipped = spool.rejected
            job.status = ImportJob.Status.SUCCEEDED
            job.finished_at = timezone.now()
            job.report = _final_report(job, log, workdir, message=_summary(job))
            job.report["seconds"] = {
                "read_and_check": round(spool.read_seconds, 1),
                "store": round(time.monotonic() - started - spool.read_seconds, 1),
            }
            job.save(
                update_fields=[
                    "stored",
                    "duplicates",
                    "conflicts",
                    "skipped",
                    "status",
                    "finished_at",
                    "report",
                ]
            )
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
                    "seconds": round(time.monotonic() - started, 1),
                },
                actor_label="cli",
            )
    except IntegrityError:
        job.refresh_from_db()
        _finish_failed(
            job,
            _(
                "Some of these submissions were stored by another import at the same time; "
                "nothing was stored. Import the file again."
            ),
            [],
            workdir,
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
    if job.report.get("path"):
        report["path"] = job.report["path"]
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
    job.save(update_fields=["status", "stored", "finished_at", "report"])


# ----------------------------------------------------------------------------------------
# Reading the report


def problems_file(job: ImportJob) -> File | None:  # type: ignore[type-arg]
    """The CSV of every problem of a finished import, if it had any."""
    name = job.report.get("problems_file")
    if not name or not default_storage.exists(name):
        return None
    return default_storage.open(name, "rb")


# ----------------------------------------------------------------------------------------
# Viewing personal answers


def protected_answers_viewed(
    *,
    user: User,
    form: Form,
    submissions: list[Submission] | None = None,
    export: str = "",
    count: int = 0,
    request: Any = None,
) -> None:
    """Record that ``user`` was shown the personal and sensitive answers of submissions: on a
    page (their ids) or in an export (its format and how many)."""
    details: dict[str, Any] = {"form": form.pk}
    if submissions is not None:
        if not submissions:
            return
        details["submissions"] = [s.pk for s in submissions]
    if export:
        details.update(export=export, count=count)
    audit_record(
        actor=user,
        verb=Verb.VIEWED_PERSONAL,
        obj=form,
        programme=form.assessment.programme,
        request=request,
        details=details,
    )
