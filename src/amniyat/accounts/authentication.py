"""API authentication by personal token (``Authorization: Bearer amn_…``), and by the
browser's session with its CSRF check."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from amniyat.accounts.models import PersonalToken


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """A token acts as its owner, with exactly the owner's rights, and stops working the
    moment the owner is deactivated or the token is revoked or expires."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[Any, PersonalToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Malformed token.")) from error
        token = (
            PersonalToken.objects.select_related("user")
            .filter(digest=PersonalToken.digest_of(secret))
            .first()
        )
        if token is None or not token.is_active or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid, revoked or expired token."))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class CsrfFailed(exceptions.PermissionDenied):
    """A write by a signed-in browser without a valid CSRF token. The API answers it 403 with
    DRF's reason ("CSRF Failed: …"): the object exists or not regardless, so saying so hides
    nothing, and turning it into the 404 that a refused object gets would send a developer
    looking for the wrong fault."""


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, its CSRF refusal told apart from a policy's."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as refusal:
            raise CsrfFailed(refusal.detail) from refusal
