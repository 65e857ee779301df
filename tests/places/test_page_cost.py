"""What the places pages cost the server: a programme's area is read in one query, inside the
query that lists or checks its places, whatever the depth of the tree or the number of places it
names; a list of places never reads their boundaries; and each page's queries are the same for
a programme of two districts as for one of ten with their communities (#14 point 3)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amniyat.accounts.models import Membership, Programme
from amniyat.places import selectors, services
from amniyat.places.models import Place
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of, shipped_place
from tests.queries import differences, queries_of

Role = Membership.Role
DISTRICTS = (
    "TJ-SU-BGH", "TJ-SU-ISF", "TJ-KT-HAM", "TJ-KT-KUS", "TJ-KT-KUL",
    "TJ-KT-VAK", "TJ-RA-NUR", "TJ-RA-TOJ", "TJ-RA-VAH", "TJ-GB-VAN",
)  # fmt: skip


def walked(programme: Programme) -> tuple[set[int], set[int]]:
    """The places a programme covers, and with the places above those it names, found by
    walking every place of the tree: what the selectors must answer."""
    places = {p.pk: p for p in Place.objects.all()}
    named = set(programme.places.values_list("pk", flat=True))

    def covered(place: Place) -> bool:
        node: Place | None = place
        while node is not None:
            if node.pk in named:
                return True
            if node.programme_id not in (None, programme.pk):
                return False
            node = places.get(node.parent_id) if node.parent_id else None
        return False

    inside = {pk for pk, place in places.items() if covered(place)}
    above = set()
    for pk in named:
        parent_id = places[pk].parent_id
        while parent_id is not None:
            above.add(parent_id)
            parent_id = places[parent_id].parent_id
    return inside, inside | above


@pytest.mark.django_db
def test_a_programmes_area_is_read_in_one_query_and_holds_what_the_tree_says() -> None:
    """A region, a district elsewhere and a community named beside its district; the
    programme's own communities are inside, another programme's are not."""
    khatlon, isfara, vakhsh = (shipped_place(c) for c in ("TJ-KT", "TJ-SU-ISF", "TJ-KT-VAK"))
    programme, other = ProgrammeFactory(districts=[khatlon, isfara]), ProgrammeFactory()
    own = services.community_create(
        acting_user=None, programme=programme, parent=vakhsh, name_en="Mahalla Navruz"
    )
    theirs = services.community_create(
        acting_user=None, programme=other, parent=vakhsh, name_en="Mahalla Bahor"
    )
    programme.places.add(own)
    for place_ids, expected in zip(
        (selectors.programme_place_ids, selectors.programme_area_ids),
        walked(programme),
        strict=True,
    ):
        with CaptureQueriesContext(connection) as queries:
            ids = place_ids(programme)
        assert len(queries) == 1
        assert ids == expected
        assert own.pk in ids and theirs.pk not in ids and vakhsh.pk in ids
    covered, area = walked(programme)
    assert shipped_place("TJ").pk in area - covered
    assert shipped_place("TJ-SU").pk in area - covered
    assert walked(other)[0] == selectors.programme_place_ids(other) == {vakhsh.pk, theirs.pk}


def _programme(districts: int) -> tuple[Programme, dict[str, Client]]:
    """A programme of ``districts`` districts, each with a community of its own, a partner
    assigned half of them, and a client for its lead and for the partner's facilitator."""
    places = [shipped_place(code) for code in DISTRICTS[:districts]]
    programme = ProgrammeFactory(districts=places)
    partner = OrganisationFactory(name=f"Partner of {programme.slug}")
    lead = member_of(programme, Role.LEAD)
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    for place in places:
        services.community_create(
            acting_user=None, programme=programme, parent=place, name_en=f"In {place.name_en}"
        )
    services.partner_area_assign(
        acting_user=lead,
        programme=programme,
        organisation=partner,
        places=places[: districts // 2],
    )
    clients = {}
    for name, user in (("lead", lead), ("facilitator", facilitator)):
        clients[name] = Client()
        clients[name].force_login(user)
    return programme, clients


def _pages(programme: Programme) -> list[tuple[str, str, bool]]:
    """(who, address, whether the page is about one place and may read its boundary)."""
    slug = programme.slug
    community = Place.objects.filter(programme=programme).order_by("pk").first()
    assert community is not None
    partner = programme.partners.get()
    return [
        ("lead", f"/p/{slug}/places/", False),
        ("lead", f"/p/{slug}/places/{community.pk}/", True),
        ("lead", f"/p/{slug}/places/{community.parent_id}/", True),
        ("lead", f"/p/{slug}/places/new/", False),
        ("lead", f"/p/{slug}/places/{community.pk}/edit/", True),
        ("lead", f"/p/{slug}/places/partners/{partner.pk}/", False),
        ("facilitator", f"/p/{slug}/places/", False),
        ("facilitator", f"/p/{slug}/places/new/", False),
    ]


# What each page may read, the session and the user included: they were 12 to 27 before the
# programme's area was read in one query and each choice's path from the choices themselves.
MOST_QUERIES = 10


@pytest.mark.django_db
def test_place_pages_read_as_much_for_two_districts_as_for_ten() -> None:
    counts = []
    for size in (2, 10):
        programme, clients = _programme(size)
        per_page = []
        for who, url, one_place in _pages(programme):
            queries = queries_of(clients[who], url)
            if not one_place:  # only a place's own page says whether it has a boundary
                assert not [q for q in queries if '"places_place"."boundary"' in q], str(queries)
            per_page.append(queries)
        counts.append(per_page)
    assert [len(q) for q in counts[0]] == [len(q) for q in counts[1]], differences(*counts)
    most = max(counts[1], key=len)
    assert len(most) <= MOST_QUERIES, str(most)
