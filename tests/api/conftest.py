"""What the API tests share: a programme with two partners, one of whose facilitators, groups
and members the tests act on, and the body of a new group."""

from __future__ import annotations

from typing import Any

import pytest

from amniyat.accounts.models import Membership
from amniyat.places.services import partner_area_assign
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
    programme = ProgrammeFactory(slug="tj-csp")
    own, other = OrganisationFactory(), OrganisationFactory()
    programme.partners.add(own, other)
    partner_area_assign(
        acting_user=None, programme=programme, organisation=own, places=[district()]
    )
    own_group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=own, name="Own group"
    )
    other_group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=other, name="Other group"
    )
    facilitator = member_of(programme, Role.FACILITATOR, organisation=own)
    return {
        "programme": programme,
        "own": own,
        "own_group": own_group,
        "other_group": other_group,
        "member": GroupMemberFactory(group=own_group, display_name="Malika Saidova"),
        "lead": member_of(programme, Role.LEAD),
        "facilitator": facilitator,
        "viewer": member_of(programme, Role.VIEWER),
    }


def group_body(scene: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "programme": scene["programme"].slug,
        "name": "New API group",
        "kind": "cswg",
        "place": district().pk,
        "facilitating_organisation": scene["own"].pk,
        **overrides,
    }
