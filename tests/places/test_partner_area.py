"""The places a lead assigns a partner organisation: the one grant a facilitator's reach into
place-bound data (submissions) is read from."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from amniyat.accounts import policies
from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.communities import services as group_services
from amniyat.communities.models import CommunityGroup
from amniyat.fieldwork.models import Assessment, Form, FormVersion, Submission
from amniyat.fieldwork.submissions.selectors import submissions_visible
from amniyat.places import services
from amniyat.places.models import PartnerArea, Place
from tests.factories import OrganisationFactory, ProgrammeFactory, member_of, shipped_place

Role = Membership.Role


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    vakhsh, kulob = shipped_place("TJ-KT-VAK"), shipped_place("TJ-KT-KUL")
    programme = ProgrammeFactory(districts=[vakhsh, kulob])
    own, other = OrganisationFactory(name="Own CSO"), OrganisationFactory(name="Other CSO")
    programme.partners.add(own, other)
    assessment = Assessment.objects.create(
        programme=programme, title="Baseline", kind=Assessment.Kind.BASELINE
    )
    form = Form.objects.create(assessment=assessment, form_id="survey", title="Survey")
    version = FormVersion.objects.create(form=form, version="1", xform="<h:html/>", schema=[])
    submissions = {
        place.code: Submission.objects.create(
            form=form,
            form_version=version,
            instance_id=f"uuid:{place.code}",
            content_hash=place.code,
            place=place,
            submitted_at=timezone.now(),
            data={},
            source=Submission.Source.IMPORT,
        )
        for place in (vakhsh, kulob)
    }
    return {
        "programme": programme,
        "vakhsh": vakhsh,
        "kulob": kulob,
        "own": own,
        "other": other,
        "submissions": submissions,
        "lead": member_of(programme, Role.LEAD, username="area-lead"),
        "facilitator": member_of(programme, Role.FACILITATOR, organisation=own),
        "analyst": member_of(programme, Role.ANALYST),
    }


def _assign(scene: dict[str, Any], *places: Place, by: str = "lead") -> PartnerArea:
    return services.partner_area_assign(
        acting_user=scene[by],
        programme=scene["programme"],
        organisation=scene["own"],
        places=list(places),
    )


def test_a_facilitator_without_an_assigned_area_reads_no_submission(scene: dict[str, Any]) -> None:
    # Even with a group of their organisation in Vakhsh: groups grant nothing.
    group_services.group_create(
        acting_user=None,
        programme=scene["programme"],
        name="Vakhsh group",
        kind=CommunityGroup.Kind.COMMUNITY_GROUP,
        place=scene["vakhsh"],
        facilitating_organisation=scene["own"],
    )
    assert list(submissions_visible(user=scene["facilitator"])) == []


def test_the_lead_assigns_places_and_the_facilitator_reads_what_is_inside(
    scene: dict[str, Any],
) -> None:
    _assign(scene, scene["vakhsh"])
    assert list(submissions_visible(user=scene["facilitator"])) == [
        scene["submissions"]["TJ-KT-VAK"]
    ]
    _assign(scene, scene["kulob"])  # the area is replaced, not added to
    assert list(submissions_visible(user=scene["facilitator"])) == [
        scene["submissions"]["TJ-KT-KUL"]
    ]
    events = AuditEvent.objects.filter(verb=AuditEvent.Verb.PERMISSION_CHANGED).order_by("id")
    assert [(e.actor_label, e.details) for e in events] == [
        (
            "area-lead",
            {"organisation": scene["own"].pk, "added": [scene["vakhsh"].pk], "removed": []},
        ),
        (
            "area-lead",
            {
                "organisation": scene["own"].pk,
                "added": [scene["kulob"].pk],
                "removed": [scene["vakhsh"].pk],
            },
        ),
    ]


@pytest.mark.parametrize("by", ["facilitator", "analyst"])
def test_only_the_lead_assigns_areas(scene: dict[str, Any], by: str) -> None:
    with pytest.raises(PermissionDenied):
        _assign(scene, scene["vakhsh"], scene["kulob"], by=by)
    assert not PartnerArea.objects.exists()


def test_an_area_holds_only_the_programmes_places(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        _assign(scene, shipped_place("UZ-JI-JIZ"))
    assert error.value.message_dict == {
        "places": ["Jizzakh city is not a region, district or community of this programme."]
    }
    with pytest.raises(ValidationError):
        services.partner_area_assign(
            acting_user=scene["lead"],
            programme=scene["programme"],
            organisation=OrganisationFactory(),  # not taking part
            places=[scene["vakhsh"]],
        )


def test_a_facilitator_puts_groups_and_communities_only_inside_the_area(
    scene: dict[str, Any],
) -> None:
    _assign(scene, scene["vakhsh"])
    values = {
        "name": "Kulob group",
        "kind": CommunityGroup.Kind.COMMUNITY_GROUP,
        "facilitating_organisation": scene["own"],
        "established_on": datetime.date(2021, 1, 1),
    }
    message = "This place is outside the area the programme lead assigned to your organisation."
    with pytest.raises(ValidationError) as error:
        group_services.group_create(
            acting_user=scene["facilitator"],
            programme=scene["programme"],
            place=scene["kulob"],
            **values,
        )
    assert error.value.message_dict == {"place": [message]}
    with pytest.raises(ValidationError) as error:
        services.community_create(
            acting_user=scene["facilitator"],
            programme=scene["programme"],
            parent=scene["kulob"],
            name_en="Mahalla Bahor",
        )
    assert error.value.message_dict == {"parent": [message]}
    group = group_services.group_create(
        acting_user=scene["facilitator"],
        programme=scene["programme"],
        place=scene["vakhsh"],
        **values,
    )
    with pytest.raises(ValidationError):  # moving it out is refused too
        group_services.group_update(
            acting_user=scene["facilitator"], group=group, place=scene["kulob"]
        )
    # The lead may put a partner's group anywhere; it still grants the partner nothing.
    group_services.group_update(acting_user=scene["lead"], group=group, place=scene["kulob"])
    assert list(submissions_visible(user=scene["facilitator"])) == [
        scene["submissions"]["TJ-KT-VAK"]
    ]


def test_the_lead_changes_an_area_on_the_partners_page(scene: dict[str, Any]) -> None:
    client = Client()
    client.force_login(scene["lead"])
    slug, own = scene["programme"].slug, scene["own"]
    page = client.get(f"/p/{slug}/organisations/{own.pk}/")
    assert "No places assigned yet" in page.content.decode()
    url = f"/p/{slug}/places/partners/{own.pk}/"
    response = client.post(url, {"places": [scene["kulob"].pk]})
    assert response.status_code == 302
    page = client.get(f"/p/{slug}/organisations/{own.pk}/").content.decode()
    assert "Kulob" in page and "Change where it works" in page
    assert list(submissions_visible(user=scene["facilitator"])) == [
        scene["submissions"]["TJ-KT-KUL"]
    ]
    # A facilitator sees their own organisation's area, but cannot change it.
    client.force_login(scene["facilitator"])
    page = client.get(f"/p/{slug}/organisations/{own.pk}/").content.decode()
    assert "Kulob" in page and "Change where it works" not in page
    assert client.post(url, {"places": [scene["vakhsh"].pk]}).status_code == 404
    assert client.get(f"/p/{slug}/organisations/{scene['other'].pk}/").status_code == 200
    assert (
        "Where it works"
        not in client.get(f"/p/{slug}/organisations/{scene['other'].pk}/").content.decode()
    )


def test_the_area_is_every_place_inside_the_assigned_ones_in_one_query(
    scene: dict[str, Any], django_assert_num_queries: Any
) -> None:
    khatlon = scene["vakhsh"].parent
    _assign(scene, khatlon)
    # A community of the programme under a district, and one of another organisation's area.
    community = Place.objects.create(
        name_en="Mahalla", level=Place.Level.COMMUNITY, parent=scene["vakhsh"], code="T-M"
    )
    membership = Membership.objects.get(user=scene["facilitator"])
    walked, frontier = set(), {khatlon.pk}
    while frontier:  # the tree, a level at a time
        walked |= frontier
        frontier = set(Place.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
    with django_assert_num_queries(1):
        area = policies.facilitator_place_ids(membership)
    assert area == walked
    assert {khatlon.pk, scene["vakhsh"].pk, scene["kulob"].pk, community.pk} <= area
    # Replaced by a district: what was inside the region is gone at once.
    _assign(scene, scene["kulob"])
    assert scene["vakhsh"].pk not in policies.facilitator_place_ids(membership)
