"""Scoped reads of driver maps: those the user may look at, and those they may change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from amniyat.accounts import policies
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import DriverMap

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def driver_map_list(*, user: AnyUser, programme: Programme) -> QuerySet[DriverMap]:
    return DriverMap.objects.filter(
        policies.driver_map_scope(user), programme=programme
    ).select_related("place", "group", "assessment", "organisation")


def driver_map_get(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    return one_or_404(driver_map_list(user=user, programme=programme), pk, "driver map")


def driver_map_for_edit(*, user: AnyUser, programme: Programme, pk: int | str) -> DriverMap:
    """A map the user may change; one they may only look at is absent here too."""
    driver_map = driver_map_get(user=user, programme=programme, pk=pk)
    if not policies.can(user, "map.edit", driver_map):
        raise Http404("No such driver map.")
    return driver_map
