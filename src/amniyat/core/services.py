"""Helpers shared by every app's services."""

from __future__ import annotations

from typing import Any

from django.db import models


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
