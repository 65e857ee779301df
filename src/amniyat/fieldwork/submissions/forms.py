"""HTML forms of the submissions pages: filter the table, choose an export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from amniyat.core.fields import keyed_hashes_for_lookup
from amniyat.core.picker import Choices, offer
from amniyat.fieldwork.models import FormVersion, Submission
from amniyat.places.forms import place_field

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
    place = place_field(label=_("Place"), required=False, none_label=_("all places"))
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
        places: Choices,
        versions: QuerySet[FormVersion],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "place", places)
        self.fields["version"].queryset = versions  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("submitted_from"), data.get("submitted_to")
        if start and end and end < start:
            self.add_error("submitted_to", _("The end comes before the start."))
        return data

    def as_filters(self) -> dict[str, Any]:
        """The valid filters as plain values that keep (in an export's record) and that
        :func:`~amniyat.fieldwork.submissions.selectors.submissions_filtered` applies: ids,
        ISO dates, the review state only when one was chosen ("" is "not reviewed"), and an
        enumerator only by the keyed hashes of the name, never the name itself."""
        data = self.cleaned_data
        filters: dict[str, Any] = {}
        if data.get("place"):
            filters["place"] = data["place"].pk
        if data.get("submitted_from"):
            filters["submitted_from"] = data["submitted_from"].isoformat()
        if data.get("submitted_to"):
            filters["submitted_to"] = data["submitted_to"].isoformat()
        if data.get("version"):
            filters["version"] = data["version"].pk
        if "review_state" in self.data and data.get("review_state") != "any":
            filters["review_state"] = data.get("review_state") or ""
        if data.get("enumerator"):
            filters["enumerator_hashes"] = keyed_hashes_for_lookup(data["enumerator"])
        return filters


class ExportForm(forms.Form):
    export_format = forms.ChoiceField(label=_("Format"), choices=EXPORT_CHOICES, initial="xlsx")
    language = forms.ChoiceField(label=_("Labels in"), choices=settings.LANGUAGES)
