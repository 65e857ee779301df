"""Scoped reads of driver maps: those the user may look at, and those they may change; and
what a map's pages read of one (its factors and links, the excerpts each carries), once per
page and with only the columns they show."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import IntegerField, QuerySet, Value
from django.http import Http404

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import DriverMap, Factor, Link

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def driver_map_list(*, user: AnyUser, programme: Programme) -> QuerySet[DriverMap]:
    # A place's boundary (GeoJSON) and population are never shown beside a map's title.
    return (
        DriverMap.objects.filter(policies.driver_map_scope(user), programme=programme)
        .select_related("place", "group", "assessment", "organisation")
        .defer("place__boundary", "place__population")
    )


def driver_map_get(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    # With what its pages name beside its title (its place, group and survey; the list alone
    # names its organisation), and not sorted among the others.
    queryset = (
        driver_map_list(user=user, programme=programme)
        .select_related(None)
        .select_related("place", "group", "assessment")
        .order_by()
    )
    driver_map = one_or_404(queryset, pk, "driver map")
    driver_map.programme = programme  # the row it was found in: not read again
    return driver_map


def driver_map_for_edit(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    """A map the user may change; one they may only look at is absent here too."""
    driver_map = driver_map_get(user=user, programme=programme, pk=pk)
    if not policies.can(user, "map.edit", driver_map):
        raise Http404("No such driver map.")
    return driver_map


# What a factor of a map is read for: its place in the drawing, its label as written and as
# the reader reads it (its code's name, when it has a code), its note and indicators; not the
# code's descriptions and linked indicators.
FACTOR_COLUMNS = (
    "map_id",
    "kind",
    "label",
    "content_language",
    "translations",
    "note",
    "x",
    "y",
    "indicator_keys",
    "code__key",
    "code__name_en",
    "code__name_ru",
    "code__name_tg",
    "code__name_uz",
)


def map_factors(driver_map: DriverMap) -> list[Factor]:
    """The map's factors, in order, each with its code's key and names."""
    # In their order (Factor.Meta: map, then id) without joining the map to order by it.
    return list(driver_map.factors.select_related("code").only(*FACTOR_COLUMNS).order_by("pk"))


def map_links(driver_map: DriverMap) -> list[Link]:
    """The map's links, in order; their ends are among :func:`map_factors`."""
    return list(driver_map.links.order_by("pk"))


# A map's factors and links as a page reads them once for all it shows of them (the list, the
# drawing, the analysis).
MapContent = tuple[Sequence[Factor], Sequence[Link]]


def map_content(driver_map: DriverMap, content: MapContent | None = None) -> MapContent:
    """``content`` when a page has already read it, else the map's factors and links."""
    if content is not None:
        return content
    return map_factors(driver_map), map_links(driver_map)


# The excerpts attached to each factor and to each link of a map, by id.
EvidenceIds = tuple[defaultdict[int, list[int]], defaultdict[int, list[int]]]


def map_evidence_ids(driver_map: DriverMap) -> EvidenceIds:
    """The excerpts attached to each factor and to each link of the map, by id (one query of
    both join tables, whatever the number of factors and links; in no order: a page lists
    them as it reads the excerpts); none for the others."""
    by_factor: defaultdict[int, list[int]] = defaultdict(list)
    by_link: defaultdict[int, list[int]] = defaultdict(list)
    on_factors = Factor.excerpts.through.objects.filter(factor__map=driver_map).values_list(
        "factor_id", "excerpt_id", Value(0, output_field=IntegerField())
    )
    on_links = Link.excerpts.through.objects.filter(link__map=driver_map).values_list(
        "link_id", "excerpt_id", Value(1, output_field=IntegerField())
    )
    for owner_id, excerpt_id, on_link in on_factors.union(on_links, all=True):
        (by_link if on_link else by_factor)[owner_id].append(excerpt_id)
    return by_factor, by_link
