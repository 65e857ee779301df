"""Helpers for every app's selectors."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

T = TypeVar("T", bound=Model)


def one_or_404(queryset: QuerySet[T], pk: int | str, what: str) -> T:
    """The object of this key among those the user may read, or 404. A key that is not a
    number is absent too, where ``get_object_or_404`` would fail with a ``ValueError``."""
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404(f"No such {what}.")
    return found
