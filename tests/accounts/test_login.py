"""Signing in: throttled after repeated failures, and a second factor for leads."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.utils import translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.core.qrcodes import qr_data_uri
from tests.factories import CommunityGroupFactory, UserFactory, member_of

Role = Membership.Role
PASSWORD = "correct horse battery"
LOCKED = "Too many failed sign-in attempts"
WRONG = "wrong"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


def _fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong"})


@pytest.mark.django_db
def test_the_account_locks_after_the_failure_limit_even_with_the_right_password() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    UserFactory(username="amina")
    client = Client()
    _fail(client, "amina", 4)
    response = client.post("/accounts/login/", {"username": "amina", "password": "wrong"})
    assert response.status_code == 429
    assert LOCKED in response.content.decode()

    response = client.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_IN).exists()


@pytest.mark.django_db
def test_fewer_failures_than_the_limit_still_let_the_right_password_in() -> None:
    UserFactory(username="amina")
    client = Client()
    _fail(client, "amina", 4)
    response = client.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_the_lockout_page_speaks_russian() -> None:
    UserFactory(username="amina")
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    _fail(client, "amina", 5)
    response = client.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert response.status_code == 429
    with translation.override("ru"):
        expected = translation.gettext(LOCKED)
    # Fails until the Russian catalogue is compiled (locale/ru/LC_MESSAGES/django.mo).
    assert expected != LOCKED, "the Russian catalogue has no translation of the lockout title"
    assert expected in response.content.decode()


@pytest.fixture
def programme_with_lead(db: None, settings: object) -> tuple[object, object, object]:
    settings.AMNIYAT_REQUIRE_2FA = True  # type: ignore[attr-defined]
    group = CommunityGroupFactory()
    programme = group.programme
    return programme, member_of(programme, Role.LEAD, username="lead"), group


def test_a_lead_must_set_up_a_second_factor_before_any_programme_page(
    programme_with_lead: tuple,
) -> None:
    programme, _lead, _group = programme_with_lead
    client = Client()
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/setup/")

    response = client.get(f"/p/{programme.slug}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/two-factor/setup/?next=%2Fp%2F{programme.slug}%2F"

    page = client.get(response["Location"])
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user__username="lead", confirmed=False)

    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    confirmed = client.post(response["Location"], {"token": code})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"/p/{programme.slug}/"
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.TWO_FACTOR_ENABLED).count() == 1


def test_the_set_up_page_shows_the_same_code_on_every_visit(programme_with_lead: tuple) -> None:
    _programme, lead, _group = programme_with_lead
    client = Client()
    client.force_login(lead)
    first, again = (client.get("/accounts/two-factor/setup/").content.decode() for _ in "12")
    device = TOTPDevice.objects.get(user=lead, confirmed=False)
    # Drawn with the mask kept from the first visit, it is the image segno draws from scratch.
    drawn = html.unescape(re.findall(r'<img[^>]* src="(data:[^"]+)"', again)[0])
    assert drawn == qr_data_uri(device.config_url, dark="#1d2433")
    assert re.findall(r'src="(data:[^"]+)"', first) == re.findall(r'src="(data:[^"]+)"', again)


def test_a_wrong_code_is_refused_with_a_message(programme_with_lead: tuple) -> None:
    programme, lead, _group = programme_with_lead
    client = Client()
    client.force_login(lead)
    wrong = client.post("/accounts/two-factor/setup/", {"token": "000000"})
    assert wrong.status_code == 200
    assert "That code is not right." in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=lead, confirmed=True).exists()
    assert client.get(f"/p/{programme.slug}/").status_code == 302


def test_a_lead_with_a_device_is_asked_for_a_code_at_sign_in(programme_with_lead: tuple) -> None:
    programme, lead, _group = programme_with_lead
    device = TOTPDevice.objects.create(user=lead, name="phone", confirmed=True)
    client = Client()
    response = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/two-factor/verify/")
    assert client.get(f"/p/{programme.slug}/").status_code == 302
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    verified = client.post("/accounts/two-factor/verify/", {"token": code})
    assert verified.status_code == 302
    assert client.get(f"/p/{programme.slug}/").status_code == 200


def test_a_viewer_is_not_forced_to_use_a_second_factor(programme_with_lead: tuple) -> None:
    programme, _lead, _group = programme_with_lead
    viewer = member_of(programme, Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/p/{programme.slug}/").status_code == 200


def test_an_unverified_lead_gets_401_from_the_api(programme_with_lead: tuple) -> None:
    _programme, lead, _group = programme_with_lead
    client = Client()
    client.force_login(lead)
    response = client.get("/api/v1/groups/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Complete two-factor sign-in first."}


@pytest.mark.parametrize("header", ["Basic Zm9vOmJhcg==", "Whatever", "Bearer"])
def test_an_unverified_lead_cannot_skip_the_second_factor_with_any_authorization_header(
    programme_with_lead: tuple, header: str
) -> None:
    """The middleware lets /api/ requests with an Authorization header through, trusting the
    token check; a header that is not a personal token falls back to the session."""
    _programme, lead, group = programme_with_lead
    client = Client()
    client.force_login(lead)
    response = client.get("/api/v1/groups/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert group.name not in response.content.decode()


# ----------------------------------------------------------------------------------------
# Lockout per user name and per address


def _attempt(username: str, password: str = WRONG, *, address: str, **extra: str) -> Any:
    return Client().post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


@pytest.mark.django_db
def test_one_user_name_is_locked_after_failures_from_six_addresses() -> None:
    """Guessing one person's password from many machines does not get more guesses."""
    UserFactory(username="amina")
    for i in range(4):
        assert _attempt("amina", address=f"10.0.0.{i}").status_code == 200
    assert _attempt("amina", address="10.0.0.4").status_code == 429

    response = _attempt("amina", PASSWORD, address="10.0.0.5")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    # Another person signing in from one of those addresses is not held up.
    UserFactory(username="bahrom")
    assert _attempt("bahrom", PASSWORD, address="10.0.0.1").status_code == 302


@pytest.mark.django_db
def test_one_address_is_locked_after_failures_on_many_user_names() -> None:
    """Trying a common password on every account from one address stops at the address
    limit, which is higher than a user name's: offices share addresses."""
    assert settings.AMNIYAT_ADDRESS_FAILURE_LIMIT == 20
    UserFactory(username="amina")
    for i in range(19):
        assert _attempt(f"guess{i}", address="10.9.9.9").status_code == 200
    assert _attempt("guess19", address="10.9.9.9").status_code == 429

    response = _attempt("amina", PASSWORD, address="10.9.9.9")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert _attempt("amina", PASSWORD, address="10.9.9.10").status_code == 302


@pytest.mark.django_db
def test_signing_in_to_ones_own_account_does_not_forgive_the_address() -> None:
    """A success forgives the failures on that user name only: otherwise an account holder
    could sign in between guesses at other accounts and never reach the address limit."""
    UserFactory(username="mallory")
    for i in range(19):
        _attempt(f"guess{i}", address="10.9.9.9")
    assert _attempt("mallory", PASSWORD, address="10.9.9.9").status_code == 302
    assert _attempt("guess19", address="10.9.9.9").status_code == 429


def _page(response: Any) -> str:
    """The page without what differs on every request (CSRF tokens)."""
    return re.sub(
        r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1-", response.content.decode()
    )


@pytest.mark.django_db
def test_the_lockout_says_the_same_for_an_existing_and_a_made_up_user_name() -> None:
    UserFactory(username="amina")
    for _ in range(5):
        _attempt("amina", address="10.1.0.1")
        _attempt("nobody-here", address="10.2.0.1")

    existing = _attempt("amina", PASSWORD, address="10.1.0.1")
    made_up = _attempt("nobody-here", PASSWORD, address="10.2.0.1")
    assert existing.status_code == made_up.status_code == 429
    assert _page(existing) == _page(made_up)
    assert "amina" not in _page(existing)
    # Scripts asking (X-Requested-With) get JSON: the name they sent back, nothing more.
    existing_json = _attempt(
        "amina", address="10.1.0.1", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()
    made_up_json = _attempt(
        "nobody-here", address="10.2.0.1", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()
    assert existing_json.pop("username") == "amina"
    assert made_up_json.pop("username") == "nobody-here"
    assert existing_json == made_up_json


@pytest.mark.django_db
def test_a_locked_user_name_unlocks_after_the_cool_off() -> None:
    assert settings.AXES_COOLOFF_TIME == 0.25  # hours
    UserFactory(username="amina")
    for i in range(5):
        _attempt("amina", address=f"10.0.0.{i}")

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=14))
    assert _attempt("amina", PASSWORD, address="10.0.0.9").status_code == 429

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=2))
    assert _attempt("amina", PASSWORD, address="10.0.0.9").status_code == 302


@pytest.mark.django_db
def test_views_get_the_signed_in_user_itself_not_its_lazy_wrappers() -> None:
    """Past the second-factor check, ``request.user`` is the user object, verified as
    django-otp marks it, not Django's and django-otp's lazy wrappers around it."""
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils.functional import LazyObject

    from amniyat.accounts.middleware import TwoFactorRequiredMiddleware

    user = UserFactory()
    client = Client()
    client.force_login(user)
    seen: list[Any] = []

    def view(request: Any) -> HttpResponse:
        seen.append(request.user)
        return HttpResponse("ok")

    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django_otp.middleware import OTPMiddleware

    chain = SessionMiddleware(
        AuthenticationMiddleware(OTPMiddleware(TwoFactorRequiredMiddleware(view)))
    )
    request = RequestFactory().get("/p/some-programme/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    chain(request)
    assert not isinstance(seen[0], LazyObject)
    assert seen[0].pk == user.pk
    assert seen[0].is_verified() is False
