"""Writes to people, roles and tokens: validated, atomic, audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from amniyat.accounts import services
from amniyat.accounts.models import Membership, Organisation, PersonalToken
from amniyat.audit.models import AuditEvent
from tests.factories import (
    CommunityGroupFactory,
    OrganisationFactory,
    ProgrammeFactory,
    UserFactory,
    member_of,
)

Role = Membership.Role
Verb = AuditEvent.Verb
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_signing_in_is_audited() -> None:
    user = UserFactory(username="amina")
    response = Client().post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(verb=Verb.SIGN_IN)
    assert event.actor == user
    assert event.actor_label == "amina"
    assert event.ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_a_failed_sign_in_is_audited_with_the_name_typed() -> None:
    UserFactory(username="amina")
    response = Client().post("/accounts/login/", {"username": "amina", "password": "wrong"})
    assert response.status_code == 200
    assert "The user name or password is not right." in response.content.decode()
    event = AuditEvent.objects.get(verb=Verb.SIGN_IN_FAILED)
    assert event.actor is None
    assert event.actor_label == "amina"
    assert not AuditEvent.objects.filter(verb=Verb.SIGN_IN).exists()


@pytest.mark.django_db
def test_granting_changing_and_revoking_a_role_is_audited() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    partner = OrganisationFactory()
    programme.partners.add(partner)
    user = UserFactory(username="farrukh")

    membership = services.membership_grant(
        acting_user=lead, programme=programme, user=user, organisation=partner, role=Role.VIEWER
    )
    granted = AuditEvent.objects.get(verb=Verb.PERMISSION_GRANTED)
    assert (granted.actor, granted.programme) == (lead, programme)
    assert granted.details == {"user": "farrukh", "role": "viewer", "organisation": partner.pk}

    services.membership_change(acting_user=lead, membership=membership, role=Role.ANALYST)
    changed = AuditEvent.objects.get(verb=Verb.PERMISSION_CHANGED)
    assert changed.details == {"user": "farrukh", "changes": {"role": ["viewer", "analyst"]}}
    assert Membership.objects.get(pk=membership.pk).role == Role.ANALYST

    services.membership_revoke(acting_user=lead, membership=membership)
    revoked = AuditEvent.objects.get(verb=Verb.PERMISSION_REVOKED)
    assert revoked.details == {"user": "farrukh", "role": "analyst"}
    assert not Membership.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_change_that_changes_nothing_is_not_audited() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    viewer = member_of(programme, Role.VIEWER)
    membership = Membership.objects.get(user=viewer)
    services.membership_change(acting_user=lead, membership=membership, role=Role.VIEWER)
    assert not AuditEvent.objects.filter(verb=Verb.PERMISSION_CHANGED).exists()


@pytest.mark.django_db
def test_only_a_lead_may_grant_roles() -> None:
    programme = ProgrammeFactory()
    analyst = member_of(programme, Role.ANALYST)
    with pytest.raises(PermissionDenied):
        services.membership_grant(
            acting_user=analyst,
            programme=programme,
            user=UserFactory(),
            organisation=programme.lead_organisation,
            role=Role.LEAD,
        )
    assert Membership.objects.count() == 1
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_role_must_be_on_behalf_of_an_organisation_taking_part() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    with pytest.raises(ValidationError) as error:
        services.membership_grant(
            acting_user=lead,
            programme=programme,
            user=UserFactory(),
            organisation=OrganisationFactory(),
            role=Role.VIEWER,
        )
    assert error.value.message_dict == {
        "organisation": ["This organisation does not take part in the programme."]
    }
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_a_group_member_role_needs_a_group_of_the_same_programme() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    org = programme.lead_organisation
    with pytest.raises(ValidationError) as missing:
        services.membership_grant(
            acting_user=lead,
            programme=programme,
            user=UserFactory(),
            organisation=org,
            role=Role.GROUP_MEMBER,
        )
    assert missing.value.message_dict == {
        "community_group": ["Choose the member's community group."]
    }
    with pytest.raises(ValidationError) as foreign:
        services.membership_grant(
            acting_user=lead,
            programme=programme,
            user=UserFactory(),
            organisation=org,
            role=Role.GROUP_MEMBER,
            community_group=CommunityGroupFactory(),
        )
    assert foreign.value.message_dict == {
        "community_group": ["This group belongs to another programme."]
    }
    assert Membership.objects.count() == 1


@pytest.mark.django_db
def test_a_lead_cannot_remove_their_own_role() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    with pytest.raises(ValidationError) as error:
        services.membership_revoke(acting_user=lead, membership=Membership.objects.get(user=lead))
    assert error.value.messages == ["You cannot remove your own role."]
    assert Membership.objects.filter(user=lead).exists()


@pytest.mark.django_db
def test_a_token_keeps_only_a_digest_and_its_creation_and_revocation_are_audited() -> None:
    user = UserFactory()
    token, secret = services.token_create(user=user, name="  laptop  ")
    assert secret.startswith("amn_")
    assert token.name == "laptop"
    assert token.digest == PersonalToken.digest_of(secret)
    assert secret not in str(PersonalToken.objects.filter(pk=token.pk).values().get())
    assert token.is_active
    services.token_revoke(user=user, token=token)
    token.refresh_from_db()
    assert not token.is_active
    verbs = list(AuditEvent.objects.order_by("id").values_list("verb", flat=True))
    assert verbs == [Verb.TOKEN_CREATED, Verb.TOKEN_REVOKED]


@pytest.mark.django_db
def test_a_token_needs_a_name() -> None:
    with pytest.raises(ValidationError) as error:
        services.token_create(user=UserFactory(), name="   ")
    assert error.value.message_dict == {"name": ["Give the token a name."]}
    assert not PersonalToken.objects.exists()


@pytest.mark.django_db
def test_a_lead_adds_an_organisation_as_a_partner() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    organisation = services.organisation_create(
        acting_user=lead, programme=programme, name="Hayot CSO", kind=Organisation.Kind.CSO
    )
    assert organisation in programme.partners.all()
    event = AuditEvent.objects.get(verb=Verb.CREATED)
    assert (event.object_label, event.programme) == ("Hayot CSO", programme)


@pytest.mark.django_db
def test_a_facilitator_cannot_add_organisations() -> None:
    programme = ProgrammeFactory()
    facilitator = member_of(programme, Role.FACILITATOR)
    with pytest.raises(PermissionDenied):
        services.organisation_create(
            acting_user=facilitator, programme=programme, name="X", kind="cso"
        )
    assert not Organisation.objects.filter(name="X").exists()
