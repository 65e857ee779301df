"""The signed-in person, read afresh for each request with what every request asks of them.

Django reads the user a session names with the authentication backend the session was signed
in with (``BACKEND_SESSION_KEY``). ``sign_in`` names :class:`SignedInUserBackend`, which reads
in one statement the user, their memberships with each programme and organisation (what the
policy and the programme pages read, ``policies.membership_rows``) and whether they have a
confirmed second factor, and which (what ``TwoFactorRequiredMiddleware`` and
``SecondFactorMiddleware`` ask). Before, each was a query of its own on every request, and one
more for the programme a page names: on PostgreSQL each statement is a round trip to another
process, which waits its turn on a busy machine.

Nothing is kept between requests: a membership revoked, a user deactivated or a device
confirmed counts from the next request, as it did.

The backend checks no password (``ModelBackend`` does, after it in ``AUTHENTICATION_BACKENDS``),
so a failed sign-in still costs one hash, not two. Sessions signed in with ``ModelBackend``
(before this backend existed, or by the admin's sign-in form) keep working through it, with the
separate queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.backends import BaseBackend
from django.db.models import OuterRef, Subquery
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import policies
from amniyat.accounts.models import User

if TYPE_CHECKING:
    from amniyat.accounts.policies import AnyUser

BACKEND = "amniyat.accounts.backends.SignedInUserBackend"
_DEVICE_ATTR = "_amniyat_confirmed_device_id"


def _confirmed_device(user_field: str) -> Subquery:
    """The id of the user's confirmed authenticator (they have one at most: confirming one
    removes the others), or NULL."""
    devices = TOTPDevice.objects.filter(user_id=OuterRef(user_field), confirmed=True)
    return Subquery(devices.order_by("pk").values("pk")[:1])


class SignedInUserBackend(BaseBackend):
    """Reads the user of a session (``get_user``); authenticates nobody."""

    def get_user(self, user_id: Any) -> User | None:
        rows = list(
            policies.membership_rows()
            .filter(user_id=user_id, user__is_active=True)
            .select_related("user")
            .annotate(user_device_id=_confirmed_device("user_id"))
        )
        if rows:
            user = rows[0].user
            device_id = rows[0].user_device_id
            for membership in rows:
                membership.user = user
        else:
            found = (
                User.objects.filter(pk=user_id, is_active=True)
                .annotate(device_id=_confirmed_device("pk"))
                .first()
            )
            if found is None:
                return None
            user, device_id = found, found.device_id
        policies.remember_memberships(user, rows)
        setattr(user, _DEVICE_ATTR, device_id)
        return user


def confirmed_device_id(user: AnyUser) -> int | None:
    """The id of the user's confirmed authenticator as read with the user for this request,
    None if they have none or the user was read otherwise (by ``ModelBackend``)."""
    return getattr(user, _DEVICE_ATTR, None)


def has_second_factor(user: AnyUser) -> bool:
    """Whether the user has a confirmed authenticator, as read with the user for this request
    (a query where the user was read otherwise)."""
    if not hasattr(user, _DEVICE_ATTR):
        found = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk")
        setattr(user, _DEVICE_ATTR, found.values_list("pk", flat=True).first())
    return getattr(user, _DEVICE_ATTR) is not None
