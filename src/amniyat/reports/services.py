"""Every write to a report: creating it from its kind's template, writing, adding, moving and
removing sections, and its way from draft to published.

**Statuses.** ``draft`` → ``in review`` (an author asks for review) → ``approved`` (a lead) →
``published`` (a lead). Its content (its title, language, assessment, period and sections)
changes only while it is a draft or in review; every such change adds one to ``revision``.
A reviewer may send it back to draft with a reason. An approved report is reopened as a draft
to be changed again; a published report is never changed (it is what was given to donors and
authorities; a new edition is a new report).

**Approval and built sections.** A report is approved only when every section built from data
has been built, and each is current (built from the sources as they are now) or an analyst
chose to keep its figures (:func:`section_keep_figures`), which the document then dates.

Every write takes the acting ``user``, checks the one policy first, and is audited in the
same transaction.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from amniyat.accounts.models import Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.encrypted_files import decrypted_pieces, encrypt_file
from amniyat.core.services import changed_fields
from amniyat.core.text import format_list, format_number
from amniyat.fieldwork.models import Assessment
from amniyat.reports import docx_template, writing
from amniyat.reports.models import Recommendation, Rendering, Report, ReportTemplate, Section

logger = logging.getLogger(__name__)

Kind = Section.Kind

# The sections a new report of each kind starts with, in order: what the analyst then
# reorders, edits, removes and adds to.
TEMPLATES: dict[str, tuple[str, ...]] = {
    Report.Kind.BRIEFING: (
        Kind.TITLE,
        Kind.TEXT,  # the summary
        Kind.METHODOLOGY,
        Kind.FINDINGS,
        Kind.GENDER_GAP,
        Kind.QUOTES,
        Kind.DRIVER_MAP,
        Kind.PRIORITIES,
        Kind.RECOMMENDATIONS,
    ),
}

EDITABLE = frozenset({Report.Status.DRAFT, Report.Status.IN_REVIEW})
MAX_SECTIONS = 60


def _check_period(start: datetime.date | None, end: datetime.date | None) -> None:
    if start and end and start > end:
        raise ValidationError({"period_end": _("The period cannot end before it starts.")})


def _check_assessment(programme: Programme, assessment: Assessment | None) -> None:
    if assessment is not None and assessment.programme_id != programme.pk:
        raise ValidationError({"assessment": _("Choose an assessment of this programme.")})


def _check_editable(report: Report) -> None:
    if report.status == Report.Status.PUBLISHED:
        raise ValidationError(
            _("A published report is not changed. Start a new report for a new edition.")
        )
    if report.status not in EDITABLE:
        raise ValidationError(_("An approved report is reopened as a draft before it changes."))


def _changed(report: Report) -> None:
    """Counts a change to the report's content."""
    Report.objects.filter(pk=report.pk).update(
        revision=F("revision") + 1, updated_at=timezone.now()
    )
    report.refresh_from_db(fields=["revision", "updated_at"])


def report_create(
    *,
    user: User | None,
    programme: Programme,
    kind: str,
    language: str,
    title: str,
    assessment: Assessment | None = None,
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
) -> Report:
    """A new report in draft, with its kind's sections in order; ``user`` is its first author."""
    if user is not None:
        require(user, "report.create", programme)
    if kind not in TEMPLATES:
        raise ValidationError({"kind": _("Choose a kind of report.")})
    _check_assessment(programme, assessment)
    _check_period(period_start, period_end)
    report = Report(
        programme=programme,
        kind=kind,
        language=language,
        title=(title or "").strip(),
        assessment=assessment,
        period_start=period_start,
        period_end=period_end,
        created_by=user,
    )
    report.full_clean()
    with transaction.atomic():
        report.save()
        with translation.override(language):
            # The template's one text section is the summary, named in the report's language.
            summary = gettext("Summary")
        Section.objects.bulk_create(
            Section(
                report=report,
                position=position,
                kind=section_kind,
                heading=summary if section_kind == Kind.TEXT else "",
            )
            for position, section_kind in enumerate(TEMPLATES[kind])
        )
        if user is not None:
            report.authors.add(user)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.CREATED,
            obj=report,
            programme=programme,
            details={"kind": kind, "language": language},
        )
    return report


REPORT_FIELDS = ("title", "language", "assessment", "period_start", "period_end")


def report_update(*, user: User, report: Report, **values: Any) -> Report:
    """Changes the report's title, language, assessment or period."""
    require(user, "report.edit", report)
    unknown = set(values) - set(REPORT_FIELDS)
    if unknown:
        raise TypeError(f"report_update() cannot change {sorted(unknown)}")
    _check_editable(report)
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
    changed = changed_fields(report, values)
    _check_assessment(report.programme, report.assessment)
    _check_period(report.period_start, report.period_end)
    report.full_clean()
    if not changed:
        return report
    with transaction.atomic():
        report.save(update_fields=[*changed, "updated_at"])
        if user not in report.authors.all():
            report.authors.add(user)
        _changed(report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"fields": sorted(changed)},
        )
    return report


def _check_text(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > writing.MAX_LENGTH:
        raise ValidationError(
            {
                "text": _("Write at most {limit} characters in a section.").format(
                    limit=format_number(writing.MAX_LENGTH)
                )
            }
        )
    return text


def section_add(*, user: User, report: Report, kind: str, after: Section | None = None) -> Section:
    """A new, empty section of ``kind``: after ``after``, or at the end."""
    require(user, "report.edit", report)
    _check_editable(report)
    if kind not in Kind.values or kind == Kind.TITLE:
        raise ValidationError({"kind": _("Choose a kind of section.")})
    if after is not None and after.report_id != report.pk:
        raise ValidationError(_("That section is not part of this report."))
    with transaction.atomic():
        sections = list(
            Report.objects.select_for_update().get(pk=report.pk).sections.order_by("position", "id")
        )
        if len(sections) >= MAX_SECTIONS:
            raise ValidationError(
                _("A report has at most {limit} sections.").format(
                    limit=format_number(MAX_SECTIONS)
                )
            )
        index = (
            next((i + 1 for i, s in enumerate(sections) if s.pk == after.pk), len(sections))
            if after
            else len(sections)
        )
        section = Section(report=report, kind=kind, position=index)
        sections.insert(index, section)
        section.save()
        _renumber(sections)
        _changed(report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"change": "section_add", "section": section.pk, "kind": kind},
        )
    return section


def section_update(
    *, user: User, section: Section, heading: str | None = None, text: str | None = None
) -> Section:
    """Writes a section's heading (blank: its kind's) and text (Markdown)."""
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    values: dict[str, Any] = {}
    if heading is not None:
        values["heading"] = heading.strip()
    if text is not None:
        values["text"] = _check_text(text)
    changed = sorted(changed_fields(section, values))
    section.full_clean(exclude=["report"])
    if not changed:
        return section
    with transaction.atomic():
        section.save(update_fields=changed)
        _changed(report)
        if user not in report.authors.all():
            report.authors.add(user)
        # The audit row names what changed, never the text written.
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"change": "section_update", "section": section.pk, "fields": changed},
        )
    return section


def sections_reorder(*, user: User, report: Report, order: Sequence[int]) -> None:
    """Puts the report's sections in ``order`` (their ids, every one once); the title page
    stays first."""
    require(user, "report.edit", report)
    _check_editable(report)
    with transaction.atomic():
        sections = {
            s.pk: s for s in Report.objects.select_for_update().get(pk=report.pk).sections.all()
        }
        if sorted(order) != sorted(sections) or len(set(order)) != len(order):
            raise ValidationError(
                _("The sections changed meanwhile. Reload the page and try again.")
            )
        ordered = [sections[pk] for pk in order]
        titles = [i for i, s in enumerate(ordered) if s.kind == Kind.TITLE]
        if titles and titles != [0]:
            raise ValidationError(_("The title page stays first."))
        if [s.pk for s in sorted(sections.values(), key=lambda s: (s.position, s.pk))] == list(
            order
        ):
            return
        _renumber(ordered)
        _changed(report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"change": "sections_reorder", "order": list(order)},
        )


def section_move(*, user: User, section: Section, by: int) -> None:
    """Moves a section ``by`` places up (negative) or down (positive)."""
    order = list(section.report.sections.order_by("position", "id").values_list("pk", flat=True))
    index = order.index(section.pk)
    target = max(0, min(len(order) - 1, index + by))
    order.insert(target, order.pop(index))
    sections_reorder(user=user, report=section.report, order=order)


def section_remove(*, user: User, section: Section) -> None:
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    if section.kind == Kind.TITLE:
        raise ValidationError(_("A report keeps its title page."))
    with transaction.atomic():
        kind = section.kind
        pk = section.pk
        section.delete()
        _renumber(list(report.sections.order_by("position", "id")))
        _changed(report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"change": "section_remove", "section": pk, "kind": kind},
        )


def _renumber(sections: list[Section]) -> None:
    for position, section in enumerate(sections):
        section.position = position
    Section.objects.bulk_update(sections, ["position"])


# ----------------------------------------------------------------------------------------
# Recommendations.

MAX_RECOMMENDATIONS = 40


def answerable_factors(*, user: User | None, programme: Programme) -> Any:
    """The factors a recommendation may answer: those of the programme's published driver
    maps the user may read (what a document may name, as its driver map sections)."""
    from amniyat.drivers.maps.selectors import driver_map_list
    from amniyat.drivers.models import DriverMap, Factor

    maps = (
        driver_map_list(user=user, programme=programme)
        if user is not None
        else DriverMap.objects.filter(programme=programme)
    )
    published = maps.filter(published_at__isnull=False).order_by().values("pk")
    return Factor.objects.filter(map__in=published)


def answerable_priorities(*, user: User | None, programme: Programme) -> Any:
    """The priorities a recommendation may answer: those of the programme's agreed priority
    lists the user may read (what a document may name, as its priorities sections)."""
    from amniyat.drivers.models import Priority, PriorityList
    from amniyat.drivers.priorities.selectors import priority_list_list

    lists = (
        priority_list_list(user=user, programme=programme)
        if user is not None
        else PriorityList.objects.filter(group__programme=programme)
    )
    agreed = lists.filter(agreed_on__isnull=False).order_by().values("pk")
    return Priority.objects.filter(priority_list__in=agreed)


def recommendations_set(
    *, user: User, section: Section, items: Sequence[dict[str, Any]]
) -> list[Recommendation]:
    """Replaces a recommendations section's recommendations with ``items`` in order: each its
    ``text`` and the ids of the ``factors`` and ``priorities`` it answers, which must be of
    this programme's published maps and agreed lists that ``user`` may read."""
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    if section.kind != Kind.RECOMMENDATIONS:
        raise ValidationError(_("Only a recommendations section has recommendations."))
    if len(items) > MAX_RECOMMENDATIONS:
        raise ValidationError(
            _("A section has at most {limit} recommendations.").format(
                limit=format_number(MAX_RECOMMENDATIONS)
            )
        )
    cleaned = []
    for item in items:
        text = _check_text(str(item.get("text") or ""))
        if not text:
            raise ValidationError({"text": _("Write each recommendation.")})
        cleaned.append(
            (
                text,
                sorted({int(pk) for pk in item.get("factors", [])}),
                sorted({int(pk) for pk in item.get("priorities", [])}),
            )
        )
    factors = {pk for _t, ids, _p in cleaned for pk in ids}
    priorities = {pk for _t, _f, ids in cleaned for pk in ids}
    programme = report.programme
    if factors and len(
        answerable_factors(user=user, programme=programme).filter(pk__in=factors)
    ) != len(factors):
        raise ValidationError(
            {"factors": _("Choose factors of this programme's published driver maps.")}
        )
    if priorities and len(
        answerable_priorities(user=user, programme=programme).filter(pk__in=priorities)
    ) != len(priorities):
        raise ValidationError(
            {"priorities": _("Choose priorities of this programme's agreed lists.")}
        )
    with transaction.atomic():
        section.recommendations.all().delete()
        made = Recommendation.objects.bulk_create(
            Recommendation(section=section, position=position, text=text)
            for position, (text, _f, _p) in enumerate(cleaned)
        )
        Recommendation.factors.through.objects.bulk_create(
            Recommendation.factors.through(recommendation_id=r.pk, factor_id=pk)
            for r, (_t, ids, _p) in zip(made, cleaned, strict=True)
            for pk in ids
        )
        Recommendation.priorities.through.objects.bulk_create(
            Recommendation.priorities.through(recommendation_id=r.pk, priority_id=pk)
            for r, (_t, _f, ids) in zip(made, cleaned, strict=True)
            for pk in ids
        )
        _changed(report)
        if user not in report.authors.all():
            report.authors.add(user)
        # The audit row counts what was written and names what it answers, never the text.
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=programme,
            details={
                "change": "recommendations_set",
                "section": section.pk,
                "recommendations": len(made),
                "factors": sorted(factors),
                "priorities": sorted(priorities),
            },
        )
    return made


# ----------------------------------------------------------------------------------------
# From draft to published.


def _move(
    report: Report,
    *,
    user: User,
    verb: AuditEvent.Verb,
    allowed_from: Sequence[str],
    to: str,
    details: dict[str, Any] | None = None,
    **fields: Any,
) -> Report:
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status not in allowed_from:
            raise ValidationError(
                _("This report is {status} now; reload the page.").format(
                    status=locked.get_status_display()
                )
            )
        report.status = to
        for name, value in fields.items():
            setattr(report, name, value)
        report.save(update_fields=["status", *fields, "updated_at"])
        audit_record(
            actor=user,
            verb=verb,
            obj=report,
            programme=report.programme,
            details={"revision": report.revision, **(details or {})},
        )
    return report


def report_submit(*, user: User, report: Report) -> Report:
    """An author asks for the report to be reviewed."""
    require(user, "report.edit", report)
    return _move(
        report,
        user=user,
        verb=AuditEvent.Verb.REVIEW_ASKED,
        allowed_from=[Report.Status.DRAFT],
        to=Report.Status.IN_REVIEW,
    )


def report_return(*, user: User, report: Report, reason: str) -> Report:
    """A reviewer sends the report back to its authors, saying why."""
    require(user, "report.edit", report)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say what the authors should change.")})
    return _move(
        report,
        user=user,
        verb=AuditEvent.Verb.RETURNED,
        allowed_from=[Report.Status.IN_REVIEW],
        to=Report.Status.DRAFT,
        details={"reason": reason[:2000]},
    )


def unready_sections(report: Report) -> list[Section]:
    """The built sections that keep the report from approval: never built, or built from
    sources that changed since, without an analyst choosing to keep the figures."""
    from amniyat.reports import sections as builders

    ordered = [s for s in report.sections.order_by("position", "id") if not s.is_written]
    for section in ordered:
        section.report = report
    stale = builders.stale(s for s in ordered if s.built_at is not None)
    return [s for s in ordered if s.built_at is None or (s.pk in stale and s.kept_stale_at is None)]


def report_approve(*, user: User, report: Report) -> Report:
    require(user, "report.approve", report)
    unready = unready_sections(report)
    if unready:
        raise ValidationError(
            _("Build or refresh these sections before approving: {sections}.").format(
                sections=format_list([str(s) for s in unready])
            )
        )
    return _move(
        report,
        user=user,
        verb=AuditEvent.Verb.APPROVED,
        allowed_from=[Report.Status.IN_REVIEW],
        to=Report.Status.APPROVED,
        approved_by=user,
        approved_at=timezone.now(),
    )


def report_reopen(*, user: User, report: Report) -> Report:
    """An approved report goes back to draft to be changed; its approval is withdrawn."""
    require(user, "report.edit", report)
    return _move(
        report,
        user=user,
        verb=AuditEvent.Verb.REOPENED,
        allowed_from=[Report.Status.APPROVED],
        to=Report.Status.DRAFT,
        approved_by=None,
        approved_at=None,
    )


def report_publish(*, user: User, report: Report) -> Report:
    """Everyone in the programme may now read the report and download its files."""
    require(user, "report.approve", report)
    with transaction.atomic():
        report.renderings.filter(
            report_revision=report.revision, status=Rendering.Status.READY
        ).update(approved_by=user)
        return _move(
            report,
            user=user,
            verb=AuditEvent.Verb.PUBLISHED,
            allowed_from=[Report.Status.APPROVED],
            to=Report.Status.PUBLISHED,
            published_by=user,
            published_at=timezone.now(),
        )


# ----------------------------------------------------------------------------------------
# Sections built from data.


def section_set_options(*, user: User, section: Section, options: dict[str, Any]) -> Section:
    """Chooses what a built section shows (its indicators, breakdowns, map …); its figures
    are then built again."""
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    if section.is_written:
        raise ValidationError(_("A written section has no data to choose."))
    if options == section.options:
        return section
    return _build(user, section, options=options, change="section_options")


def section_build(*, user: User, section: Section) -> Section:
    """Builds a section from the data as it is now (again, if it was built)."""
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    if section.is_written:
        raise ValidationError(_("A written section is not built from data."))
    return _build(user, section, options=section.options, change="section_build")


def build_as_system(*, section: Section) -> Section:
    """Builds a section for the command line (no person acting): from what may be published,
    as for anyone, and audited as the system's."""
    return _build(None, section, options=section.options, change="section_build")


def _build(user: User | None, section: Section, *, options: dict[str, Any], change: str) -> Section:
    from amniyat.reports.sections import BUILDERS

    builder = BUILDERS.get(section.kind)
    if builder is None:
        raise ValidationError(_("Sections of this kind cannot be built yet."))
    section.options = options
    built = builder.build(user=user, section=section)  # raises before anything is written
    with transaction.atomic():
        section.built = dict(built.content)
        section.built_from = dict(built.sources)
        section.built_at = timezone.now()
        section.kept_stale_at = None
        section.save(update_fields=["options", "built", "built_from", "built_at", "kept_stale_at"])
        _changed(section.report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=section.report,
            programme=section.report.programme,
            details={"change": change, "section": section.pk, "sources": dict(built.sources)},
        )
    return section


def section_keep_figures(*, user: User, section: Section) -> Section:
    """Keeps a built section's figures although their sources changed since; the document
    says when they were built."""
    report = section.report
    require(user, "report.edit", report)
    _check_editable(report)
    if section.is_written or section.built_at is None:
        raise ValidationError(_("Only figures already built can be kept."))
    with transaction.atomic():
        section.kept_stale_at = timezone.now()
        section.save(update_fields=["kept_stale_at"])
        _changed(report)
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.UPDATED,
            obj=report,
            programme=report.programme,
            details={"change": "section_keep_figures", "section": section.pk},
        )
    return section


# ----------------------------------------------------------------------------------------
# Rendered files: each an unchanging version of the report as DOCX or PDF.

RENDERERS = ("docx", "pdf")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
PROGRESS_SECONDS = 1.0


def rendering_start(
    *, user: User, report: Report, file_format: str, queue: bool = True
) -> Rendering:
    """Queues a file of the report as it is now; written by the ``render_report`` task once
    the current transaction commits (or, without ``queue``, by the caller with
    :func:`rendering_run`)."""
    require(user, "report.edit", report)
    if file_format not in RENDERERS:
        raise ValidationError({"format": _("Choose DOCX or PDF.")})
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        number = (locked.renderings.aggregate(top=Max("number"))["top"] or 0) + 1
        rendering = Rendering.objects.create(
            report=report,
            number=number,
            format=file_format,
            report_revision=locked.revision,
            requested_by=user,
        )
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.CREATED,
            obj=report,
            programme=report.programme,
            details={"rendering": rendering.pk, "format": file_format, "revision": locked.revision},
        )
        rendering_id = rendering.pk

        def enqueue() -> None:
            from amniyat.reports.tasks import render_report

            render_report.enqueue(rendering_id)

        if queue:
            transaction.on_commit(enqueue)
    return rendering


def rendering_run(rendering_id: int, progress: Any = None) -> Rendering:
    """Writes a queued file (a DOCX on the programme's own template, if it has one). Never
    raises for a file that could not be written: the rendering says why, and nothing half
    written is kept, neither in the database nor in the storage."""
    from amniyat.reports import document, pdf, word

    rendering = Rendering.objects.select_related("report__programme", "report__assessment").get(
        pk=rendering_id
    )
    if rendering.status not in (Rendering.Status.QUEUED, Rendering.Status.RUNNING):
        return rendering
    rendering.status = Rendering.Status.RUNNING
    rendering.save(update_fields=["status"])
    last = [0.0]

    def note(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS or done >= total:
            last[0] = now
            Rendering.objects.filter(pk=rendering.pk).update(done=done, total=total)
        if progress:
            progress(done, total)

    stored_name = rendering.file.field.generate_filename(rendering, f"report-{rendering.pk}.bin")
    try:
        with tempfile.TemporaryDirectory(prefix="amniyat-report-") as folder:
            clear = Path(folder) / "clear"
            with clear.open("wb") as target:
                drawn = document.drawn(rendering.report)
                if rendering.format == "docx":
                    template = template_of(rendering.report.programme)
                    content = template_content(template) if template else None
                    rendering.template_sha256 = template.sha256 if template else ""
                    rendering.styles_fallback = word.write(
                        drawn, target, progress=note, template=content
                    )
                else:
                    pdf.write(drawn, target, progress=note)
            digest = hashlib.sha256()
            with clear.open("rb") as source:
                for piece in iter(lambda: source.read(1 << 20), b""):
                    digest.update(piece)
            sealed = Path(folder) / "sealed"
            with clear.open("rb") as source, sealed.open("wb") as target:
                encrypt_file(source, target)
            rendering.size = clear.stat().st_size
            clear.unlink()
            with sealed.open("rb") as handle:
                rendering.file.save(f"report-{rendering.pk}.bin", File(handle), save=False)
        rendering.sha256 = digest.hexdigest()
        rendering.status = Rendering.Status.READY
        rendering.finished_at = timezone.now()
        rendering.save(
            update_fields=[
                "status",
                "sha256",
                "size",
                "file",
                "finished_at",
                "template_sha256",
                "styles_fallback",
            ]
        )
    except Exception:
        logger.exception("Rendering %s of report %s failed", rendering.pk, rendering.report_id)
        _forget_file(rendering, stored_name)
        Rendering.objects.filter(pk=rendering.pk).update(
            status=Rendering.Status.FAILED,
            error=_("The file could not be written. Try again, or ask an administrator."),
            finished_at=timezone.now(),
            file="",
            size=0,
            sha256="",
        )
        rendering.refresh_from_db()
        return rendering
    return rendering


def _forget_file(rendering: Rendering, name: str) -> None:
    """Removes what a failed rendering may have left in the storage: the file it saved, or
    the part of it the storage wrote before failing (under the name it was to have)."""
    storage = rendering.file.storage
    for stored in {rendering.file.name or "", name} - {""}:
        try:
            if storage.exists(stored):
                storage.delete(stored)
        except OSError:
            logger.exception("Could not remove %s after a failed rendering", stored)


def rendering_file_name(rendering: Rendering) -> str:
    stem = slugify(rendering.report.title, allow_unicode=True) or "report"
    return f"{stem}-v{rendering.number}.{rendering.format}"


def rendering_open(
    *, user: User, rendering: Rendering, request: Any = None
) -> Iterator[bytes] | None:
    """The file, decrypted a piece at a time, for someone who may read it (the rendering
    having been found through :func:`~amniyat.reports.selectors.renderings_of`); audited."""
    if rendering.status != Rendering.Status.READY or not rendering.file:
        return None
    audit_record(
        actor=user,
        verb=AuditEvent.Verb.EXPORTED,
        obj=rendering.report,
        programme=rendering.report.programme,
        request=request,
        details={"rendering": rendering.pk, "format": rendering.format, "sha256": rendering.sha256},
    )

    def pieces() -> Iterator[bytes]:
        with rendering.file.open("rb") as handle:
            yield from decrypted_pieces(handle)

    return pieces()


# ----------------------------------------------------------------------------------------
# The programme's own Word template.


def template_upload(
    *, user: User, programme: Programme, file_name: str, content: bytes
) -> ReportTemplate:
    """Makes ``content`` the programme's Word template (replacing the one it had): checked
    first (:func:`amniyat.reports.docx_template.check`), nothing changed if refused; stored
    encrypted, with its checksum and the engine's styles it has and lacks."""
    require(user, "report.template", programme)
    try:
        checked = docx_template.check(file_name, content)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error
    name = PurePath(file_name or "template.docx").name[:200]
    sealed = io.BytesIO()
    encrypt_file(io.BytesIO(checked.content), sealed)
    sealed.seek(0)
    with transaction.atomic():
        template = ReportTemplate.objects.select_for_update().filter(
            programme=programme
        ).first() or ReportTemplate(programme=programme)
        replaced = template.file.name if template.pk else ""
        template.name = name
        template.size = len(checked.content)
        template.sha256 = hashlib.sha256(checked.content).hexdigest()
        template.styles_found = checked.found
        template.styles_missing = checked.missing
        template.uploaded_by = user
        template.uploaded_at = timezone.now()
        template.file.save(f"template-{programme.pk}.bin", File(sealed), save=False)
        saved = template.file.name
        try:
            template.save()
            audit_record(
                actor=user,
                verb=AuditEvent.Verb.UPDATED if replaced else AuditEvent.Verb.CREATED,
                obj=template,
                programme=programme,
                details={
                    "template": name,
                    "sha256": template.sha256,
                    "styles_missing": checked.missing,
                },
            )
        except Exception:
            template.file.storage.delete(saved)
            raise
        if replaced and replaced != saved:
            storage = template.file.storage
            transaction.on_commit(lambda: storage.delete(replaced))
    return template


def template_remove(*, user: User, programme: Programme) -> bool:
    """The programme's DOCX files are built on the engine's own template again; False if it
    had none."""
    require(user, "report.template", programme)
    with transaction.atomic():
        template = ReportTemplate.objects.select_for_update().filter(programme=programme).first()
        if template is None:
            return False
        stored = template.file.name
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.DELETED,
            obj=template,
            programme=programme,
            details={"template": template.name, "sha256": template.sha256},
        )
        template.delete()
        transaction.on_commit(lambda: template.file.storage.delete(stored))
    return True


def template_of(programme: Programme) -> ReportTemplate | None:
    """The programme's Word template, if it has one."""
    return ReportTemplate.objects.filter(programme=programme).first()


def template_content(template: ReportTemplate) -> bytes:
    """The template as uploaded (a DOCX), decrypted."""
    with template.file.open("rb") as handle:
        return b"".join(decrypted_pieces(handle))
