"""A second factor before programme data: always for leads and analysts (unless a demo
switches the requirement off), and for anyone who has set one up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import policies

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
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
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
            has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
            target = "accounts:two_factor_verify" if has_device else "accounts:two_factor_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        # Read by now (needs_second_factor asked whether it is signed in): from here on the
        # request carries the user itself.
        request.user = concrete_user(request.user)  # type: ignore[assignment]
        return self.get_response(request)
