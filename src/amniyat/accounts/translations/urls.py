"""One translation page per kind of translatable content, made from the models themselves: a
model that inherits Translatable (and names who may translate it) gets its page without an
edit here. Parts (a map's factors, a list's concerns) are translated on their whole's page."""

from django.apps import apps
from django.urls import URLPattern, path

from amniyat.accounts.translations import views
from amniyat.accounts.translations.selectors import translatable_kind
from amniyat.core.i18n import Translatable


def _patterns() -> list[URLPattern]:
    patterns = []
    for model in apps.get_models():
        if not issubclass(model, Translatable) or not model.TRANSLATE_VERB:
            continue
        if model.TRANSLATED_ON_PAGE_OF:
            continue
        kind = translatable_kind(model)
        name = f"translate_{model._meta.model_name}"
        if model._meta.label == "accounts.Programme":
            route = "p/<slug:slug>/translate/"
        else:
            route = f"p/<slug:slug>/translate/{kind}/<int:pk>/"
        patterns.append(path(route, views.translate, {"kind": kind}, name=name))
    return patterns


urlpatterns = _patterns()
