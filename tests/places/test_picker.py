"""The place and group pickers (``core.picker``): a form page carries only what is chosen,
whatever the number of places and groups; the pickers' endpoints find only what the reader
may choose there, by any of its names, and answer bad input with a 404, never a 500; a post
naming a place outside the field's set gets the field's message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.models import DriverMap, Source
from amniyat.fieldwork.models import Assessment
from amniyat.places import services
from amniyat.places.models import Place
from tests.factories import (
    CommunityGroupFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)
from tests.queries import differences, queries_of

Role = Membership.Role


@dataclass
class World:
    programme: Programme
    partner: Organisation
    lead: User
    facilitator: User
    navruz: Place  # a community of Vakhsh, in the partner's area
    bahor: Place  # a community of Kushoniyon, outside it
    foreign: Place  # another programme's community in Vakhsh
    group: CommunityGroup


@pytest.fixture
def world(db: None, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    vakhsh, kushoniyon = shipped_place("TJ-KT-VAK"), shipped_place("TJ-KT-KUS")
    programme = ProgrammeFactory(slug="tj", districts=[vakhsh, kushoniyon])
    other = ProgrammeFactory(districts=[vakhsh])
    navruz = services.community_create(
        acting_user=None,
        programme=programme,
        parent=vakhsh,
        name_en="Navruz",
        name_ru="Навруз",
        name_tg="Наврӯз",
        name_uz="Navroʻz",
    )
    bahor = services.community_create(
        acting_user=None, programme=programme, parent=kushoniyon, name_en="Bahor"
    )
    foreign = services.community_create(
        acting_user=None, programme=other, parent=vakhsh, name_en="Navruz foreign"
    )
    partner = OrganisationFactory(name="Partner CSO")
    lead = member_of(programme, Role.LEAD, username="lead")
    facilitator = member_of(programme, Role.FACILITATOR, organisation=partner)
    services.partner_area_assign(
        acting_user=lead, programme=programme, organisation=partner, places=[vakhsh]
    )
    group = CommunityGroupFactory(
        programme=programme, name="Vakhsh CSWG", place=navruz, facilitating_organisation=partner
    )
    return World(programme, partner, lead, facilitator, navruz, bahor, foreign, group)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def found(response: Any) -> dict[str, str]:
    """What a picker's answer offers: value -> label."""
    body = response.content.decode()
    return dict(re.findall(r'value="(\d+)"> ([^<]*)</label>', body))


PICK = "/p/tj/places/pick/"


def test_a_search_finds_a_place_by_any_of_its_names_with_its_path(world: World) -> None:
    client = client_of(world.lead)
    for typed in ("navruz", "навруз", "НАВРУЗ", "Наврӯз", "navroʻz"):
        answer = client.get(PICK, {"within": "groups", "q": typed, "name": "place"})
        assert answer.status_code == 200
        assert str(world.navruz.pk) in found(answer), typed
        assert str(world.foreign.pk) not in found(answer), typed
    answer = client.get(PICK, {"within": "groups", "q": "nav"}, headers={"accept-language": "ru"})
    label = found(answer)[str(world.navruz.pk)]
    assert label.startswith("Хатлон") and label.endswith("› Навруз"), label
    assert 'type="radio" name="place"' in answer.content.decode()
    many = client.get(PICK, {"within": "partner", "q": "nav", "name": "places", "multiple": "1"})
    assert 'type="checkbox" name="places"' in many.content.decode()


def test_a_partner_finds_only_the_places_of_its_area(world: World) -> None:
    lead, facilitator = client_of(world.lead), client_of(world.facilitator)
    for query in ("Bahor", "Navruz"):
        assert set(found(lead.get(PICK, {"within": "groups", "q": query}))) <= {
            str(world.navruz.pk),
            str(world.bahor.pk),
        }
    assert str(world.bahor.pk) in found(lead.get(PICK, {"within": "groups", "q": "Bahor"}))
    assert not found(facilitator.get(PICK, {"within": "groups", "q": "Bahor"}))
    assert str(world.navruz.pk) in found(facilitator.get(PICK, {"within": "groups", "q": "nav"}))
    # Browsing shows the districts first, and what lies inside each.
    tops = found(facilitator.get(PICK, {"within": "groups"}))
    vakhsh = shipped_place("TJ-KT-VAK")
    assert str(vakhsh.pk) in tops and str(world.navruz.pk) not in tops
    inside = facilitator.get(PICK, {"within": "groups", "under": vakhsh.pk})
    assert set(found(inside)) == {str(world.navruz.pk)}
    # Kushoniyon is the lead's, not the partner's: not there to browse.
    kushoniyon = shipped_place("TJ-KT-KUS")
    assert facilitator.get(PICK, {"within": "groups", "under": kushoniyon.pk}).status_code == 404
    assert lead.get(PICK, {"within": "groups", "under": kushoniyon.pk}).status_code == 200


def test_the_pickers_answer_bad_input_with_404_not_500(world: World) -> None:
    client = client_of(world.lead)
    client.raise_request_exception = False
    for query in (
        {"within": "nowhere"},
        {"within": "groups", "name": "<script>"},
        {"within": "groups", "under": "abc"},
        {"within": "groups", "under": "9" * 25},
        {"within": "groups", "under": world.foreign.pk},
    ):
        assert client.get(PICK, query).status_code == 404, query
    for query in ({"q": "\x00"}, {"q": "x" * 10_000}, {"q": "%_'\""}):
        assert client.get(PICK, {"within": "groups", **query}).status_code == 200, query
        assert client.get("/p/tj/groups/pick/", query).status_code == 200, query
    assert client.get("/p/no-such/places/pick/").status_code == 404
    assert client.get("/p/tj/groups/pick/", {"name": "a b"}).status_code == 404
    outsider = client_of(member_of(ProgrammeFactory(), Role.LEAD))
    assert outsider.get(PICK, {"within": "groups", "q": "nav"}).status_code == 404
    assert outsider.get("/p/tj/groups/pick/").status_code == 404


def test_the_group_picker_finds_the_groups_one_sees(world: World) -> None:
    other = CommunityGroupFactory(programme=world.programme, name="Kushoniyon youth")
    CommunityGroupFactory(programme=ProgrammeFactory(), name="Vakhsh foreign group")
    lead, facilitator = client_of(world.lead), client_of(world.facilitator)
    answer = lead.get("/p/tj/groups/pick/", {"q": "vakhsh", "name": "community_group"})
    assert set(found(answer)) == {str(world.group.pk)}
    assert 'name="community_group"' in answer.content.decode()
    assert str(other.pk) in found(lead.get("/p/tj/groups/pick/", {"q": "YOUTH"}))
    assert str(other.pk) not in found(facilitator.get("/p/tj/groups/pick/", {"q": "youth"}))


@pytest.mark.parametrize("typed", ["ГУРӮҲИ", "гурӯҳи ЗАНОН", "Занон", "  занон  "])
def test_the_group_picker_finds_a_cyrillic_name_typed_in_any_case(world: World, typed: str) -> None:
    # SQLite folds ASCII only: the name is found by its folded key (core.search), so a
    # mid-word capital or a whole word in capitals matches as well as the name's own case.
    women = CommunityGroupFactory(programme=world.programme, name="Гурӯҳи занони Навруз")
    women.name = "Гурӯҳи Занони Навруз"
    women.save(update_fields=["name"])
    answer = client_of(world.lead).get("/p/tj/groups/pick/", {"q": typed})
    assert set(found(answer)) == {str(women.pk)}


def test_a_post_naming_a_place_outside_the_field_gets_its_message(world: World) -> None:
    client = client_of(world.facilitator)
    # A community needs a district of the partner's area; Kushoniyon is not.
    answer = client.post(
        "/p/tj/places/new/", {"parent": shipped_place("TJ-KT-KUS").pk, "name_en": "New"}
    )
    assert answer.status_code == 200
    assert "Choose a place this programme works in." in answer.content.decode()
    for garbage in ("abc", "9" * 25, str(world.foreign.pk)):
        answer = client_of(world.lead).post(
            "/p/tj/assessments/new/", {"title": "Baseline", "kind": "baseline", "places": garbage}
        )
        assert answer.status_code == 200, garbage
        assert "Choose places that this programme works in." in answer.content.decode(), garbage
    assert not Assessment.objects.exists()
    assert not Place.objects.filter(name_en="New").exists()


def test_a_chosen_place_is_on_the_page_and_saved(world: World) -> None:
    client = client_of(world.lead)
    page = client.get(f"/p/tj/groups/{world.group.pk}/edit/").content.decode()
    chosen = re.search(r'<ul class="picker-chosen"[^>]*>(.*?)</ul>', page, re.S)
    assert chosen is not None
    assert f'value="{world.navruz.pk}" checked' in chosen.group(1)
    assert "Navruz" in chosen.group(1) and "Bahor" not in page
    # The search box names the field, and is part of no form: it is never posted.
    assert 'hx-get="/p/tj/places/pick/?within=groups&amp;name=place"' in page


# ----------------------------------------------------------------------------------------
# The mechanism: no form page grows with the places or groups it could offer.


def _pages(world: World) -> list[str]:
    programme = world.programme
    assessment = Assessment.objects.create(programme=programme, title="Baseline")
    assessment.places.set([world.navruz])
    source = Source.objects.create(
        programme=programme,
        assessment=assessment,
        title="Focus group",
        kind=Source.Kind.FOCUS_GROUP,
        language="en",
        participants=3,
        text="Notes.",
        place=world.navruz,
    )
    driver_map = DriverMap.objects.create(
        programme=programme, title="Map", place=world.navruz, group=world.group
    )
    membership = Membership.objects.get(user=world.facilitator)
    membership.community_group = world.group
    membership.save(update_fields=["community_group"])
    return [
        "/p/tj/places/new/",
        f"/p/tj/places/{world.navruz.pk}/edit/",
        f"/p/tj/places/partners/{world.partner.pk}/",
        "/p/tj/places/",
        "/p/tj/groups/new/",
        f"/p/tj/groups/{world.group.pk}/edit/",
        "/p/tj/assessments/new/",
        f"/p/tj/assessments/{assessment.pk}/edit/",
        "/p/tj/drivers/sources/new/",
        f"/p/tj/drivers/sources/{source.pk}/edit/",
        "/p/tj/drivers/maps/new/",
        f"/p/tj/drivers/maps/{driver_map.pk}/edit/",
        "/p/tj/team/",
        f"/p/tj/team/{membership.pk}/",
    ]


def test_no_form_page_grows_with_the_places_and_groups_it_could_offer(world: World) -> None:
    client = client_of(world.lead)
    pages = _pages(world)
    before = {url: queries_of(client, url) for url in pages}
    vakhsh = shipped_place("TJ-KT-VAK")
    Place.objects.bulk_create(
        Place(
            level=Place.Level.COMMUNITY,
            parent=vakhsh,
            programme=world.programme,
            name_en=f"Mahalla number {n}",
        )
        for n in range(300)
    )
    CommunityGroup.objects.bulk_create(
        CommunityGroup(
            programme=world.programme,
            name=f"Group number {n}",
            kind=CommunityGroup.Kind.COMMUNITY_GROUP,
            place=world.navruz,
            facilitating_organisation=world.partner,
        )
        for n in range(300)
    )
    grown = []
    for url in pages:
        after = queries_of(client, url)
        if len(after) != len(before[url]):
            grown.append(f"{url}: {differences([before[url]], [after])}")
        # The places list shows a page of a hundred rows: it grows to its page, no more.
        limit = 20_000 if url == "/p/tj/places/" else 200
        if len(after.body) - len(before[url].body) > limit:
            grown.append(f"{url}: {len(before[url].body)} -> {len(after.body)} bytes")
        assert b"Mahalla number 1" not in after.body or url == "/p/tj/places/"
        assert b"Group number 1" not in after.body
    assert not grown, "\n".join(grown)
