"""Scoped reads of places."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from amniyat.accounts import policies
from amniyat.core.compiled import CompiledRead
from amniyat.core.i18n import CONTENT_LANGUAGES, reader_language
from amniyat.core.search import contains_folded, folded
from amniyat.places.models import PartnerArea, Place

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def places_visible(*, user: AnyUser) -> QuerySet[Place]:
    return Place.objects.filter(policies.place_scope(user)).select_related("parent")


def _places_named(keys: list[str]) -> QuerySet[Place]:
    named = Q()
    for key in Place.KEYED.values():
        named |= Q(**{f"{key}__in": keys})
    return (
        Place.objects.filter(named)
        .order_by()
        .values_list("programme_id", "pk", *Place.KEYED.values())  # the code's key first
    )


# Every phone submission naming a place asks: SQL written once per number of keys.
_PLACES_NAMED = CompiledRead(_places_named)


def place_named(*, programme_id: int, answers: Sequence[str]) -> int | None:
    """The place the first of ``answers`` that names one names: a place's code, or a name (in
    any of the four languages) that no other place shares, compared folded
    (:mod:`amniyat.core.search`), among the shared places and the programme's own
    communities. One indexed query, however many places there are; the same answers as the
    import's table of every place (:func:`amniyat.fieldwork.imports.services.place_lookup`).
    Not a scoped read: it is what a submission's sender named, and only the id is given
    back."""
    keys = [key for key in dict.fromkeys(folded(answer) for answer in answers) if key]
    if not keys:
        return None
    # Which programme's in Python: given "shared or ours" as well, SQLite walks the index of
    # programmes (every shared place) instead of the keys' (a handful of rows).
    rows = [
        row
        for owner, *row in _PLACES_NAMED.rows(keys=keys)
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


@dataclass(frozen=True)
class TreeRow:
    """A place as the list of a programme's places shows it."""

    pk: int
    depth: int
    name: str
    level: str
    code: str
    kind: str


def place_tree(*, user: AnyUser, programme: Programme) -> list[TreeRow]:
    """The programme's places (:func:`programme_places`) in the order of their tree, each
    followed by those inside it by name in the reader's language; read as the few columns a
    list shows (one query, no place made whole: a national programme has hundreds)."""
    language = reader_language()
    names = (f"name_{language}", *(f"name_{code}" for code in CONTENT_LANGUAGES))
    children: dict[int | None, list[tuple[str, int]]] = {}
    found: dict[int, tuple[str, str, str, str]] = {}
    rows = programme_places(user=user, programme=programme).values_list(
        "pk", "parent_id", "level", "code", "kind", *names
    )
    for pk, parent_id, level, code, kind, *given in rows:
        name = next((n for n in given if n), "")
        children.setdefault(parent_id, []).append((name.casefold(), pk))
        found[pk] = (name, level, code, kind)
    tree: list[TreeRow] = []

    def walk(nodes: list[tuple[str, int]], depth: int) -> None:
        for _name, pk in sorted(nodes):
            tree.append(TreeRow(pk, depth, *found[pk]))
            walk(children.get(pk, []), depth + 1)

    # The tops: places whose parent is not shown (the country, or a programme's regions).
    walk([node for parent, nodes in children.items() if parent not in found for node in nodes], 0)
    return tree


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


# ----------------------------------------------------------------------------------------
# What a place picker offers (``core.picker``): each field names the set it chooses from, the
# same set the form checks a post against and the picker's endpoint searches.


def _group_districts(*, user: AnyUser, programme: Programme) -> QuerySet[Place]:
    return place_choices_for_groups(user=user, programme=programme).filter(
        level=Place.Level.DISTRICT
    )


PLACE_SCOPES: dict[str, Callable[..., QuerySet[Place]]] = {
    # What a driver map may be of: the programme's area, the regions and country above it too.
    "area": programme_places,
    # Where a group, an assessment or notes may be: districts and communities (a partner's own).
    "groups": place_choices_for_groups,
    # What a community may be part of.
    "districts": _group_districts,
    # What a lead may assign to a partner.
    "partner": partner_area_choices,
}


def place_choices(*, user: AnyUser, programme: Programme, within: str) -> QuerySet[Place]:
    """The places of the set ``within`` names (:data:`PLACE_SCOPES`) as this user may use
    them; a name that is no set is a page that does not exist."""
    scope = PLACE_SCOPES.get(within)
    if scope is None:
        raise Http404("No such set of places.")
    return scope(user=user, programme=programme)


# A place's path reads its district and region: two parents, named in every language.
_NAMES = ("name_en", "name_ru", "name_tg", "name_uz")
_PATH_COLUMNS = (
    "level",
    "parent_id",
    *_NAMES,
    "parent__level",
    "parent__parent_id",
    *(f"parent__{n}" for n in _NAMES),
    "parent__parent__level",
    *(f"parent__parent__{n}" for n in _NAMES),
)


def place_path(place: Place) -> str:
    """The place with the places above it below the country, in the reader's language:
    "Region › District › Mahalla" (a region alone, a country alone)."""
    path = [place]
    node = place
    while node.level not in (Place.Level.REGION, Place.Level.COUNTRY) and node.parent_id:
        node = node.parent  # type: ignore[assignment]
        if node.level == Place.Level.COUNTRY:
            break
        path.insert(0, node)
    return " › ".join(p.name for p in path)


def place_paths(places: QuerySet[Place]) -> list[tuple[int, str]]:
    """``(pk, path)`` of each place, ordered by path (one query)."""
    rows = places.select_related(None).select_related("parent__parent").only(*_PATH_COLUMNS)
    labelled = [(place.pk, place_path(place)) for place in rows]
    return sorted(labelled, key=lambda row: row[1].casefold())


def places_found(
    choices: QuerySet[Place], *, query: str = "", under: Place | None = None, limit: int
) -> tuple[list[tuple[int, str, bool]], bool]:
    """The places among ``choices`` whose name contains ``query``, or those directly
    ``under`` a place, or with neither the topmost ones (those whose parent is not among the
    choices): at most ``limit``, each as ``(pk, path, whether choices lie inside it)``, and
    whether there were more (two queries)."""
    found = choices.order_by()
    if query:
        found = found.filter(contains_folded(Place, _NAMES, query))
    elif under is not None:
        found = found.filter(parent=under)
    else:
        found = found.exclude(parent__in=choices.order_by().values("pk"))
    ids = list(found.order_by("level", "name_en").values_list("pk", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    with_inside = set(
        choices.order_by().filter(parent_id__in=ids).values_list("parent_id", flat=True).distinct()
    )
    rows = place_paths(Place.objects.filter(pk__in=ids))
    return [(pk, path, pk in with_inside) for pk, path in rows], more
