from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext_lazy as _

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.communities.forms import group_field
from amniyat.core.forms import TranslatedChoiceField, TranslatedChoiceIterator
from amniyat.core.picker import Choices, offer


class SignInForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("User name")
        # AuthenticationForm sets max_length after the field is built, without its validator.

        self.fields["password"].label = _("Password")

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if len(username) > 150:
            # No account has such a name: a failed sign-in like any other, recorded as one,
            # before it reaches the throttle's 255-character column.
            user_login_failed.send(
                sender=__name__, credentials={"username": username[:150]}, request=self.request
            )
            raise self.get_invalid_login_error()
        return super().clean()

    error_messages = {
        "invalid_login": _("The user name or password is not right. Both are case-sensitive."),
        "inactive": _("This account has been deactivated."),
    }


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        max_length=8,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PersonalTokenForm(forms.Form):
    name = forms.CharField(label=_("What is this token for?"), max_length=80)


class OrganisationForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Organisation
        fields = ["name", "short_name", "kind", "country", "women_led", "description"]


class MembershipForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    organisation = TranslatedChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none()
    )
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    community_group = group_field(label=_("Community group (for group members)"), required=False)
    can_view_personal_data = forms.BooleanField(label=_("May see members' names"), required=False)

    def __init__(self, *args: Any, programme: Programme, groups: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.programme = programme
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            pk__in=programme.taking_part_ids()
        )
        offer(self, "community_group", groups)

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("There is no active account with this user name."))
        return user


class MembershipChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    community_group = group_field(label=_("Community group"), required=False)

    class Meta:
        model = Membership
        fields = ["organisation", "role", "community_group", "can_view_personal_data"]

    def __init__(self, *args: Any, groups: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        programme = self.instance.programme
        # Named as str() names them, read as values.
        self.fields["organisation"].iterator = TranslatedChoiceIterator  # type: ignore[attr-defined]
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            pk__in=programme.taking_part_ids()
        )
        offer(self, "community_group", groups)
