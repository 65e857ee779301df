"""How well a group (or a whole programme) represents its community, against its targets."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple, Protocol

from django.utils.translation import gettext as _

from amniyat.communities.models import (
    YOUTH_AGE_BANDS,
    AgeBand,
    GroupMember,
    RepresentationTarget,
    Sector,
    Sex,
)
from amniyat.core.text import format_date, format_percent, language_code


class Counted(Protocol):
    """What a composition counts a member from: a :class:`GroupMember`, or its facts."""

    @property
    def sex(self) -> str: ...
    @property
    def age_band(self) -> str: ...
    @property
    def sectors(self) -> Sequence[str]: ...
    @property
    def left_on(self) -> datetime.date | None: ...

    def is_active_on(self, day: datetime.date) -> bool: ...


class Profile(NamedTuple):
    """Members alike in all a composition counts of them (sex, age band, sectors): how many
    of them are active on the day, and the last day one of them left, on or before it. A
    composition is counted from profiles, not members: the database counts a programme's
    thousands of members into a few hundred profiles (``selectors.member_profiles``), and a
    group's members in hand are each a profile of one (:func:`profiles_of`)."""

    sex: str
    age_band: str
    sectors: frozenset[str]
    active_count: int
    last_left: datetime.date | None


def profiles_of(members: Iterable[Counted], *, on: datetime.date) -> list[Profile]:
    """Each member as a profile of one, counted on ``on``."""
    return [
        Profile(
            member.sex,
            member.age_band,
            frozenset(member.sectors),
            1 if member.is_active_on(on) else 0,
            member.left_on if member.left_on is not None and member.left_on <= on else None,
        )
        for member in members
    ]


@dataclass(frozen=True)
class TargetCheck:
    label: str
    dimension: str
    sector: str
    count: int
    share: float  # 0–100
    min_share: float | None
    min_count: int | None
    met: bool
    warning: str

    @property
    def bar_percent(self) -> float:
        """Length of the bar in the chart, 0–100."""
        if self.min_share is not None:
            return min(100.0, self.share)
        scale = max(2 * (self.min_count or 1), self.count, 1)
        return 100.0 * self.count / scale

    @property
    def share_label(self) -> str:
        """The share of members, as the reader writes a percentage ("25%", "25 %")."""
        return _share(self.share / 100, language_code())

    @property
    def min_share_label(self) -> str:
        """The target share as the reader writes a percentage; "" where there is none."""
        return "" if self.min_share is None else _percent(self.min_share)

    @property
    def target_percent(self) -> float:
        """Where the chart draws the target line, 0–100."""
        if self.min_share is not None:
            return self.min_share
        scale = max(2 * (self.min_count or 1), self.count, 1)
        return 100.0 * (self.min_count or 0) / scale


@dataclass
class Composition:
    on: datetime.date
    total: int
    women: int
    men: int
    youth: int
    by_age: dict[str, int] = field(default_factory=dict)
    by_sector: dict[str, int] = field(default_factory=dict)
    checks: list[TargetCheck] = field(default_factory=list)

    @property
    def share_women(self) -> float:
        return 100.0 * self.women / self.total if self.total else 0.0

    @property
    def share_youth(self) -> float:
        return 100.0 * self.youth / self.total if self.total else 0.0

    @property
    def all_met(self) -> bool:
        """Whether every target is met (true where there are none)."""
        return all(check.met for check in self.checks)

    @property
    def warnings(self) -> list[str]:
        """Each distinct warning once (an empty group fails every target for one reason)."""
        return list(dict.fromkeys(check.warning for check in self.checks if check.warning))

    def age_rows(self) -> list[tuple[str, int]]:
        return [(str(band.label), self.by_age.get(band.value, 0)) for band in AgeBand]

    def sector_rows(self) -> list[tuple[str, int]]:
        return [(str(s.label), self.by_sector.get(s.value, 0)) for s in Sector]


def _month(day: datetime.date) -> str:
    return format_date(day, format="month")


def _percent(value: float) -> str:
    """A 0–100 figure as a percentage, with a decimal only where a target has one (33.3)."""
    return _share(value / 100, language_code(), decimals=0 if value == int(value) else 1)


@lru_cache(maxsize=1024)
def _share(value: float, language: str, *, decimals: int = 0) -> str:
    """:func:`format_percent`, written once per share and language: a page of groups shows
    the same few shares (a half, a third) again and again."""
    return format_percent(value, language, decimals=decimals)


def composition(
    members: Iterable[Counted],
    targets: Iterable[RepresentationTarget],
    *,
    on: datetime.date,
) -> Composition:
    """Count the members active on ``on`` and check each target (:func:`composition_of`)."""
    return composition_of(profiles_of(members, on=on), targets, on=on)


def composition_of(
    profiles: Iterable[Profile],
    targets: Iterable[RepresentationTarget],
    *,
    on: datetime.date,
) -> Composition:
    """The members of ``profiles`` active on ``on``, counted, and each target checked.

    A sector target that is not met says since when: the month the last member of that sector
    left, or that the group never had one.
    """
    everyone = list(profiles)
    sexes: Counter[str] = Counter()
    ages: Counter[str] = Counter()
    sectors: Counter[str] = Counter()
    for profile in everyone:
        if profile.active_count:
            sexes[profile.sex] += profile.active_count
            ages[profile.age_band] += profile.active_count
            for sector in profile.sectors:
                sectors[sector] += profile.active_count
    result = Composition(
        on=on,
        total=sum(sexes.values()),
        women=sexes.get(Sex.FEMALE, 0),
        men=sexes.get(Sex.MALE, 0),
        youth=sum(n for band, n in ages.items() if band in YOUTH_AGE_BANDS),
        by_age=dict(ages),
        by_sector=dict(sectors),
    )
    for target in targets:
        result.checks.append(_check(target, result, everyone))
    return result


def _check(
    target: RepresentationTarget, current: Composition, everyone: list[Profile]
) -> TargetCheck:
    if target.dimension == RepresentationTarget.Dimension.WOMEN:
        count = current.women
    elif target.dimension == RepresentationTarget.Dimension.YOUTH:
        count = current.youth
    else:
        count = current.by_sector.get(target.sector, 0)
    share = 100.0 * count / current.total if current.total else 0.0
    min_share = float(target.min_share) if target.min_share is not None else None
    met = _met(target, count, current.total)
    warning = "" if met else _warning(target, count, share, min_share, current, everyone)
    return TargetCheck(
        label=target.label,
        dimension=target.dimension,
        sector=target.sector,
        count=count,
        share=share,
        min_share=min_share,
        min_count=target.min_count,
        met=met,
        warning=warning,
    )


def _met(target: RepresentationTarget, count: int, total: int) -> bool:
    share = 100.0 * count / total if total else 0.0
    return (target.min_share is None or share >= float(target.min_share)) and (
        target.min_count is None or count >= target.min_count
    )


def targets_met(total: int, counts: Sequence[int], targets: Sequence[RepresentationTarget]) -> bool:
    """What :func:`composition` says of ``all_met`` for a group of ``total`` active members
    of whom ``counts[i]`` count towards ``targets[i]`` (``selectors.target_counts`` counts
    them for every group of a national programme at once)."""
    return all(_met(target, count, total) for target, count in zip(targets, counts, strict=True))


def _warning(
    target: RepresentationTarget,
    count: int,
    share: float,
    min_share: float | None,
    current: Composition,
    everyone: list[Profile],
) -> str:
    label = target.label
    if current.total == 0:
        return _("The group has no active members.")
    if count == 0:
        if target.dimension == RepresentationTarget.Dimension.SECTOR:
            past = [p.last_left for p in everyone if target.sector in p.sectors and p.last_left]
            if past:
                return _("No member from “%(sector)s” since %(month)s.") % {
                    "sector": label,
                    "month": _month(max(past)),
                }
            return _("No member from “%(sector)s” yet.") % {"sector": label}
        if target.dimension == RepresentationTarget.Dimension.WOMEN:
            return _("The group has no women members.")
        return _("The group has no members under 30.")
    if min_share is not None and share < min_share:
        return _("%(who)s are %(share)s of members; the target is at least %(target)s.") % {
            "who": label[:1].upper() + label[1:],
            "share": _share(share / 100, language_code()),
            "target": _percent(min_share),
        }
    return _("%(who)s: %(count)d members; the target is at least %(target)d.") % {
        "who": label[:1].upper() + label[1:],
        "count": count,
        "target": target.min_count or 0,
    }


def monthly_history(
    members: Iterable[GroupMember], *, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, int, int]]:
    """(first of month, active members, active women) for each month from start to end,
    counted on the month's last day (or on ``end`` for the last month), so members who
    joined during a month count in it."""
    everyone = list(members)
    rows: list[tuple[datetime.date, int, int]] = []
    month = start.replace(day=1)
    while month <= end and len(rows) < 120:
        following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        day = min(following - datetime.timedelta(days=1), end)
        active = [m for m in everyone if m.is_active_on(day)]
        rows.append((month, len(active), sum(1 for m in active if m.sex == Sex.FEMALE)))
        month = following
    return rows
