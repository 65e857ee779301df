"""Scoped reads of places."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from amniyat.accounts import policies
from amniyat.places.models import PartnerArea, Place, place_key

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def places_visible(*, user: AnyUser) -> QuerySet[Place]:
    return Place.objects.filter(policies.place_scope(user)).select_related("parent")


def place_named(*, programme_id: int, answers: Sequence[str]) -> int | None:
    """The place the first of ``answers`` that names one names: a place's code, or a name (in
    any of the four languages) that no other place shares, matched as :func:`place_key` folds
    them, among the shared places and the programme's own communities. One indexed query,
    however many places there are; the same answers as the import's table of every place
    (:func:`amniyat.fieldwork.imports.services.place_lookup`). Not a scoped read: it is what
    a submission's sender named, and only the id is given back."""
    keys = [key for key in dict.fromkeys(place_key(answer) for answer in answers) if key]
    if not keys:
        return None
    named = Q(code_key__in=keys)
    for field in ("name_en_key", "name_ru_key", "name_tg_key", "name_uz_key"):
        named |= Q(**{f"{field}__in": keys})
    # Which programme's in Python: given "shared or ours" as well, SQLite walks the index of
    # programmes (every shared place) instead of the keys' (a handful of rows).
    rows = [
        row
        for owner, *row in Place.objects.filter(named)
        .order_by()
        .values_list(
            "programme_id",
            "pk",
            "code_key",
            "name_en_key",
            "name_ru_key",
            "name_tg_key",
            "name_uz_key",
        )
        if owner is None or owner == programme_id
    ]
    for key in keys:
        # A code names one place (they are unique) and comes before any name.
        for pk, code, *_names in rows:
            if code == key:
                return int(pk)
        places = {pk for pk, _code, *names in rows if key in names}
        if len(places) == 1:
            return int(places.pop())
    return None


# A place's boundary (GeoJSON) and population by sex and age, and its parent's: read only
# where shown.
_HEAVY = ("boundary", "population", "parent__boundary", "parent__population")


# Two recursive queries over the place tree, each one statement whatever its depth (the ORM
# has no recursive query, and walking the tree a level at a time costs a query per level):
# the places a programme covers, that is those it names and, beneath them, the shared places
# and its own communities (not another programme's communities nor what lies inside them);
# and those with the regions and country above the places it names.
_COVERED_SQL = (
    "WITH RECURSIVE covered(id) AS ("
    ' SELECT place_id FROM "accounts_programme_places" WHERE programme_id = %s'
    ' UNION SELECT p.id FROM "places_place" p JOIN covered ON p.parent_id = covered.id'
    " WHERE p.programme_id IS NULL OR p.programme_id = %s"
    ") SELECT id FROM covered"
)
_AREA_SQL = (
    "WITH RECURSIVE covered(id) AS ("
    ' SELECT place_id FROM "accounts_programme_places" WHERE programme_id = %s'
    ' UNION SELECT p.id FROM "places_place" p JOIN covered ON p.parent_id = covered.id'
    " WHERE p.programme_id IS NULL OR p.programme_id = %s"
    "), above(id) AS ("
    ' SELECT p.parent_id FROM "places_place" p JOIN "accounts_programme_places" n'
    " ON n.place_id = p.id WHERE n.programme_id = %s AND p.parent_id IS NOT NULL"
    ' UNION SELECT p.parent_id FROM "places_place" p JOIN above ON p.id = above.id'
    " WHERE p.parent_id IS NOT NULL"
    ") SELECT id FROM covered UNION SELECT id FROM above"
)


def _covered(programme: Programme) -> Q:
    """The places a programme covers, as a filter read in the query that uses it."""
    return Q(pk__in=RawSQL(_COVERED_SQL, (programme.pk, programme.pk)))  # noqa: S611


def _area(programme: Programme) -> Q:
    """:func:`_covered` and the regions and country above the places the programme names."""
    return Q(pk__in=RawSQL(_AREA_SQL, (programme.pk,) * 3))  # noqa: S611


def programme_place_ids(programme: Programme) -> set[int]:
    """Every place inside the programme's country that it covers: the places it names, their
    descendants, and the programme's own communities (one query)."""
    return set(Place.objects.filter(_covered(programme)).order_by().values_list("pk", flat=True))


def programme_area_ids(programme: Programme) -> set[int]:
    """The places covered (:func:`programme_place_ids`) and the regions and country above
    them: what a programme-wide or regional piece of work (a driver map of Khatlon) names
    (one query)."""
    return set(Place.objects.filter(_area(programme)).order_by().values_list("pk", flat=True))


def _programme_places(*, user: AnyUser, programme: Programme, inside: Q) -> QuerySet[Place]:
    if not policies.can(user, "programme.view_places", programme):
        return Place.objects.none()
    return places_visible(user=user).filter(inside).defer(*_HEAVY).order_by("level", "name_en")


def programme_places(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """The places a programme works in, as this user may see them; without their boundaries
    and populations, which no list of places shows."""
    return _programme_places(user=user, programme=programme, inside=_area(programme))


def place_get(*, user: AnyUser, programme: Programme, pk: int) -> Place:
    """A place of the programme with the places above it (for its crumbs), and whether it has
    a boundary (its page says so)."""
    above = ("parent", "parent__parent", "parent__parent__parent")
    place = (
        programme_places(user=user, programme=programme)
        .defer(None)
        .select_related(above[-1])
        .defer(*(f"{level}__{field}" for level in above for field in ("boundary", "population")))
        .filter(pk=pk)
        .first()
    )
    if place is None:
        raise Http404("No such place.")
    return place


def place_choices_for_groups(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """Places a group (or a partner's other work) of this programme may sit in: its districts
    and communities, within the area assigned to a facilitator's organisation."""
    places = _programme_places(user=user, programme=programme, inside=_covered(programme)).filter(
        level__in=[Place.Level.DISTRICT, Place.Level.COMMUNITY]
    )
    area = policies.partner_place_ids(user, programme)
    return places if area is None else places.filter(pk__in=area)


def partner_area_places(*, programme: Programme, organisation_id: int) -> QuerySet[Place]:
    """The places the lead assigned to a partner organisation (not their insides)."""
    return (
        Place.objects.filter(
            pk__in=PartnerArea.places.through.objects.filter(
                partnerarea__programme=programme, partnerarea__organisation_id=organisation_id
            ).values("place_id")
        )
        .defer("boundary", "population")
        .order_by("level", "name_en")
    )


def partner_area_choices(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    """What a lead may assign to a partner: the programme's regions, districts, communities."""
    return programme_places(user=user, programme=programme).exclude(level=Place.Level.COUNTRY)
