"""Shared plumbing for the REST endpoints."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.request import Request

from amniyat.accounts.models import Programme
from amniyat.accounts.selectors import programme_get, programmes_of

M = TypeVar("M", bound=Model)


def programme_from(request: Request, value: Any) -> Programme:
    """The programme named by id or slug in a request, if the user may see it."""
    if isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit()):
        for programme in programmes_of(user=request.user):
            if programme.pk == int(value):
                return programme
    elif isinstance(value, str) and re.fullmatch(r"[-a-zA-Z0-9_]{1,60}", value):
        return programme_get(user=request.user, slug=value)
    raise Http404("No such programme.")


def narrowed_by_id(queryset: QuerySet[M], request: Request, param: str, field: str) -> QuerySet[M]:
    """``queryset`` narrowed to the object whose id the query parameter ``param`` gives
    (``?form=12`` → ``form_id=12``); a value that is not an id narrows nothing."""
    value = request.query_params.get(param, "")
    if value.isascii() and value.isdigit():
        return queryset.filter(**{field: int(value)})
    return queryset
