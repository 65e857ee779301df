from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.places.models import Place


class CommunityForm(forms.Form):
    parent = forms.ModelChoiceField(label=_("District"), queryset=Place.objects.none())
    name_en = forms.CharField(label=_("Name (English)"), max_length=200)
    name_ru = forms.CharField(label=_("Name (Russian)"), max_length=200, required=False)
    name_tg = forms.CharField(label=_("Name (Tajik)"), max_length=200, required=False)
    name_uz = forms.CharField(label=_("Name (Uzbek)"), max_length=200, required=False)
    kind = forms.CharField(
        label=_("Kind"),
        max_length=40,
        required=False,
        help_text=_("For example: mahalla, jamoat, village."),
    )

    def __init__(self, *args: Any, districts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = districts  # type: ignore[attr-defined]


class PartnerAreaForm(forms.Form):
    places = forms.ModelMultipleChoiceField(
        label=_("Places it works in"),
        queryset=Place.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Its facilitators see the submissions from these places and everything inside "
            "them, and may add groups and communities there. Choosing a district includes "
            "its communities."
        ),
    )

    def __init__(self, *args: Any, places: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["places"]
        field.queryset = places
        field.label_from_instance = lambda place: (
            f"{place.parent.name} › {place.name}"
            if place.parent and place.level != Place.Level.REGION
            else place.name
        )
