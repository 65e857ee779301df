"""Scoped reads of priority lists and their priorities, through the community groups the user
may read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from amniyat.accounts import policies
from amniyat.communities.models import CommunityGroup
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Priority, PriorityList

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def priority_list_list(*, user: AnyUser, programme: Programme) -> QuerySet[PriorityList]:
    groups = CommunityGroup.objects.filter(policies.group_scope(user), programme=programme)
    return PriorityList.objects.filter(group__in=groups).select_related("group", "assessment")


def priority_list_get(*, user: AnyUser, programme: Programme, pk: int | str) -> PriorityList:
    return one_or_404(priority_list_list(user=user, programme=programme), pk, "priority list")


def priority_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Priority:
    """One scored concern of a priority list the user may read."""
    queryset = Priority.objects.filter(
        priority_list__in=priority_list_list(user=user, programme=programme)
    ).select_related("priority_list__group__place", "priority_list__assessment", "code")
    return one_or_404(queryset, pk, "priority")
