"""A second factor before programme data: always for leads and analysts (unless a demo
switches the requirement off), and for anyone who has set one up."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, SimpleLazyObject, empty
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import policies
from amniyat.accounts.backends import confirmed_device_id, has_second_factor

# What a signed-in person may reach before the second factor.
_OPEN_PATHS = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/two-factor/",
    "/static/",
    "/i18n/",
    "/healthz",
)


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    # OTPMiddleware adds is_verified(); a user signed in during this request lacks it yet.
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    if has_second_factor(user):
        return True
    return settings.AMNIYAT_REQUIRE_2FA and policies.requires_two_factor(user)


def concrete_user(user: object) -> object:
    """The user behind Django's and django-otp's lazy wrappers (two of them, one inside the
    other). The permission policy reads the user hundreds of times on a list page, and each
    read through the wrappers cost two Python calls: ~11,000 calls, about 5 ms, on a page of
    100 members."""
    while isinstance(user, LazyObject):
        wrapper: Any = user
        if wrapper._wrapped is empty:
            wrapper._setup()
        user = wrapper._wrapped
    return user


class SecondFactorMiddleware(OTPMiddleware):  # type: ignore[misc]
    """django-otp's middleware (``request.user.otp_device``, ``is_verified()``), without
    reading the device on every request of someone verified: where the user was read with the
    id of their confirmed authenticator (``accounts.backends``) and the session names that
    device, they are verified by it, and the device itself is read only if something asks for
    it. Otherwise (another device, none, a user read by ``ModelBackend``) django-otp reads the
    session's device and checks it, as before."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        if user.is_authenticated:
            device_id = confirmed_device_id(user)
            named = request.session.get(DEVICE_ID_SESSION_KEY)
            if (
                device_id is not None
                and named
                and self._normalize_persistent_id(named)
                == f"{TOTPDevice.model_label()}/{device_id}"
            ):
                self._init_user_fields(user)
                user.otp_device = SimpleLazyObject(partial(TOTPDevice.objects.get, pk=device_id))
                return user
        return super()._verify_user_sync(request, user)


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(_OPEN_PATHS):
            return self.get_response(request)
        # A personal token is checked by the API itself; it was made after a full sign-in.
        # Any other Authorization header falls through to the session and its second factor.
        keyword = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0].lower()
        if request.path.startswith("/api/") and keyword in ("bearer", "token"):
            return self.get_response(request)
        if needs_second_factor(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("Complete two-factor sign-in first.")}, status=401)
            target = (
                "accounts:two_factor_verify"
                if has_second_factor(request.user)
                else "accounts:two_factor_setup"
            )
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        # Read by now (needs_second_factor asked whether it is signed in): from here on the
        # request carries the user itself.
        request.user = concrete_user(request.user)  # type: ignore[assignment]
        return self.get_response(request)
