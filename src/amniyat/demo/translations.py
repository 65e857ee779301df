"""The demo's content in all four languages: ``data/translations.yaml`` maps each text the
demo writes (in English) to its Russian, Tajik and Uzbek translations, and
:func:`translate_demo` gives every translatable object of the demo programmes the ones that
match its text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from django.apps import apps
from django.db.models import Q

from amniyat.accounts.models import Organisation, Programme
from amniyat.core.i18n import CONTENT_LANGUAGES, Translatable

TRANSLATIONS = Path(__file__).parent / "data" / "translations.yaml"
WRITTEN_IN = "en"

# How each translatable model reaches its programme, for the demo's own objects.
_PROGRAMME_PATH = {
    "Programme": "pk",
    "CommunityGroup": "programme",
    "Assessment": "programme",
    "Source": "programme",
    "DriverMap": "programme",
    "Factor": "map__programme",
    "PriorityList": "group__programme",
    "Priority": "priority_list__group__programme",
    "ActionPlan": "programme",
    "Objective": "plan__programme",
    "Action": "objective__plan__programme",
    "Consultation": "programme",
}


@cache
def demo_translations() -> dict[str, dict[str, str]]:
    with TRANSLATIONS.open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle))


def translate_demo(programmes: list[Programme]) -> int:
    """Translate every text of ``programmes`` (and the organisations taking part) that the
    table knows; returns how many objects were translated."""
    table = demo_translations()
    ids = [programme.pk for programme in programmes]
    organisation_ids = set().union(*(programme.taking_part_ids() for programme in programmes))
    count = 0
    for model in apps.get_models():
        if not issubclass(model, Translatable):
            continue
        if model is Organisation:
            objects = model._default_manager.filter(pk__in=organisation_ids)
        elif model.__name__ in _PROGRAMME_PATH:
            objects = model._default_manager.filter(
                Q(**{f"{_PROGRAMME_PATH[model.__name__]}__in": ids})
            )
        else:
            continue
        for obj in objects:
            obj.content_language = WRITTEN_IN
            for field in model.TRANSLATED:
                entry = table.get(str(getattr(obj, field) or ""))
                for language in CONTENT_LANGUAGES:
                    if entry and language != WRITTEN_IN and entry.get(language):
                        obj.set_translation(field, language, entry[language])
            obj.save(update_fields=["content_language", "translations"])
            count += 1
    return count
