"""The administrative places programmes work in: country → region → district → community."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from amniyat.core.i18n import MultilingualName
from amniyat.core.search import FoldedKeys, folded_field


class Place(MultilingualName, FoldedKeys):
    """A place in the administrative tree.

    Countries, regions and districts are shared reference data (``programme`` empty). A
    community (mahalla, jamoat, village) added by a programme belongs to that programme and is
    seen only by its members: where a programme works can itself be sensitive.
    """

    class Level(models.TextChoices):
        COUNTRY = "country", _("country")
        REGION = "region", _("region")
        DISTRICT = "district", _("district")
        COMMUNITY = "community", _("community")

    PARENT_LEVEL = {
        Level.REGION: Level.COUNTRY,
        Level.DISTRICT: Level.REGION,
        Level.COMMUNITY: Level.DISTRICT,
    }

    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.CharField(
        _("code"),
        max_length=20,
        blank=True,
        help_text=_("ISO 3166-2 code where one exists, e.g. TJ-KT."),
    )
    kind = models.CharField(
        _("kind"),
        max_length=40,
        blank=True,
        help_text=_("For example: city, district, mahalla, jamoat, village."),
    )
    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_places",
    )
    population = models.JSONField(
        _("population by sex and age band"),
        default=dict,
        blank=True,
        help_text=_('For example {"female": {"18-24": 1200}, "male": {"18-24": 1150}}.'),
    )
    boundary = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    # The code and the four names folded (:mod:`amniyat.core.search`), each indexed: a
    # phone's submission finds the place it names with one indexed query, however many
    # communities a programme has, and a picker finds a name typed in any case.
    code_key = folded_field(_("code, as matched"))
    name_en_key = folded_field(_("name (English), as matched"))
    name_ru_key = folded_field(_("name (Russian), as matched"))
    name_tg_key = folded_field(_("name (Tajik), as matched"))
    name_uz_key = folded_field(_("name (Uzbek), as matched"))

    # Each matched field and the field that keeps its key.
    KEYED = {
        "code": "code_key",
        "name_en": "name_en_key",
        "name_ru": "name_ru_key",
        "name_tg": "name_tg_key",
        "name_uz": "name_uz_key",
    }

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["name_en"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="place_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        expected = self.PARENT_LEVEL.get(self.Level(self.level)) if self.level else None
        if expected is None and self.parent_id is not None:
            raise ValidationError({"parent": _("A country is not part of another place.")})
        if expected is not None and (self.parent is None or self.parent.level != expected):
            raise ValidationError(
                {
                    "parent": _("A %(level)s must be part of a %(parent)s.")
                    % {"level": self.Level(self.level).label, "parent": expected.label}
                }
            )

    def ancestors(self) -> list[Place]:
        chain: list[Place] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def country(self) -> Place:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


class PartnerArea(models.Model):
    """The places a programme's lead assigns a partner organisation to work in.

    A facilitator's reach into data that is bound to places (submissions today; plans,
    activities and grants later) is read from here and from nowhere else. It is a grant that
    the lead makes and changes (audited), never a consequence of what the partner writes: a
    facilitator who creates or moves a community group, or adds a community, does not widen
    what their organisation may read.
    """

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="partner_areas",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="partner_areas",
    )
    places = models.ManyToManyField(
        Place,
        verbose_name=_("places it works in"),
        blank=True,
        related_name="+",
        help_text=_("Regions, districts or communities; everything inside them is included."),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("partner's area")
        verbose_name_plural = _("partners' areas")
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "organisation"], name="one_area_per_partner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} · {self.programme}"
