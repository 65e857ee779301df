"""The forms of the consultation pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.communities.forms import group_field
from amniyat.core.picker import Choices, offer
from amniyat.places.forms import place_field
from amniyat.plans.consultation_selectors import ATTENDANCE
from amniyat.plans.forms import DATE, FactorChoices, NamedChoice, NamedChoices
from amniyat.plans.models import Consultation, Side

COUNT = forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"})


def _attendees(text: str, side: str) -> list[dict[str, str]]:
    """One attendee a line: "organisation — role" (or "organisation, role")."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for separator in ("—", " - ", ","):
            if separator in line:
                organisation, role = line.split(separator, 1)
                break
        else:
            organisation, role = line, ""
        rows.append({"organisation": organisation.strip(), "role": role.strip(), "side": side})
    return rows


class ConsultationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    held_on = forms.DateField(label=_("Held on"), widget=DATE)
    level = forms.ChoiceField(label=_("Level"), choices=Consultation.Level.choices)
    group = group_field(label=_("Community group"), required=False)
    place = place_field(label=_("Place"), required=False)
    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was discussed, as everyone who reads the consultation may read it."),
    )
    community_women = forms.IntegerField(label=_("Women"), initial=0, widget=COUNT)
    community_men = forms.IntegerField(label=_("Men"), initial=0, widget=COUNT)
    authority_women = forms.IntegerField(label=_("Women"), initial=0, widget=COUNT)
    authority_men = forms.IntegerField(label=_("Men"), initial=0, widget=COUNT)
    attendees_community = forms.CharField(
        label=_("Organisations attending on the community side"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line: organisation — role (e.g. “Women's council — chair”); no names."),
    )
    attendees_authority = forms.CharField(
        label=_("Organisations attending on the authority side"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line: organisation — role (e.g. “District police — deputy head”)."),
    )
    factors = FactorChoices(label=_("Factors raised"), queryset=None, required=False)
    priorities = NamedChoices(label=_("Priorities raised"), queryset=None, required=False)
    issues_note = forms.CharField(
        label=_("Issues raised, in words"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Stored encrypted; read by the programme's leads and analysts and by whoever "
            "may write this consultation."
        ),
    )
    reflected = forms.ChoiceField(
        label=_("Were the community's concerns reflected?"),
        required=False,
        choices=[("", _("— not yet known —")), *Consultation.Reflected.choices],
    )
    reflected_note = forms.CharField(
        label=_("How they were reflected, or not"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Stored encrypted, as the issues in words."),
    )

    ATTENDANCE_FIELDS = ATTENDANCE

    def __init__(
        self,
        *args: Any,
        groups: Choices,
        places: Choices,
        factors: Any,
        priorities: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "group", groups)
        offer(self, "place", places)
        for name, queryset in (("factors", factors), ("priorities", priorities)):
            field: Any = self.fields[name]
            field.queryset = queryset

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ATTENDANCE:
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, _("Count the people who came: a whole number from 0 up."))
        return cleaned

    def service_values(self) -> dict[str, Any]:
        """The cleaned data as the services take it."""
        data = dict(self.cleaned_data)
        attendees = _attendees(data.pop("attendees_community", ""), Side.COMMUNITY)
        attendees += _attendees(data.pop("attendees_authority", ""), Side.AUTHORITY)
        data["attendees"] = attendees
        data["factors"] = list(data["factors"])
        data["priorities"] = list(data["priorities"])
        return data

    @staticmethod
    def initial_of(consultation: Consultation) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(consultation, name)
            for name in (
                "title",
                "held_on",
                "level",
                "summary",
                *ATTENDANCE,
                "issues_note",
                "reflected",
                "reflected_note",
            )
        }
        initial["group"] = consultation.group_id
        initial["place"] = consultation.place_id
        initial["factors"] = [f.pk for f in consultation.factors.all()]
        initial["priorities"] = [p.pk for p in consultation.priorities.all()]
        for side, name in (
            (Side.COMMUNITY, "attendees_community"),
            (Side.AUTHORITY, "attendees_authority"),
        ):
            initial[name] = "\n".join(
                f"{a['organisation']} — {a['role']}" if a.get("role") else a["organisation"]
                for a in consultation.attendees
                if a.get("side") == side
            )
        return initial


class CommitmentForm(forms.Form):
    what = forms.CharField(label=_("What was committed"), max_length=200)
    made_by = forms.CharField(
        label=_("Who committed"),
        max_length=200,
        help_text=_("An organisation or a role, not a person: e.g. “District police”."),
    )
    side = forms.ChoiceField(label=_("Side"), choices=Side.choices)
    due_on = forms.DateField(label=_("By when"), required=False, widget=DATE)


class CommitmentActionForm(forms.Form):
    objective = NamedChoice(
        label=_("Objective of the plan"),
        queryset=None,
        help_text=_("Plans of the consultation's group that you may write and that are open."),
    )
    start_on = forms.DateField(label=_("Starts on"), widget=DATE)
    due_on = forms.DateField(label=_("Due on"), widget=DATE)

    def __init__(self, *args: Any, objectives: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["objective"]
        field.queryset = objectives
        field.label_from_instance = lambda o: f"{o.plan} › {o}"
