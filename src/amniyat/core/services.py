"""Helpers shared by every app's services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext as _

from amniyat.accounts import policies


def require(user: Any, verb: str, obj: Any = None) -> None:
    """Raise ``PermissionDenied`` unless the policy allows ``verb`` on ``obj``."""
    if not policies.can(user, verb, obj):
        raise PermissionDenied(_("You may not do this."))


def changed_fields(instance: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    """Apply ``values`` to ``instance``; return {field: [old, new]} for what changed."""
    changes: dict[str, Any] = {}
    for name, value in values.items():
        old = getattr(instance, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(instance, name, value)
    return changes


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)
