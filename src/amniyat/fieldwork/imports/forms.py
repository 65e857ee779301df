"""The form of the import page: a file of submissions, its format and how to treat bad rows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.fieldwork.imports import limits
from amniyat.fieldwork.imports.sources import FORMATS, format_label


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
