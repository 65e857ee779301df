"""Assessment evidence: assessments, their XLSForm questionnaires (every version kept),
submissions from files or from ODK Collect, import jobs with their progress, and the
per-device accounts ODK Collect signs in with."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amniyat.core.fields import EncryptedTextField
from amniyat.core.i18n import Translatable
from amniyat.core.jsonfield import FastJSONField, JSONTextField


class Assessment(Translatable):
    """Research with communities on their security: a baseline, an endline or a rapid one."""

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("baseline")
        ENDLINE = "endline", _("endline")
        RAPID = "rapid", _("rapid assessment")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="assessments",
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    places = models.ManyToManyField(
        "places.Place", verbose_name=_("places"), blank=True, related_name="assessments"
    )
    starts_on = models.DateField(_("fieldwork starts"), null=True, blank=True)
    ends_on = models.DateField(_("fieldwork ends"), null=True, blank=True)
    # The sampling design, by the names of the form fields that carry it.
    weight_field = models.CharField(_("weight field"), max_length=100, blank=True)
    strata_field = models.CharField(_("strata field"), max_length=100, blank=True)
    cluster_field = models.CharField(_("cluster field"), max_length=100, blank=True)
    fpc_field = models.CharField(
        _("finite population correction field"), max_length=100, blank=True
    )
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "assessment.manage"

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["-starts_on", "title"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "title"], name="assessment_title_unique"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="assessment_ends_after_start",
                violation_error_message=_("Fieldwork cannot end before it starts."),
            ),
        ]

    def translation_subject(self, programme: Any) -> Any | None:
        return programme if self.programme_id == programme.pk else None

    @property
    def design_fields(self) -> tuple[str, ...]:
        """The fields of the survey's design that are set (weight, strata, clusters, finite
        population correction): read with the answers, never shown or broken down by."""
        return tuple(
            name
            for name in (self.weight_field, self.strata_field, self.cluster_field, self.fpc_field)
            if name
        )


class Sensitivity(models.TextChoices):
    PUBLIC = "public", _("public")
    INTERNAL = "internal", _("internal")
    PERSONAL = "personal", _("personal")
    SENSITIVE = "sensitive", _("sensitive")


PROTECTED_SENSITIVITIES = frozenset({Sensitivity.PERSONAL, Sensitivity.SENSITIVE})


def new_data_revision() -> str:
    return uuid.uuid4().hex


class Form(models.Model):
    """A questionnaire of an assessment, identified by its XForm ``form_id``."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="forms"
    )
    form_id = models.CharField(_("form id"), max_length=100, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    is_open = models.BooleanField(
        _("accepting submissions"),
        default=False,
        help_text=_("Published for collection: ODK Collect can download it and send data."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # With its stripes (:class:`FormDataRevision`), the state of the form's submissions: one
    # of them takes a new random value in the transaction of every write of them (stored,
    # deleted, changed; `submissions_changed`), so the findings and cached frames of the data
    # as it stands are found by key without counting a million rows. Random rather than
    # counted, so that two databases (a restored backup, a test's) never give the same form
    # the same value for different data.
    data_revision = models.CharField(max_length=32, default=new_data_revision, editable=False)

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "form_id"], name="form_id_per_assessment")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def programme_id(self) -> int:
        return self.assessment.programme_id

    def current_version(self) -> FormVersion | None:
        return self.versions.order_by("-created_at", "-id").first()


class FormDataRevision(models.Model):
    """One stripe of a form's data revision (:attr:`Form.data_revision` and these together):
    a write of the form's submissions gives one stripe a new random value in its transaction
    (`submissions_changed`), so the revision changes exactly when the data do. Striped so
    that writers do not queue: a value changed in a transaction stays locked until it
    commits, and were there one per form, every phone's submission to the form would wait
    for the one before it to commit (on PostgreSQL; SQLite has one writer anyway). A writer
    keeps to one stripe (:func:`data_revision_stripe`)."""

    form = models.ForeignKey(
        Form, verbose_name=_("form"), on_delete=models.CASCADE, related_name="data_revisions"
    )
    stripe = models.PositiveSmallIntegerField()
    value = models.CharField(max_length=32, default=new_data_revision)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["form", "stripe"], name="one_value_per_stripe")
        ]

    def __str__(self) -> str:
        return f"{self.form_id}/{self.stripe}"


DATA_REVISION_STRIPES = 16


def data_revision_stripe() -> int:
    """The stripe this process and thread writes: always the same one, so that a transaction
    that records several writes of a form locks one row of it, as a single revision would,
    and different workers (processes or threads) mostly different ones."""
    return hash((os.getpid(), threading.get_ident())) % DATA_REVISION_STRIPES


class FormVersion(models.Model):
    """One version of a form as uploaded: the XLSForm, pyxform's XForm, and the field schema.

    ``schema`` is a list of fields, each ``{"name", "path", "type", "label": {lang: text},
    "choices": [{"name", "label": {lang: text}}], "repeat": path or None (the innermost),
    "repeats": [paths of the repeats holding it, outermost first], "required"}``;
    ``sensitivity`` maps each field path to a :class:`Sensitivity` value.
    """

    form = models.ForeignKey(
        Form, verbose_name=_("form"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.CharField(_("version"), max_length=100)
    xlsform = models.BinaryField(_("XLSForm file"))
    xlsform_name = models.CharField(_("file name"), max_length=255)
    xform = models.TextField(_("XForm"))
    schema = FastJSONField(_("fields"), default=list)
    languages = models.JSONField(_("languages"), default=list)
    sensitivity = models.JSONField(_("sensitivity of each field"), default=dict)
    public_key = models.TextField(
        _("encryption public key"), blank=True, help_text=_("Set for ODK encrypted forms.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "version"], name="version_unique_per_form")
        ]

    def __str__(self) -> str:
        return f"{self.form} · {self.version}"

    @property
    def md5(self) -> str:
        return hashlib.md5(self.xform.encode("utf-8"), usedforsecurity=False).hexdigest()

    def fields_lacking_sensitivity(self) -> list[str]:
        return [f["path"] for f in self.schema if f["path"] not in self.sensitivity]


class ImportJob(models.Model):
    """A file of submissions being imported, with its progress and final report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    form = models.ForeignKey(
        Form, verbose_name=_("form"), on_delete=models.CASCADE, related_name="import_jobs"
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=20, default="auto")
    skip_bad_rows = models.BooleanField(_("store the good rows, skip the bad"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    stored = models.PositiveIntegerField(_("stored"), default=0)
    duplicates = models.PositiveIntegerField(_("already stored"), default=0)
    conflicts = models.PositiveIntegerField(_("conflicts"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} → {self.form}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (self.Status.SUCCEEDED, self.Status.FAILED) else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class Submission(models.Model):
    """One filled-in form. Fields classed public or internal live in ``data`` (queryable JSON);
    fields classed personal or sensitive live encrypted in ``protected_data``. An ODK encrypted
    submission is kept intact in ``encrypted_payload`` and never decrypted on the server."""

    class Source(models.TextChoices):
        IMPORT = "import", _("imported file")
        OPENROSA = "openrosa", _("ODK Collect / Enketo")
        DEMO = "demo", _("generated demo data")

    class ReviewState(models.TextChoices):
        """Where a submission stands in review, as KoboToolbox's validation status and ODK
        Central's review state say it (both kept, mapped onto the same states)."""

        NONE = "", _("not reviewed")
        APPROVED = "approved", _("approved")
        HAS_ISSUES = "has_issues", _("has issues")
        REJECTED = "rejected", _("rejected")
        EDITED = "edited", _("edited")

    # Every index is written for every row an import stores, so there are only the four that
    # queries use: the unique (form, instance id); (form, place) for scoping by place;
    # (form, submitted, id) for the order of the submissions table and of the API's pages (a
    # page across several forms is read form by form from it: api/pagination.py), the id
    # ending it so that PostgreSQL reads a page out of the index without sorting (SQLite's
    # indexes end with the row id anyway); (version, submitted) for filters and analysis by
    # form version. Filters by enumerator run within one form's rows. Deleting a place or an
    # import (rare; SET NULL) scans the table rather than every import paying for an index of
    # its own.
    form = models.ForeignKey(
        Form,
        verbose_name=_("form"),
        on_delete=models.CASCADE,
        related_name="submissions",
        db_index=False,
    )
    form_version = models.ForeignKey(
        FormVersion,
        verbose_name=_("form version"),
        on_delete=models.PROTECT,
        related_name="submissions",
        db_index=False,
    )
    # Columns copied out of the submission for indexing and display. Each either carries no
    # answer or takes the class of the answer it copies:
    # - instance_id: the device's random id (meta/instanceID), never an answer; it is what
    #   "stored once" is checked on, so it stays in clear.
    # - place: read from the place questions (settlement, mahalla, district…). Kept in clear
    #   because every query is scoped by it (a facilitator sees the submissions of their
    #   groups' places, in the database, before anything is decrypted) and analysis
    #   disaggregates by it; it names a community, not a person.
    # - submitted_at: the export's submission time, or the form's ``end`` (or ``start``)
    #   unless that question is personal or sensitive, else the time of receipt: ordering
    #   and date filters need it in clear.
    # - enumerator: names a fieldworker, so it takes the class of the form's enumerator
    #   question (FormPlan.enumerator_protected): always encrypted here, masked for those who
    #   may not see protected answers, and filtered on through its keyed hash.
    instance_id = models.CharField(_("instance id"), max_length=120)
    content_hash = models.CharField(max_length=64, editable=False)
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
        db_index=False,
    )
    submitted_at = models.DateTimeField(_("submitted"))
    enumerator = EncryptedTextField(_("enumerator"), blank=True)
    # HMAC-SHA256 of the enumerator under a key of the server's (imports/sealing.py).
    enumerator_hash = models.CharField(max_length=32, blank=True, editable=False)
    data = JSONTextField(_("answers"), default=dict)
    protected_data = EncryptedTextField(_("personal and sensitive answers"), blank=True)
    is_encrypted = models.BooleanField(_("encrypted by the device"), default=False)
    encrypted_payload = models.BinaryField(_("encrypted submission"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    review_state = models.CharField(
        _("review"), max_length=12, choices=ReviewState.choices, default="", blank=True
    )
    import_job = models.ForeignKey(
        ImportJob,
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
        db_index=False,
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["form", "instance_id"], name="instance_id_unique_per_form"
            )
        ]
        indexes = [
            models.Index(fields=["form", "submitted_at", "id"], name="submission_form_time"),
            models.Index(fields=["form_version", "submitted_at"], name="submission_version_time"),
            models.Index(fields=["form", "place"], name="submission_form_place"),
        ]

    def __str__(self) -> str:
        return self.instance_id

    @staticmethod
    def hash_content(answers: dict[str, Any]) -> str:
        import json

        canonical = json.dumps(answers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Attachment(models.Model):
    """A media file sent with a submission (photo, audio), stored in the object store."""

    submission = models.ForeignKey(
        Submission,
        verbose_name=_("submission"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    content_type = models.CharField(_("type"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(fields=["submission", "name"], name="attachment_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class DeviceUser(models.Model):
    """The account a phone with ODK Collect signs in with: separate from any person's web
    login, limited to one programme's open forms, revocable."""

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="device_users",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="device_users",
    )
    username = models.CharField(_("user name"), max_length=60, unique=True)
    password_hash = models.CharField(max_length=128, editable=False)
    # Digest authentication needs HA1 = MD5(username:realm:password); kept encrypted.
    digest_ha1 = EncryptedTextField(blank=True, editable=False)
    label = models.CharField(_("who carries it"), max_length=120, blank=True)
    assessments = models.ManyToManyField(
        Assessment, verbose_name=_("assessments"), blank=True, related_name="device_users"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("collection device")
        verbose_name_plural = _("collection devices")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class DigestNonceUse(models.Model):
    """A Digest answer a device has already signed in with: ``(nonce, nc, cnonce)`` is unique,
    so a captured request cannot be replayed while its nonce is fresh. Rows older than a
    nonce's lifetime are pruned as new ones arrive."""

    nonce = models.CharField(max_length=64)  # a SHA-256 of the nonce, not the nonce itself
    count = models.CharField(max_length=8)
    cnonce = models.CharField(max_length=64)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("used sign-in nonce")
        verbose_name_plural = _("used sign-in nonces")
        constraints = [
            models.UniqueConstraint(
                fields=["nonce", "count", "cnonce"], name="digest_nonce_used_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nonce[:8]}…/{self.count}"
