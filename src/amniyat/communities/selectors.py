"""Scoped reads of community groups and their members."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import orjson
from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from amniyat.accounts import policies
from amniyat.communities.models import (
    YOUTH_AGE_BANDS,
    CommunityGroup,
    GroupMember,
    MembersRevision,
    RepresentationTarget,
    Sex,
)
from amniyat.communities.representativeness import (
    Composition,
    Profile,
    composition_of,
    targets_met,
)
from amniyat.core.search import contains_folded

if TYPE_CHECKING:
    from collections.abc import Callable

    from amniyat.accounts.models import Programme
    from amniyat.accounts.policies import AnyUser

Counted = TypeVar("Counted")
# The counts a programme's pages make of its members, kept for as long as the day they are
# counted on lasts at most; a change to the members makes new ones at once (`_kept`).
COUNTS_KEPT_SECONDS = 24 * 60 * 60


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


def groups_to_count(
    *, user: AnyUser, programme: Programme | None = None
) -> QuerySet[CommunityGroup]:
    """:func:`groups_visible` without the count of active members, nor their places and
    partners (the API names them by id): a list takes its page of them first and counts the
    page's (:func:`count_active_members`), where counting in the same query joins every
    member of every group before the page is taken."""
    queryset = CommunityGroup.objects.filter(policies.group_scope(user))
    if programme is not None:
        queryset = queryset.filter(programme=programme)
    return queryset.select_related("programme").order_by("name")


def count_active_members(groups: list[CommunityGroup]) -> list[CommunityGroup]:
    """``groups``, each given its ``active_members`` today (as :func:`groups_visible`
    counts them), in one query."""
    counts = dict(
        GroupMember.objects.filter(_active_on(timezone.localdate()), group__in=groups)
        .order_by()
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
        if groups
        else ()
    )
    for group in groups:
        group.active_members = counts.get(group.pk, 0)  # type: ignore[attr-defined]
    return groups


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


def members_for_aggregates(*, user: AnyUser, programme: Programme) -> QuerySet[GroupMember]:
    """Members behind a programme's aggregate figures (counts, shares) as this user may see
    them: the members of the groups they see, or, for viewers, every member of the programme —
    for counting only; pages show viewers no group or member and suppress small cells."""
    if policies.can(user, "programme.view_groups", programme):
        return members_visible(user=user, programme=programme).select_related(None)
    if policies.can(user, "programme.view", programme):
        return GroupMember.objects.filter(group__programme=programme)
    return GroupMember.objects.none()


def _active_on(day: datetime.date) -> Q:
    """The members active on ``day`` (:func:`amniyat.communities.models.active_on`)."""
    return Q(joined_on__lte=day) & (Q(left_on__isnull=True) | Q(left_on__gt=day))


def member_profiles(
    members: QuerySet[GroupMember], *, on: datetime.date, groups: Collection[int] = ()
) -> tuple[list[Profile], dict[int, list[Profile]]]:
    """``members`` as the database counts them into profiles (members alike in sex, age band
    and sectors, never their names), in one query: all of them, and, each on its own, those of
    ``groups``. A national programme's thousands of members make a few hundred profiles; the
    sectors are read as their JSON text, parsed once per profile."""
    shown = (
        Case(
            When(group_id__in=list(groups), then=F("group_id")),
            default=None,
            output_field=IntegerField(),
        )
        if groups
        else Value(None, output_field=IntegerField())
    )
    rows = (
        members.order_by()
        .annotate(sectors_text=Cast("sectors", TextField()), shown_group=shown)
        .values_list("shown_group", "sex", "age_band", "sectors_text")
        .annotate(
            active=Count("pk", filter=_active_on(on)),
            last_left=Max("left_on", filter=Q(left_on__lte=on)),
        )
    )
    everyone: list[Profile] = []
    by_group: dict[int, list[Profile]] = {}
    for group, sex, age_band, text, active, last_left in rows:
        sectors = frozenset() if text == "[]" else frozenset(orjson.loads(text) or ())
        profile = Profile(sex, age_band, sectors, active, last_left)
        everyone.append(profile)
        if group is not None:
            by_group.setdefault(group, []).append(profile)
    return everyone, by_group


def _counted_by(target: RepresentationTarget) -> Q:
    """The members ``target`` counts; a sector's as its quoted code in the sectors' JSON text
    (``"police"``), which no other code's quotes hold."""
    if target.dimension == RepresentationTarget.Dimension.WOMEN:
        return Q(sex=Sex.FEMALE)
    if target.dimension == RepresentationTarget.Dimension.YOUTH:
        return Q(age_band__in=sorted(YOUTH_AGE_BANDS))
    return Q(sectors_text__contains=orjson.dumps(target.sector).decode())


def target_counts(
    members: QuerySet[GroupMember], targets: Sequence[RepresentationTarget], *, on: datetime.date
) -> dict[int, tuple[int, list[int]]]:
    """For each group with members active on ``on``: how many, and how many of them count
    towards each of ``targets`` (:func:`representativeness.targets_met`), counted by the
    database in one query, a row per group; a group not in it has no active member."""
    counts = {
        f"target_{index}": Count("pk", filter=_counted_by(target))
        for index, target in enumerate(targets)
    }
    rows = (
        members.filter(_active_on(on))
        .order_by()
        .alias(sectors_text=Cast("sectors", TextField()))
        .values("group_id")
        .annotate(total=Count("pk"), **counts)
        .values_list("group_id", "total", *counts)
    )
    return {group: (total, list(counted)) for group, total, *counted in rows}


def _counting_scope(user: AnyUser, programme: Programme) -> str | None:
    """Which of the programme's members the user's figures count, as a part of the key they
    are kept under: all of them (for those who see aggregates only, or every group), a
    partner's groups, or one group; None (not kept) for anyone else."""
    if not policies.can(user, "programme.view_groups", programme):
        return "aggregates" if policies.can(user, "programme.view", programme) else None
    membership = policies.memberships(user).get(programme.pk)
    if membership is None:
        return None
    if membership.role in policies.FULL_VIEW_ROLES:
        return "all"
    if membership.role == policies.Role.FACILITATOR:
        return f"organisation-{membership.organisation_id}"
    if membership.role == policies.Role.GROUP_MEMBER and membership.community_group_id:
        return f"group-{membership.community_group_id}"
    return None


def members_revision(programme: Programme) -> str:
    """The programme's :class:`MembersRevision` ("" before its first change)."""
    revision = (
        MembersRevision.objects.filter(programme=programme)
        .values_list("revision", flat=True)
        .first()
    )
    return revision or ""


def _kept(
    what: str,
    *,
    user: AnyUser,
    programme: Programme,
    on: datetime.date,
    count: Callable[[], Counted],
) -> Counted:
    """``count()``, kept in the cache under the programme's members revision, the day and the
    members the user's figures count: counted again only once the members, groups or targets
    change (every writer raises the revision, ``services.members_changed``) or the day does.
    The revision is read before the members are, so that what is kept is never older than the
    revision it is kept under. Only counts and codes are kept, no name and nothing translated:
    the same value serves every language."""
    scope = _counting_scope(user, programme)
    if scope is None:
        return count()
    revision = members_revision(programme)
    key = f"communities:{what}:{programme.pk}:{revision}:{on.isoformat()}:{scope}"
    counted: Counted | None = cache.get(key)
    if counted is None:
        counted = count()
        cache.set(key, counted, COUNTS_KEPT_SECONDS)
    return counted


def programme_representativeness(
    *,
    user: AnyUser,
    programme: Programme,
    on: datetime.date,
    groups: Iterable[CommunityGroup] | None = None,
) -> tuple[Composition, list[tuple[CommunityGroup, Composition]]]:
    """All the members behind the programme's figures checked against its targets (as
    :func:`members_for_aggregates` gives them), and each group the user may see with its
    members checked against them (none for those who see aggregates only): the members
    counted once for both, by the database (:func:`member_profiles`). ``groups``: the groups
    to check (a page of :func:`groups_listed`), every group the user sees if not given."""
    members = members_for_aggregates(user=user, programme=programme)
    targets, everyone = _kept(
        "profiles",
        user=user,
        programme=programme,
        on=on,
        count=lambda: _targets_and_profiles(members, programme=programme, on=on),
    )
    if not policies.can(user, "programme.view_groups", programme):
        return composition_of(everyone, targets, on=on), []
    # Those who see the groups count the members of the groups they see: the same members,
    # the programme's kept, the page's groups' counted (the few members of a page of groups).
    listed = list(groups_listed(user=user, programme=programme) if groups is None else groups)
    ids = [group.pk for group in listed]
    _all, by_group = member_profiles(members.filter(group_id__in=ids), on=on, groups=ids)
    rows = [(group, composition_of(by_group.get(group.pk, []), targets, on=on)) for group in listed]
    return composition_of(everyone, targets, on=on), rows


def _targets_and_profiles(
    members: QuerySet[GroupMember], *, programme: Programme, on: datetime.date
) -> tuple[list[RepresentationTarget], list[Profile]]:
    """The programme's targets and ``members`` counted into profiles on ``on``."""
    targets = list(targets_of(programme=programme))
    everyone, _none = member_profiles(members, on=on)
    return targets, everyone


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
    those who see aggregates only, of all the programme's groups, none named. The database
    counts the members (:func:`member_profiles`, :func:`target_counts`): a national programme
    has hundreds of groups and thousands of members, and none of them is read here; and what
    it counts is kept until they change (:func:`_kept`): the home page's second reading of
    them costs a query."""
    members = members_for_aggregates(user=user, programme=programme)
    sees_groups = policies.can(user, "programme.view_groups", programme)
    groups = (
        _groups_in(user=user, programme=programme)
        if sees_groups
        else programme.community_groups.order_by("name")
    )

    def count() -> tuple[list[RepresentationTarget], list[Profile], list[int], int]:
        targets, everyone = _targets_and_profiles(members, programme=programme, on=on)
        ids = list(groups.values_list("pk", flat=True))
        short: list[int] = []
        if targets:
            counted = target_counts(members, targets, on=on)
            nobody = (0, [0] * len(targets))
            short = [pk for pk in ids if not targets_met(*counted.get(pk, nobody), targets)]
        return targets, everyone, short, len(ids)

    targets, everyone, short, group_count = _kept(
        "overview", user=user, programme=programme, on=on, count=count
    )
    named_ids = short[:named] if sees_groups else []
    found = {group.pk: group for group in groups.filter(pk__in=named_ids)} if named_ids else {}
    by_sex_and_age: Counter[tuple[str, str]] = Counter()
    for profile in everyone:
        if profile.active_count:
            by_sex_and_age[profile.sex, profile.age_band] += profile.active_count
    return TargetsOverview(
        composition=composition_of(everyone, targets, on=on),
        short=[found[pk] for pk in named_ids],
        short_count=len(short),
        groups=group_count,
        by_sex_and_age=dict(by_sex_and_age),
    )


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
    """The groups among ``choices`` whose name contains ``query`` (in any case, in any
    alphabet: compared folded, :mod:`amniyat.core.search`), else the first by name: at most
    ``limit``, and whether there were more."""
    found = choices
    if query:
        found = found.filter(contains_folded(CommunityGroup, ["name"], query))
    rows = list(found[: limit + 1])
    return rows[:limit], len(rows) > limit
