"""Community groups and their (pseudonymous) members, with membership over time."""

from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amniyat.core.fields import EncryptedTextField
from amniyat.core.i18n import Translatable
from amniyat.core.search import FoldedKeys, folded_field
from amniyat.core.text import format_list, format_percent


class Sex(models.TextChoices):
    FEMALE = "female", _("woman")
    MALE = "male", _("man")


class AgeBand(models.TextChoices):
    UNDER_18 = "under_18", _("under 18")
    AGE_18_24 = "18_24", _("18–24")
    AGE_25_29 = "25_29", _("25–29")
    AGE_30_44 = "30_44", _("30–44")
    AGE_45_59 = "45_59", _("45–59")
    AGE_60_PLUS = "60_plus", _("60 and over")


# Youth in both countries' youth policies means people under 30.
YOUTH_AGE_BANDS = frozenset({AgeBand.UNDER_18, AgeBand.AGE_18_24, AgeBand.AGE_25_29})


class Sector(models.TextChoices):
    MAHALLA_LEADER = "mahalla_leader", _("mahalla leader")
    RELIGIOUS_LEADER = "religious_leader", _("religious leader")
    POLICE = "police", _("police")
    LOCAL_GOVERNMENT = "local_government", _("local government")
    WOMENS_ACTIVIST = "womens_activist", _("women's activist")
    YOUTH = "youth", _("youth activist")
    MINORITY = "minority", _("minority community")
    RETURNING_MIGRANT = "returning_migrant", _("returning labour migrant")
    TEACHER = "teacher", _("teacher")
    HEALTH_WORKER = "health_worker", _("health worker")
    OTHER = "other", _("other")


class CommunityGroup(Translatable, FoldedKeys):
    class Kind(models.TextChoices):
        CSWG = "cswg", _("community security working group")
        COMMUNITY_GROUP = "community_group", _("community group")
        YOUTH_GROUP = "youth_group", _("youth group")
        PUBLIC_COUNCIL = "public_council", _("public council")
        POLICING_TEAM = "policing_team", _("community policing partnership team")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="community_groups",
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        related_name="community_groups",
    )
    facilitating_organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("facilitating organisation"),
        on_delete=models.PROTECT,
        related_name="facilitated_groups",
    )
    is_new = models.BooleanField(
        _("new group"), default=True, help_text=_("Set up by this programme, not before it.")
    )
    established_on = models.DateField(_("established"), null=True, blank=True)
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=4000)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The name folded (:mod:`amniyat.core.search`): a picker finds it typed in any case.
    name_key = folded_field(_("name, as searched"))

    TRANSLATED = ("name", "description")
    TRANSLATE_VERB = "group.edit"
    KEYED = {"name": "name_key"}

    class Meta:
        verbose_name = _("community group")
        verbose_name_plural = _("community groups")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "name"],
                name="group_name_per_programme",
                violation_error_message=_("The programme already has a group with this name."),
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True)
                | Q(established_on__isnull=True)
                | Q(closed_on__gte=models.F("established_on")),
                name="group_closes_after_it_starts",
                violation_error_message=_("A group cannot close before it was established."),
            ),
        ]


def active_on(joined_on: datetime.date, left_on: datetime.date | None, day: datetime.date) -> bool:
    """Whether someone who joined and left (or not) on these days is a member on ``day``."""
    return joined_on <= day and (left_on is None or left_on > day)


class GroupMember(models.Model):
    """A member of a community group, pseudonymous by default.

    ``display_name`` is whatever the group agrees to record (a first name, initials, a role) and
    is encrypted at rest. Leaving sets ``left_on``; the row stays so composition over time is
    known, and a member who returns gets a new row.
    """

    group = models.ForeignKey(
        CommunityGroup,
        verbose_name=_("community group"),
        on_delete=models.CASCADE,
        related_name="members",
    )
    display_name = EncryptedTextField(
        _("display name"), blank=True, max_length=120, validators=[MaxLengthValidator(120)]
    )
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    age_band = models.CharField(_("age band"), max_length=10, choices=AgeBand.choices)
    sectors = models.JSONField(_("sectors"), default=list, blank=True)
    joined_on = models.DateField(_("joined"))
    left_on = models.DateField(_("left"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["joined_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
                name="member_leaves_after_joining",
                violation_error_message=_("A member cannot leave before joining."),
            )
        ]

    def __str__(self) -> str:
        # Never the display name: this string lands in logs and the audit trail.
        return _("Member M-%(number)05d") % {"number": self.pk or 0}

    @property
    def code(self) -> str:
        return f"M-{(self.pk or 0):05d}"

    def clean(self) -> None:
        if self.left_on and self.joined_on and self.left_on < self.joined_on:
            raise ValidationError({"left_on": _("A member cannot leave before joining.")})
        unknown = set(self.sectors or []) - set(Sector.values)
        if unknown:
            raise ValidationError(
                {"sectors": _("Unknown sector: %s") % format_list(sorted(unknown))}
            )

    def is_active_on(self, day: datetime.date) -> bool:
        return active_on(self.joined_on, self.left_on, day)

    @property
    def is_youth(self) -> bool:
        return self.age_band in YOUTH_AGE_BANDS

    def sector_labels(self) -> list[str]:
        labels = dict(Sector.choices)
        return [str(labels.get(code, code)) for code in self.sectors]


class RepresentationTarget(models.Model):
    """What a programme asks of each group's composition, e.g. at least 40 % women."""

    class Dimension(models.TextChoices):
        WOMEN = "women", _("women")
        YOUTH = "youth", _("young people (under 30)")
        SECTOR = "sector", _("sector")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="representation_targets",
    )
    dimension = models.CharField(_("who"), max_length=10, choices=Dimension.choices)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, blank=True)
    min_share = models.DecimalField(
        # xgettext:no-python-format
        _("at least (% of members)"),
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
    )
    min_count = models.PositiveSmallIntegerField(_("at least (members)"), null=True, blank=True)

    class Meta:
        verbose_name = _("representation target")
        verbose_name_plural = _("representation targets")
        ordering = ["dimension", "sector"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "dimension", "sector"], name="one_target_per_dimension"
            ),
            models.CheckConstraint(
                condition=Q(min_share__isnull=False) | Q(min_count__isnull=False),
                name="target_has_a_threshold",
                violation_error_message=_(
                    "Give a minimum share, a minimum number of members, or both."
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def min_share_label(self) -> str:
        """The minimum share as the reader writes a percentage ("40%", "33,3 %"); "" if none."""
        if self.min_share is None:
            return ""
        decimals = 0 if self.min_share == int(self.min_share) else 1
        return format_percent(self.min_share / 100, decimals=decimals)

    @property
    def label(self) -> str:
        if self.dimension == self.Dimension.SECTOR:
            return str(Sector(self.sector).label) if self.sector else ""
        return str(self.Dimension(self.dimension).label)

    def clean(self) -> None:
        if self.dimension == self.Dimension.SECTOR and not self.sector:
            raise ValidationError({"sector": _("Choose the sector this target is about.")})
        if self.dimension != self.Dimension.SECTOR:
            self.sector = ""
        if self.min_share is None and self.min_count is None:
            raise ValidationError(_("Give a minimum share, a minimum number of members, or both."))
        if self.min_share is not None and not (0 <= self.min_share <= 100):
            raise ValidationError({"min_share": _("A share is between 0 and 100 %.")})


def new_members_revision() -> str:
    return secrets.token_hex(16)


class MembersRevision(models.Model):
    """The state of a programme's groups, members and targets: a new random value in the
    transaction of each change (``services.members_changed``). The figures counted from them
    are kept under it (``selectors.targets_overview``), so that a change is seen by the next
    request of every process, and no request counts thousands of members that did not change.
    Random rather than counted, so that a database restored from a backup (whose count would
    start again from an earlier number) never gives the programme a value it had for other
    members."""

    programme = models.OneToOneField(
        "accounts.Programme", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    revision = models.CharField(max_length=32, default=new_members_revision)

    def __str__(self) -> str:
        return f"{self.programme_id}: {self.revision}"
