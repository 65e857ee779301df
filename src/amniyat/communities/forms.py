from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Organisation
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget, Sector
from amniyat.places.models import Place


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class CommunityGroupForm(forms.ModelForm):  # type: ignore[type-arg]
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

    def __init__(self, *args: Any, places: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices offered are the programme's; the service checks whatever is posted, so a
        # hand-made post naming another programme's place gets a clear message.
        place_field: Any = self.fields["place"]
        place_field.queryset = Place.objects.all()
        place_field.widget.choices = [("", "---------")] + [
            (p.pk, f"{p.parent.name} › {p.name}" if p.parent else p.name) for p in places
        ]
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
