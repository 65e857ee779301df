"""The audit log: who did what to which object, when and from where."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AuditEvent(models.Model):
    """One audited event. Rows are only ever added, never changed."""

    class Verb(models.TextChoices):
        SIGN_IN = "sign_in", _("signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
        SIGN_OUT = "sign_out", _("signed out")
        TWO_FACTOR_ENABLED = "2fa_enabled", _("two-factor login enabled")
        TWO_FACTOR_DISABLED = "2fa_disabled", _("two-factor login removed")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        PERMISSION_GRANTED = "permission_granted", _("role granted")
        PERMISSION_CHANGED = "permission_changed", _("role changed")
        PERMISSION_REVOKED = "permission_revoked", _("role revoked")
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")
        DELETED = "deleted", _("deleted")
        VIEWED_PERSONAL = "viewed_personal", _("viewed personal data")
        IMPORTED = "imported", _("imported")
        EXPORTED = "exported", _("exported")
        PUBLISHED = "published", pgettext_lazy("audit verb", "published")
        UNPUBLISHED = "unpublished", pgettext_lazy("audit verb", "withdrawn from publication")
        VIEWED_TEXT = "source.view_text", _("read discussion notes")
        TRANSLATED = "translations.save", _("translated")
        REVIEW_ASKED = "review_asked", _("asked for review")
        RETURNED = "returned", _("returned to its authors")
        APPROVED = "approved", _("approved")
        REOPENED = "reopened", _("reopened as a draft")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=150, blank=True)
    verb = models.CharField(_("what"), max_length=40, choices=Verb.choices)
    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=60, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["programme", "-at"], name="audit_programme_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.verb} {self.object_label}"

    def get_verb_display(self) -> str:
        """The verb in the reader's language. Django's own version builds a dictionary of
        every choice, translating each label, on every call: 1,000 translations for a page
        of the log."""
        return str(self.Verb(self.verb).label) if self.verb in self.Verb.values else self.verb
