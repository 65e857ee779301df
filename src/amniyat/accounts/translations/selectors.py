"""Which translatable object a person may translate: the one policy decides, through the verb
the object's model names (``Translatable.TRANSLATE_VERB``); anything else answers 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.http import Http404

from amniyat.accounts import policies
from amniyat.accounts.models import Programme
from amniyat.core.i18n import Translatable

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser


def translatable_kind(model: type[Translatable]) -> str:
    """The address form of a translatable model: ``drivers-drivermap``."""
    return f"{model._meta.app_label}-{model._meta.model_name}"


def translatable_model(kind: str) -> type[Translatable]:
    app_label, _, model_name = kind.partition("-")
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError) as error:
        raise Http404 from error
    if not issubclass(model, Translatable) or not model.TRANSLATE_VERB:
        raise Http404
    return model


def may_translate(*, user: AnyUser, programme: Programme, obj: Translatable) -> bool:
    subject = obj.translation_subject(programme)
    return subject is not None and policies.can(user, obj.TRANSLATE_VERB, subject)


def translatable_get(*, user: AnyUser, programme: Programme, kind: str, pk: int) -> Translatable:
    model = translatable_model(kind)
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None or not may_translate(user=user, programme=programme, obj=obj):
        raise Http404
    return obj
