"""Forms of the prioritisation matrix: a list, a scored concern and the group's agreement.

Choices offered are the programme's; the services check whatever is posted, so a hand-made
post naming another programme's survey or code gets a clear message rather than a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.communities.models import Sector
from amniyat.drivers.models import AffectedGroup, Code, DriverMap
from amniyat.fieldwork.models import Assessment

SCORE_CHOICES = [
    (1, _("1 — very low")),
    (2, _("2 — low")),
    (3, _("3 — medium")),
    (4, _("4 — high")),
    (5, _("5 — very high")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _score_field(label: Any, help_text: Any = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=SCORE_CHOICES, coerce=int, initial=3, help_text=help_text
    )


class PriorityListForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    assessment = forms.ModelChoiceField(
        label=_("Survey the figures come from"),
        queryset=Assessment.objects.all(),
        required=False,
        help_text=_(
            "Concerns whose code links to a survey indicator take “how many are affected” "
            "from this survey's published findings."
        ),
    )
    driver_map = forms.ModelChoiceField(
        label=_("Start from a driver map"),
        queryset=DriverMap.objects.none(),
        required=False,
        help_text=_("Optional: the map's security concerns are added for the group to score."),
    )

    def __init__(
        self,
        *args: Any,
        assessments: Any,
        driver_maps: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        assessment_field: Any = self.fields["assessment"]
        assessment_field.widget.choices = [("", "---------")] + [
            (a.pk, str(a)) for a in assessments
        ]
        if driver_maps is None:
            del self.fields["driver_map"]
        else:
            map_field: Any = self.fields["driver_map"]
            map_field.queryset = driver_maps


class PriorityForm(forms.Form):
    concern = forms.CharField(
        label=_("Concern"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the code's name."),
    )
    code = forms.ModelChoiceField(label=_("Code"), queryset=Code.objects.all(), required=False)
    severity = _score_field(_("Severity"), _("How serious the harm is."))
    affected = _score_field(
        _("How many are affected"),
        _("Filled from the survey where the code links to an indicator with a published figure."),
    )
    most_affected = forms.MultipleChoiceField(
        label=_("Most affected"),
        choices=AffectedGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    urgency = _score_field(_("Urgency"), _("How soon something must be done."))
    changeable = _score_field(
        _("What the group can change"), _("How much the group itself can do about it.")
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = [
        "concern",
        "code",
        "severity",
        "affected",
        "most_affected",
        "urgency",
        "changeable",
        "note",
    ]

    def __init__(self, *args: Any, codes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        code_field: Any = self.fields["code"]
        code_field.widget.choices = [("", "---------")] + [
            (c.pk, f"{c.parent.name} › {c.name}" if c.parent_id else c.name) for c in codes
        ]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not (cleaned.get("concern") or "").strip() and cleaned.get("code") is None:
            self.add_error("concern", _("Name the concern or choose its code."))
        return cleaned


class AgreeForm(forms.Form):
    agreed_on = forms.DateField(label=_("Agreed on"), widget=DateInput())
    participants = forms.IntegerField(label=_("Participants"), min_value=1, max_value=10000)
    women = forms.IntegerField(label=_("Women"), min_value=0, max_value=10000, initial=0)
    men = forms.IntegerField(label=_("Men"), min_value=0, max_value=10000, initial=0)
    sectors = forms.MultipleChoiceField(
        label=_("Sectors represented"),
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    took_part = forms.CharField(
        label=_("Who took part"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Roles and organisations, not names: for example “mahalla chair, two teachers, "
            "district police inspector”."
        ),
    )
