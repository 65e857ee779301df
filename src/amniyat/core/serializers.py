"""Serializer fields the API's apps share."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from amniyat.core.i18n import CONTENT_LANGUAGES, LANGUAGE_NAMES, Translatable


@extend_schema_field(
    {
        "type": "object",
        "description": "Translations of the written text: {language: {field: text}}.",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
        "example": {"tg": {"name": "Гурӯҳи занони Ваҳдат"}},
    }
)
class TranslationsField(serializers.Field):  # type: ignore[type-arg]
    """The translations of a :class:`~amniyat.core.i18n.Translatable`, read-only: the written
    text stays in its own fields, and translating is done on the translation page."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, value: Translatable) -> dict[str, dict[str, str]]:
        return {
            language: texts
            for language in CONTENT_LANGUAGES
            if (
                texts := {
                    field: value.translation(field, language)
                    for field in value.TRANSLATED
                    if value.translation(field, language)
                }
            )
        }


def content_language_choices() -> list[tuple[str, Any]]:
    """The languages content is written in, as choices: the one enum of the schema
    (``ContentLanguageEnum``) for every field that holds one."""
    return [(code, LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES]
