"""Scoped reads: what each role sees of programmes, groups, members, places, organisations."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.accounts.selectors import (
    membership_get,
    memberships_visible,
    organisations_visible,
    programme_get,
    programmes_visible,
)
from amniyat.communities.selectors import group_get, groups_visible, members_visible
from amniyat.places.models import Place
from amniyat.places.selectors import places_visible, programme_places
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    district,
    member_of,
)

Role = Membership.Role


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    own, other = OrganisationFactory(), OrganisationFactory()
    programme.partners.add(own, other)
    community = Place.objects.create(
        level=Place.Level.COMMUNITY, parent=district(), programme=programme, name_en="Own mahalla"
    )
    own_group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=own, place=community
    )
    sibling = CommunityGroupFactory(programme=programme, facilitating_organisation=own)
    other_group = CommunityGroupFactory(programme=programme, facilitating_organisation=other)
    foreign_programme = ProgrammeFactory()
    foreign_group = CommunityGroupFactory(programme=foreign_programme)
    foreign_place = Place.objects.create(
        level=Place.Level.COMMUNITY,
        parent=district(),
        programme=foreign_programme,
        name_en="Foreign mahalla",
    )
    return {
        "programme": programme,
        "own": own,
        "other": other,
        "community": community,
        "own_group": own_group,
        "sibling": sibling,
        "other_group": other_group,
        "members": [GroupMemberFactory(group=g) for g in (own_group, sibling, other_group)],
        "foreign_programme": foreign_programme,
        "foreign_group": foreign_group,
        "foreign_member": GroupMemberFactory(group=foreign_group),
        "foreign_place": foreign_place,
        "lead": member_of(programme, Role.LEAD),
        "analyst": member_of(programme, Role.ANALYST),
        "facilitator": member_of(programme, Role.FACILITATOR, organisation=own),
        "group_member": member_of(programme, Role.GROUP_MEMBER, organisation=own, group=own_group),
        "viewer": member_of(programme, Role.VIEWER),
    }


def _groups(scene: dict[str, Any], who: str) -> set[int]:
    return set(groups_visible(user=scene[who]).values_list("pk", flat=True))


def test_leads_and_analysts_see_every_group_of_their_programme_only(scene: dict[str, Any]) -> None:
    every = {scene[k].pk for k in ("own_group", "sibling", "other_group")}
    assert _groups(scene, "lead") == every
    assert _groups(scene, "analyst") == every


def test_a_facilitator_sees_only_their_own_organisations_groups(scene: dict[str, Any]) -> None:
    assert _groups(scene, "facilitator") == {scene["own_group"].pk, scene["sibling"].pk}
    with pytest.raises(Http404):
        group_get(
            user=scene["facilitator"], programme=scene["programme"], pk=scene["other_group"].pk
        )


def test_a_group_member_sees_only_their_group(scene: dict[str, Any]) -> None:
    assert _groups(scene, "group_member") == {scene["own_group"].pk}
    members = members_visible(user=scene["group_member"])
    assert {m.group_id for m in members} == {scene["own_group"].pk}


def test_a_viewer_sees_no_groups_and_no_members(scene: dict[str, Any]) -> None:
    assert _groups(scene, "viewer") == set()
    assert not members_visible(user=scene["viewer"]).exists()


@pytest.mark.parametrize("who", ["lead", "analyst", "facilitator", "group_member", "viewer"])
def test_nobody_sees_a_programme_they_are_not_a_member_of(scene: dict[str, Any], who: str) -> None:
    user = scene[who]
    assert list(programmes_visible(user=user)) == [scene["programme"]]
    with pytest.raises(Http404):
        programme_get(user=user, slug=scene["foreign_programme"].slug)
    assert scene["foreign_group"].pk not in _groups(scene, who)
    assert scene["foreign_member"] not in members_visible(user=user)
    assert scene["foreign_place"] not in places_visible(user=user)
    assert scene["foreign_programme"].lead_organisation not in organisations_visible(user=user)


@pytest.mark.parametrize("who", ["lead", "analyst", "facilitator", "group_member", "viewer"])
def test_a_deactivated_user_sees_nothing(scene: dict[str, Any], who: str) -> None:
    user = scene[who]
    user.is_active = False
    user.save(update_fields=["is_active"])
    policies.forget_memberships(user)
    assert not programmes_visible(user=user).exists()
    assert not groups_visible(user=user).exists()
    assert not members_visible(user=user).exists()
    assert not places_visible(user=user).exists()
    assert not organisations_visible(user=user).exists()


def test_programme_communities_are_hidden_from_viewers(scene: dict[str, Any]) -> None:
    programme, community = scene["programme"], scene["community"]
    assert community in programme_places(user=scene["facilitator"], programme=programme)
    assert community in programme_places(user=scene["group_member"], programme=programme)
    viewer_places = programme_places(user=scene["viewer"], programme=programme)
    assert community not in viewer_places
    assert district() in viewer_places  # shared reference places stay visible


def test_organisations_of_a_programme_are_its_lead_donor_and_partners(
    scene: dict[str, Any],
) -> None:
    programme = scene["programme"]
    seen = set(organisations_visible(user=scene["viewer"], programme=programme))
    assert seen == {programme.lead_organisation, scene["own"], scene["other"]}


def test_a_programmes_organisations_are_read_in_one_query(scene: dict[str, Any]) -> None:
    """Those taking part (lead, donor, partners) and no partner of another programme of the
    same person, the partners a subquery of the one statement."""
    programme, lead = scene["programme"], scene["lead"]
    programme.donor = OrganisationFactory()
    programme.save(update_fields=["donor"])
    elsewhere = ProgrammeFactory()
    elsewhere.partners.add(OrganisationFactory())
    Membership.objects.create(
        user=lead, programme=elsewhere, organisation=elsewhere.lead_organisation, role=Role.LEAD
    )
    policies.forget_memberships(lead)
    policies.memberships(lead)
    with CaptureQueriesContext(connection) as queries:
        seen = {o.pk for o in organisations_visible(user=lead, programme=programme)}
    assert seen == programme.taking_part_ids() and programme.donor_id in seen
    assert len(queries) == 1


def test_only_leads_see_the_team(scene: dict[str, Any]) -> None:
    programme = scene["programme"]
    team = memberships_visible(user=scene["lead"], programme=programme)
    assert team.count() == 5
    own_only = memberships_visible(user=scene["analyst"], programme=programme)
    assert [m.user for m in own_only] == [scene["analyst"]]
    facilitator_membership = Membership.objects.get(user=scene["facilitator"])
    assert membership_get(user=scene["lead"], programme=programme, pk=facilitator_membership.pk)
    with pytest.raises(Http404):
        membership_get(user=scene["facilitator"], programme=programme, pk=facilitator_membership.pk)
