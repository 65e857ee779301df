"""Joint action plans: what a community group and the authorities and services around it agree
to do about the priorities the group agreed, who does each thing, by when, at what cost, and
how far it has come.

How the parts hang together:

* an :class:`ActionPlan` answers one agreed :class:`~amniyat.drivers.models.PriorityList` of a
  community group (or, for a platform-level plan, a place); it is *joint*: it becomes agreed
  only once the group and at least one authority or service have endorsed it
  (:class:`Signatory`);
* each :class:`Objective` comes from one chosen priority and carries the driver-map factors
  that priority's code names;
* each :class:`Action` of an objective may have sub-actions (a tree); a parent's progress is
  the weighted mean of its children's (``amniyat.plans.progress``).

Money is django-money's: a ``MoneyField`` (a decimal with two places, never a float, beside its
ISO 4217 currency), in the currencies the programmes spend (``settings.CURRENCIES``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from djmoney.models.fields import MoneyField
from djmoney.models.validators import MinMoneyValidator

from amniyat.core.fields import EncryptedTextField
from amniyat.core.i18n import Translatable


class Side(models.TextChoices):
    COMMUNITY = "community", _("community side")
    AUTHORITY = "authority", _("authority side")


class Currency(models.TextChoices):
    TJS = "TJS", _("Tajik somoni (TJS)")
    UZS = "UZS", _("Uzbek soʻm (UZS)")
    USD = "USD", _("US dollar (USD)")


class ActionPlan(Translatable):
    """A joint plan of a community group (or of a place, at platform level) answering the
    priorities the group agreed."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        AGREED = "agreed", pgettext_lazy("plan status", "agreed")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        CLOSED = "closed", _("closed early")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="action_plans",
    )
    group = models.ForeignKey(
        "communities.CommunityGroup",
        verbose_name=_("community group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_plans",
    )
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_plans",
    )
    priority_list = models.ForeignKey(
        "drivers.PriorityList",
        verbose_name=_("priorities it answers"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_plans",
    )
    title = models.CharField(_("title"), max_length=200)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    closed_reason = models.TextField(_("why it was closed early"), blank=True)
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
    # Published: the programme's viewers (donors, authorities) read its public page
    # (``plans.accountability_views.plan_public``); None while it is not.
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "plan.edit"

    class Meta:
        verbose_name = _("action plan")
        verbose_name_plural = _("action plans")
        ordering = ["programme", "-period_start", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False) | Q(place__isnull=False),
                name="plan_of_group_or_place",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="plan_period_in_order",
                violation_error_message=_("The period cannot end before it starts."),
            ),
        ]

    def translation_parts(self) -> list[Translatable]:
        parts: list[Translatable] = list(self.objectives.all())
        parts += list(Action.objects.filter(objective__plan=self).order_by("pk"))
        return parts


class Signatory(models.Model):
    """One endorsement of a plan: the community group itself, or an authority or service that
    commits to it, with the date and the endorsing person's role (never their name)."""

    class Kind(models.TextChoices):
        GROUP = "group", _("the community group")
        LOCAL_COMMITTEE = "local_committee", _("jamoat or mahalla committee")
        DISTRICT = "district", _("district administration (hukumat / hokimiyat)")
        POLICE = "police", _("police")
        SCHOOL = "school", _("school")
        HEALTH = "health", _("health centre")
        CSO = "cso", _("civil society organisation")
        OTHER = "other", _("other")

    # The authorities and services whose endorsement, with the group's, makes a plan agreed.
    AUTHORITY_KINDS = frozenset(
        {Kind.LOCAL_COMMITTEE, Kind.DISTRICT, Kind.POLICE, Kind.SCHOOL, Kind.HEALTH}
    )

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="signatories")
    kind = models.CharField(_("who endorses"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role of the person who endorsed it"), max_length=200)
    endorsed_on = models.DateField(_("endorsed on"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("endorsement")
        verbose_name_plural = _("endorsements")
        ordering = ["plan", "endorsed_on", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_authority(self) -> bool:
        return self.kind in self.AUTHORITY_KINDS


class Objective(Translatable):
    """What the plan means to change about one agreed priority, with the factors of the
    driver map that priority names."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="objectives")
    priority = models.ForeignKey(
        "drivers.Priority",
        verbose_name=_("priority"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="objectives",
    )
    title = models.CharField(_("objective"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    factors = models.ManyToManyField(
        "drivers.Factor", blank=True, related_name="objectives", verbose_name=_("factors")
    )

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "plan.edit"
    TRANSLATED_ON_PAGE_OF = "ActionPlan"

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["plan", "position", "pk"]

    def translation_subject(self, programme: Any) -> Any | None:
        return self.plan.translation_subject(programme)


class Action(Translatable):
    """One thing someone commits to do for an objective; it may be split into sub-actions."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("not started")
        ON_TRACK = "on_track", _("on track")
        DELAYED = "delayed", _("delayed")
        DONE = "done", _("done")
        DROPPED = "dropped", _("dropped")

    class Funding(models.TextChoices):
        OWN = "own", _("own resources")
        AUTHORITY = "authority", _("authority budget")
        SMALL_GRANT = "small_grant", _("small grant")
        DONOR = "donor", _("other donor")

    class Beneficiary(models.TextChoices):
        WOMEN = "women", _("women")
        MEN = "men", _("men")
        GIRLS = "girls", _("girls")
        BOYS = "boys", _("boys")
        YOUTH = "youth", _("young people")
        MINORITIES = "minorities", _("minorities")
        RETURNEES = "returnees", _("returning migrants")

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="actions")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
    )
    title = models.CharField(_("what will be done"), max_length=200)
    factors = models.ManyToManyField(
        "drivers.Factor", blank=True, related_name="actions", verbose_name=_("factors addressed")
    )
    priorities = models.ManyToManyField(
        "drivers.Priority",
        blank=True,
        related_name="actions",
        verbose_name=_("priorities addressed"),
    )
    lead_actor = models.CharField(_("lead actor"), max_length=200)
    lead_side = models.CharField(_("lead actor's side"), max_length=10, choices=Side.choices)
    # [{"name": …, "side": "community" | "authority"}, …], in the order given.
    supporting_actors = models.JSONField(_("supporting actors"), default=list, blank=True)
    start_on = models.DateField(_("starts on"))
    due_on = models.DateField(_("due on"))
    # django-money ships no type hints.
    cost = MoneyField(  # type: ignore[no-untyped-call]
        _("cost estimate"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        default_currency=None,
        currency_choices=Currency.choices,
        validators=[MinMoneyValidator(0)],
    )
    funding = models.CharField(
        _("funding source"), max_length=12, choices=Funding.choices, default=Funding.OWN
    )
    expected_result = models.TextField(_("expected result"), blank=True)
    beneficiaries = models.JSONField(_("who benefits"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NOT_STARTED
    )
    status_reason = models.TextField(_("why it was dropped"), blank=True)
    # The day its status became done (the service sets it; None for an action not done, or
    # done before the date was kept): "done on time" is done_on <= due_on.
    done_on = models.DateField(_("done on"), null=True, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Declared: django-money makes the default manager's class at run time (to read and write
    # money in queries), a class the type checker cannot find.
    objects: ClassVar[models.Manager[Action]] = models.Manager()

    TRANSLATED = ("title",)
    TRANSLATE_VERB = "plan.edit"
    TRANSLATED_ON_PAGE_OF = "ActionPlan"

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["objective", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=F("start_on")),
                name="action_due_after_start",
                violation_error_message=_("An action cannot be due before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="action_progress_0_100"
            ),
            models.CheckConstraint(condition=Q(weight__gte=1), name="action_weight_positive"),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost_currency__isnull=False),
                name="action_cost_has_currency",
                violation_error_message=_("Give the currency of the cost estimate."),
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="action_not_its_own_part"),
        ]

    def translation_subject(self, programme: Any) -> Any | None:
        return self.objective.plan.translation_subject(programme)


# Consultations ----------------------------------------------------------------------------


class Consultation(Translatable):
    """One meeting where an authority consulted the community on security: when, at which
    level, who came (counted by side and sex, named by organisation and role, never by
    person), the issues raised, what was committed, and whether the community's concerns
    were reflected. A community group's consultations are read as its plans are; those of a
    place or of the whole programme by its leads and analysts."""

    class Level(models.TextChoices):
        LOCAL = "local", _("local (jamoat, mahalla)")
        DISTRICT = "district", pgettext_lazy("consultation level", "district")
        REGIONAL = "regional", pgettext_lazy("consultation level", "regional")
        NATIONAL = "national", pgettext_lazy("consultation level", "national")

    class Reflected(models.TextChoices):
        YES = "yes", pgettext_lazy("concerns reflected", "yes")
        PARTLY = "partly", pgettext_lazy("concerns reflected", "partly")
        NO = "no", pgettext_lazy("concerns reflected", "no")

    programme = models.ForeignKey(
        "accounts.Programme",
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="consultations",
    )
    group = models.ForeignKey(
        "communities.CommunityGroup",
        verbose_name=_("community group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations",
    )
    place = models.ForeignKey(
        "places.Place",
        verbose_name=_("place"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultations",
    )
    held_on = models.DateField(_("held on"))
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    community_women = models.PositiveIntegerField(_("women of the community"), default=0)
    community_men = models.PositiveIntegerField(_("men of the community"), default=0)
    authority_women = models.PositiveIntegerField(_("women of the authorities"), default=0)
    authority_men = models.PositiveIntegerField(_("men of the authorities"), default=0)
    # [{"organisation": …, "role": …, "side": "community" | "authority"}, …], in the order given.
    attendees = models.JSONField(_("who attended"), default=list, blank=True)
    factors = models.ManyToManyField(
        "drivers.Factor", blank=True, related_name="consultations", verbose_name=_("factors raised")
    )
    priorities = models.ManyToManyField(
        "drivers.Priority",
        blank=True,
        related_name="consultations",
        verbose_name=_("priorities raised"),
    )
    issues_note = EncryptedTextField(_("issues raised, in words"), blank=True)
    reflected = models.CharField(
        _("community concerns reflected"), max_length=8, choices=Reflected.choices, blank=True
    )
    reflected_note = EncryptedTextField(_("how they were reflected"), blank=True)
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

    TRANSLATED = ("title", "summary")
    TRANSLATE_VERB = "consultation.edit"

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["programme", "-held_on", "-pk"]
        indexes = [
            models.Index(fields=["programme", "-held_on", "-id"], name="consultation_by_date"),
        ]


class Commitment(models.Model):
    """Something one side committed to at a consultation; it may become an action of a plan
    of the same group (:func:`amniyat.plans.consultations.commitment_to_action`)."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="commitments"
    )
    what = models.CharField(_("what was committed"), max_length=200)
    made_by = models.CharField(_("who committed"), max_length=200)
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    due_on = models.DateField(_("by when"), null=True, blank=True)
    action = models.ForeignKey(
        Action,
        verbose_name=_("action it became"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commitments",
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["consultation", "position", "pk"]

    def __str__(self) -> str:
        return self.what


class ReminderSent(models.Model):
    """One reminder e-mailed about one action to one person (``plans.reminders``): kept so
    that the daily run sends each reminder once, however often it runs. The due date is part
    of it: an action given a new due date is reminded of again."""

    class Kind(models.TextChoices):
        WEEK_BEFORE = "week_before", _("due in a week")
        MISSED = "missed", _("missed")
        AUTHORITY_MISSED = "authority_missed", _("authority commitment missed")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="reminders")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    due_on = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(
                fields=["action", "recipient", "kind", "due_on"], name="reminder_sent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.action_id} {self.due_on}"


# Progress updates, their evidence, and disputes (#16, point 3) ------------------------------


class ActionUpdate(models.Model):
    """A dated report on an action by those responsible: what happened (free text, encrypted
    at rest), the status and progress it now has, and who took part, counted by sex and age
    band. A programme lead or analyst verifies it."""

    class Reporter(models.TextChoices):
        TEAM = "team", _("the programme's team")
        GROUP = "group", _("the community group")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    reported_on = models.DateField(_("date of the update"))
    text = EncryptedTextField(_("what happened"))
    status = models.CharField(_("status"), max_length=12, choices=Action.Status.choices)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), validators=[MaxValueValidator(100)]
    )
    # {"female": {"18_24": 3, …}, "male": {…}}: non-negative counts by sex and age band
    # (communities.Sex, communities.AgeBand), the empty cells left out.
    participants = models.JSONField(_("participants"), default=dict, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Which side reported it, shown instead of a name.
    reported_as = models.CharField(
        _("reported by"), max_length=8, choices=Reporter.choices, default=Reporter.TEAM
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        ordering = ["action", "-reported_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="update_progress_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Update {self.pk}"

    @property
    def participant_total(self) -> int:
        return sum(int(n) for cells in (self.participants or {}).values() for n in cells.values())


class Evidence(models.Model):
    """A file that backs a progress update: a photo (stripped of its metadata, EXIF and GPS
    among them, before it is stored), a document, the minutes of a meeting. Stored encrypted
    (``amniyat.core.encrypted_files``); shown beyond the programme's team only if marked
    publishable."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("photo")
        DOCUMENT = "document", _("document")
        MINUTES = "minutes", _("meeting minutes")

    update = models.ForeignKey(ActionUpdate, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # Encrypted at rest; the checksum is of the clear file. The name a person gave the file is
    # not kept (it may name people).
    file = models.FileField(upload_to="plans/evidence/%Y/%m/")
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=8)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    publishable = models.BooleanField(_("may be shown beyond the team"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["update", "pk"]

    def __str__(self) -> str:
        return f"Evidence {self.pk}"


class Dispute(models.Model):
    """The community (or its facilitator) says a reported status does not hold: "the police
    say done; the group says not done". It shows beside the action until a lead resolves it."""

    class Raiser(models.TextChoices):
        GROUP = "group", _("the community group")
        FACILITATOR = "facilitator", _("the facilitator")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="disputes")
    update = models.ForeignKey(
        ActionUpdate,
        verbose_name=_("update disputed"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="disputes",
    )
    reported_status = models.CharField(
        _("status reported"), max_length=12, choices=Action.Status.choices
    )
    claimed_status = models.CharField(
        _("status that holds, they say"), max_length=12, choices=Action.Status.choices
    )
    text = EncryptedTextField(_("why"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_as = models.CharField(_("raised by"), max_length=12, choices=Raiser.choices)
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    resolution = EncryptedTextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["action", "-raised_at", "-pk"]
        indexes = [models.Index(fields=["action", "resolved_at"], name="dispute_open_idx")]

    def __str__(self) -> str:
        return f"Dispute {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
