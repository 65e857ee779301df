"""API errors: validation errors from services become 400 with field messages; what the
policy refuses becomes 404, as in the pages, except a failed CSRF check, which stays 403 with
its reason; nothing becomes a 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from amniyat.accounts.authentication import CsrfFailed


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, CsrfFailed):
        return drf_exception_handler(exc, context)
    if isinstance(exc, PermissionDenied):
        # Anything the policy refuses looks absent, as in the pages.
        exc = Http404()
    if isinstance(exc, exceptions.PermissionDenied) and context.get("request") is not None:
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)
