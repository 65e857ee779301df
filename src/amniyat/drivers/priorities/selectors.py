"""Scoped reads of priority lists and their priorities, through the community groups the user
may read; and what a list's page reads of its survey's published findings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from amniyat.accounts import policies
from amniyat.communities.models import CommunityGroup
from amniyat.core.i18n import CONTENT_LANGUAGES
from amniyat.core.selectors import one_or_404
from amniyat.drivers.models import Priority, PriorityList
from amniyat.findings import shown
from amniyat.findings.models import Findings
from amniyat.findings.present import measure_label

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser
    from amniyat.fieldwork.models import Assessment


def _groups(user: AnyUser, programme: Programme) -> QuerySet[CommunityGroup]:
    # The groups the user may read, as amniyat.communities.selectors.groups_visible.
    return CommunityGroup.objects.filter(policies.group_scope(user), programme=programme)


def _of_groups_read(user: AnyUser, programme: Programme, prefix: str = "") -> Q:
    """Rows of the groups the user may read (:func:`_groups`), ``prefix`` leading to the
    row's group: a condition on the group the statement joins anyway, not a subquery of the
    groups (which costs compiling a second statement on every request)."""
    return policies.group_scope(user, f"{prefix}group__") & Q(
        **{f"{prefix}group__programme": programme}
    )


def priority_list_list(*, user: AnyUser, programme: Programme) -> QuerySet[PriorityList]:
    return PriorityList.objects.filter(_of_groups_read(user, programme)).select_related(
        "group", "assessment"
    )


# What the priorities page shows of a group (its name, kind and place) and what the policy
# reads to say whether the user may start a list for it.
GROUP_COLUMNS = (
    "programme_id",
    "facilitating_organisation_id",
    "name",
    "kind",
    "content_language",
    "translations",
    *(f"place__name_{language}" for language in CONTENT_LANGUAGES),
)


def priority_groups(*, user: AnyUser, programme: Programme) -> QuerySet[CommunityGroup]:
    """The groups whose priority lists the user may read, by name, with only what the
    priorities page shows of them (not their members counted, as the groups' own pages do)."""
    return _groups(user, programme).select_related("place").only(*GROUP_COLUMNS).order_by("name")


def priority_list_get(*, user: AnyUser, programme: Programme, pk: int | str) -> PriorityList:
    # With its group's place, which its pages name (never draw nor count).
    queryset = (
        priority_list_list(user=user, programme=programme)
        .select_related("group__place")
        .defer("group__place__boundary", "group__place__population")
    )
    return one_or_404(queryset, pk, "priority list")


def priority_get(*, user: AnyUser, programme: Programme, pk: int | str) -> Priority:
    """One scored concern of a priority list the user may read."""
    queryset = Priority.objects.filter(
        _of_groups_read(user, programme, "priority_list__")
    ).select_related("priority_list__group__place", "priority_list__assessment", "code")
    # The group's place is named, never drawn nor counted.
    queryset = queryset.defer(
        "priority_list__group__place__boundary", "priority_list__group__place__population"
    )
    return one_or_404(queryset, pk, "priority")


# What a concern's code is not read for: only its name is.
CODE_UNREAD = (
    *(f"code__description_{language}" for language in CONTENT_LANGUAGES),
    "code__indicator_keys",
)


def ranked_priorities(priority_list: PriorityList) -> list[Priority]:
    """The list's concerns in rank order (those of a rank by name), each with its code, whose
    name a concern without one of its own reads as."""
    return list(
        Priority.objects.filter(priority_list=priority_list)
        .select_related("code")
        .defer(*CODE_UNREAD)
        .order_by("rank", "concern")
    )


def survey_labels(*, assessment: Assessment, keys: Iterable[str]) -> dict[str, str]:
    """The label, in the reader's language, of each indicator of ``keys`` as the assessment's
    latest published findings (where the services took each concern's share from) name it;
    each key itself where there are none. The findings are read without their results, which
    the process keeps once per record and computation (findings.shown.results_of)."""
    wanted = set(keys)
    if not wanted:
        return {}
    # The same findings as amniyat.findings.selectors.published_findings.
    latest = (
        Findings.objects.filter(assessment=assessment, published_at__isnull=False)
        .defer("results")
        .order_by("-published_at", "-id")
        .first()
    )
    if latest is None:
        return {key: key for key in wanted}
    results = shown.results_of(latest)
    return {key: measure_label(results, key) for key in wanted}
