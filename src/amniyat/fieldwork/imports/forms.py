"""HTML forms of the import and submission pages: upload a file, filter the table, export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from amniyat.fieldwork.importers import FORMATS, format_label, limits
from amniyat.fieldwork.models import FormVersion
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


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File of submissions"))
    file_format = forms.ChoiceField(label=_("Format"), initial="auto")
    skip_bad_rows = forms.BooleanField(
        label=_("Store the good rows and skip the bad ones"),
        required=False,
        help_text=_(
            "Without this, a file with any bad row stores nothing, and the report lists every "
            "reason."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["file_format"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(f, format_label(f)) for f in FORMATS]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        # A file of submissions has its own limit (AMNIYAT_MAX_IMPORT_BYTES), the API's too:
        # the XLSForm's 50 MB is far too small for a national survey.
        if upload.size > limits.max_import_bytes():
            raise forms.ValidationError(
                _("The file is too large ({size} MB; the limit is {limit} MB).").format(
                    size=upload.size // 2**20, limit=limits.max_import_bytes() // 2**20
                )
            )
        return upload


class SubmissionFilterForm(forms.Form):
    place = forms.ModelChoiceField(label=_("Place"), queryset=Place.objects.none(), required=False)
    submitted_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    submitted_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    version = forms.ModelChoiceField(
        label=_("Form version"), queryset=FormVersion.objects.none(), required=False
    )
    enumerator = forms.CharField(label=_("Enumerator"), required=False, max_length=120)

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
