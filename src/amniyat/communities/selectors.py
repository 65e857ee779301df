"""Scoped reads of community groups and their members."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from amniyat.accounts import policies
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget
from amniyat.communities.representativeness import (
    Composition,
    MemberFacts,
    composition,
    targets_met,
)

if TYPE_CHECKING:
    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser


def groups_visible(
    *, user: AnyUser, programme: Programme | None = None
) -> QuerySet[CommunityGroup]:
    today = timezone.localdate()
    active = Q(members__left_on__isnull=True) | Q(members__left_on__gt=today)
    return (
        _groups_in(user=user, programme=programme)
        .select_related("facilitating_organisation", "programme")
        .annotate(active_members=Count("members", filter=active & Q(members__joined_on__lte=today)))
    )


def _groups_in(*, user: AnyUser, programme: Programme | None) -> QuerySet[CommunityGroup]:
    """The groups the user sees, by name, with their place (named, never drawn nor counted)."""
    queryset = CommunityGroup.objects.filter(policies.group_scope(user))
    if programme is not None:
        queryset = queryset.filter(programme=programme)
    return (
        queryset.select_related("place")
        .defer("place__boundary", "place__population")
        .order_by("name")
    )


def group_get(*, user: AnyUser, programme: Programme, pk: int) -> CommunityGroup:
    """One group of ``programme`` the user sees, with its place and partner; not its count of
    active members (:func:`groups_visible` has it: a group's own pages count its members
    themselves), nor its programme again (the one in hand)."""
    group = (
        _groups_in(user=user, programme=programme)
        .select_related("facilitating_organisation")
        .filter(pk=pk)
        .first()
    )
    if group is None:
        raise Http404("No such community group.")
    group.programme = programme
    return group


def group_get_counted(*, user: AnyUser, programme: Programme, pk: int) -> CommunityGroup:
    """:func:`group_get` with the count of active members the API gives each group."""
    group = groups_visible(user=user, programme=programme).filter(pk=pk).first()
    if group is None:
        raise Http404("No such community group.")
    return group


def members_visible(
    *, user: AnyUser, group: CommunityGroup | None = None, programme: Programme | None = None
) -> QuerySet[GroupMember]:
    queryset = GroupMember.objects.filter(policies.group_scope(user, prefix="group__"))
    if group is not None:
        queryset = queryset.filter(group=group)
    if programme is not None:
        queryset = queryset.filter(group__programme=programme)
    return queryset.select_related("group").order_by("joined_on", "id")


def member_get(*, user: AnyUser, group: CommunityGroup, pk: int) -> GroupMember:
    member = members_visible(user=user, group=group).filter(pk=pk).first()
    if member is None:
        raise Http404("No such member.")
    return member


def targets_of(*, programme: Programme) -> QuerySet[RepresentationTarget]:
    """A programme's composition targets; not personal, shown to every member."""
    return RepresentationTarget.objects.filter(programme=programme)


# What a group's composition is counted from: never the members' (encrypted) names.
COMPOSITION_FIELDS = ("group_id", "sex", "age_band", "sectors", "joined_on", "left_on")


def members_for_aggregates(*, user: AnyUser, programme: Programme) -> QuerySet[GroupMember]:
    """Members behind a programme's aggregate figures (counts, shares) as this user may see
    them: the members of the groups they see, or, for viewers, every member of the programme —
    for counting only; pages show viewers no group or member and suppress small cells."""
    if policies.can(user, "programme.view_groups", programme):
        members = members_visible(user=user, programme=programme).select_related(None)
    elif policies.can(user, "programme.view", programme):
        members = GroupMember.objects.filter(group__programme=programme)
    else:
        return GroupMember.objects.none()
    return members.only(*COMPOSITION_FIELDS)


def _facts(members: QuerySet[GroupMember]) -> list[MemberFacts]:
    # The sectors read as their JSON text and parsed with orjson, most of them "[]": Django's
    # reading of a JSON column was half the time of reading a national programme's members.
    rows = members.annotate(sectors_text=Cast("sectors", TextField())).values_list(
        "group_id", "sex", "age_band", "sectors_text", "joined_on", "left_on"
    )
    return [
        MemberFacts(group, sex, age, [] if text == "[]" else orjson.loads(text), joined, left)
        for group, sex, age, text, joined, left in rows
    ]


def programme_representativeness(
    *,
    user: AnyUser,
    programme: Programme,
    on: datetime.date,
    groups: Iterable[CommunityGroup] | None = None,
) -> tuple[Composition, list[tuple[CommunityGroup, Composition]]]:
    """All the members behind the programme's figures checked against its targets (as
    :func:`members_for_aggregates` gives them), and each group the user may see with its
    members checked against them (none for those who see aggregates only): the members and
    the targets read once for both, as plain values. ``groups``: the groups to check (a page
    of :func:`groups_listed`), every group the user sees if not given."""
    targets = list(targets_of(programme=programme))
    members = _facts(members_for_aggregates(user=user, programme=programme))
    if not policies.can(user, "programme.view_groups", programme):
        return composition(members, targets, on=on), []
    # Those who see the groups count the members of the groups they see: the same members.
    by_group = _by_group(members)
    # The groups of groups_visible, without the count of members that is counted here.
    listed = groups_listed(user=user, programme=programme) if groups is None else groups
    rows = [(group, composition(by_group.get(group.pk, []), targets, on=on)) for group in listed]
    return composition(members, targets, on=on), rows


def groups_listed(*, user: AnyUser, programme: Programme) -> QuerySet[CommunityGroup]:
    """The groups the user sees, by name, with their place: those the representativeness
    page checks, a page at a time."""
    return _groups_in(user=user, programme=programme).order_by("name", "pk")


@dataclass
class TargetsOverview:
    """A programme's members against its targets, as its home page tells them."""

    composition: Composition  # all the members behind the programme's figures
    short: list[CommunityGroup]  # the first groups (by name) that miss a target, if named
    short_count: int  # how many groups miss at least one target
    groups: int  # of how many
    by_sex_and_age: dict[tuple[str, str], int]  # the members active on the day


def targets_overview(
    *, user: AnyUser, programme: Programme, on: datetime.date, named: int
) -> TargetsOverview:
    """The programme's composition, its active members by sex and age band, and how many
    groups miss a target: of the groups the user sees, the first ``named`` of them named; for
    those who see aggregates only, of all the programme's groups, none named. The members
    are read once, and each group is counted only as far as its targets need: a national
    programme has hundreds of groups."""
    targets = list(targets_of(programme=programme))
    members = _facts(members_for_aggregates(user=user, programme=programme))
    by_group = _by_group(members)
    sees_groups = policies.can(user, "programme.view_groups", programme)
    groups = (
        _groups_in(user=user, programme=programme)
        if sees_groups
        else programme.community_groups.order_by("name")
    )
    ids = list(groups.values_list("pk", flat=True))
    short = [pk for pk in ids if not targets_met(by_group.get(pk, []), targets, on=on)]
    named_ids = short[:named] if sees_groups else []
    found = {group.pk: group for group in groups.filter(pk__in=named_ids)}
    return TargetsOverview(
        composition=composition(members, targets, on=on),
        short=[found[pk] for pk in named_ids],
        short_count=len(short),
        groups=len(ids),
        by_sex_and_age=dict(Counter((m.sex, m.age_band) for m in members if m.is_active_on(on))),
    )


def _by_group(members: Iterable[MemberFacts]) -> dict[int, list[MemberFacts]]:
    by_group: dict[int, list[MemberFacts]] = {}
    for member in members:
        by_group.setdefault(member.group_id, []).append(member)
    return by_group


def group_choices(*, user: AnyUser, programme: Programme) -> QuerySet[CommunityGroup]:
    """The groups of ``programme`` this user sees, as a picker offers them (``core.picker``):
    named, nothing joined."""
    return (
        CommunityGroup.objects.filter(policies.group_scope(user), programme=programme)
        .only("name", "content_language", "translations", "programme_id")
        .order_by("name")
    )


def groups_found(
    choices: QuerySet[CommunityGroup], *, query: str, limit: int
) -> tuple[list[CommunityGroup], bool]:
    """The groups among ``choices`` whose name contains ``query`` (in any case; Cyrillic as
    typed, small or with a capital first, since SQLite folds ASCII only), else the first by
    name: at most ``limit``, and whether there were more."""
    found = choices
    if query:
        condition = Q()
        for variant in {query, query.lower(), query.capitalize(), query.upper()}:
            condition |= Q(name__icontains=variant)
        found = found.filter(condition)
    rows = list(found[: limit + 1])
    return rows[:limit], len(rows) > limit
