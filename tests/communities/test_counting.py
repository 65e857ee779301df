"""The database counts a programme's members as the group page counts them in hand: the
profiles behind each composition (`selectors.member_profiles`) and the per-group counts the
home page checks every group's targets with (`selectors.target_counts`) say what
`representativeness.composition` says of the members themselves, to the warning."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amniyat.accounts.models import Programme
from amniyat.communities import representativeness, selectors
from amniyat.communities.models import GroupMember, RepresentationTarget, Sector
from tests.factories import CommunityGroupFactory, ProgrammeFactory

# A few weeks, so that members join and leave on the very day counted.
_DAYS = st.dates(datetime.date(2022, 1, 1), datetime.date(2022, 2, 15))
_MEMBER = st.tuples(
    st.sampled_from(["female", "male"]),
    st.sampled_from(["under_18", "18_24", "25_29", "30_44", "45_59", "60_plus"]),
    # Codes whose text holds another's ("youth" in no other, "local_government" with an
    # underscore, which LIKE would read as any character).
    st.lists(
        st.sampled_from(
            [Sector.POLICE, Sector.TEACHER, Sector.YOUTH, Sector.LOCAL_GOVERNMENT, Sector.OTHER]
        ),
        max_size=3,
        unique=True,
    ),
    _DAYS,
    st.one_of(st.none(), st.integers(0, 30)),
)
_TARGETS = [
    RepresentationTarget(dimension="women", min_share=40),
    RepresentationTarget(dimension="youth", min_share=25, min_count=2),
    RepresentationTarget(dimension="sector", sector=Sector.POLICE, min_count=1),
    RepresentationTarget(dimension="sector", sector=Sector.YOUTH, min_share=10),
    RepresentationTarget(dimension="sector", sector=Sector.LOCAL_GOVERNMENT, min_count=2),
]


@pytest.fixture
def programme(db: None) -> Programme:
    """One programme for every example; each example counts new groups of its own."""
    return ProgrammeFactory()


def _group_of(programme: Programme, rows: list[Any]) -> tuple[Any, list[GroupMember]]:
    group = CommunityGroupFactory(programme=programme, established_on=None)
    members = GroupMember.objects.bulk_create(
        GroupMember(
            group=group,
            sex=sex,
            age_band=age,
            sectors=sectors,
            joined_on=joined,
            left_on=None if stay is None else joined + datetime.timedelta(days=stay),
        )
        for sex, age, sectors, joined, stay in rows
    )
    return group, members


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    groups=st.lists(st.lists(_MEMBER, max_size=8), min_size=1, max_size=3),
    targets=st.lists(st.sampled_from(_TARGETS), max_size=5, unique_by=lambda t: t.label),
    on=_DAYS,
)
def test_the_database_counts_what_the_members_say(
    programme: Programme, groups: list[list[Any]], targets: list[RepresentationTarget], on: Any
) -> None:
    made = [_group_of(programme, rows) for rows in groups]
    ids = [group.pk for group, _members in made]
    members = GroupMember.objects.filter(group_id__in=ids)
    # Every group but the first counted on its own; all of them together.
    everyone, by_group = selectors.member_profiles(members, on=on, groups=ids[1:])
    counted = selectors.target_counts(members, targets, on=on)
    together = [m for _group, group_members in made for m in group_members]
    assert representativeness.composition_of(
        everyone, targets, on=on
    ) == representativeness.composition(together, targets, on=on)
    assert ids[0] not in by_group
    for group, group_members in made:
        expected = representativeness.composition(group_members, targets, on=on)
        if group.pk != ids[0]:
            profiles = by_group.get(group.pk, [])
            assert representativeness.composition_of(profiles, targets, on=on) == expected
        total, counts = counted.get(group.pk, (0, [0] * len(targets)))
        assert total == expected.total
        assert representativeness.targets_met(total, counts, targets) == expected.all_met
