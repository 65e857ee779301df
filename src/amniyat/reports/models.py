"""Reports: the documents a programme publishes (the briefing paper first; the donor progress
report and others later), each made of ordered sections, and the files rendered from them.

A section is either written (Markdown an analyst writes, encrypted at rest as every free text
is) or built from the programme's data: findings, charts, maps, priorities, quotes. A built
section keeps what it shows (``built``: the numbers as they were, never a personal field) and
exactly what it was built from (``built_from``: the findings and their data state, the
indicator set's version, the map and its revision, the excerpts), so every figure in a
document can be followed back to the estimate and the submissions behind it, and a section
whose sources changed since is known to be stale.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amniyat.core.fields import EncryptedTextField


class Report(models.Model):
    class Kind(models.TextChoices):
        BRIEFING = "briefing", _("briefing paper")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_REVIEW = "in_review", _("in review")
        APPROVED = "approved", _("approved")
        PUBLISHED = "published", _("published")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="reports",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    assessment = models.ForeignKey(
        "fieldwork.Assessment",
        verbose_name=_("assessment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    authors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("authors"), related_name="+", blank=True
    )
    # Counts every change to the report's content (a section written, built, moved, added or
    # removed); a rendered file records the revision it was made from.
    revision = models.PositiveIntegerField(default=1, editable=False)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["programme", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__isnull=True)
                | models.Q(period_end__isnull=True)
                | models.Q(period_start__lte=models.F("period_end")),
                name="report_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Section(models.Model):
    class Kind(models.TextChoices):
        # Written by people.
        TITLE = "title", _("title page")
        TEXT = "text", _("text")
        RECOMMENDATIONS = "recommendations", _("recommendations")
        # Built from the programme's data.
        METHODOLOGY = "methodology", _("methodology")
        FINDINGS = "findings", _("key findings")
        CHART = "chart", _("chart of an indicator")
        GENDER_GAP = "gender_gap", _("what women and men said differently")
        CHANGE = "change", _("baseline and endline")
        DISTRICT_MAP = "district_map", _("map of districts")
        DRIVER_MAP = "driver_map", _("driver map")
        PRIORITIES = "priorities", _("community priorities")
        QUOTES = "quotes", _("voices")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    heading = models.CharField(_("heading"), max_length=200, blank=True)
    # Markdown: the whole of a written section; an introduction to a built one.
    text = EncryptedTextField(_("text"), blank=True)
    # What a built section is asked to show (indicator keys, breakdowns, a map, excerpts).
    options = models.JSONField(_("options"), default=dict, blank=True)
    # What it showed when last built, and exactly what from; empty until built.
    built = models.JSONField(default=dict, blank=True, editable=False)
    built_from = models.JSONField(default=dict, blank=True, editable=False)
    built_at = models.DateTimeField(_("built"), null=True, blank=True, editable=False)
    # The analyst chose to keep figures whose sources changed since (the document dates them).
    kept_stale_at = models.DateTimeField(null=True, blank=True, editable=False)

    WRITTEN = frozenset({Kind.TITLE, Kind.TEXT, Kind.RECOMMENDATIONS})

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["report", "position", "id"]
        indexes = [models.Index(fields=["report", "position"], name="report_section_order")]

    def __str__(self) -> str:
        return self.heading or str(self.get_kind_display())

    @property
    def is_written(self) -> bool:
        return self.kind in self.WRITTEN


class Recommendation(models.Model):
    """One recommendation of a recommendations section, optionally answering factors of the
    programme's driver maps and the community priorities it takes up."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="recommendations")
    position = models.PositiveSmallIntegerField(_("position"))
    text = EncryptedTextField(_("recommendation"))
    factors = models.ManyToManyField(
        "drivers.Factor", verbose_name=_("factors it answers"), related_name="+", blank=True
    )
    priorities = models.ManyToManyField(
        "drivers.Priority", verbose_name=_("priorities it answers"), related_name="+", blank=True
    )

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["section", "position", "id"]

    def __str__(self) -> str:
        return f"{self.section} {self.position + 1}"


class Rendering(models.Model):
    """A file rendered from a report (DOCX or PDF), kept unchanged once written, with its
    checksum; written by a background task that reports its progress."""

    class Format(models.TextChoices):
        DOCX = "docx", "DOCX"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("rendering")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="renderings")
    number = models.PositiveIntegerField(_("version"))
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    report_revision = models.PositiveIntegerField(editable=False)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    # Encrypted at rest (amniyat.core.encrypted_files); the checksum is of the clear file.
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A DOCX built on the programme's own template: that template's checksum, and the styles
    # it lacked, for which the engine's own were used (the file's page says so).
    template_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    styles_fallback = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("rendered file")
        verbose_name_plural = _("rendered files")
        ordering = ["report", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["report", "number"], name="report_rendering_number"),
        ]

    def __str__(self) -> str:
        return f"{self.report} v{self.number} ({self.format})"


class ReportTemplate(models.Model):
    """A programme's own Word template (its logo, styles, headers and footers, cover page),
    on which every DOCX of its reports is built. Checked when uploaded (a real DOCX, no
    macros, no zip bomb) and kept encrypted at rest as the rendered files are; which of the
    styles the engine writes with it has, and which it lacks (the engine's own are used for
    those), is recorded then."""

    programme = models.OneToOneField(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="report_template",
    )
    name = models.CharField(_("file name"), max_length=200)
    # Encrypted at rest (amniyat.core.encrypted_files); the checksum is of the clear file.
    file = models.FileField(upload_to="reports/templates/%Y/%m/")
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    styles_found = models.JSONField(default=list, blank=True)
    styles_missing = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")

    def __str__(self) -> str:
        return self.name
