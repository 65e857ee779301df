"""Forms of the codebook pages: a code, merging one code into another, and a .qdpx upload."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amniyat.drivers.models import Code, Language, Source
from amniyat.fieldwork.models import Assessment

INDENT = "\u2003"  # an em space per level of the tree in the parent list


def tree_choices(tree: Iterable[tuple[Code, int]], *, blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [(str(code.pk), f"{INDENT * depth}{code.name}") for code, depth in tree]


class CodeForm(forms.Form):
    name_en = forms.CharField(label=_("Name (English)"), max_length=200)
    name_ru = forms.CharField(label=_("Name (Russian)"), max_length=200, required=False)
    name_tg = forms.CharField(label=_("Name (Tajik)"), max_length=200, required=False)
    name_uz = forms.CharField(label=_("Name (Uzbek)"), max_length=200, required=False)
    description_en = forms.CharField(
        label=_("Description (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    description_ru = forms.CharField(
        label=_("Description (Russian)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    description_tg = forms.CharField(
        label=_("Description (Tajik)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    description_uz = forms.CharField(
        label=_("Description (Uzbek)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Code.Kind.choices)
    parent = forms.ChoiceField(label=_("Under"), required=False)
    key = forms.SlugField(
        label=_("Key"),
        max_length=80,
        required=False,
        help_text=_(
            "A short stable name for files and links; made from the English name if empty."
        ),
    )
    indicator_keys = forms.MultipleChoiceField(
        label=_("Survey indicators that count it"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        parents: Iterable[tuple[Code, int]],
        indicators: Mapping[str, str],
        code: Code | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        top = str(_("(top level)"))
        self.fields["parent"].choices = tree_choices(parents, blank=top)  # type: ignore[attr-defined]
        choices = dict(indicators)
        if code is not None:
            # A key linked before the indicator set changed stays visible, so it can be unticked.
            for key in code.indicator_keys:
                choices.setdefault(
                    key, str(_("{key} (not in the current indicators)")).format(key=key)
                )
            del self.fields["key"]
        self.fields["indicator_keys"].choices = list(choices.items())  # type: ignore[attr-defined]
        if not choices:
            self.fields["indicator_keys"].help_text = _(
                "This programme has no indicators yet; link codes once it has."
            )


class MergeForm(forms.Form):
    into = forms.ChoiceField(label=_("Merge into"))

    def __init__(self, *args: Any, targets: Iterable[tuple[Code, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].choices = tree_choices(targets, blank="—")  # type: ignore[attr-defined]


class QdpxImportForm(forms.Form):
    file = forms.FileField(
        label=_("REFI-QDA project (.qdpx)"),
        help_text=_("Exported from NVivo, ATLAS.ti, MAXQDA, QualCoder or Amniyat."),
    )
    assessment: forms.ModelChoiceField[Assessment] = forms.ModelChoiceField(
        label=_("Assessment"), queryset=Assessment.objects.none()
    )
    kind = forms.ChoiceField(
        label=_("The notes are from"),
        required=False,
        choices=[("", _("as the file says, otherwise interviews")), *Source.Kind.choices],
    )
    language = forms.ChoiceField(
        label=_("Language of the notes"),
        required=False,
        choices=[
            ("", _("as the file says, otherwise recognised from the text")),
            *Language.choices,
        ],
    )

    def __init__(self, *args: Any, assessments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assessment"].queryset = assessments  # type: ignore[attr-defined]
