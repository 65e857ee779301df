"""HTML forms of the submissions page: filter the table, choose an export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from amniyat.fieldwork.models import FormVersion, Submission
from amniyat.places.models import Place

EXPORT_CHOICES = [
    ("csv", _("CSV with labels")),
    ("xlsx", _("Excel workbook with labels")),
    ("kobo-csv", _("KoboToolbox CSV")),
    ("kobo-xlsx", _("KoboToolbox Excel workbook")),
    ("kobo-json", _("KoboToolbox JSON")),
    ("odk-csv", _("ODK Central CSV")),
    ("odk-zip", _("ODK Central zip (with repeats)")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class SubmissionFilterForm(forms.Form):
    place = forms.ModelChoiceField(label=_("Place"), queryset=Place.objects.none(), required=False)
    submitted_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    submitted_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    version = forms.ModelChoiceField(
        label=_("Form version"), queryset=FormVersion.objects.none(), required=False
    )
    enumerator = forms.CharField(label=_("Enumerator"), required=False, max_length=120)
    # "" is a state of its own (not reviewed); no choice at all is "any".
    review_state = forms.ChoiceField(
        label=_("Review"),
        choices=[("any", _("any")), *Submission.ReviewState.choices],
        initial="any",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        places: QuerySet[Place],
        versions: QuerySet[FormVersion],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places  # type: ignore[attr-defined]
        self.fields["version"].queryset = versions  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and end < start:
            self.add_error("submitted_to", _("The end comes before the start."))
        return data


class ExportForm(forms.Form):
    export_format = forms.ChoiceField(label=_("Format"), choices=EXPORT_CHOICES, initial="xlsx")
    language = forms.ChoiceField(label=_("Labels in"), choices=settings.LANGUAGES)
