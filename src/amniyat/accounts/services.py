"""Every write to people, organisations, programmes, roles and tokens."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from amniyat.accounts import backends, policies
from amniyat.accounts.models import Membership, Organisation, PersonalToken, Programme, User
from amniyat.accounts.policies import require
from amniyat.audit.models import AuditEvent
from amniyat.audit.services import audit_record
from amniyat.core.services import changed_fields

Verb = AuditEvent.Verb


def sign_in(*, request: HttpRequest, user: User) -> None:
    with transaction.atomic():
        # The session reads its user back through the backend that reads what each request
        # needs of them in one query; the password was checked by ModelBackend.
        login(request, user, backend=backends.BACKEND)
        if user.preferred_language:
            request.session["_language"] = user.preferred_language
        audit_record(actor=user, verb=Verb.SIGN_IN, request=request)


def sign_in_failed(*, request: HttpRequest | None, username: str) -> None:
    audit_record(
        actor=None,
        actor_label=username[:150],
        verb=Verb.SIGN_IN_FAILED,
        request=request,
    )


def sign_out(*, request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        audit_record(actor=user, verb=Verb.SIGN_OUT, request=request)
    logout(request)


def two_factor_device_start(*, user: User) -> TOTPDevice:
    """An unconfirmed TOTP device to show as a QR code; replaces any earlier unconfirmed one."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


def two_factor_device_confirm(
    *, request: HttpRequest, user: User, device: TOTPDevice, token: str
) -> bool:
    if device.user_id != user.pk or not device.verify_token(token.strip()):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        audit_record(actor=user, verb=Verb.TWO_FACTOR_ENABLED, request=request)
    return True


def two_factor_verify(*, request: HttpRequest, user: User, token: str) -> bool:
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token.strip()):
            otp_login(request, device)
            return True
    return False


def token_create(
    *, user: User, name: str, expires_at: datetime.datetime | None = None
) -> tuple[PersonalToken, str]:
    """Create a token and return it with its secret, which is never stored or shown again."""
    if not name.strip():
        raise ValidationError({"name": _("Give the token a name.")})
    secret = PersonalToken.new_secret()
    with transaction.atomic():
        token = PersonalToken.objects.create(
            user=user,
            name=name.strip()[:80],
            digest=PersonalToken.digest_of(secret),
            hint=secret[:8],
            expires_at=expires_at,
        )
        audit_record(actor=user, verb=Verb.TOKEN_CREATED, obj=token)
    return token, secret


def token_revoke(*, user: User, token: PersonalToken) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=user, verb=Verb.TOKEN_REVOKED, obj=token)


def set_preferred_language(*, user: User, language: str) -> None:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])


def organisation_create(
    *, acting_user: User, programme: Programme, as_partner: bool = True, **values: Any
) -> Organisation:
    require(acting_user, "organisation.create", programme)
    organisation = Organisation(**values)
    organisation.full_clean()
    with transaction.atomic():
        organisation.save()
        if as_partner:
            programme.partners.add(organisation)
        audit_record(actor=acting_user, verb=Verb.CREATED, obj=organisation, programme=programme)
    return organisation


def membership_grant(
    *,
    acting_user: User | None,
    programme: Programme,
    user: User,
    organisation: Organisation,
    role: str,
    community_group: Any = None,
    can_view_personal_data: bool = False,
) -> Membership:
    """Give ``user`` a role in ``programme``. ``acting_user`` None only for set-up scripts."""
    if acting_user is not None:
        require(acting_user, "membership.manage", programme)
    membership = Membership(
        user=user,
        programme=programme,
        organisation=organisation,
        role=role,
        community_group=community_group,
        can_view_personal_data=can_view_personal_data,
    )
    _validate_membership(membership)
    with transaction.atomic():
        membership.save()
        audit_record(
            actor=acting_user,
            actor_label="system",
            verb=Verb.PERMISSION_GRANTED,
            obj=membership,
            programme=programme,
            details={"user": user.username, "role": role, "organisation": organisation.pk},
        )
    policies.forget_memberships(user)
    return membership


def membership_change(*, acting_user: User, membership: Membership, **values: Any) -> Membership:
    require(acting_user, "membership.manage", membership.programme)
    changes = changed_fields(membership, values)
    if not changes:
        return membership
    _validate_membership(membership)
    with transaction.atomic():
        membership.save(update_fields=list(changes))
        audit_record(
            actor=acting_user,
            verb=Verb.PERMISSION_CHANGED,
            obj=membership,
            programme=membership.programme,
            details={"user": membership.user.username, "changes": changes},
        )
    policies.forget_memberships(membership.user)
    return membership


def membership_revoke(*, acting_user: User, membership: Membership) -> None:
    require(acting_user, "membership.manage", membership.programme)
    if membership.user_id == acting_user.pk:
        raise ValidationError(_("You cannot remove your own role."))
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            verb=Verb.PERMISSION_REVOKED,
            obj=membership,
            programme=membership.programme,
            details={"user": membership.user.username, "role": membership.role},
        )
        membership.delete()
    policies.forget_memberships(membership.user)


def _validate_membership(membership: Membership) -> None:
    membership.full_clean(exclude=["user", "programme"] if membership.pk else None)
    programme = membership.programme
    if membership.organisation_id not in programme.taking_part_ids():
        raise ValidationError(
            {"organisation": _("This organisation does not take part in the programme.")}
        )
    if membership.role == Membership.Role.GROUP_MEMBER:
        group = membership.community_group
        if group is None:
            raise ValidationError({"community_group": _("Choose the member's community group.")})
        if group.programme_id != programme.pk:
            raise ValidationError(
                {"community_group": _("This group belongs to another programme.")}
            )
    elif membership.community_group_id is not None:
        raise ValidationError(
            {"community_group": _("Only group members are tied to one community group.")}
        )
