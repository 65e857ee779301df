"""factory_boy factories for the programme world: programmes, organisations, places, groups,
members and users with roles."""

from __future__ import annotations

import datetime
import io
from typing import Any

import factory
from factory.django import DjangoModelFactory
from openpyxl import Workbook

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget
from amniyat.places.models import Place
from amniyat.places.services import administrative_places_load


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.CSO
    country = "TJ"


class PlaceFactory(DjangoModelFactory):
    class Meta:
        model = Place

    name_en = factory.Sequence(lambda n: f"Place {n}")
    level = Place.Level.DISTRICT


def shipped_place(code: str) -> Place:
    """A shipped administrative place. The data migration loads them, but transactional tests
    (browser tests on a live server) flush the database, so load them again when missing."""
    place = Place.objects.filter(code=code).first()
    if place is None:
        administrative_places_load()
        place = Place.objects.get(code=code)
    return place


def district(code: str = "TJ-KT-VAK") -> Place:
    return shipped_place(code)


class ProgrammeFactory(DjangoModelFactory):
    class Meta:
        model = Programme
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Programme {n}")
    slug = factory.Sequence(lambda n: f"programme-{n}")
    country = factory.LazyFunction(lambda: shipped_place("TJ"))
    lead_organisation = factory.SubFactory(
        OrganisationFactory, kind=Organisation.Kind.INTERNATIONAL_NGO
    )
    starts_on = datetime.date(2021, 8, 1)
    ends_on = datetime.date(2022, 7, 31)

    @factory.post_generation
    def districts(self, create: bool, extracted: list[Place] | None, **kwargs: object) -> None:
        if create:
            self.places.set(extracted if extracted is not None else [district()])


class CommunityGroupFactory(DjangoModelFactory):
    class Meta:
        model = CommunityGroup

    programme = factory.SubFactory(ProgrammeFactory)
    name = factory.Sequence(lambda n: f"Community group {n}")
    kind = CommunityGroup.Kind.COMMUNITY_GROUP
    place = factory.LazyAttribute(lambda o: o.programme.places.first())
    facilitating_organisation = factory.LazyAttribute(lambda o: o.programme.lead_organisation)
    established_on = datetime.date(2021, 9, 1)


class GroupMemberFactory(DjangoModelFactory):
    class Meta:
        model = GroupMember

    group = factory.SubFactory(CommunityGroupFactory)
    display_name = factory.Sequence(lambda n: f"Member name {n}")
    sex = "female"
    age_band = "30_44"
    sectors = factory.LazyFunction(list)
    joined_on = datetime.date(2021, 10, 1)


class RepresentationTargetFactory(DjangoModelFactory):
    class Meta:
        model = RepresentationTarget

    programme = factory.SubFactory(ProgrammeFactory)
    dimension = RepresentationTarget.Dimension.WOMEN
    min_share = 40


def member_of(
    programme: Programme,
    role: str,
    *,
    organisation: Organisation | None = None,
    group: CommunityGroup | None = None,
    username: str | None = None,
    can_view_personal_data: bool = False,
) -> User:
    """A user with ``role`` in ``programme`` on behalf of ``organisation`` (default: lead)."""
    user = UserFactory(username=username) if username else UserFactory()
    organisation = organisation or programme.lead_organisation
    if organisation.pk not in {programme.lead_organisation_id, programme.donor_id}:
        programme.partners.add(organisation)
    Membership.objects.create(
        user=user,
        programme=programme,
        organisation=organisation,
        role=role,
        community_group=group,
        can_view_personal_data=can_view_personal_data,
    )
    return user


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An .xlsx file with these sheets, each a list of rows (the first is the header): an
    XLSForm (``survey``, ``choices``, ``settings``) or an export."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
