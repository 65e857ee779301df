"""People, organisations, programmes and who plays which role in which programme."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amniyat.core.i18n import Translatable


class User(AbstractUser):
    """A person who signs in. Roles live on :class:`Membership`, never on the user."""

    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, blank=True
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Organisation(Translatable):
    class Kind(models.TextChoices):
        INTERNATIONAL_NGO = "ingo", _("international NGO")
        CSO = "cso", _("civil society organisation")
        NETWORK = "network", _("network of organisations")
        AUTHORITY = "authority", _("authority")
        DONOR = "donor", _("donor")

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    country = models.CharField(_("country"), max_length=2, blank=True)
    women_led = models.BooleanField(_("women-led"), default=False)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    TRANSLATED = ("name", "short_name", "description")
    TRANSLATE_VERB = "organisation.create"

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def translation_subject(self, programme: Programme) -> Programme | None:
        """The programme's lead names the organisations that take part in it."""
        return programme if self.pk in programme.taking_part_ids() else None


def new_collection_revision() -> str:
    return uuid.uuid4().hex


class Programme(Translatable):
    """A funded programme in one country, led by one organisation with partners."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short address"), max_length=60, unique=True)
    country = models.ForeignKey(
        "places.Place",
        verbose_name=_("country"),
        on_delete=models.PROTECT,
        related_name="programmes",
        limit_choices_to={"level": "country"},
    )
    places = models.ManyToManyField(
        "places.Place",
        verbose_name=_("places covered"),
        blank=True,
        related_name="covering_programmes",
    )
    donor = models.ForeignKey(
        Organisation,
        verbose_name=_("donor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="funded_programmes",
    )
    lead_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("lead organisation"),
        on_delete=models.PROTECT,
        related_name="led_programmes",
    )
    partners = models.ManyToManyField(
        Organisation,
        verbose_name=_("partner organisations"),
        blank=True,
        related_name="partner_programmes",
    )
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    languages = models.JSONField(_("languages"), default=list, blank=True)
    summary = models.TextField(_("summary"), blank=True, max_length=4000)
    min_cell_size = models.PositiveSmallIntegerField(
        _("minimum cell size for published numbers"), default=5
    )
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Replaced by every change to what the programme's devices may send to (a form opened,
    # closed, given a new version or other sensitivity classes: see
    # ``fieldwork.forms.services.collection_changed``). The OpenRosa endpoints read it with
    # the device on every request and key their cache of form versions by it, so a change is
    # seen by every process at once. Random rather than counted: never the same twice.
    collection_revision = models.CharField(
        max_length=32, default=new_collection_revision, editable=False
    )

    TRANSLATED = ("name", "summary")
    TRANSLATE_VERB = "programme.manage"

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="programme_ends_after_start",
                violation_error_message=_("The programme cannot end before it starts."),
            )
        ]

    def translation_subject(self, programme: Programme) -> Programme | None:
        return self if self.pk == programme.pk else None

    def taking_part_ids(self, *, with_donor: bool = True) -> set[int]:
        """Ids of the organisations that lead, fund (optionally) or partner this programme."""
        ids = {self.lead_organisation_id, *self.partners.values_list("pk", flat=True)}
        if with_donor and self.donor_id:
            ids.add(self.donor_id)
        return ids

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The programme cannot end before it starts.")})


class Membership(models.Model):
    """A user's role in a programme, on behalf of one organisation."""

    class Role(models.TextChoices):
        LEAD = "lead", _("programme lead")
        ANALYST = "analyst", _("analyst")
        FACILITATOR = "facilitator", _("facilitator")
        GROUP_MEMBER = "group_member", _("group member")
        VIEWER = "viewer", _("viewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    community_group = models.ForeignKey(
        "communities.CommunityGroup",
        verbose_name=_("community group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="user_memberships",
        help_text=_("For group members: the group whose work they follow."),
    )
    can_view_personal_data = models.BooleanField(
        _("may see personal data"),
        default=False,
        help_text=_("Facilitators see member names only when the programme grants it."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "programme"],
                name="one_role_per_programme",
                violation_error_message=_("This person already has a role in the programme."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.programme} · {self.get_role_display()}"


class PersonalToken(models.Model):
    """A named API token. Only its SHA-256 digest is stored; the secret is shown once.

    DRF's own token model keeps the secret in clear and allows one per user; programme staff
    need several (one per script or laptop), each revocable and visible in their account.
    """

    PREFIX: ClassVar[str] = "amn_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="personal_tokens",
    )
    name = models.CharField(_("name"), max_length=80)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("starts with"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal API token")
        verbose_name_plural = _("personal API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def digest_of(cls, secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8")).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
