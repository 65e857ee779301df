"""The translation form: for every translatable field of an object and its parts, one box per
language it was not written in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from amniyat.core.i18n import CONTENT_LANGUAGES, LANGUAGE_NAMES, Translatable


def field_name(obj: Translatable, field: str, language: str) -> str:
    return f"{obj._meta.model_name}-{obj.pk}-{field}-{language}"


class TranslationForm(forms.Form):
    content_language = forms.ChoiceField(
        label=_("Written in"),
        choices=[(code, LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES],
        help_text=_("The language of the text as it was entered; the others are translations."),
    )

    def __init__(self, *args: Any, obj: Translatable, parts: list[Translatable], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.obj = obj
        self.fields["content_language"].initial = obj.content_language
        self.entries: list[dict[str, Any]] = []
        for target in [obj, *parts]:
            for field in target.translation_fields():
                written = str(getattr(target, field) or "")
                if not written:
                    continue
                model_field = target._meta.get_field(field)
                long_text = isinstance(model_field, models.TextField)
                boxes = []
                for language in CONTENT_LANGUAGES:
                    if language == target.content_language:
                        continue
                    name = field_name(target, field, language)
                    self.fields[name] = forms.CharField(
                        label=LANGUAGE_NAMES[language],
                        required=False,
                        max_length=getattr(model_field, "max_length", None),
                        initial=target.translation(field, language),
                        widget=forms.Textarea(attrs={"rows": 3, "lang": language})
                        if long_text
                        else forms.TextInput(attrs={"lang": language}),
                    )
                    boxes.append(
                        {
                            "field": self[name],
                            "language": language,
                            "outdated": bool(target.translation(field, language))
                            and target.translation_outdated(field, language),
                        }
                    )
                self.entries.append(
                    {
                        "object": target,
                        "field": field,
                        "label": getattr(model_field, "verbose_name", field),
                        "written": written,
                        "written_in": target.content_language,
                        "boxes": boxes,
                    }
                )

    def texts(self) -> dict[tuple[Translatable, str, str], str]:
        texts = {}
        for entry in self.entries:
            for box in entry["boxes"]:
                texts[(entry["object"], entry["field"], box["language"])] = self.cleaned_data.get(
                    box["field"].name, ""
                )
        return texts
