"""Template helpers that ask the one policy; templates never look at roles themselves."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from amniyat.accounts import policies

register = template.Library()


@register.simple_tag
def may(user: Any, verb: str, obj: Any = None) -> bool:
    """``{% may user "assessment.view" programme as can_view %}``"""
    return policies.can(user, verb, obj)


@register.simple_tag(takes_context=True)
def translate_url(context: Any, obj: Any) -> str:
    """``{% translate_url group as url %}``: the address of ``obj``'s translation page, back
    to this page, if the reader may translate it within the page's programme; else ""."""
    from amniyat.accounts.translations.selectors import may_translate

    request = context.get("request")
    programme = context.get("programme")
    if request is None or programme is None or obj is None:
        return ""
    if not may_translate(user=request.user, programme=programme, obj=obj):
        return ""
    name = f"accounts:translate_{obj._meta.model_name}"
    url = reverse(name, args=[programme.slug] if obj == programme else [programme.slug, obj.pk])
    return f"{url}?{urlencode({'next': request.get_full_path()})}"
