"""Writes to community groups and members: checked, audited, and personal data kept safe."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import translation

from amniyat.accounts.models import Membership
from amniyat.audit.models import AuditEvent
from amniyat.communities import representativeness, services
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget, Sector
from amniyat.places.models import Place
from amniyat.places.services import partner_area_assign
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    RepresentationTargetFactory,
    district,
    member_of,
)

Role = Membership.Role
Verb = AuditEvent.Verb


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    programme = ProgrammeFactory()
    partner = OrganisationFactory()
    programme.partners.add(partner)
    partner_area_assign(
        acting_user=None, programme=programme, organisation=partner, places=[district()]
    )
    return {
        "programme": programme,
        "partner": partner,
        "lead": member_of(programme, Role.LEAD),
        "facilitator": member_of(programme, Role.FACILITATOR, organisation=partner),
    }


def _group_values(scene: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Vakhsh women's group",
        "kind": CommunityGroup.Kind.CSWG,
        "place": district(),
        "facilitating_organisation": scene["partner"],
        **overrides,
    }


def test_creating_a_group_is_audited(scene: dict[str, Any]) -> None:
    group = services.group_create(
        acting_user=scene["lead"], programme=scene["programme"], **_group_values(scene)
    )
    event = AuditEvent.objects.get(verb=Verb.CREATED)
    assert (event.actor, event.programme, event.object_id) == (
        scene["lead"],
        scene["programme"],
        str(group.pk),
    )
    assert event.object_type == "communities.communitygroup"


def test_a_group_cannot_sit_in_a_place_of_another_programme(scene: dict[str, Any]) -> None:
    other_programme = ProgrammeFactory(districts=[Place.objects.get(code="UZ-JI-JIZ")])
    foreign_place = Place.objects.create(
        level=Place.Level.COMMUNITY,
        parent=Place.objects.get(code="UZ-JI-JIZ"),
        programme=other_programme,
        name_en="Foreign mahalla",
    )
    for place in (foreign_place, Place.objects.get(code="UZ-JI-JIZ"), Place.objects.get(code="TJ")):
        with pytest.raises(ValidationError) as error:
            services.group_create(
                acting_user=scene["lead"],
                programme=scene["programme"],
                **_group_values(scene, place=place),
            )
        assert error.value.message_dict == {
            "place": ["Choose a district or community that this programme works in."]
        }
    assert not CommunityGroup.objects.filter(programme=scene["programme"]).exists()
    assert not AuditEvent.objects.exclude(verb=Verb.PERMISSION_CHANGED).exists()


def test_a_group_must_be_facilitated_by_a_partner(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        services.group_create(
            acting_user=scene["lead"],
            programme=scene["programme"],
            **_group_values(scene, facilitating_organisation=OrganisationFactory()),
        )
    assert error.value.message_dict == {
        "facilitating_organisation": ["This organisation is not a partner of the programme."]
    }
    assert not CommunityGroup.objects.exists()
    assert not AuditEvent.objects.exclude(verb=Verb.PERMISSION_CHANGED).exists()


def test_a_facilitator_adds_groups_only_for_their_own_organisation(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        services.group_create(
            acting_user=scene["facilitator"],
            programme=scene["programme"],
            **_group_values(scene, facilitating_organisation=scene["programme"].lead_organisation),
        )
    assert error.value.message_dict == {
        "facilitating_organisation": [
            "You can only add groups facilitated by your own organisation."
        ]
    }
    group = services.group_create(
        acting_user=scene["facilitator"], programme=scene["programme"], **_group_values(scene)
    )
    assert group.facilitating_organisation == scene["partner"]


def test_a_viewer_cannot_create_groups(scene: dict[str, Any]) -> None:
    viewer = member_of(scene["programme"], Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.group_create(
            acting_user=viewer, programme=scene["programme"], **_group_values(scene)
        )
    assert not CommunityGroup.objects.exists()


def test_a_group_cannot_close_before_it_was_established(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        services.group_create(
            acting_user=scene["lead"],
            programme=scene["programme"],
            **_group_values(
                scene,
                established_on=datetime.date(2022, 5, 1),
                closed_on=datetime.date(2022, 4, 1),
            ),
        )
    assert not CommunityGroup.objects.exists()
    # The message must speak to the person, not name a database constraint.
    assert not any("onstraint" in message for message in error.value.messages), error.value


def test_adding_a_member_is_audited_without_their_name(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(programme=scene["programme"])
    member = services.member_add(
        acting_user=scene["lead"],
        group=group,
        display_name="Gulnora Rahimova",
        sex="female",
        age_band="30_44",
        sectors=[Sector.TEACHER, Sector.TEACHER, Sector.MAHALLA_LEADER],
        joined_on=datetime.date(2021, 10, 1),
    )
    assert member.sectors == [Sector.MAHALLA_LEADER, Sector.TEACHER]
    event = AuditEvent.objects.get(verb=Verb.CREATED)
    assert event.object_type == "communities.groupmember"
    assert event.object_id == str(member.pk)
    services.member_update(
        acting_user=scene["lead"], member=member, display_name="Gulnora R.", age_band="45_59"
    )
    updated = AuditEvent.objects.get(verb=Verb.UPDATED)
    assert updated.details == {"fields": ["age_band", "display_name"]}
    _assert_no_names_in_audit(["Gulnora"])


def _assert_no_names_in_audit(names: list[str]) -> None:
    for event in AuditEvent.objects.all():
        text = " ".join(
            [event.actor_label, event.object_label, event.object_id, str(event.details)]
        )
        for name in names:
            assert name not in text, f"{event.verb} audit row contains a member's name"


def test_opening_a_group_page_with_named_members_is_audited(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(programme=scene["programme"])
    named = GroupMemberFactory(group=group, display_name="Sitora Karimova")
    GroupMemberFactory(group=group, display_name="")
    client = Client()
    client.force_login(scene["lead"])
    response = client.get(f"/p/{scene['programme'].slug}/groups/{group.pk}/")
    assert response.status_code == 200
    assert "Sitora Karimova" in response.content.decode()
    event = AuditEvent.objects.get(verb=Verb.VIEWED_PERSONAL)
    assert event.actor == scene["lead"]
    assert event.details == {"members": [named.pk]}
    _assert_no_names_in_audit(["Sitora", "Karimova"])


def test_a_facilitator_without_the_grant_sees_codes_and_nothing_is_audited(
    scene: dict[str, Any],
) -> None:
    group = CommunityGroupFactory(
        programme=scene["programme"], facilitating_organisation=scene["partner"]
    )
    member = GroupMemberFactory(group=group, display_name="Sitora Karimova")
    client = Client()
    client.force_login(scene["facilitator"])
    response = client.get(f"/p/{scene['programme'].slug}/groups/{group.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sitora" not in body
    assert member.code in body
    assert not AuditEvent.objects.filter(verb=Verb.VIEWED_PERSONAL).exists()


def test_a_facilitator_without_the_grant_cannot_overwrite_a_name(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(
        programme=scene["programme"], facilitating_organisation=scene["partner"]
    )
    member = GroupMemberFactory(group=group, display_name="Sitora")
    services.member_update(acting_user=scene["facilitator"], member=member, display_name="X")
    member.refresh_from_db()
    assert member.display_name == "Sitora"


def test_a_member_cannot_leave_before_joining(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(programme=scene["programme"])
    with pytest.raises(ValidationError) as error:
        services.member_add(
            acting_user=scene["lead"],
            group=group,
            sex="male",
            age_band="18_24",
            joined_on=datetime.date(2022, 3, 1),
            left_on=datetime.date(2022, 2, 1),
        )
    assert error.value.message_dict == {"left_on": ["A member cannot leave before joining."]}
    assert not GroupMember.objects.exists()


def test_a_member_cannot_join_before_the_group_was_established(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(
        programme=scene["programme"], established_on=datetime.date(2021, 9, 1)
    )
    with pytest.raises(ValidationError) as error:
        services.member_add(
            acting_user=scene["lead"],
            group=group,
            sex="male",
            age_band="18_24",
            joined_on=datetime.date(2021, 8, 31),
        )
    assert error.value.message_dict == {
        "joined_on": ["A member cannot join before the group was established."]
    }
    assert not GroupMember.objects.exists()


def test_a_member_cannot_have_an_unknown_sector(scene: dict[str, Any]) -> None:
    group = CommunityGroupFactory(programme=scene["programme"])
    with pytest.raises(ValidationError) as error:
        services.member_add(
            acting_user=scene["lead"],
            group=group,
            sex="male",
            age_band="18_24",
            sectors=["astronaut"],
            joined_on=datetime.date(2022, 1, 1),
        )
    assert error.value.message_dict == {"sectors": ["Unknown sector: astronaut"]}


def test_display_names_are_encrypted_at_rest(db: None) -> None:
    member = GroupMemberFactory(display_name="Zarina Nazarova")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT display_name FROM {GroupMember._meta.db_table} WHERE id = %s",  # noqa: S608
            [member.pk],
        )
        (raw,) = cursor.fetchone()
    assert raw.startswith("aesgcm:")
    assert "Zarina" not in raw
    assert "Nazarova" not in raw
    assert GroupMember.objects.get(pk=member.pk).display_name == "Zarina Nazarova"


def test_str_of_a_member_never_shows_the_name(db: None) -> None:
    member = GroupMemberFactory(display_name="Zarina")
    assert "Zarina" not in str(member)


# ----------------------------------------------------------------------------------------
# Representativeness


def _members(*rows: tuple[str, str, list[str], datetime.date, datetime.date | None]) -> list:
    return [
        GroupMember(sex=sex, age_band=age, sectors=sectors, joined_on=joined, left_on=left)
        for sex, age, sectors, joined, left in rows
    ]


def test_a_sector_target_says_since_when_it_is_missed() -> None:
    target = RepresentationTarget(dimension="sector", sector=Sector.POLICE, min_count=1)
    members = _members(
        ("male", "30_44", [Sector.POLICE], datetime.date(2021, 1, 1), datetime.date(2021, 11, 5)),
        ("male", "45_59", [Sector.POLICE], datetime.date(2021, 1, 1), datetime.date(2022, 3, 14)),
        ("female", "30_44", [Sector.TEACHER], datetime.date(2021, 1, 1), None),
    )
    result = representativeness.composition(members, [target], on=datetime.date(2022, 6, 1))
    assert result.warnings == ["No member from “police” since March 2022."]
    assert not result.checks[0].met


def test_a_sector_never_represented_says_so() -> None:
    target = RepresentationTarget(dimension="sector", sector=Sector.RELIGIOUS_LEADER, min_count=1)
    members = _members(("female", "30_44", [], datetime.date(2021, 1, 1), None))
    result = representativeness.composition(members, [target], on=datetime.date(2022, 6, 1))
    assert result.warnings == ["No member from “religious leader” yet."]


def test_a_share_below_target_gives_the_share_and_the_target() -> None:
    target = RepresentationTarget(dimension="women", min_share=40)
    members = _members(
        ("female", "30_44", [], datetime.date(2021, 1, 1), None),
        ("male", "30_44", [], datetime.date(2021, 1, 1), None),
        ("male", "18_24", [], datetime.date(2021, 1, 1), None),
        ("male", "60_plus", [], datetime.date(2021, 1, 1), None),
    )
    result = representativeness.composition(members, [target], on=datetime.date(2022, 6, 1))
    assert result.warnings == ["Women are 25% of members; the target is at least 40%."]
    assert (result.total, result.women, result.men, result.youth) == (4, 1, 3, 1)


def test_a_met_target_gives_no_warning() -> None:
    target = RepresentationTarget(dimension="youth", min_share=25)
    members = _members(
        ("female", "18_24", [], datetime.date(2021, 1, 1), None),
        ("male", "45_59", [], datetime.date(2021, 1, 1), None),
    )
    result = representativeness.composition(members, [target], on=datetime.date(2022, 6, 1))
    assert result.warnings == []
    assert result.checks[0].met


def test_members_who_left_or_have_not_joined_yet_do_not_count() -> None:
    members = _members(
        ("female", "18_24", [], datetime.date(2021, 1, 1), datetime.date(2022, 1, 1)),
        ("female", "18_24", [], datetime.date(2023, 1, 1), None),
    )
    result = representativeness.composition(members, [], on=datetime.date(2022, 6, 1))
    assert result.total == 0


def test_the_warning_month_is_in_the_interface_language() -> None:
    target = RepresentationTarget(dimension="sector", sector=Sector.POLICE, min_count=1)
    members = _members(
        ("male", "30_44", [Sector.POLICE], datetime.date(2021, 1, 1), datetime.date(2022, 3, 14)),
        ("female", "30_44", [], datetime.date(2021, 1, 1), None),
    )
    with translation.override("ru"):
        result = representativeness.composition(members, [target], on=datetime.date(2022, 6, 1))
    assert "2022" in result.warnings[0]
    assert "March" not in result.warnings[0]


def test_the_group_page_shows_the_warning(scene: dict[str, Any]) -> None:
    RepresentationTargetFactory(
        programme=scene["programme"],
        dimension="sector",
        sector=Sector.POLICE,
        min_count=1,
        min_share=None,
    )
    group = CommunityGroupFactory(programme=scene["programme"])
    GroupMemberFactory(
        group=group,
        sectors=[Sector.POLICE],
        joined_on=datetime.date(2021, 10, 1),
        left_on=datetime.date(2022, 3, 20),
    )
    GroupMemberFactory(group=group, joined_on=datetime.date(2021, 10, 1))
    client = Client()
    client.force_login(scene["lead"])
    body = client.get(f"/p/{scene['programme'].slug}/groups/{group.pk}/").content.decode()
    assert "No member from “police” since March 2022." in body


def test_targets_are_set_and_updated_with_an_audit_row(scene: dict[str, Any]) -> None:
    target = services.target_set(
        acting_user=scene["lead"], programme=scene["programme"], dimension="women", min_share=40
    )
    again = services.target_set(
        acting_user=scene["lead"], programme=scene["programme"], dimension="women", min_share=50
    )
    assert again.pk == target.pk
    assert RepresentationTarget.objects.get().min_share == 50
    verbs = list(
        AuditEvent.objects.exclude(verb=Verb.PERMISSION_CHANGED)
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == [Verb.CREATED, Verb.UPDATED]


def test_a_target_needs_a_threshold_and_a_sane_share(scene: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        services.target_set(
            acting_user=scene["lead"], programme=scene["programme"], dimension="women"
        )
    assert error.value.messages == ["Give a minimum share, a minimum number of members, or both."]
    with pytest.raises(ValidationError) as share:
        services.target_set(
            acting_user=scene["lead"],
            programme=scene["programme"],
            dimension="women",
            min_share=120,
        )
    assert share.value.message_dict["min_share"] == ["A share is between 0 and 100 %."]
    assert not RepresentationTarget.objects.exists()


def test_only_leads_set_targets(scene: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.target_set(
            acting_user=scene["facilitator"],
            programme=scene["programme"],
            dimension="women",
            min_share=40,
        )
    assert not RepresentationTarget.objects.exists()
