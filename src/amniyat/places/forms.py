from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from amniyat.core.picker import Choices, PickerChoiceField, PickerMultipleChoiceField, offer
from amniyat.places.selectors import place_choices, place_paths

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def place_offer(*, user: AnyUser, programme: Programme, within: str) -> Choices:
    """The places of the set ``within`` names (``places.selectors.PLACE_SCOPES``) for a
    place picker: the scoped queryset and its search endpoint."""
    source = reverse("places:pick", args=[programme.slug]) + "?" + urlencode({"within": within})
    return Choices(
        place_choices(user=user, programme=programme, within=within), source, browse=True
    )


def place_field(**kwargs: Any) -> PickerChoiceField:
    """A field choosing one place with a picker (its places given by :func:`offer`)."""
    kwargs.setdefault("invalid", _("Choose a place this programme works in."))
    return PickerChoiceField(describe=place_paths, **kwargs)


def places_field(**kwargs: Any) -> PickerMultipleChoiceField:
    """A field choosing several places with a picker."""
    kwargs.setdefault("invalid", _("Choose places that this programme works in."))
    return PickerMultipleChoiceField(describe=place_paths, **kwargs)


class CommunityForm(forms.Form):
    parent = place_field(label=_("District"))
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

    def __init__(self, *args: Any, districts: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "parent", districts)


class PartnerAreaForm(forms.Form):
    places = places_field(
        label=_("Places it works in"),
        required=False,
        help_text=_(
            "Its facilitators see the submissions from these places and everything inside "
            "them, and may add groups and communities there. Choosing a district includes "
            "its communities."
        ),
    )

    def __init__(self, *args: Any, places: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer(self, "places", places)
