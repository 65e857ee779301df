"""Content kept in all four languages, read in the language of the request."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

CONTENT_LANGUAGES = ("en", "ru", "tg", "uz")


class MultilingualName(models.Model):
    """A name in English, Russian, Tajik (Cyrillic) and Uzbek (Latin).

    ``name`` answers in the active language and falls back to English, then to any name given.
    """

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    name_tg = models.CharField(_("name (Tajik)"), max_length=200, blank=True)
    name_uz = models.CharField(_("name (Uzbek)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        language = (get_language() or "en").split("-")[0]
        preferred = getattr(self, f"name_{language}", "") if language in CONTENT_LANGUAGES else ""
        if preferred:
            return str(preferred)
        for code in CONTENT_LANGUAGES:
            value = getattr(self, f"name_{code}", "")
            if value:
                return str(value)
        return ""

    def translated(self, field: str = "name", language: str | None = None) -> Translated:
        """The name in ``language`` (the reader's by default), else the first one given,
        marked as a fallback."""
        language = language or reader_language()
        own = str(getattr(self, f"{field}_{language}", "") or "")
        if own:
            return Translated(own, language)
        for code in CONTENT_LANGUAGES:
            value = str(getattr(self, f"{field}_{code}", "") or "")
            if value:
                return Translated(value, code, fallback=True)
        return Translated("", language)

    def names(self) -> dict[str, str]:
        return {code: getattr(self, f"name_{code}") for code in CONTENT_LANGUAGES}


def reader_language() -> str:
    """The active language as a content language ("en" outside a request)."""
    language = (get_language() or "en").split("-")[0]
    return language if language in CONTENT_LANGUAGES else "en"


LANGUAGE_NAMES = {
    "en": _("English"),
    "ru": _("Russian"),
    "tg": _("Tajik"),
    "uz": _("Uzbek"),
}


def _digest(text: object) -> str:
    """A short fingerprint of a written text, to tell whether a translation was made from it."""
    return hashlib.sha256(str(text or "").encode()).hexdigest()[:12]


class UnicodeJSONEncoder(DjangoJSONEncoder):
    """JSON with letters as they are: Cyrillic and ʻ take two bytes, not six (``\u0430``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ensure_ascii"] = False
        super().__init__(*args, **kwargs)


class Translated(str):
    """A text as the reader gets it: in their language, or (``fallback``) in the language it
    was written in, which ``language`` names so the page can say so."""

    language: str
    fallback: bool

    def __new__(cls, text: str, language: str, fallback: bool = False) -> Translated:
        value = super().__new__(cls, text)
        value.language = language
        value.fallback = fallback
        return value


def translated_text(
    written: Any, content_language: str, translations: Any, field: str, language: str
) -> Translated:
    """What :meth:`Translatable.translated` gives of ``field`` in ``language``, from the
    row's values (its text as written, its language, its ``translations``), for lists that
    read values rather than model instances."""
    written = str(written or "")
    if language == content_language or not written:
        return Translated(written, content_language)
    text = _translation(translations, field, language)
    if text:
        return Translated(text, language)
    return Translated(written, content_language, fallback=True)


def _translation(translations: Any, field: str, language: str) -> str:
    entry = (translations or {}).get(language, {}).get(field)
    return str(entry.get("text") or "") if isinstance(entry, dict) else ""


class Translatable(models.Model):
    """Content that people name once and everyone reads: written in one language, translated
    into the others by anyone who may edit it, read in the reader's language.

    The written text stays in the model's own fields (``TRANSLATED`` names them), so ordering,
    uniqueness and search keep working on it; ``translations`` holds the other languages as
    ``{language: {field: {"text": …, "from": a digest of the text it was translated from}}}``
    (a digest, not the text: this column is read with every row). A translation whose
    ``from`` is no longer the field's text's is out of date: it is still
    shown, and the translation page flags it.

    Read with :meth:`translated` (plain text) or the ``tr`` template filter, which marks a
    fallback with its language.
    """

    TRANSLATED: ClassVar[tuple[str, ...]] = ()
    # Who may translate it: anyone the one policy lets do this to translation_subject().
    TRANSLATE_VERB: ClassVar[str] = ""
    # A part translated on its whole's page (a factor on its map's): the whole's model name.
    TRANSLATED_ON_PAGE_OF: ClassVar[str] = ""

    content_language = models.CharField(
        _("written in"),
        max_length=2,
        choices=[(code, LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES],
        default=reader_language,
    )
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        editable=False,
        encoder=UnicodeJSONEncoder,
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.translated(self.TRANSLATED[0])) if self.TRANSLATED else super().__str__()

    def translation_subject(self, programme: Any) -> Any | None:
        """The object ``TRANSLATE_VERB`` is asked of when this is translated within
        ``programme``; None when it does not belong to that programme."""
        return self if getattr(self, "programme_id", None) == programme.pk else None

    def translation_fields(self) -> tuple[str, ...]:
        """The fields a translator is asked for (all of ``TRANSLATED`` unless something else
        gives this one its translations)."""
        return self.TRANSLATED

    def translation_parts(self) -> list[Translatable]:
        """What is translated on the same page (a map's factors, a list's concerns)."""
        return []

    def translated(self, field: str, language: str | None = None) -> Translated:
        """``field`` in ``language`` (the reader's by default), else as written."""
        if field not in self.TRANSLATED:
            raise ValueError(f"{type(self).__name__}.{field} is not translatable")
        return translated_text(
            getattr(self, field),
            self.content_language,
            self.translations,
            field,
            language or reader_language(),
        )

    def translation(self, field: str, language: str) -> str:
        return _translation(self.translations, field, language)

    def translation_outdated(self, field: str, language: str) -> bool:
        entry = (self.translations or {}).get(language, {}).get(field)
        return isinstance(entry, dict) and entry.get("from") != _digest(getattr(self, field))

    def set_translation(self, field: str, language: str, text: str) -> None:
        """Record (or with an empty text, remove) one translation of the current text; the
        caller saves."""
        if field not in self.TRANSLATED or language not in CONTENT_LANGUAGES:
            raise ValueError(f"no translation of {type(self).__name__}.{field} into {language}")
        translations = dict(self.translations or {})
        fields = dict(translations.get(language, {}))
        text = text.strip()
        if text and language != self.content_language:
            fields[field] = {"text": text, "from": _digest(getattr(self, field))}
        else:
            fields.pop(field, None)
        if fields:
            translations[language] = fields
        else:
            translations.pop(language, None)
        self.translations = translations

    def translation_status(self, language: str) -> str:
        """ "written" (the language it was written in), "missing", "outdated" or "done"."""
        if language == self.content_language:
            return "written"
        fields = [field for field in self.translation_fields() if getattr(self, field)]
        if any(not self.translation(field, language) for field in fields):
            return "missing"
        if any(self.translation_outdated(field, language) for field in fields):
            return "outdated"
        return "done"
