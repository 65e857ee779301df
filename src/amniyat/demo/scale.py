"""A programme at national size, for measuring Amniyat: ``amniyat bench-data``.

One generated Tajik programme (the demo's ten districts, its perception survey and indicator
set) whose size follows the number of submissions asked for, everything marked ``is_demo``:

========================  ====================================================================
submissions               the demo perception survey (:mod:`amniyat.demo.survey`), in
                          :data:`ROUNDS` monthly rounds over a year (September 2021 to August
                          2022; the first half drawn as the baseline, the second as the
                          endline), each round a fresh two-stage sample of the ten districts,
                          fielded over four weeks; one form
enumerators               one per :data:`SUBMISSIONS_PER_ENUMERATOR` interviews (at least two
                          per district), each working in one district all year
import jobs               one per round: each round is a KoboToolbox CSV export imported
                          through the import pipeline
community groups          one per :data:`SUBMISSIONS_PER_GROUP` submissions (at least one per
                          district), each in a community of its own, 9 to 15 members
partner CSOs              one per :data:`GROUPS_PER_PARTNER` groups (at least ten), each
                          assigned its district; the CSO platform covers all ten
discussions (notes)       one per :data:`SUBMISSIONS_PER_DISCUSSION` submissions, between
                          :data:`MIN_DISCUSSIONS` (the demo's) and :data:`MAX_DISCUSSIONS`;
                          about 70 % coded, one in :data:`SECOND_CODED_EVERY` coded again
driver maps               a women's and a men's map for each of the four regions that held
                          such discussions (as the demo; 8 from 100,000 submissions up): maps
                          summarise, they do not grow with the data
priority lists            one agreed list per community group
findings                  computed in this process at the end, as the demo does
plans                     a joint action plan for one group in :data:`PLANS_EVERY`, as the
                          demo's (three priorities, three endorsements, four or five actions
                          and their parts, a year of progress updates)
reports                   the demo's briefing papers of the baseline (Russian and Tajik), built,
                          published and rendered as DOCX and PDF: papers summarise, they do not
                          grow with the data
========================  ====================================================================

So a million submissions make 3,338 enumerators, 500 groups with 5,994 members, 100 partner
CSOs, 100 discussions with 1,279 excerpts, 8 maps and 500 priority lists (3,017 priorities): the
qualitative side stays the size a national programme's team could write and code. On this
2-core machine, shared, that took 4 min 41 s on SQLite (findings 2 min 9 s of it, the import
1 min 12 s at 14,000 rows/s, generating 26 s), at most 1.5 GB of memory.

**Why submissions go through the import.** Each round is written as the CSV export
KoboToolbox gives of the demo form (its columns, a 0/1 column for each choice of a
select_multiple, Kobo's ``_id``, ``_uuid``, ``_submission_time``…), then stored with
:func:`~amniyat.fieldwork.imports.services.import_start` and
:func:`~amniyat.fieldwork.imports.services.import_run`: the answers are checked, hashed,
encrypted, split by sensitivity and matched to places exactly as in production, at the
speed production imports, and the programme's import pages show a year of monthly imports.

**Deterministic.** The same arguments (``submissions``, ``seed``; the programme's address
only names things) give the same data: the same instance ids, answers, enumerators, times,
groups, notes and counts. Only what the database or the clock decide differs (row ids,
creation times, the encryption's random nonces).

Every write goes through the apps' services, as :mod:`amniyat.demo.build` does; the
programme, its organisations and the accounts are written directly as the demo writes them
(there is no service that creates a programme).
"""

from __future__ import annotations

import datetime
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.accounts.services import membership_grant
from amniyat.communities.models import CommunityGroup, RepresentationTarget, Sector
from amniyat.communities.services import group_create, target_set
from amniyat.demo import survey as demo_survey
from amniyat.demo.build import (
    DEMO_SLUGS,
    TJ_CSO_WORDS,
    TJ_DISTRICTS,
    DemoAccount,
    _organisation,
    _user,
    build_findings,
    remove_programme_data,
    remove_unused_demo_organisations,
    survey_form,
    tajik_group_members,
)
from amniyat.demo.drivers import SEED as DRIVERS_SEED
from amniyat.demo.drivers import build_drivers
from amniyat.demo.plans import build_plan
from amniyat.demo.reports import build_reports_demo
from amniyat.demo.translations import translate_demo
from amniyat.fieldwork.imports.services import checkpoint, import_run, import_start
from amniyat.fieldwork.models import Form, FormVersion, ImportJob, Submission
from amniyat.places.models import Place
from amniyat.places.services import (
    administrative_places_load,
    community_create,
    partner_area_assign,
)

DEFAULT_SLUG = "national-scale"
DEFAULT_SEED = 2021
COUNTRY: demo_survey.Country = "TJ"
ROUNDS = 12
SUBMISSIONS_PER_ENUMERATOR = 300
SUBMISSIONS_PER_GROUP = 2_000
GROUPS_PER_PARTNER = 5
SUBMISSIONS_PER_DISCUSSION = 10_000
MIN_DISCUSSIONS = 24
MAX_DISCUSSIONS = 400
SECOND_CODED_EVERY = 6
PLANS_EVERY = 5
ACTOR = "bench-data"
FIRST_MONTH = datetime.date(2021, 9, 1)
ROUND_DAYS = 28  # four weeks: a round's interviews keep their weekday (none on Sundays)

# Step of a progress bar: (stage, done, total).
Progress = Callable[[str, int, int | None], None]

# Who signs in, by role; the username is the programme's address and the role's word.
ACCOUNTS = (
    ("lead", Membership.Role.LEAD, gettext_noop("programme lead")),
    ("analyst", Membership.Role.ANALYST, gettext_noop("analyst")),
    ("facilitator", Membership.Role.FACILITATOR, gettext_noop("facilitator of one partner CSO")),
    ("member", Membership.Role.GROUP_MEMBER, gettext_noop("member of one community group")),
    ("viewer", Membership.Role.VIEWER, gettext_noop("donor viewer")),
)

# Communities of the groups: a name in English, Tajik, Russian and Uzbek, numbered where a
# district has more groups than names.
COMMUNITY_NAMES = (
    ("Guliston", "Гулистон", "Гулистон", "Guliston"),
    ("Navbahor", "Навбаҳор", "Навбахор", "Navbahor"),
    ("Dashtigul", "Даштигул", "Даштигул", "Dashtigul"),
    ("Navobod", "Навобод", "Навобод", "Navobod"),
    ("Obodon", "Ободон", "Ободон", "Obodon"),
    ("Bahoriston", "Баҳористон", "Бахористон", "Bahoriston"),
    ("Chashmasor", "Чашмасор", "Чашмасар", "Chashmasor"),
    ("Zarafshon", "Зарафшон", "Зарафшан", "Zarafshon"),
    ("Istiqlol", "Истиқлол", "Истиклол", "Istiqlol"),
    ("Mehrobod", "Меҳробод", "Мехробод", "Mehrobod"),
    ("Sarvqad", "Сарвқад", "Сарвкад", "Sarvqad"),
    ("Yakkatut", "Яккатут", "Яккатут", "Yakkatut"),
)
LANGUAGE_SHARES = (("tg", 45), ("ru", 30), ("uz", 15), ("en", 10))
WHO = ("women", "men", "youth", "mixed")


class ScaleRefused(Exception):
    """The data set cannot be built as asked; nothing was changed. The message is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ScaleSize:
    """How much of each thing a programme of ``submissions`` submissions gets."""

    submissions: int

    @property
    def rounds(self) -> int:
        return max(1, min(ROUNDS, self.submissions // minimum_round()))

    @property
    def enumerators(self) -> int:
        return sum(enumerators_by_district(self.submissions).values())

    @property
    def groups(self) -> int:
        return max(len(TJ_DISTRICTS), math.ceil(self.submissions / SUBMISSIONS_PER_GROUP))

    @property
    def partners(self) -> int:
        return max(len(TJ_DISTRICTS), math.ceil(self.groups / GROUPS_PER_PARTNER))

    @property
    def discussions(self) -> int:
        wanted = math.ceil(self.submissions / SUBMISSIONS_PER_DISCUSSION)
        return min(MAX_DISCUSSIONS, max(MIN_DISCUSSIONS, wanted))

    @property
    def plans(self) -> int:
        """Groups with a joint action plan: one in five (a programme's plans grow with its
        groups, not its submissions)."""
        return max(1, self.groups // PLANS_EVERY)

    @property
    def second_coded(self) -> int:
        return max(1, self.discussions // SECOND_CODED_EVERY)

    def round_sizes(self) -> list[int]:
        base, extra = divmod(self.submissions, self.rounds)
        return [base + (1 if index < extra else 0) for index in range(self.rounds)]


def minimum_round() -> int:
    """The fewest interviews one round of the survey can have: two in each settlement drawn."""
    frame = demo_survey._sampling_frame(COUNTRY)
    return 2 * sum(d.clusters for d in frame.districts)


def enumerators_by_district(submissions: int) -> dict[str, int]:
    """Enumerators in each district: one per :data:`SUBMISSIONS_PER_ENUMERATOR` interviews the
    district's share of the sample gives it, at least two."""
    frame = demo_survey._sampling_frame(COUNTRY)
    sizes = demo_survey._stratum_sizes(COUNTRY, max(submissions, minimum_round()))
    return {
        district.code: max(2, math.ceil(size / SUBMISSIONS_PER_ENUMERATOR))
        for district, size in zip(frame.districts, sizes, strict=True)
    }


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    rows: int = 0


@dataclass
class ScaleResult:
    programme: Programme
    size: ScaleSize
    stages: list[Stage] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)


class _Stages:
    """Times each stage of the build and tells the caller's progress bar how far it is."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done: list[Stage] = []

    @contextmanager
    def stage(self, name: str, total: int | None, *, rows: int = 0) -> Iterator[Stage]:
        stage = Stage(name=name, rows=rows)
        self.progress(name, 0, total)
        started = time.perf_counter()
        try:
            yield stage
        finally:
            stage.seconds = time.perf_counter() - started
            self.done.append(stage)


def accounts_of(slug: str) -> list[DemoAccount]:
    return [DemoAccount(f"{slug}-{word}", description) for word, _role, description in ACCOUNTS]


# ----------------------------------------------------------------------------------------
# Checking and removing


def check_can_build(*, slug: str, submissions: int, reset: bool) -> None:
    """Refuse (:class:`ScaleRefused`) what cannot be built; nothing is changed here."""
    try:
        validate_slug(slug)
    except ValidationError as error:
        raise ScaleRefused(
            _(
                "“{slug}” cannot be a programme's short address: use letters, digits and hyphens."
            ).format(slug=slug)
        ) from error
    if len(slug) > Programme._meta.get_field("slug").max_length:  # type: ignore[operator]
        raise ScaleRefused(_("“{slug}” is too long for a short address.").format(slug=slug))
    minimum = minimum_round()
    if submissions < minimum:
        raise ScaleRefused(
            _(
                "Ask for at least {minimum} submissions: the survey's sample needs two "
                "interviews in each settlement it draws."
            ).format(minimum=minimum)
        )
    if slug in DEMO_SLUGS:
        raise ScaleRefused(
            _("“{slug}” is a demo programme; rebuild it with “amniyat demo --reset”.").format(
                slug=slug
            )
        )
    existing = Programme.objects.filter(slug=slug).first()
    if existing is None:
        # The accounts would be signed in with a published password: never take over one
        # that someone else made.
        taken = sorted(
            User.objects.filter(username__in=[a.username for a in accounts_of(slug)]).values_list(
                "username", flat=True
            )
        )
        if taken:
            raise ScaleRefused(
                _(
                    "Accounts with the names this programme's would have exist already ({names}); "
                    "nothing was changed. Choose another address with --programme."
                ).format(names=", ".join(taken))
            )
        return
    if not existing.is_demo:
        raise ScaleRefused(
            _(
                "A programme with the short address “{slug}” exists and was not generated: it "
                "is never removed. Choose another address with --programme."
            ).format(slug=slug)
        )
    if not reset:
        raise ScaleRefused(
            _(
                "A programme with the short address “{slug}” exists already; nothing was "
                "changed. Give --reset to remove it and build it again, or choose another "
                "address with --programme."
            ).format(slug=slug)
        )


@transaction.atomic
def remove_scale(slug: str) -> bool:
    """Remove a generated programme built by :func:`build_scale`, its organisations no other
    programme uses, and its accounts. Answers whether there was one."""
    programme = Programme.objects.filter(slug=slug, is_demo=True).exclude(slug__in=DEMO_SLUGS)
    found = programme.first()
    if found is not None:
        remove_programme_data(found)
        remove_unused_demo_organisations()
    # Its accounts, unless someone gave them a role elsewhere meanwhile.
    User.objects.filter(
        username__in=[a.username for a in accounts_of(slug)], memberships__isnull=True
    ).delete()
    return found is not None


# ----------------------------------------------------------------------------------------
# Building


def build_scale(
    *,
    submissions: int,
    slug: str = DEFAULT_SLUG,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    progress: Progress | None = None,
) -> ScaleResult:
    """Build the programme (see the module's docstring). Refuses (:class:`ScaleRefused`,
    nothing changed) an address taken, unless ``reset`` and it was generated. Each stage
    commits on its own; if one fails, what was built is removed again."""
    check_can_build(slug=slug, submissions=submissions, reset=reset)
    stages = _Stages(progress or (lambda stage, done, total: None))
    size = ScaleSize(submissions)
    if reset:
        with stages.stage("removing", None):
            remove_scale(slug)
    try:
        result = _build(size, slug=slug, seed=seed, stages=stages)
    except BaseException:
        remove_scale(slug)
        raise
    result.stages = stages.done
    return result


def _build(size: ScaleSize, *, slug: str, seed: int, stages: _Stages) -> ScaleResult:
    with stages.stage("programme", size.groups):
        programme = _programme_and_groups(size, slug=slug, seed=seed, stages=stages)
    with stages.stage("accounts", len(ACCOUNTS)):
        accounts = _accounts(programme, slug=slug)
    with stages.stage("form", 1):
        version = survey_form(
            programme,
            COUNTRY,
            title="National community security survey 2021–2022, monthly rounds",
            kind="baseline",
            starts_on=FIRST_MONTH,
            ends_on=datetime.date(2022, 9, 7),
            actor_label=ACTOR,
        )
        stages.progress("form", 1, 1)
    with tempfile.TemporaryDirectory(prefix="amniyat-bench-data-") as folder:
        with stages.stage("generating", size.submissions, rows=size.submissions):
            files = _write_rounds(size, version, seed=seed, folder=Path(folder), stages=stages)
        with stages.stage("importing", size.submissions, rows=size.submissions):
            _import_rounds(version.form, files, total=size.submissions, stages=stages)
    analyst = User.objects.get(username=f"{slug}-analyst")
    lead = User.objects.get(username=f"{slug}-lead")
    with transaction.atomic():
        _drivers(size, programme, analyst=analyst, lead=lead, seed=seed, stages=stages)
    with stages.stage("findings", 1, rows=size.submissions):
        build_findings(programme, [version.form])
        stages.progress("findings", 1, 1)
    with stages.stage("translations", 1):
        translate_demo([programme])
        stages.progress("translations", 1, 1)
    with stages.stage("reports", 1):
        build_reports_demo(programme, analyst=analyst, lead=lead)
        stages.progress("reports", 1, 1)
    groups = list(
        programme.community_groups.select_related("programme__country").order_by("pk")[: size.plans]
    )
    with stages.stage("plans", len(groups)):
        for done, group in enumerate(groups, start=1):
            build_plan(group)
            stages.progress("plans", done, len(groups))
    return ScaleResult(programme=programme, size=size, accounts=accounts)


def _programme_and_groups(size: ScaleSize, *, slug: str, seed: int, stages: _Stages) -> Programme:
    rng = random.Random(f"scale-{seed}")  # noqa: S311 - invented data, not secrets
    administrative_places_load()
    with transaction.atomic():
        lead_org = _organisation(
            "Safer Communities Alliance (demo)", Organisation.Kind.INTERNATIONAL_NGO, "GB"
        )
        donor = _organisation(
            "Public Affairs Section, US Embassy in Dushanbe", Organisation.Kind.DONOR, "US"
        )
        platform = _organisation(
            "Civil Society Platform for Community Security", Organisation.Kind.NETWORK, "TJ"
        )
        programme = Programme.objects.create(
            name="National community security programme (scale data)",
            slug=slug,
            country=Place.objects.get(code=COUNTRY),
            donor=donor,
            lead_organisation=lead_org,
            starts_on=datetime.date(2021, 8, 1),
            ends_on=datetime.date(2022, 10, 31),
            languages=["tg", "ru", "en"],
            summary=(
                f"Generated data at national size: {size.submissions:,} survey interviews in "
                f"{size.rounds} monthly rounds, {size.groups} community groups. For measuring "
                "Amniyat (amniyat bench-data); nothing here is real."
            ),
            is_demo=True,
        )
        districts = [Place.objects.get(code=code) for code, _existing in TJ_DISTRICTS]
        programme.places.set(districts)
        programme.partners.add(platform)
        csos = []
        for index in range(size.partners):
            district = districts[index % len(districts)]
            word = TJ_CSO_WORDS[index % len(TJ_CSO_WORDS)]
            number = index // len(TJ_CSO_WORDS)
            csos.append(
                _organisation(
                    f"Public Organisation «{word}» ({district.name_en})"
                    + (f" {number + 1}" if number else ""),
                    Organisation.Kind.CSO,
                    "TJ",
                    women_led=index % 3 == 0,
                )
            )
        programme.partners.add(*csos)
        for dimension, share in (
            (RepresentationTarget.Dimension.WOMEN, Decimal("40")),
            (RepresentationTarget.Dimension.YOUTH, Decimal("25")),
        ):
            target_set(acting_user=None, programme=programme, dimension=dimension, min_share=share)
        for sector in (Sector.POLICE, Sector.LOCAL_GOVERNMENT):
            target_set(
                acting_user=None,
                programme=programme,
                dimension=RepresentationTarget.Dimension.SECTOR,
                sector=sector,
                min_count=1,
            )
        for index, cso in enumerate(csos):
            partner_area_assign(
                acting_user=None,
                programme=programme,
                organisation=cso,
                places=[districts[index % len(districts)]],
            )
        partner_area_assign(
            acting_user=None, programme=programme, organisation=platform, places=districts
        )
    # The groups, a district at a time (each its own transaction: a large programme's first
    # stage does not hold the database for minutes).
    csos_of = {d.pk: csos[i :: len(districts)] for i, d in enumerate(districts)}
    made = 0
    for d_index, ((_code, existing), district) in enumerate(
        zip(TJ_DISTRICTS, districts, strict=True)
    ):
        count = size.groups // len(districts) + (d_index < size.groups % len(districts))
        with transaction.atomic():
            for g_index in range(count):
                _group(
                    rng,
                    programme,
                    district,
                    index=g_index,
                    existing=existing,
                    facilitator=csos_of[district.pk][g_index % len(csos_of[district.pk])],
                )
                made += 1
                stages.progress("programme", made, size.groups)
    return programme


def _group(
    rng: random.Random,
    programme: Programme,
    district: Place,
    *,
    index: int,
    existing: bool,
    facilitator: Organisation,
) -> CommunityGroup:
    en, tg, ru, uz = COMMUNITY_NAMES[index % len(COMMUNITY_NAMES)]
    number = index // len(COMMUNITY_NAMES)
    suffix = f" {number + 1}" if number else ""
    jamoat = index % 3 == 2
    community = community_create(
        acting_user=None,
        programme=programme,
        parent=district,
        name_en=("Jamoat " if jamoat else "Mahalla ") + en + suffix,
        name_tg=("Ҷамоати " if jamoat else "Маҳаллаи ") + tg + suffix,
        name_ru=("Джамоат " if jamoat else "Махалля ") + ru + suffix,
        name_uz=uz + (" jamoati" if jamoat else " mahallasi") + suffix,
        kind="jamoat" if jamoat else "mahalla",
        is_demo=True,
    )
    kind = CommunityGroup.Kind.COMMUNITY_GROUP
    if index % 4 == 3:
        kind = CommunityGroup.Kind.YOUTH_GROUP
    elif index % 6 == 5:
        kind = CommunityGroup.Kind.POLICING_TEAM
    elif index % 10 == 9:
        kind = CommunityGroup.Kind.PUBLIC_COUNCIL
    where = f"{community.name_en} ({district.name_en})"  # names repeat across districts
    name = {
        CommunityGroup.Kind.COMMUNITY_GROUP: f"{where} community group",
        CommunityGroup.Kind.YOUTH_GROUP: f"{where} youth activists",
        CommunityGroup.Kind.POLICING_TEAM: f"{where} community policing team",
        CommunityGroup.Kind.PUBLIC_COUNCIL: f"{where} public security council",
    }[kind]
    # In the five districts with groups before the programme most existed already; the new
    # ones started when the demo's did, two months before their priorities were agreed.
    start = datetime.date(2019, 3, 1) if existing and index % 4 != 1 else datetime.date(2021, 10, 1)
    group = group_create(
        acting_user=None,
        programme=programme,
        name=name,
        kind=kind,
        place=community,
        facilitating_organisation=facilitator,
        is_new=start.year >= 2021,
        established_on=start,
        is_demo=True,
    )
    tajik_group_members(rng, group, start=start, end=programme.ends_on, is_demo=True)
    return group


def _accounts(programme: Programme, *, slug: str) -> list[DemoAccount]:
    """One account per role, as the demo's; the facilitator's CSO is the first group's."""
    first = programme.community_groups.order_by("pk").select_related("facilitating_organisation")[0]
    people = {
        "lead": ("Nodira", "Rahimova"),
        "analyst": ("Jamshed", "Sharipov"),
        "facilitator": ("Gulnora", "Nazarova"),
        "member": ("Daler", "Yusupov"),
        "viewer": ("Emily", "Carter"),
    }
    for word, role, _description in ACCOUNTS:
        first_name, last_name = people[word]
        user = _user(f"{slug}-{word}", first_name, last_name)
        organisation = programme.lead_organisation
        group = None
        if role == Membership.Role.VIEWER:
            organisation = programme.donor or organisation
        elif role in (Membership.Role.FACILITATOR, Membership.Role.GROUP_MEMBER):
            organisation = first.facilitating_organisation
            group = first if role == Membership.Role.GROUP_MEMBER else None
        membership_grant(
            acting_user=None,
            programme=programme,
            user=user,
            organisation=organisation,
            role=role,
            community_group=group,
        )
    return accounts_of(slug)


# ----------------------------------------------------------------------------------------
# Submissions: generated round by round, written as KoboToolbox exports, imported


def round_start(index: int, phase: demo_survey.Phase) -> datetime.date:
    """The first day of round ``index``: in its month, on the weekday the phase's fieldwork
    began, so that shifting interviews by whole weeks keeps them off Sundays."""
    month = FIRST_MONTH.month - 1 + index
    first_of_month = datetime.date(FIRST_MONTH.year + month // 12, month % 12 + 1, 1)
    began = demo_survey.FIELDWORK[(COUNTRY, phase)][0]
    return first_of_month + datetime.timedelta(
        days=(began.weekday() - first_of_month.weekday()) % 7
    )


def generate_round(size: ScaleSize, index: int, *, seed: int) -> pl.DataFrame:
    """The interviews of round ``index``: the demo survey's generator (a fresh sample, its
    own seed), moved into the round's four weeks, by enumerators of the programme's pool."""
    phase: demo_survey.Phase = "baseline" if index < max(1, size.rounds // 2) else "endline"
    n = size.round_sizes()[index]
    frame = demo_survey.generate_responses(COUNTRY, phase=phase, n=n, seed=seed * 100 + index)
    zone = demo_survey.TIME_ZONES[COUNTRY]
    began = demo_survey.FIELDWORK[(COUNTRY, phase)][0]
    offset = (round_start(index, phase) - began).days
    # Whole four-week spans of the phase's fieldwork fold onto the round's four weeks.
    day = (pl.col("start").dt.convert_time_zone(zone).dt.date() - pl.lit(began)).dt.total_days()
    shift = pl.duration(days=pl.lit(offset) - (day // ROUND_DAYS) * ROUND_DAYS)
    pool = enumerators_by_district(size.submissions)
    draw = np.random.default_rng([seed, index, 2]).random(frame.height)
    slot = pl.Series(draw) * pl.col("district").replace_strict(pool, return_dtype=pl.Float64)
    return frame.with_columns(
        pl.col("start", "end", "submitted_at") + shift,
        pl.format(
            "{}-E{}",
            pl.col("district"),
            (slot.floor().cast(pl.Int64) + 1).cast(pl.String).str.zfill(3),
        ).alias("enumerator"),
    ).sort("submitted_at", "instance_id")


def kobo_export(frame: pl.DataFrame, version: FormVersion, *, first_id: int) -> pl.DataFrame:
    """``frame`` as KoboToolbox exports a form's submissions to CSV (XML names, group paths,
    a 0/1 column per choice of a select_multiple, its own columns after the answers)."""
    zone = demo_survey.TIME_ZONES[COUNTRY]
    columns: list[pl.Expr] = []
    for item in version.schema:
        name, path, kind = item["name"], item["path"], str(item["type"])
        if kind == "note" or name not in frame.columns:
            continue
        column = pl.col(name)
        dtype = frame.schema[name]
        if isinstance(dtype, pl.Datetime):
            text = column.dt.convert_time_zone(zone).dt.strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
        else:
            text = column.cast(pl.String)
        columns.append(text.alias(path))
        if kind == "select_multiple":
            chosen = column.fill_null("").str.split(" ")
            columns += [
                chosen.list.contains(choice["name"])
                .cast(pl.Int8)
                .cast(pl.String)
                .alias(f"{path}/{choice['name']}")
                for choice in item.get("choices") or []
            ]
    row = pl.int_range(0, pl.len(), dtype=pl.Int64)
    columns += [
        pl.col("instance_id").alias("meta/instanceID"),
        (row + first_id).alias("_id"),
        pl.col("instance_id").str.strip_prefix("uuid:").alias("_uuid"),
        pl.col("submitted_at").dt.strftime("%Y-%m-%dT%H:%M:%S").alias("_submission_time"),
        pl.lit("").alias("_validation_status"),
        pl.lit("").alias("_notes"),
        pl.lit("submitted_via_web").alias("_status"),
        pl.col("enumerator").alias("_submitted_by"),
        pl.lit("").alias("_tags"),
        (row + 1).alias("_index"),
    ]
    return frame.select(columns)


def _write_rounds(
    size: ScaleSize, version: FormVersion, *, seed: int, folder: Path, stages: _Stages
) -> list[Path]:
    files = []
    written = 0
    for index in range(size.rounds):
        frame = generate_round(size, index, seed=seed)
        path = folder / f"community_security_tj-round-{index + 1:02d}.csv"
        kobo_export(frame, version, first_id=written + 1).write_csv(path, separator=";")
        files.append(path)
        written += frame.height
        stages.progress("generating", written, size.submissions)
    return files


def _import_rounds(form: Form, files: list[Path], *, total: int, stages: _Stages) -> None:
    """Each round's export imported as a person would import it: one job a round."""
    stored = 0
    for path in files:
        job = import_start(
            acting_user=None, form=form, file_name=path.name, path=path, file_format="kobo-csv"
        )

        def progress(stage: str, done: int, _total: int | None, before: int = stored) -> None:
            if stage == "reading":
                stages.progress("importing", before + done, total)

        job = import_run(job.pk, progress=progress)
        checkpoint()
        if job.status != ImportJob.Status.SUCCEEDED:
            raise RuntimeError(
                _("Importing {file} failed: {message}").format(
                    file=path.name, message=job.report.get("message", "")
                )
            )
        stored += job.stored
        stages.progress("importing", stored, total)


# ----------------------------------------------------------------------------------------
# Notes, coding, maps, priorities


def discussion_plan(size: ScaleSize, *, seed: int) -> list[tuple[str, str, str, str]]:
    """(district, who took part, language, kind) of each discussion: every district in turn,
    women's, men's, youth and mixed groups in turn, languages as the demo's notes."""
    rng = random.Random(f"scale-notes-{seed}")  # noqa: S311 - invented data, not secrets
    languages = [language for language, _share in LANGUAGE_SHARES]
    shares = [share for _language, share in LANGUAGE_SHARES]
    plan = []
    for index in range(size.discussions):
        district = TJ_DISTRICTS[index % len(TJ_DISTRICTS)][0]
        who = WHO[(index // len(TJ_DISTRICTS) + index) % len(WHO)]
        language = rng.choices(languages, shares)[0]
        kind = (
            "workshop" if who == "mixed" else "interview" if rng.random() < 0.1 else "focus_group"
        )
        plan.append((district, who, language, kind))
    return plan


def _drivers(
    size: ScaleSize,
    programme: Programme,
    *,
    analyst: User,
    lead: User,
    seed: int,
    stages: _Stages,
) -> None:
    steps = {"notes": size.discussions, "coding": 1, "maps": 1, "priorities": 1}
    opened: dict[str, tuple[Stage, float]] = {}
    last: list[str] = []

    def tell(step: str, done: int) -> None:
        if step not in opened:
            now = time.perf_counter()
            if last:
                stage, started = opened[last[-1]]
                stage.seconds = now - started
                stages.done.append(stage)
            opened[step] = (Stage(step), now)
            last.append(step)
            stages.progress(step, 0, steps[step])
        if done:
            stages.progress(step, done, steps[step])

    build_drivers(
        programme,
        rng=random.Random(f"{DRIVERS_SEED}-{COUNTRY}-scale-{seed}"),  # noqa: S311
        analyst=analyst,
        second_coder=lead,
        plan=discussion_plan(size, seed=seed),
        second_count=size.second_coded,
        progress=tell,
    )
    if last:
        stage, started = opened[last[-1]]
        stage.seconds = time.perf_counter() - started
        stages.done.append(stage)


def submissions_of(programme: Programme) -> int:
    return Submission.objects.filter(form__assessment__programme=programme).count()
