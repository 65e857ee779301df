"""Content kept in all four languages, read in the language of the request."""

from __future__ import annotations

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

    def names(self) -> dict[str, str]:
        return {code: getattr(self, f"name_{code}") for code in CONTENT_LANGUAGES}
