"""The one policy: which verbs each role may use on which objects."""

from __future__ import annotations

from typing import Any

import pytest

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
)

Role = Membership.Role


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    own, other = OrganisationFactory(), OrganisationFactory()
    programme.partners.add(own, other)
    own_group = CommunityGroupFactory(programme=programme, facilitating_organisation=own)
    other_group = CommunityGroupFactory(programme=programme, facilitating_organisation=other)
    foreign = CommunityGroupFactory()
    return {
        "programme": programme,
        "own_group": own_group,
        "other_group": other_group,
        "own_member": GroupMemberFactory(group=own_group),
        "foreign": foreign,
        "lead": member_of(programme, Role.LEAD),
        "analyst": member_of(programme, Role.ANALYST),
        "facilitator": member_of(programme, Role.FACILITATOR, organisation=own),
        "trusted_facilitator": member_of(
            programme, Role.FACILITATOR, organisation=own, can_view_personal_data=True
        ),
        "group_member": member_of(programme, Role.GROUP_MEMBER, organisation=own, group=own_group),
        "viewer": member_of(programme, Role.VIEWER),
    }


# role -> verbs on (programme, own group, other organisation's group)
EXPECTED = {
    "lead": {
        "programme.manage": True,
        "programme.view_groups": True,
        "group.view own": True,
        "group.view other": True,
        "group.edit own": True,
        "group.edit other": True,
        "member.view_personal": True,
        "membership.manage": True,
        "target.manage": True,
    },
    "analyst": {
        "programme.manage": False,
        "programme.view_groups": True,
        "group.view own": True,
        "group.view other": True,
        "group.edit own": False,
        "group.edit other": False,
        "member.view_personal": True,
        "membership.manage": False,
        "target.manage": False,
    },
    "facilitator": {
        "programme.manage": False,
        "programme.view_groups": True,
        "group.view own": True,
        "group.view other": False,
        "group.edit own": True,
        "group.edit other": False,
        "member.view_personal": False,
        "membership.manage": False,
        "target.manage": False,
    },
    "trusted_facilitator": {
        "programme.manage": False,
        "programme.view_groups": True,
        "group.view own": True,
        "group.view other": False,
        "group.edit own": True,
        "group.edit other": False,
        "member.view_personal": True,
        "membership.manage": False,
        "target.manage": False,
    },
    "group_member": {
        "programme.manage": False,
        "programme.view_groups": True,
        "group.view own": True,
        "group.view other": False,
        "group.edit own": False,
        "group.edit other": False,
        "member.view_personal": False,
        "membership.manage": False,
        "target.manage": False,
    },
    "viewer": {
        "programme.manage": False,
        "programme.view_groups": False,
        "group.view own": False,
        "group.view other": False,
        "group.edit own": False,
        "group.edit other": False,
        "member.view_personal": False,
        "membership.manage": False,
        "target.manage": False,
    },
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_role_may_do_what_the_policy_table_says(scene: dict[str, Any], who: str) -> None:
    user = scene[who]
    answers = {
        "programme.manage": policies.can(user, "programme.manage", scene["programme"]),
        "programme.view_groups": policies.can(user, "programme.view_groups", scene["programme"]),
        "group.view own": policies.can(user, "group.view", scene["own_group"]),
        "group.view other": policies.can(user, "group.view", scene["other_group"]),
        "group.edit own": policies.can(user, "group.edit", scene["own_group"]),
        "group.edit other": policies.can(user, "group.edit", scene["other_group"]),
        "member.view_personal": policies.can(user, "member.view_personal", scene["own_member"]),
        "membership.manage": policies.can(user, "membership.manage", scene["programme"]),
        "target.manage": policies.can(user, "target.manage", scene["programme"]),
    }
    assert answers == EXPECTED[who]


@pytest.mark.parametrize("who", list(EXPECTED))
def test_nobody_may_do_anything_in_a_programme_they_are_not_in(
    scene: dict[str, Any], who: str
) -> None:
    user, foreign = scene[who], scene["foreign"]
    assert not policies.can(user, "programme.view", foreign.programme)
    assert not policies.can(user, "group.view", foreign)
    assert not policies.can(user, "group.edit", foreign)
    assert not policies.can(user, "group.create", foreign.programme)
    assert policies.role_in(user, foreign.programme) is None


def test_a_deactivated_user_may_do_nothing(scene: dict[str, Any]) -> None:
    lead = scene["lead"]
    lead.is_active = False
    lead.save(update_fields=["is_active"])
    policies.forget_memberships(lead)
    assert not policies.can(lead, "programme.view", scene["programme"])
    assert not policies.can(lead, "group.view", scene["own_group"])
    assert policies.memberships(lead) == {}


def test_anonymous_may_do_nothing(scene: dict[str, Any]) -> None:
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert not policies.can(anonymous, "programme.view", scene["programme"])
    assert not policies.can(anonymous, "place.view", scene["own_group"].place)


def test_an_unknown_verb_is_a_programming_error(scene: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="Unknown permission verb"):
        policies.can(scene["lead"], "group.delete_everything", scene["own_group"])


def test_only_leads_and_analysts_must_use_a_second_factor(scene: dict[str, Any]) -> None:
    assert policies.requires_two_factor(scene["lead"])
    assert policies.requires_two_factor(scene["analyst"])
    assert not policies.requires_two_factor(scene["facilitator"])
    assert not policies.requires_two_factor(scene["viewer"])


def test_a_facilitators_new_groups_belong_to_their_organisation(scene: dict[str, Any]) -> None:
    programme = scene["programme"]
    own = scene["own_group"].facilitating_organisation
    assert policies.organisation_for_new_group(scene["facilitator"], programme) == own.pk
    assert policies.organisation_for_new_group(scene["lead"], programme) is None
