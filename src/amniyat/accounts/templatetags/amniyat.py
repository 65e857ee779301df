"""Template helpers that ask the one policy; templates never look at roles themselves."""

from __future__ import annotations

from typing import Any

from django import template

from amniyat.accounts import policies

register = template.Library()


@register.simple_tag
def may(user: Any, verb: str, obj: Any = None) -> bool:
    """``{% may user "assessment.view" programme as can_view %}``"""
    return policies.can(user, verb, obj)
