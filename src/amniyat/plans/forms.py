"""The forms of the action plan pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from amniyat.plans.models import Action, ActionPlan, Currency, Side, Signatory

# A date field's value in the ISO form a browser's date picker reads, whatever the language.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NamedChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Factors and priorities named as they read in the reader's language (a factor or a
    concern linked to a code reads as the code's name)."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class FactorChoices(NamedChoices):
    """Factors with the map each is on: two maps may name a factor alike."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} ({obj.map})"


class NamedChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    period_start = forms.DateField(label=_("Period from"), widget=DATE)
    period_end = forms.DateField(label=_("Period to"), widget=DATE)
    priorities = NamedChoices(
        label=_("Priorities the plan answers"),
        queryset=None,
        help_text=_("Each becomes an objective of the plan, with the factors it names."),
    )

    def __init__(self, *args: Any, priorities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["priorities"]
        field.queryset = priorities

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            raise ValidationError({"period_end": _("The period cannot end before it starts.")})
        return data


class SignatoryForm(forms.Form):
    kind = forms.ChoiceField(label=_("Who endorses"), choices=Signatory.Kind.choices)
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("The group, office or service, e.g. “Vakhsh district police”."),
    )
    role = forms.CharField(
        label=_("Role of the person who endorsed it"),
        max_length=200,
        help_text=_("Their position, not their name: e.g. “deputy head”."),
    )
    endorsed_on = forms.DateField(label=_("Endorsed on"), widget=DATE)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ActionPlan.Status.choices)
    reason = forms.CharField(
        label=_("Why it is closed early"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _actors(text: str, side: str) -> list[dict[str, str]]:
    return [{"name": line.strip(), "side": side} for line in text.splitlines() if line.strip()]


class ActionForm(forms.Form):
    objective = NamedChoice(label=_("Objective"), queryset=None)
    parent = NamedChoice(
        label=_("Part of"),
        queryset=None,
        required=False,
        empty_label=_("— none: an action of the objective —"),
    )
    title = forms.CharField(label=_("What will be done"), max_length=200)
    factors = FactorChoices(label=_("Factors it addresses"), queryset=None, required=False)
    priorities = NamedChoices(label=_("Priorities it addresses"), queryset=None, required=False)
    lead_actor = forms.CharField(label=_("Lead actor"), max_length=200)
    lead_side = forms.ChoiceField(label=_("Lead actor's side"), choices=Side.choices)
    supporting_community = forms.CharField(
        label=_("Supporting actors on the community side"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    supporting_authority = forms.CharField(
        label=_("Supporting actors on the authority side"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    start_on = forms.DateField(label=_("Starts on"), widget=DATE)
    due_on = forms.DateField(label=_("Due on"), widget=DATE)
    cost_amount = forms.DecimalField(
        label=_("Cost estimate"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    cost_currency = forms.ChoiceField(
        label=_("Currency"), required=False, choices=[("", "—"), *Currency.choices]
    )
    funding = forms.ChoiceField(label=_("Funding source"), choices=Action.Funding.choices)
    expected_result = forms.CharField(
        label=_("Expected result"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    beneficiaries = forms.MultipleChoiceField(
        label=_("Who benefits"),
        required=False,
        choices=Action.Beneficiary.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    status = forms.ChoiceField(label=_("Status"), choices=Action.Status.choices)
    status_reason = forms.CharField(
        label=_("Why it was dropped"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    progress = forms.IntegerField(label=_("Progress (%)"), initial=0)
    weight = forms.IntegerField(
        label=_("Weight"),
        initial=1,
        help_text=_("How much this action counts in its parent's progress (1 unless set)."),
    )

    def __init__(
        self,
        *args: Any,
        objectives: Any,
        parents: Any,
        factors: Any,
        priorities: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in (
            ("objective", objectives),
            ("parent", parents),
            ("factors", factors),
            ("priorities", priorities),
        ):
            field: Any = self.fields[name]
            field.queryset = queryset

    def service_values(self) -> dict[str, Any]:
        """The cleaned data as the services take it."""
        data = dict(self.cleaned_data)
        supporting = _actors(data.pop("supporting_community", ""), Side.COMMUNITY)
        supporting += _actors(data.pop("supporting_authority", ""), Side.AUTHORITY)
        data["supporting_actors"] = supporting
        amount, currency = data.pop("cost_amount", None), data.pop("cost_currency", "") or ""
        data["cost"] = Money(amount, currency) if amount is not None else None
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("cost_amount") is not None and not cleaned.get("cost_currency"):
            self.add_error("cost_currency", _("Give the currency of the cost estimate."))
        return cleaned

    @staticmethod
    def initial_of(action: Action) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(action, name)
            for name in (
                "title",
                "lead_actor",
                "lead_side",
                "start_on",
                "due_on",
                "funding",
                "expected_result",
                "beneficiaries",
                "status",
                "status_reason",
                "progress",
                "weight",
            )
        }
        if action.cost is not None:
            initial["cost_amount"] = action.cost.amount
            initial["cost_currency"] = str(action.cost.currency)
        initial["objective"] = action.objective_id
        initial["parent"] = action.parent_id
        initial["factors"] = [f.pk for f in action.factors.all()]  # the form offers readable ones
        initial["priorities"] = [p.pk for p in action.priorities.all()]
        for side, name in (
            (Side.COMMUNITY, "supporting_community"),
            (Side.AUTHORITY, "supporting_authority"),
        ):
            initial[name] = "\n".join(
                a["name"] for a in action.supporting_actors if a.get("side") == side
            )
        return initial
