from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Organisation
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget, Sector
from amniyat.communities.selectors import group_choices
from amniyat.core.picker import Choices, PickerChoiceField, offer
from amniyat.places.forms import place_field


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class CommunityGroupForm(forms.ModelForm):  # type: ignore[type-arg]
    place = place_field(
        label=_("Place"),
        invalid=_("Choose a district or community that this programme works in."),
    )

    class Meta:
        model = CommunityGroup
        fields = [
            "name",
            "kind",
            "place",
            "facilitating_organisation",
            "is_new",
            "established_on",
            "closed_on",
            "description",
        ]
        widgets = {
            "established_on": DateInput(),
            "closed_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, places: Choices, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The places a picker finds are those this user may put a group in; a post naming
        # another is refused with the field's message.
        offer(self, "place", places)
        organisation_field: Any = self.fields["facilitating_organisation"]
        organisation_field.queryset = Organisation.objects.all()
        organisation_field.widget.choices = [("", "---------")] + [
            (o.pk, str(o)) for o in organisations
        ]

    def _post_clean(self) -> None:
        # Model validation and saving belong to the service.
        pass


class GroupMemberForm(forms.ModelForm):  # type: ignore[type-arg]
    sectors = forms.MultipleChoiceField(
        label=_("Sectors"),
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = GroupMember
        fields = ["display_name", "sex", "age_band", "sectors", "joined_on", "left_on"]
        widgets = {"joined_on": DateInput(), "left_on": DateInput()}
        help_texts = {
            "display_name": _(
                "Optional. Record only what the member agrees to: a first name, initials or a "
                "role. Stored encrypted."
            )
        }

    def __init__(self, *args: Any, show_personal: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["display_name"] = forms.CharField(
            label=_("Display name"),
            max_length=120,
            required=False,
            help_text=self._meta.help_texts["display_name"],  # type: ignore[index]
        )
        if not show_personal:
            del self.fields["display_name"]

    def _post_clean(self) -> None:
        pass


class TargetForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RepresentationTarget
        fields = ["dimension", "sector", "min_share", "min_count"]

    def _post_clean(self) -> None:
        pass


def group_offer(*, user: Any, programme: Any) -> Choices:
    """The groups a group picker offers: those of the programme this user sees."""
    source = reverse("communities:pick", args=[programme.slug]) + "?"
    return Choices(group_choices(user=user, programme=programme), source)


def group_field(**kwargs: Any) -> PickerChoiceField:
    """A field choosing one community group with a picker (its groups given by ``offer``)."""
    kwargs.setdefault("invalid", _("Choose a community group of this programme."))
    return PickerChoiceField(**kwargs)
