"""What the community groups' pages cost the server: each reads as many queries for 2 groups
as for 10 (no query per group, member, target or place), and the representativeness page reads
the programme's members and targets once for its total and for each group (#14 point 3). The
pages that count a whole programme's members (its home page, the representativeness page) have
the database count them: no member is read there, one by one or all at once (#19)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client

from amniyat.accounts.models import Membership, Programme
from amniyat.communities.models import CommunityGroup, RepresentationTarget
from amniyat.places import services as places
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    ProgrammeFactory,
    RepresentationTargetFactory,
    member_of,
    shipped_place,
)
from tests.queries import differences, queries_of

Role = Membership.Role
DISTRICTS = ("TJ-KT-VAK", "TJ-KT-KUL", "TJ-KT-HAM", "TJ-SU-ISF", "TJ-RA-NUR")


def _programme(groups: int) -> tuple[Programme, dict[str, Client]]:
    """A programme of five districts with a community each, ``groups`` groups of four members
    (one who left), two targets, and a client for its lead and its analyst."""
    districts = [shipped_place(code) for code in DISTRICTS]
    programme = ProgrammeFactory(districts=districts)
    for district in districts:
        places.community_create(
            acting_user=None, programme=programme, parent=district, name_en=f"In {district}"
        )
    RepresentationTargetFactory(programme=programme)
    RepresentationTargetFactory(
        programme=programme,
        dimension=RepresentationTarget.Dimension.YOUTH,
        min_share=None,
        min_count=1,
    )
    for n in range(groups):
        group = CommunityGroupFactory(programme=programme, place=districts[n % len(districts)])
        for sex in ("female", "male", "female"):
            GroupMemberFactory(group=group, sex=sex)
        GroupMemberFactory(group=group, left_on=datetime.date(2022, 1, 1))
    clients = {}
    for role in (Role.LEAD, Role.ANALYST):
        clients[role] = Client()
        clients[role].force_login(member_of(programme, role))
    return programme, clients


def _pages(programme: Programme) -> list[tuple[str, str]]:
    slug = programme.slug
    group = CommunityGroup.objects.filter(programme=programme).order_by("pk").first()
    assert group is not None
    member = group.members.order_by("pk").first()
    assert member is not None
    return [
        (Role.LEAD, f"/p/{slug}/groups/"),
        (Role.LEAD, f"/p/{slug}/groups/new/"),
        (Role.ANALYST, f"/p/{slug}/groups/{group.pk}/"),
        (Role.LEAD, f"/p/{slug}/groups/{group.pk}/edit/"),
        (Role.LEAD, f"/p/{slug}/groups/{group.pk}/members/new/"),
        (Role.LEAD, f"/p/{slug}/groups/{group.pk}/members/{member.pk}/"),
        (Role.LEAD, f"/p/{slug}/targets/"),
        (Role.LEAD, f"/p/{slug}/representativeness/"),
        (Role.ANALYST, f"/p/{slug}/representativeness/"),
        (Role.LEAD, f"/p/{slug}/"),
        (Role.ANALYST, f"/p/{slug}/"),
    ]


# The pages that count every member of the programme.
COUNTING = re.compile(r"/p/[^/]+/(representativeness/)?$")
MEMBERS = 'FROM "communities_groupmember"'


def _counted_by_the_database(sql: str) -> bool:
    """Whether a query of members answers counts (one row per group or per profile of sex,
    age band and sectors), not members."""
    head = sql.split(MEMBERS)[0]
    return "GROUP BY" in sql and "COUNT(" in head and '"display_name"' not in head


# The most any of these pages reads, the session, the user and the programme included.
MOST_QUERIES = 10


@pytest.mark.django_db
def test_group_pages_read_as_much_for_2_groups_as_for_10() -> None:
    counts = []
    for size in (2, 10):
        programme, clients = _programme(size)
        per_page = []
        for role, url in _pages(programme):
            queries = queries_of(clients[role], url)
            per_page.append(queries)
            if url.endswith("/representativeness/"):
                members = [q for q in queries if MEMBERS in q]
                targets = [q for q in queries if 'FROM "communities_representationtarget"' in q]
                # The programme's counts kept from the first request (`selectors._kept`): only
                # the page's groups' own members counted again.
                assert len(members) == 1 and not targets, str(queries)
            if COUNTING.search(url):
                members = [q for q in queries if MEMBERS in q]
                assert all(_counted_by_the_database(q) for q in members), members
        counts.append(per_page)
    assert [len(q) for q in counts[0]] == [len(q) for q in counts[1]], differences(*counts)
    # The programme's home page, which reads much besides its groups, is capped with every
    # route's (tests/test_query_growth.py).
    home = f"/p/{programme.slug}/"
    pages = zip(_pages(programme), counts[1], strict=True)
    most = max((q for (_role, url), q in pages if url != home), key=len)
    assert len(most) <= MOST_QUERIES, str(most)


@pytest.mark.django_db
def test_a_groups_members_over_time_are_drawn_from_its_months() -> None:
    """The chart's columns, written by the view: each month's members and women as the title,
    the bars' heights as per cent of the busiest month and of the month's members."""
    programme, clients = _programme(1)
    group = CommunityGroup.objects.get(programme=programme)
    page = clients[Role.ANALYST].get(f"/p/{programme.slug}/groups/{group.pk}/").content.decode()
    # Four members from October 2021 (three women), one of whom left on 1 January 2022.
    assert '<div class="hist-col" title="October 2021: 4 (3 women)">' in page
    assert (
        '<span class="hist-bar" style="height: 100%"><span class="hist-women" style="height: 75%">'
        in page
    )
    assert '<div class="hist-col" title="January 2022: 3 (2 women)">' in page
    assert (
        '<span class="hist-bar" style="height: 75%"><span class="hist-women" style="height: 67%">'
        in page
    )
    assert '<div class="hist-col" title="September 2021: 0 (0 women)">' in page
    assert "<small>09/21</small>" in page


@pytest.mark.django_db
def test_a_long_list_of_groups_comes_a_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A national programme's hundreds of groups: each list and chart page shows a page of
    them, in the same order, with links that keep the filter; a short list shows no links."""
    from amniyat.communities import views

    programme, clients = _programme(5)
    lead = clients[Role.LEAD]
    names = list(
        CommunityGroup.objects.filter(programme=programme)
        .order_by("name")
        .values_list("name", flat=True)
    )
    first = lead.get(f"/p/{programme.slug}/groups/").content.decode()
    assert 'class="pagination"' not in first and all(name in first for name in names)
    monkeypatch.setattr(views, "GROUPS_PER_PAGE", 2)
    monkeypatch.setattr(views, "CHARTS_PER_PAGE", 2)
    for address in ("groups/?kind=", "representativeness/?"):
        shown = []
        for number in (1, 2, 3):
            page = lead.get(f"/p/{programme.slug}/{address}&page={number}").content.decode()
            shown += [name for name in names if f">{name}</a>" in page]
            assert f"page {number} of 3" in page
        assert shown == names, address
    page = lead.get(f"/p/{programme.slug}/groups/?kind=&page=2").content.decode()
    assert 'href="?kind=&amp;page=1" rel="prev"' in page
    assert 'href="?kind=&amp;page=3" rel="next"' in page
