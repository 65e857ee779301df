"""A programme's indicator definitions (versioned) and the findings computed from an
assessment's submissions with them: weighted, disaggregated, disclosure-controlled."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amniyat.core.jsonfield import FastJSONField


class IndicatorSet(models.Model):
    """One version of a programme's indicators, as the YAML the analysts wrote."""

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="indicator_sets",
    )
    version = models.PositiveIntegerField(_("version"))
    spec = models.TextField(_("indicators (YAML)"))
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)

    class Meta:
        verbose_name = _("indicator set")
        verbose_name_plural = _("indicator sets")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "version"], name="indicator_set_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.programme} · v{self.version}"


class Findings(models.Model):
    """The estimates of every indicator for one form of an assessment, for the data as it
    stood (``source_key``), already disclosure-controlled. Published findings are what
    viewers, donors and authorities see."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("computing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    assessment = models.ForeignKey(
        "fieldwork.Assessment",
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="findings",
    )
    form = models.ForeignKey(
        "fieldwork.Form", verbose_name=_("form"), on_delete=models.CASCADE, related_name="+"
    )
    indicator_set = models.ForeignKey(
        IndicatorSet, verbose_name=_("indicators"), on_delete=models.PROTECT, related_name="+"
    )
    source_key = models.CharField(max_length=64, editable=False)
    respondents = models.PositiveIntegerField(_("respondents"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    error = models.TextField(_("error"), blank=True)
    results = FastJSONField(_("results"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("findings")
        verbose_name_plural = _("findings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["form", "indicator_set", "source_key"], name="findings_once_per_data"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assessment} · {self.indicator_set}"
