from django import forms
from django.utils.translation import gettext_lazy as _


class IndicatorSetForm(forms.Form):
    spec = forms.CharField(
        label=_("Indicators (YAML)"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        max_length=200_000,
    )
    note = forms.CharField(label=_("What changed"), max_length=200, required=False)
