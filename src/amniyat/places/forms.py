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
        # In the tree's order, each region followed by its districts and their communities.
        field.widget.choices = [
            (place.pk, label) for label, place in sorted(_tree_labels(places), key=_tree_key)
        ]


def _tree_labels(places: Any) -> list[tuple[str, Place]]:
    return [(" › ".join(p.name for p in _path(place)), place) for place in places]


def _path(place: Place) -> list[Place]:
    """The place and its ancestors below the country, from the top."""
    path = [place]
    while path[0].parent is not None and path[0].parent.level != Place.Level.COUNTRY:
        path.insert(0, path[0].parent)
    return path


def _tree_key(item: tuple[str, Place]) -> list[str]:
    return [p.name.casefold() for p in _path(item[1])]
