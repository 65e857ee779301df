"""Drivers of insecurity: the qualitative evidence (focus-group, interview and workshop notes),
the programme's codebook and the passages coded with it, the driver maps communities draw of
how their security concerns link, and the priorities a working group agrees.

How the parts hang together:

* a :class:`Source` (notes of one discussion, text encrypted) is split into
  :class:`Passage` rows (sentences, numbered by paragraph) — the units coders code, assisted
  coding suggests for and agreement is counted over;
* a :class:`Code` is an entry of the programme's hierarchical codebook, named in four
  languages and optionally linked to survey indicators (the "how many" behind the "why");
* an :class:`Excerpt` is one coder's application of one code to a span of a source;
  :class:`RedactionFlag` rows mark likely names, phones and addresses that must be settled
  before an excerpt can be proposed for publication, and a second lead or analyst (neither
  its coder nor its proposer) approves it against a checklist before it may be published;
* a :class:`DriverMap` holds :class:`Factor` nodes and :class:`Link` edges, each carrying its
  evidence (excerpts, indicator keys);
* a :class:`PriorityList` of a community group ranks :class:`Priority` rows.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from amniyat.core.fields import EncryptedTextField
from amniyat.core.i18n import MultilingualName, Translatable, Translated


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    RUSSIAN = "ru", _("Russian")
    TAJIK = "tg", _("Tajik")
    UZBEK = "uz", _("Uzbek")


class AgeBand(models.TextChoices):
    UNDER_18 = "under_18", _("under 18")
    AGE_18_29 = "18_29", _("18–29")
    AGE_30_44 = "30_44", _("30–44")
    AGE_45_59 = "45_59", _("45–59")
    AGE_60_PLUS = "60_plus", _("60 and over")


class AffectedGroup(models.TextChoices):
    """Who a concern affects most, as priority lists record it."""

    WOMEN = "women", _("women")
    MEN = "men", _("men")
    GIRLS = "girls", _("girls")
    BOYS = "boys", _("boys")
    YOUTH = "youth", _("young people")
    MINORITIES = "minorities", _("minorities")
    RETURNEES = "returnees", _("returnees")


class Source(Translatable):
    """The notes of one focus group, interview or workshop. Participants are described by a
    profile (how many, women and men, age bands, sectors), never by name."""

    class Kind(models.TextChoices):
        FOCUS_GROUP = "focus_group", _("focus group")
        INTERVIEW = "interview", _("interview")
        WORKSHOP = "workshop", _("workshop")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="sources",
    )
    assessment = models.ForeignKey(
        "fieldwork.Assessment",
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="sources",
    )
    # The partner whose team held the discussion: facilitators see their organisation's
    # sources only. Empty for the programme's own (lead or analyst) sources.
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sources",
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sources",
    )
    held_on = models.DateField(_("date"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    participants = models.PositiveSmallIntegerField(_("participants"), default=0)
    women = models.PositiveSmallIntegerField(_("women"), default=0)
    men = models.PositiveSmallIntegerField(_("men"), default=0)
    age_bands = models.JSONField(_("age bands"), default=list, blank=True)  # AgeBand values
    sectors = models.JSONField(_("sectors"), default=list, blank=True)  # communities.Sector
    text = EncryptedTextField(_("text"))
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "source.edit"

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["-held_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(women__lte=models.F("participants"))
                & Q(men__lte=models.F("participants")),
                name="source_profile_within_participants",
                violation_error_message=_("Women and men cannot outnumber the participants."),
            ),
        ]


class Passage(models.Model):
    """A sentence of a source, the unit of coding: ``start``/``end`` are character offsets
    into the source's text, ``paragraph`` numbers the paragraph it belongs to."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveIntegerField(_("position"))
    paragraph = models.PositiveIntegerField(_("paragraph"))
    start = models.PositiveIntegerField(_("start"))
    end = models.PositiveIntegerField(_("end"))

    class Meta:
        verbose_name = _("passage")
        verbose_name_plural = _("passages")
        ordering = ["source", "position"]
        constraints = [
            models.UniqueConstraint(fields=["source", "position"], name="passage_position_unique"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="passage_span"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.position}"


class RedactionFlag(models.Model):
    """A span of a source that looks like a name, a phone number or an address. An excerpt
    overlapping an open flag cannot be proposed for publication."""

    class Kind(models.TextChoices):
        NAME = "name", pgettext_lazy("personal detail", "name")
        PHONE = "phone", pgettext_lazy("personal detail", "phone number")
        ADDRESS = "address", pgettext_lazy("personal detail", "address")
        EMAIL = "email", pgettext_lazy("personal detail", "email address")

    class Status(models.TextChoices):
        OPEN = "open", _("to check")
        REDACT = "redact", _("redact")
        KEEP = "keep", _("not personal")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="redaction_flags")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    start = models.PositiveIntegerField(_("start"))
    end = models.PositiveIntegerField(_("end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("redaction flag")
        verbose_name_plural = _("redaction flags")
        ordering = ["source", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "start", "end"], name="redaction_span_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}–{self.end}"


class Code(MultilingualName):
    """An entry of a programme's codebook: a security concern or a driver of insecurity."""

    class Kind(models.TextChoices):
        CONCERN = "concern", _("security concern")
        DRIVER = "driver", _("driver")
        THEME = "theme", _("theme")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="codes",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
    )
    key = models.SlugField(_("key"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DRIVER)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ru = models.TextField(_("description (Russian)"), blank=True)
    description_tg = models.TextField(_("description (Tajik)"), blank=True)
    description_uz = models.TextField(_("description (Uzbek)"), blank=True)
    # Survey indicators (keys of the programme's indicator set) that count what this code
    # explains.
    indicator_keys = models.JSONField(_("linked indicators"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        ordering = ["programme", "position", "name_en"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "key"], name="code_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Excerpt(models.Model):
    """One coder's application of one code to the span ``start``–``end`` of a source."""

    class Origin(models.TextChoices):
        MANUAL = "manual", _("coded by hand")
        ASSISTED = "assisted", _("suggestion accepted")
        IMPORTED = "imported", _("imported")

    class Publication(models.TextChoices):
        NONE = "none", _("not proposed for publication")
        PROPOSED = "proposed", _("awaiting a second reviewer")
        APPROVED = "approved", _("approved for publication")
        RETURNED = "returned", _("returned by the reviewer")

    class Check(models.TextChoices):
        """What the second person confirms, item by item, before a quote may be published:
        a quote with names removed can still point to one person in a small mahalla."""

        NO_NAMES = "no_names", _("No names, or every name is redacted.")
        NO_UNIQUE_EVENTS = (
            "no_unique_events",
            _(
                "No unique event: no specific incident, date or act that people in the place "
                "would recognise."
            ),
        )
        NO_IDENTIFYING_DESCRIPTIONS = (
            "no_identifying_descriptions",
            _(
                "No place, role or description that points to one person in a small community "
                "(such as “the imam's son” or “the only female police officer”)."
            ),
        )
        PROFILE_NOT_IDENTIFYING = (
            "profile_not_identifying",
            _("The speaker's profile (place, sex, age, role) does not identify them."),
        )

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="excerpts")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="excerpts")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("coder"),
        on_delete=models.PROTECT,
        related_name="excerpts",
    )
    start = models.PositiveIntegerField(_("start"))
    end = models.PositiveIntegerField(_("end"))
    origin = models.CharField(
        _("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL
    )
    memo = EncryptedTextField(_("memo"), blank=True)
    # A quote may leave the team only once a second person approved it: someone proposes it,
    # another lead or analyst (neither its coder nor its proposer) reviews it against the
    # checklist and approves or returns it. ``public_text`` is the quote as it would be shown,
    # with flagged spans redacted, while it is proposed or approved.
    publication = models.CharField(
        _("publication"), max_length=10, choices=Publication.choices, default=Publication.NONE
    )
    public_text = EncryptedTextField(_("publishable quote"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    # The second person's decision (approved or returned), and why a quote was returned.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = EncryptedTextField(_("why it was returned"), blank=True)
    created_at = models.DateTimeField(_("coded"), auto_now_add=True)

    class Meta:
        verbose_name = _("excerpt")
        verbose_name_plural = _("excerpts")
        ordering = ["source", "start", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "code", "coder", "start", "end"], name="excerpt_unique"
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="excerpt_span"),
            # Two people, whatever writes the row: the approver is neither coder nor proposer.
            models.CheckConstraint(
                condition=~Q(publication="approved")
                | (
                    Q(proposed_by__isnull=False, reviewed_by__isnull=False)
                    & ~Q(reviewed_by=models.F("coder"))
                    & ~Q(reviewed_by=models.F("proposed_by"))
                ),
                name="excerpt_approved_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} @ {self.source_id}:{self.start}"

    @property
    def publishable(self) -> bool:
        """Whether the quote may leave the team: only once a second person approved it."""
        return self.publication == self.Publication.APPROVED


class Suggestion(models.Model):
    """A code the assistant proposed for a passage and what a person decided. Accepting makes
    an :class:`Excerpt`; a rejected suggestion is not asked again."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    passage = models.ForeignKey(Passage, on_delete=models.CASCADE, related_name="suggestions")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="suggestions")
    probability = models.FloatField(_("probability"))
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        constraints = [
            models.UniqueConstraint(
                fields=["passage", "code", "decided_by"], name="suggestion_decided_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.passage}: {self.decision}"


class CodeQuality(models.Model):
    """How well the assistant predicts a code on held-out coded passages of its programme;
    suggestions are hidden for codes where it is poor."""

    code = models.OneToOneField(Code, on_delete=models.CASCADE, related_name="quality")
    precision = models.FloatField(_("precision"), null=True)
    recall = models.FloatField(_("recall"), null=True)
    support = models.PositiveIntegerField(_("held-out passages with the code"), default=0)
    trained_on = models.PositiveIntegerField(_("training passages"), default=0)
    evaluated_at = models.DateTimeField(_("evaluated"), auto_now=True)

    class Meta:
        verbose_name = _("code quality")
        verbose_name_plural = _("code qualities")

    def __str__(self) -> str:
        return f"{self.code}: P={self.precision} R={self.recall}"


def new_coding_revision() -> str:
    return secrets.token_hex(16)


class CodingRevision(models.Model):
    """The state of a programme's coding: its sources and their passages, its codebook, the
    excerpts coded with it, the assistant's figures per code and the decisions on its
    suggestions. A new random value in the transaction of each change
    (``coding.services.coding_changed``); what is computed from the coding for a page (the
    assistant's queue, the codes that appear together) is kept under it, so that a change is
    seen by the next request of every process and no request ranks thousands of passages
    that did not change. Random rather than counted (as the members revision of
    :mod:`amniyat.communities` is), so that a database restored from a backup never gives the
    programme a value it had for other coding."""

    programme = models.OneToOneField(
        "accounts.Programme", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    revision = models.CharField(max_length=32, default=new_coding_revision)

    def __str__(self) -> str:
        return f"{self.programme_id}: {self.revision}"


class ReadAsItsCode(Translatable):
    """Content that may be linked to a codebook code (a map's factor, a list's concern): once
    linked, it reads as the code's name in the reader's language (the codebook translates it);
    its own translation serves where the code has no name in that language."""

    code_id: int | None

    class Meta:
        abstract = True

    def translation_fields(self) -> tuple[str, ...]:
        return () if self.code_id is not None else self.TRANSLATED

    def translated(self, field: str, language: str | None = None) -> Translated:
        own = super().translated(field, language)
        code = getattr(self, "code", None)
        if field != self.TRANSLATED[0] or code is None:
            return own
        name = code.translated("name", language)
        return own if name.fallback and not own.fallback else name


class DriverMap(Translatable):
    """A map of how security concerns and their drivers link, for a programme, a place or a
    group, from one perspective (women's, men's, everyone's …) and optionally one assessment
    (so a baseline and an endline map can be compared)."""

    class Perspective(models.TextChoices):
        EVERYONE = "everyone", _("everyone")
        WOMEN = "women", _("women")
        MEN = "men", _("men")
        YOUTH = "youth", _("young people")
        OFFICIALS = "officials", _("officials and police")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="driver_maps",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="driver_maps",
    )
    title = models.CharField(_("title"), max_length=200)
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="driver_maps",
    )
    group = models.ForeignKey(
        "communities.CommunityGroup",
        verbose_name=_("community group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="driver_maps",
    )
    assessment = models.ForeignKey(
        "fieldwork.Assessment",
        verbose_name=_("assessment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="driver_maps",
    )
    perspective = models.CharField(
        _("perspective"), max_length=20, choices=Perspective.choices, default=Perspective.EVERYONE
    )
    description = models.TextField(_("description"), blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    TRANSLATED = ("title", "description")
    TRANSLATE_VERB = "map.edit"

    class Meta:
        verbose_name = _("driver map")
        verbose_name_plural = _("driver maps")
        ordering = ["programme", "title"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "title"], name="driver_map_title_unique"),
        ]

    def translation_parts(self) -> list[Translatable]:
        return list(self.factors.select_related("code"))


class Factor(ReadAsItsCode):
    """A node of a driver map."""

    class Kind(models.TextChoices):
        CONCERN = "concern", _("security concern")
        DRIVER = "driver", _("driver")
        ROOT_CAUSE = "root_cause", _("root cause")
        EFFECT = "effect", _("effect")

    map = models.ForeignKey(DriverMap, on_delete=models.CASCADE, related_name="factors")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=200)
    code = models.ForeignKey(
        Code,
        verbose_name=_("code"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="factors",
    )
    note = models.TextField(_("note"), blank=True)
    x = models.FloatField(default=0)
    y = models.FloatField(default=0)
    excerpts = models.ManyToManyField(Excerpt, blank=True, related_name="factors")
    indicator_keys = models.JSONField(_("indicators"), default=list, blank=True)

    TRANSLATED = ("label",)
    TRANSLATE_VERB = "map.edit"
    TRANSLATED_ON_PAGE_OF = "DriverMap"

    class Meta:
        verbose_name = _("factor")
        verbose_name_plural = _("factors")
        ordering = ["map", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["map", "label"], name="factor_label_unique"),
        ]

    def translation_subject(self, programme: Any) -> Any | None:
        return self.map.translation_subject(programme)


class Link(models.Model):
    """An edge of a driver map: ``source`` causes, worsens or mitigates ``target``."""

    class Kind(models.TextChoices):
        CAUSES = "causes", _("causes")
        WORSENS = "worsens", _("worsens")
        MITIGATES = "mitigates", _("mitigates")

    map = models.ForeignKey(DriverMap, on_delete=models.CASCADE, related_name="links")
    source = models.ForeignKey(Factor, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Factor, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CAUSES)
    strength = models.PositiveSmallIntegerField(
        _("strength"), default=2, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    note = models.TextField(_("note"), blank=True)
    excerpts = models.ManyToManyField(Excerpt, blank=True, related_name="links")
    indicator_keys = models.JSONField(_("indicators"), default=list, blank=True)

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")
        ordering = ["map", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="link_once_per_pair"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")),
                name="link_not_to_itself",
                violation_error_message=_("A factor cannot be linked to itself."),
            ),
            models.CheckConstraint(
                condition=Q(strength__gte=1) & Q(strength__lte=3), name="link_strength_1_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.target}"


class PriorityList(Translatable):
    """A community group's prioritisation of its security concerns; once agreed it records
    the date and who took part, and action plans start from it."""

    group = models.ForeignKey(
        "communities.CommunityGroup",
        verbose_name=_("community group"),
        on_delete=models.CASCADE,
        related_name="priority_lists",
    )
    title = models.CharField(_("title"), max_length=200)
    assessment = models.ForeignKey(
        "fieldwork.Assessment",
        verbose_name=_("survey the figures come from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    participants = models.PositiveSmallIntegerField(_("participants"), default=0)
    women = models.PositiveSmallIntegerField(_("women"), default=0)
    men = models.PositiveSmallIntegerField(_("men"), default=0)
    sectors = models.JSONField(_("sectors"), default=list, blank=True)
    took_part = models.TextField(_("who took part"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "priorities.edit"

    class Meta:
        verbose_name = _("priority list")
        verbose_name_plural = _("priority lists")
        ordering = ["group", "-agreed_on", "-created_at"]

    def translation_subject(self, programme: Any) -> Any | None:
        return self.group if self.group.programme_id == programme.pk else None

    def translation_parts(self) -> list[Translatable]:
        return list(self.priorities.select_related("code"))


class Priority(ReadAsItsCode):
    """A concern scored on the prioritisation matrix (1–5 scales); ``affected_percent`` is
    filled from the linked survey indicator where there is one."""

    priority_list = models.ForeignKey(
        PriorityList, on_delete=models.CASCADE, related_name="priorities"
    )
    concern = models.CharField(_("concern"), max_length=200)
    code = models.ForeignKey(
        Code,
        verbose_name=_("code"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="priorities",
    )
    severity = models.PositiveSmallIntegerField(
        _("severity"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    affected = models.PositiveSmallIntegerField(
        _("how many are affected"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    affected_percent = models.FloatField(_("share affected (survey)"), null=True, blank=True)
    affected_indicator = models.CharField(_("survey indicator"), max_length=100, blank=True)
    most_affected = models.JSONField(_("most affected"), default=list, blank=True)
    urgency = models.PositiveSmallIntegerField(
        _("urgency"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    changeable = models.PositiveSmallIntegerField(
        _("what the group can change"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rank = models.PositiveSmallIntegerField(_("rank"), default=0)
    note = models.TextField(_("note"), blank=True)

    TRANSLATED = ("concern",)
    TRANSLATE_VERB = "priorities.edit"
    TRANSLATED_ON_PAGE_OF = "PriorityList"

    class Meta:
        verbose_name = _("priority")
        verbose_name_plural = _("priorities")
        ordering = ["priority_list", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority_list", "concern"], name="priority_concern_once"
            ),
        ]

    def translation_subject(self, programme: Any) -> Any | None:
        return self.priority_list.translation_subject(programme)

    @property
    def score(self) -> int:
        return self.severity + self.affected + self.urgency + self.changeable
