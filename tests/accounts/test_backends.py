"""The signed-in person of each request, read in one query with their memberships and whether
they have a second factor; and everything that changes about them counts from the next
request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import policies
from amniyat.accounts.backends import BACKEND, SignedInUserBackend, has_second_factor
from amniyat.accounts.models import Membership, Programme, User
from tests.factories import ProgrammeFactory, UserFactory, member_of
from tests.queries import queries_of

Role = Membership.Role
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    settings.AMNIYAT_REQUIRE_2FA = False  # type: ignore[attr-defined]


def signed_in(role: str, *, backend: str = BACKEND) -> tuple[Programme, User, Client]:
    """A member of a new programme in ``role``, and a client signed in as them through
    ``backend``."""
    programme = ProgrammeFactory()
    user = member_of(programme, role)
    client = Client()
    client.force_login(user, backend=backend)
    return programme, user, client


def redirected_to(response: HttpResponse, path: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(path)


def test_the_user_comes_with_memberships_programmes_and_second_factor_in_one_query() -> None:
    first, second = ProgrammeFactory(), ProgrammeFactory()
    user = member_of(first, Role.FACILITATOR)
    Membership.objects.create(
        user=user, programme=second, organisation=second.lead_organisation, role=Role.VIEWER
    )
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    with CaptureQueriesContext(connection) as read:
        found = SignedInUserBackend().get_user(user.pk)
        assert found is not None
        assert found.pk == user.pk
        assert has_second_factor(found)
        assert policies.role_in(found, first) == Role.FACILITATOR
        assert policies.role_in(found, second) == Role.VIEWER
        named = {m.programme.slug: m.programme for m in policies.memberships(found).values()}
        assert named[first.slug].country.code == first.country.code
        assert {m.user for m in policies.memberships(found).values()} == {found}
    assert len(read.captured_queries) == 1


def test_a_user_without_memberships_is_read_with_their_second_factor() -> None:
    user = UserFactory()
    with CaptureQueriesContext(connection) as read:
        found = SignedInUserBackend().get_user(user.pk)
        assert found is not None
        assert not has_second_factor(found)
        assert policies.memberships(found) == {}
    assert len(read.captured_queries) == 2  # the memberships, none; then the user


def test_an_inactive_or_missing_user_is_nobody() -> None:
    user = member_of(ProgrammeFactory(), Role.LEAD)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert SignedInUserBackend().get_user(user.pk) is None
    assert SignedInUserBackend().get_user(user.pk + 1000) is None


def test_the_backend_checks_no_password() -> None:
    user = UserFactory()
    backend = SignedInUserBackend()
    assert backend.authenticate(None, username=user.username, password=PASSWORD) is None


def test_signing_in_names_the_backend_and_a_page_costs_the_session_and_the_user() -> None:
    programme = ProgrammeFactory()
    member_of(programme, Role.VIEWER, username="viewer")
    client = Client()
    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD})
    assert client.session["_auth_user_backend"] == BACKEND
    home = queries_of(client, "/")
    assert len(home) == 2, home  # the session; the user with memberships and programmes


def test_a_revoked_membership_counts_from_the_next_request() -> None:
    programme, user, client = signed_in(Role.VIEWER)
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    Membership.objects.filter(user=user).delete()
    assert client.get(f"/p/{programme.slug}/").status_code == 404
    assert programme.name not in client.get("/").content.decode()


def test_a_deactivated_user_is_signed_out_at_the_next_request() -> None:
    programme, user, client = signed_in(Role.VIEWER)
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert redirected_to(client.get(f"/p/{programme.slug}/"), "/accounts/login/")


def test_a_device_confirmed_elsewhere_asks_for_its_code_at_the_next_request() -> None:
    programme, user, client = signed_in(Role.VIEWER)
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert redirected_to(client.get(f"/p/{programme.slug}/"), "/accounts/two-factor/verify/")


def test_a_session_signed_in_through_model_backend_still_works() -> None:
    """Sessions from before this backend (and the admin's sign-in) read the user with Django's
    own backend, and the second factor and memberships with queries of their own."""
    programme, user, client = signed_in(
        Role.VIEWER, backend="django.contrib.auth.backends.ModelBackend"
    )
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert redirected_to(client.get(f"/p/{programme.slug}/"), "/accounts/two-factor/verify/")


def _verified(client: Client, device: TOTPDevice) -> None:
    """The session as django-otp leaves it once ``device`` has verified its user."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_someone_verified_costs_no_query_for_their_device(settings: object) -> None:
    settings.AMNIYAT_REQUIRE_2FA = True  # type: ignore[attr-defined]
    _, lead, client = signed_in(Role.LEAD)
    device = TOTPDevice.objects.create(user=lead, name="phone", confirmed=True)
    assert client.get("/").status_code == 302  # not verified yet
    _verified(client, device)
    home = queries_of(client, "/")
    assert len(home) == 2, home
    assert "otp_totp" in home[1]  # the device's id came with the user


def test_a_device_removed_or_unconfirmed_no_longer_verifies(settings: object) -> None:
    settings.AMNIYAT_REQUIRE_2FA = True  # type: ignore[attr-defined]
    programme, lead, client = signed_in(Role.LEAD)
    device = TOTPDevice.objects.create(user=lead, name="phone", confirmed=True)
    _verified(client, device)
    assert client.get(f"/p/{programme.slug}/").status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    assert redirected_to(client.get(f"/p/{programme.slug}/"), "/accounts/two-factor/setup/")


def test_another_users_device_in_the_session_verifies_nobody(settings: object) -> None:
    settings.AMNIYAT_REQUIRE_2FA = True  # type: ignore[attr-defined]
    programme = ProgrammeFactory()
    lead, other = member_of(programme, Role.LEAD), member_of(programme, Role.LEAD)
    TOTPDevice.objects.create(user=lead, name="phone", confirmed=True)
    others = TOTPDevice.objects.create(user=other, name="phone", confirmed=True)
    client = Client()
    client.force_login(lead, backend=BACKEND)
    _verified(client, others)
    assert redirected_to(client.get(f"/p/{programme.slug}/"), "/accounts/two-factor/verify/")
