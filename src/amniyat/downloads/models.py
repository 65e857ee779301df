"""A file one person asked for, written by a background task (see :mod:`.services`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Programme


class Download(models.Model):
    """A file of a programme that one person asked for: which kind (a REFI-QDA project, a
    report …) with what choices, how far its writing has got, and the file, encrypted at rest,
    that only they may download until it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    # A name registered in amniyat.downloads.kinds.
    kind = models.CharField(_("kind"), max_length=40)
    # What the person chose; never personal data (it is not encrypted).
    choices = models.JSONField(_("choices"), default=dict, blank=True)
    # The language of the page it was asked from: what the file writes in words of its own.
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(_("done so far"), default=0)
    total = models.PositiveIntegerField(_("in all"), null=True, blank=True)
    # Encrypted at rest, whatever it holds (amniyat.core.encrypted_files).
    file = models.FileField(_("file"), upload_to="downloads/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.PositiveBigIntegerField(_("size"), default=0)
    # What the file holds, in the kind's own words and counts ("12 sources, 340 excerpts").
    summary = models.JSONField(default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("download")
        verbose_name_plural = _("downloads")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name or self.kind

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.EXPIRED)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, round(100 * self.done / self.total))
