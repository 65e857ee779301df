"""Scoped reads of places."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.places.models import PartnerArea, Place

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def places_visible(*, user: AnyUser) -> QuerySet[Place]:
    return Place.objects.filter(policies.place_scope(user)).select_related("parent")


def programme_place_ids(programme: Programme) -> set[int]:
    """Every place inside the programme's country that it covers: the places it names, their
    descendants, and the programme's own communities."""
    roots = set(programme.places.values_list("pk", flat=True))
    ids = set(roots)
    frontier = roots
    while frontier:
        frontier = (
            set(
                Place.objects.filter(parent_id__in=frontier)
                .filter(Q(programme__isnull=True) | Q(programme=programme))
                .values_list("pk", flat=True)
            )
            - ids
        )
        ids |= frontier
    return ids


def programme_area_ids(programme: Programme) -> set[int]:
    """The places covered (:func:`programme_place_ids`) and the regions and country above
    them: what a programme-wide or regional piece of work (a driver map of Khatlon) names."""
    # One query per level above (a district's region, then its country), not one per place.
    ancestors: set[int] = set()
    parents = set(
        Place.objects.filter(pk__in=programme.places.all()).values_list("parent_id", flat=True)
    )
    while frontier := parents - {None} - ancestors:
        ancestors |= frontier
        parents = set(Place.objects.filter(pk__in=frontier).values_list("parent_id", flat=True))
    return programme_place_ids(programme) | ancestors


def programme_places(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """The places a programme works in, as this user may see them."""
    if not policies.can(user, "programme.view_places", programme):
        return Place.objects.none()
    return (
        places_visible(user=user)
        .filter(pk__in=programme_area_ids(programme))
        .order_by("level", "name_en")
    )


def place_get(*, user: AnyUser, programme: Programme, pk: int) -> Place:
    place = programme_places(user=user, programme=programme).filter(pk=pk).first()
    if place is None:
        raise Http404("No such place.")
    return place


def place_choices_for_groups(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """Places a group (or a partner's other work) of this programme may sit in: its districts
    and communities, within the area assigned to a facilitator's organisation."""
    places = programme_places(user=user, programme=programme).filter(
        pk__in=programme_place_ids(programme),
        level__in=[Place.Level.DISTRICT, Place.Level.COMMUNITY],
    )
    area = policies.partner_place_ids(user, programme)
    return places if area is None else places.filter(pk__in=area)


def partner_area_places(*, programme: Programme, organisation_id: int) -> QuerySet[Place]:
    """The places the lead assigned to a partner organisation (not their insides)."""
    return Place.objects.filter(
        pk__in=PartnerArea.places.through.objects.filter(
            partnerarea__programme=programme, partnerarea__organisation_id=organisation_id
        ).values("place_id")
    ).order_by("level", "name_en")


def partner_area_choices(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """What a lead may assign to a partner: the programme's regions, districts, communities."""
    return (
        programme_places(user=user, programme=programme)
        .exclude(level=Place.Level.COUNTRY)
        .select_related("parent", "parent__parent")
    )
