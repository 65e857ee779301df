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
        paths = _paths(list(places))
        field.widget.choices = [
            (place.pk, " › ".join(p.name for p in path))
            for place, path in sorted(paths, key=lambda item: [p.name.casefold() for p in item[1]])
        ]


def _paths(places: list[Place]) -> list[tuple[Place, list[Place]]]:
    """Each place with its path from the top below the country, read from the places
    themselves (the choices hold every place above another but the country) rather than
    from one parent after another."""
    by_pk: dict[int | None, Place] = {place.pk: place for place in places}
    paths = []
    for place in places:
        path = [place]
        while (parent := by_pk.get(path[0].parent_id) or path[0].parent) is not None and (
            parent.level != Place.Level.COUNTRY
        ):
            path.insert(0, parent)
        paths.append((place, path))
    return paths
