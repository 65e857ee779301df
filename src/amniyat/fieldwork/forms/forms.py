"""HTML forms of the fieldwork 'forms' pages: assessments, XLSForm uploads, sensitivity."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.core.picker import Choices, offer
from amniyat.fieldwork.models import Assessment, FormVersion, Sensitivity
from amniyat.places.forms import places_field


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class AssessmentForm(forms.ModelForm):  # type: ignore[type-arg]
    places = places_field(label=_("Places"), required=False)

    class Meta:
        model = Assessment
        fields = [
            "title",
            "kind",
            "places",
            "starts_on",
            "ends_on",
            "weight_field",
            "strata_field",
            "cluster_field",
            "fpc_field",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
        }
        help_texts = {
            "weight_field": _("The form field holding each respondent's sampling weight."),
            "strata_field": _("The form field naming each respondent's stratum."),
            "cluster_field": _("The form field naming each respondent's cluster (PSU)."),
            "fpc_field": _("The form field holding the population size of the stratum."),
        }

    def __init__(self, *args: Any, places: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "places", places)

    def _post_clean(self) -> None:
        # Model validation and saving belong to the service.
        pass


class FormUploadForm(forms.Form):
    file = forms.FileField(
        label=_("XLSForm"),
        help_text=_(
            "A questionnaire in the XLSForm standard, saved as .xlsx, .xlsm, .xls or .csv. A form "
            "id that is already here adds a new version of that form."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.xls,.csv"}),
    )


UNSET = ""


def sensitivity_choices() -> list[tuple[str, Any]]:
    return [(UNSET, _("not decided")), *Sensitivity.choices]


def field_key(index: int) -> str:
    """The name of a field's select: by position, since paths hold slashes."""
    return f"s{index}"


class SensitivityForm(forms.Form):
    """One select per field of a form version. A post may carry only some of the fields
    (htmx sends the one that changed); those not sent keep their class."""

    def __init__(self, *args: Any, version: FormVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        self.paths: dict[str, str] = {}
        for index, item in enumerate(version.schema):
            key = field_key(index)
            self.paths[key] = item["path"]
            self.fields[key] = forms.ChoiceField(
                label=item["path"],
                choices=sensitivity_choices(),
                required=False,
                initial=version.sensitivity.get(item["path"], UNSET),
            )

    def classes(self) -> dict[str, str | None]:
        """The classes posted, by field path; ``None`` for "not decided"."""
        sent = set(self.data) if self.is_bound else set()
        return {
            self.paths[key]: (self.cleaned_data.get(key) or None)
            for key in self.paths
            if key in sent
        }
