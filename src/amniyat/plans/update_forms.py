"""The forms of progress updates, disputes and their resolution (plans/update_views.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from amniyat.communities.models import AgeBand, Sex
from amniyat.plans.forms import DATE
from amniyat.plans.models import Action, ActionUpdate, Evidence
from amniyat.plans.updates import MAX_TEXT, Upload

COUNT_ERROR = _("Give the number of participants as whole numbers from 0 up.")
# The columns of the participants' table: the form's field name for each sex.
SEX_FIELDS = ((Sex.FEMALE, "women"), (Sex.MALE, "men"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """None, one or more uploaded files, cleaned to a list."""

    def __init__(self, *args: Any, accept: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data]
        return [f for f in (single(item, initial) for item in items if item) if f]


def _count_field(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", "class": "count"}),
        error_messages={
            "invalid": COUNT_ERROR,
            "min_value": COUNT_ERROR,
            "max_value": COUNT_ERROR,
        },
    )


class UpdateForm(forms.Form):
    reported_on = forms.DateField(
        label=_("Date of the update"),
        widget=DATE,
        error_messages={
            "required": _("Give the date of the update."),
            "invalid": _("Give the date of the update."),
        },
    )
    text = forms.CharField(
        label=_("What happened"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Kept encrypted. Do not write the names of people who did not agree to it."),
        error_messages={"required": _("Say what happened.")},
    )
    status = forms.ChoiceField(
        label=_("Status now"),
        choices=Action.Status.choices,
        error_messages={"required": _("Choose a status."), "invalid_choice": _("Choose a status.")},
    )
    progress = forms.IntegerField(
        label=_("Progress now (%)"),
        error_messages={
            "required": _("Progress is a whole number from 0 to 100 %."),
            "invalid": _("Progress is a whole number from 0 to 100 %."),
        },
    )
    status_reason = forms.CharField(
        label=_("Why it was dropped"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photos = MultipleFileField(
        label=_("Photos"),
        accept="image/jpeg,image/png,image/webp",
        help_text=_(
            "JPEG, PNG or WebP. The place where a photo was taken, the phone and every other "
            "detail stored in the file are removed before it is kept."
        ),
    )
    documents = MultipleFileField(
        label=_("Documents"),
        accept=".pdf,.docx,.odt",
        help_text=_("PDF, Word or OpenDocument, as sent: remove an author's name from it first."),
    )
    minutes = MultipleFileField(
        label=_("Meeting minutes"),
        accept=".pdf,.docx,.odt",
    )
    publishable = forms.BooleanField(
        label=_("The photos and files may be shown beyond the programme's team"),
        required=False,
        help_text=_(
            "Only if everyone whose face or name they show agreed. Otherwise only the "
            "programme's team sees them."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for band, band_label in AgeBand.choices:
            for sex, prefix in SEX_FIELDS:
                self.fields[f"{prefix}_{band}"] = _count_field(f"{Sex(sex).label}, {band_label}")

    def participant_rows(self) -> list[tuple[str, list[Any]]]:
        """The participants' table: a row per age band, a field per sex."""
        return [
            (str(band_label), [self[f"{prefix}_{band}"] for _sex, prefix in SEX_FIELDS])
            for band, band_label in AgeBand.choices
        ]

    def report_fields(self) -> list[Any]:
        return [
            self[name] for name in ("reported_on", "text", "status", "progress", "status_reason")
        ]

    def file_fields(self) -> list[Any]:
        return [self[name] for name in ("photos", "documents", "minutes", "publishable")]

    def participants(self) -> dict[str, dict[str, int]]:
        data = self.cleaned_data
        return {
            str(sex): {str(band): data.get(f"{prefix}_{band}") or 0 for band in AgeBand.values}
            for sex, prefix in SEX_FIELDS
        }

    def uploads(self) -> list[Upload]:
        publishable = bool(self.cleaned_data.get("publishable"))
        out: list[Upload] = []
        for name, kind in (
            ("photos", Evidence.Kind.PHOTO),
            ("documents", Evidence.Kind.DOCUMENT),
            ("minutes", Evidence.Kind.MINUTES),
        ):
            for upload in self.cleaned_data.get(name) or []:
                out.append(Upload(kind=kind, content=upload.read(), publishable=publishable))
        return out


class DisputeForm(forms.Form):
    update = forms.ModelChoiceField(
        label=_("Update disputed"),
        queryset=ActionUpdate.objects.none(),
        required=False,
        empty_label=_("— the action's status as it stands —"),
        error_messages={"invalid_choice": _("Choose an update of this action.")},
    )
    claimed_status = forms.ChoiceField(
        label=_("The status that holds"),
        choices=Action.Status.choices,
        error_messages={
            "required": _("Choose the status that holds."),
            "invalid_choice": _("Choose the status that holds."),
        },
    )
    text = forms.CharField(
        label=_("Why the reported status does not hold"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Kept encrypted; shown to those who read the plan."),
        error_messages={"required": _("Say why the reported status does not hold.")},
    )

    def __init__(self, *args: Any, updates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["update"]
        field.queryset = updates
        field.label_from_instance = lambda u: _("{date}: {status}, {progress} %").format(
            date=u.reported_on.isoformat(), status=u.get_status_display(), progress=u.progress
        )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("How it was resolved"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say how the dispute was resolved.")},
    )
