"""The drivers overview: it counts every driver map and priority list the user may see (not
the first dozen), and each map and list it names is a link to it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amniyat.accounts.models import Membership, Programme
from amniyat.drivers.maps import services as maps
from amniyat.drivers.priorities import services as priorities
from tests.factories import CommunityGroupFactory, ProgrammeFactory, member_of

Role = Membership.Role


@pytest.fixture
def programme(db: None) -> Programme:
    return ProgrammeFactory()


def test_the_overview_counts_every_list_and_map_and_links_to_them(programme: Programme) -> None:
    lead = member_of(programme, Role.LEAD)
    group = CommunityGroupFactory(
        programme=programme, facilitating_organisation=programme.lead_organisation
    )
    lists = [
        priorities.priority_list_create(
            user=lead, programme=programme, group=group, title=f"Priorities {n:02}"
        )
        for n in range(15)
    ]
    driver_maps = [
        maps.map_create(acting_user=lead, programme=programme, title=f"Map {n:02}")
        for n in range(14)
    ]
    client = Client()
    client.force_login(lead)
    response = client.get(reverse("drivers:index", args=[programme.slug]))
    page = response.content.decode()
    assert response.context["priority_list_count"] == 15
    assert response.context["map_count"] == 14
    assert "<strong>15</strong>" in page and "<strong>14</strong>" in page
    shown_lists = list(response.context["priority_lists"])
    shown_maps = list(response.context["maps"])
    assert shown_lists and shown_maps
    for priority_list in shown_lists:
        href = reverse("drivers:priority_list_detail", args=[programme.slug, priority_list.pk])
        assert f'href="{href}"' in page
    for driver_map in shown_maps:
        href = reverse("drivers:map_detail", args=[programme.slug, driver_map.pk])
        assert f'href="{href}"' in page
    # What is not listed is one link away.
    assert "All 15 priority lists" in page and "All 14 driver maps" in page
    assert len(lists) == 15 and len(driver_maps) == 14


def test_a_viewer_counts_only_the_published_maps(programme: Programme) -> None:
    lead = member_of(programme, Role.LEAD)
    viewer = member_of(programme, Role.VIEWER)
    published = maps.map_create(acting_user=lead, programme=programme, title="Published")
    maps.map_create(acting_user=lead, programme=programme, title="Draft")
    maps.map_publish(acting_user=lead, driver_map=published)
    client = Client()
    client.force_login(viewer)
    response = client.get(reverse("drivers:index", args=[programme.slug]))
    assert response.context["map_count"] == 1
    assert "Draft" not in response.content.decode()


def _queries(client: Client, page: str) -> int:
    client.get(page)  # what is read once per session is read
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page).status_code == 200
    return len(captured)


def test_the_overview_and_the_priorities_page_cost_the_same_for_3_or_20_groups(
    programme: Programme,
) -> None:
    """No query per group, list or map: the pages twenty readers open at once (#14)."""
    lead = member_of(programme, Role.LEAD)
    client = Client()
    client.force_login(lead)
    pages = [
        reverse("drivers:index", args=[programme.slug]),
        reverse("drivers:priority_index", args=[programme.slug]),
    ]

    def grow(start: int, end: int) -> None:
        for n in range(start, end):
            group = CommunityGroupFactory(
                programme=programme, facilitating_organisation=programme.lead_organisation
            )
            priorities.priority_list_create(
                user=lead, programme=programme, group=group, title=f"Priorities {n}"
            )
            maps.map_create(acting_user=lead, programme=programme, title=f"Map {n}")

    grow(0, 3)
    few = [_queries(client, page) for page in pages]
    grow(3, 20)
    many = [_queries(client, page) for page in pages]
    # The overview counts what it lists once the list is full: one query more each.
    assert many == [few[0] + 2, few[1]]
    assert few[1] <= 8
