"""Scoped reads of the drivers evidence. Every view, API call and command reads sources,
excerpts, codes, maps and priority lists through these functions; an object outside the
user's scope is absent (404)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.communities.models import CommunityGroup
from amniyat.drivers.models import (
    Code,
    DriverMap,
    Excerpt,
    Passage,
    Priority,
    PriorityList,
    RedactionFlag,
    Source,
)

if TYPE_CHECKING:
    from django.db.models import Model

    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


T = TypeVar("T", bound="Model")


def _one(queryset: QuerySet[T], pk: int | str, what: str) -> T:
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Http404(f"No such {what}.")
    return found


# Sources, passages and excerpts -----------------------------------------------------------


def source_list(*, user: AnyUser, programme: Programme) -> QuerySet[Source]:
    """The programme's sources this user may read; the (encrypted) text is deferred."""
    return (
        Source.objects.filter(policies.source_scope(user), programme=programme)
        .select_related("assessment", "place", "organisation")
        .defer("text")
    )


def source_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Source:
    queryset = Source.objects.filter(policies.source_scope(user), programme=programme)
    return _one(queryset.select_related("assessment", "place", "organisation"), pk, "source")


def passage_list(*, user: AnyUser, programme: Programme) -> QuerySet[Passage]:
    return Passage.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    )


def redaction_flag_get(*, user: AnyUser, programme: Programme, pk: int | str) -> RedactionFlag:
    """A flag of notes the user may read."""
    queryset = RedactionFlag.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    ).select_related("source", "source__programme")
    return _one(queryset, pk, "redaction flag")


def excerpt_list(*, user: AnyUser, programme: Programme) -> QuerySet[Excerpt]:
    """Excerpts of the sources this user may read."""
    return Excerpt.objects.filter(
        policies.source_scope(user, "source__"), source__programme=programme
    ).select_related("code", "coder", "source", "source__place")


def excerpt_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Excerpt:
    return _one(excerpt_list(user=user, programme=programme), pk, "excerpt")


def publishable_excerpts(*, programme: Programme) -> QuerySet[Excerpt]:
    """Quotes a second lead or analyst approved for publication (redacted): what may be shown
    with a published map. A quote only proposed, or returned, is not among them."""
    return Excerpt.objects.filter(
        source__programme=programme, publication=Excerpt.Publication.APPROVED
    ).select_related("code")


# Codebook ---------------------------------------------------------------------------------


def code_list(*, user: AnyUser, programme: Programme) -> QuerySet[Code]:
    """The programme's codebook, for those who code or read coded evidence; the names of
    codes also appear on published maps, which carry their own labels."""
    if not policies.can(user, "codebook.view", programme):
        return Code.objects.none()
    return Code.objects.filter(programme=programme).select_related("parent")


def code_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Code:
    return _one(code_list(user=user, programme=programme), pk, "code")


# Driver maps ------------------------------------------------------------------------------


def driver_map_list(*, user: AnyUser, programme: Programme) -> QuerySet[DriverMap]:
    return DriverMap.objects.filter(
        policies.driver_map_scope(user), programme=programme
    ).select_related("place", "group", "assessment", "organisation")


def driver_map_get(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    return _one(driver_map_list(user=user, programme=programme), pk, "driver map")


def driver_map_for_edit(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    """A map the user may change; one they may only look at is absent here too."""
    driver_map = driver_map_get(user=user, programme=programme, pk=pk)
    if not policies.can(user, "map.edit", driver_map):
        raise Http404("No such driver map.")
    return driver_map


# Priorities -------------------------------------------------------------------------------


def priority_list_list(*, user: AnyUser, programme: Programme) -> QuerySet[PriorityList]:
    groups = CommunityGroup.objects.filter(policies.group_scope(user), programme=programme)
    return PriorityList.objects.filter(group__in=groups).select_related("group", "assessment")


def priority_list_get(*, user: AnyUser, programme: Programme, pk: int | str) -> PriorityList:
    return _one(priority_list_list(user=user, programme=programme), pk, "priority list")


def priority_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Priority:
    """One scored concern of a priority list the user may read."""
    queryset = Priority.objects.filter(
        priority_list__in=priority_list_list(user=user, programme=programme)
    ).select_related("priority_list__group__place", "priority_list__assessment", "code")
    return _one(queryset, pk, "priority")
