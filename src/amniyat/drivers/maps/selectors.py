"""Scoped reads of driver maps: those the user may look at, and those they may change; what a
map's pages read of one (its factors and links, the excerpts each carries), once per page and
with only the columns they show; and the latest figure of each survey indicator beside them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import get_language

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.core.text import format_number, format_percent
from amniyat.drivers.models import DriverMap, Factor, Link
from amniyat.findings.models import Findings

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
    """The excerpts attached to each factor and to each link of the map, by id (two queries
    of the join tables, whatever the number of factors and links; in no order: a page lists
    them as it reads the excerpts); none for the others."""
    by_factor: defaultdict[int, list[int]] = defaultdict(list)
    by_link: defaultdict[int, list[int]] = defaultdict(list)
    for factor_id, excerpt_id in Factor.excerpts.through.objects.filter(
        factor__map=driver_map
    ).values_list("factor_id", "excerpt_id"):
        by_factor[factor_id].append(excerpt_id)
    for link_id, excerpt_id in Link.excerpts.through.objects.filter(
        link__map=driver_map
    ).values_list("link_id", "excerpt_id"):
        by_link[link_id].append(excerpt_id)
    return by_factor, by_link


# ----------------------------------------------------------------------------------------
# The "how many" beside a factor's "why".

# An indicator's overall estimate and its kind (proportion or mean).
Overall = list[tuple[str, float, str]]


def _overall_estimates(findings_id: int) -> Overall:
    """The overall (not disaggregated) estimate of each indicator of some findings."""
    results = Findings.objects.filter(pk=findings_id).values_list("results", flat=True).first()
    kinds = (results or {}).get("kinds", {})
    return [
        (
            record["indicator"],
            float(record["estimate"]),
            kinds.get(record["indicator"], "proportion"),
        )
        for record in (results or {}).get("estimates", [])
        if not record.get("by") and record.get("estimate") is not None
    ]


def indicator_values(*, user: AnyUser, programme: Programme) -> dict[str, str]:
    """The overall value of each indicator in the latest findings ``user`` may read (drafts
    for those who analyse, published findings for the others), formatted for the reader:
    proportions as percentages ("26%", "26 %"), means with one decimal ("2.5", "2,5"). Empty
    when there are none. (As amniyat.drivers.codebook.services.latest_indicator_values.)

    The findings' results are half a megabyte: their overall estimates are kept in the cache
    by the findings' id and the time they were computed (a new computation is a new key), and
    so are the figures as each language writes them, so a page reads only which findings are
    the latest. Aggregate, disclosure-controlled figures only; which findings a user reaches
    is decided by the query above the cache."""
    findings = Findings.objects.filter(
        assessment__programme=programme, status=Findings.Status.READY
    )
    if not policies.can(user, "findings.view_draft", programme):
        if not policies.can(user, "findings.view_published", programme):
            return {}
        findings = findings.filter(published_at__isnull=False)
    latest = findings.order_by("-computed_at", "-id").values_list("pk", "computed_at").first()
    if latest is None:
        return {}
    findings_id, computed_at = latest
    stamp = computed_at.isoformat() if computed_at else ""
    # Formatted in the reader's language, kept for the next reader of that language.
    formatted_key = f"indicator-values:{findings_id}:{stamp}:{get_language()}"
    values: dict[str, str] | None = cache.get(formatted_key)
    if values is not None:
        return values
    overall_key = f"indicator-overall:{findings_id}:{stamp}"
    overall: Overall | None = cache.get(overall_key)
    if overall is None:
        overall = _overall_estimates(findings_id)
        cache.set(overall_key, overall, timeout=3600)
    values = {
        indicator: (
            format_percent(estimate)
            if kind == "proportion"
            else format_number(estimate, decimals=1)
        )
        for indicator, estimate, kind in overall
    }
    cache.set(formatted_key, values, timeout=3600)
    return values
