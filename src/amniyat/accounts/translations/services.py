"""Saving translations: the written language and every translation of an object and its
parts, at once, audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from amniyat.accounts.models import Programme, User
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.i18n import CONTENT_LANGUAGES, Translatable


@transaction.atomic
def translations_save(
    *,
    obj: Translatable,
    programme: Programme,
    content_language: str,
    texts: Mapping[tuple[Translatable, str, str], str],
    acting_user: User,
    request: Any = None,
) -> int:
    """Record ``texts`` ((object, field, language) -> text; an empty text removes the
    translation) and the language ``obj`` was written in. Returns how many translations
    changed; each changed object is audited with the languages touched, never the texts."""
    if content_language not in CONTENT_LANGUAGES:
        raise ValueError(content_language)
    changed: dict[Translatable, set[str]] = {}
    if obj.content_language != content_language:
        obj.content_language = content_language
        changed.setdefault(obj, set())
    count = 0
    for (target, field, language), text in texts.items():
        before = target.translation(field, language)
        outdated = target.translation_outdated(field, language)
        target.set_translation(field, language, text)
        if target.translation(field, language) != before or (outdated and text.strip()):
            changed.setdefault(target, set()).add(language)
            count += 1
    for target, languages in changed.items():
        target.save(update_fields=["translations", "content_language"])
        audit_record(
            actor=acting_user,
            verb=AuditEvent.Verb.TRANSLATED,
            obj=target,
            programme=programme,
            request=request,
            details={
                "languages": sorted(languages),
                "written_in": target.content_language,
            },
        )
    return count
