"""Forms of the collection-device pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Organisation
from amniyat.fieldwork.models import Assessment


class DeviceForm(forms.Form):
    label = forms.CharField(
        label=_("Who carries it"),
        max_length=120,
        required=False,
        help_text=_("A role or code, not a name: for example “enumerator 3, Vakhsh”."),
    )
    username = forms.CharField(
        label=_("User name"),
        max_length=60,
        required=False,
        help_text=_("Leave empty to get one made up for you."),
    )
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none()
    )
    assessments = forms.ModelMultipleChoiceField(
        label=_("Assessments"),
        queryset=Assessment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The device sees the open forms of these assessments only."),
    )

    def __init__(
        self,
        *args: Any,
        organisations: QuerySet[Organisation],
        assessments: QuerySet[Assessment],
        only_organisation: int | None = None,
        **kwargs: Any,
    ) -> None:
        """``only_organisation``: the id of the one organisation among ``organisations``, if
        there is one alone, chosen already."""
        super().__init__(*args, **kwargs)
        organisation_field: Any = self.fields["organisation"]
        organisation_field.queryset = organisations
        organisation_field.initial = only_organisation
        assessment_field: Any = self.fields["assessments"]
        assessment_field.queryset = assessments
