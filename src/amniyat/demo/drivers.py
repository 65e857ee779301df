"""The drivers-of-insecurity part of the demo programmes, built from a fixed seed.

For each demo programme: the shipped codebook; focus-group, interview and workshop notes in
English, Russian, Tajik and Uzbek, held with women's, men's, youth and mixed groups in the
programme's districts, each labelled as generated demo data; about 70 % of them coded by the
demo analyst, and a few coded again by a second coder, with realistic disagreement, so that the
agreement page has something to measure; a women's and a men's driver map for every region,
one of them published with a few quotes the analyst proposed and the second coder (the demo
lead) approved for publication; and an agreed priority list for every community group.

**How the notes are generated.** ``data/notes/<language>.yaml`` holds per-code banks of
sentences ("cores") written in each language, neutral sentences (the moderator's remarks, the
break, the weather) and questions. A discussion takes 3–5 codes from the profile of who took
part, 3–6 sentences for each, wraps some of them in an opener ("one participant said that
…") or a tail (", especially in winter") shared by every code, and mixes in neutral
sentences. Because openers, tails and neutral sentences are common to all codes and the cores
vary per discussion, a model trained on some discussions and tested on others
(``amniyat coding evaluate``) meets sentences it has not seen in full. A sentence drawn from a
code's bank is what the analyst codes with that code; nothing else is coded.

Everything is deterministic: the same programme gives the same notes, coding, maps and lists.
"""

from __future__ import annotations

import datetime
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import translation

from amniyat.accounts.models import Programme, User
from amniyat.communities.models import CommunityGroup, Sector
from amniyat.drivers.codebook.services import codebook_seed
from amniyat.drivers.coding.services import (
    coding_changed,
    excerpt_approve,
    excerpt_create,
    excerpt_propose,
    open_flags_over,
    source_create,
)
from amniyat.drivers.maps import services as map_services
from amniyat.drivers.models import (
    AffectedGroup,
    Code,
    DriverMap,
    Excerpt,
    Factor,
    Link,
    PriorityList,
    Source,
)
from amniyat.drivers.priorities import services as priority_services
from amniyat.fieldwork.models import Assessment
from amniyat.places.models import Place
from amniyat.places.selectors import programme_area_ids

SEED = 505
NOTES = Path(__file__).resolve().parent / "data" / "notes"
LANGUAGES = ("en", "ru", "tg", "uz")
TITLE_SUFFIX = "generated demo notes"

# What each kind of group talks about most, in order of weight.
PROFILE_CODES: dict[str, tuple[str, ...]] = {
    "women": (
        "domestic_violence",
        "exclusion_women",
        "harassment_public_spaces",
        "girls_education",
        "poor_health_care",
        "returning_migrants_unemployment",
        "police_mistrust",
        "limited_social_services",
    ),
    "men": (
        "unemployment",
        "returning_migrants_unemployment",
        "police_mistrust",
        "corruption",
        "limited_dialogue",
        "neighbour_conflict",
        "theft",
        "repressive_policing",
    ),
    "youth": (
        "youth_unemployment",
        "exclusion_youth",
        "drugs",
        "repressive_policing",
        "recruitment_violent_groups",
        "restricted_religious_freedom",
        "harassment_public_spaces",
    ),
    "mixed": (
        "limited_dialogue",
        "limited_social_services",
        "theft",
        "drugs",
        "neighbour_conflict",
        "corruption",
        "unemployment",
    ),
}
# Concerns particular to some places: border and water disputes along the Kyrgyz border,
# returnees from Syria in the Uzbek regions the profile names.
PLACE_CODES: dict[str, tuple[str, ...]] = {
    "TJ-SU": ("border_water_disputes",),
    "TJ-KT": ("recruitment_violent_groups",),
    "UZ-NG": ("border_water_disputes", "restricted_religious_freedom", "reintegration_returnees"),
    "UZ-TO": ("reintegration_returnees",),
    "UZ-JI": ("exclusion_women",),
}
# (district, who took part, language, kind) of every discussion.
PLANS: dict[str, list[tuple[str, str, str, str]]] = {
    "TJ": [
        ("TJ-SU-BGH", "women", "tg", "focus_group"),
        ("TJ-SU-BGH", "men", "uz", "focus_group"),
        ("TJ-SU-ISF", "youth", "ru", "focus_group"),
        ("TJ-SU-ISF", "women", "en", "focus_group"),
        ("TJ-SU-BGH", "mixed", "tg", "workshop"),
        ("TJ-KT-VAK", "women", "tg", "focus_group"),
        ("TJ-KT-VAK", "men", "ru", "focus_group"),
        ("TJ-KT-VAK", "youth", "tg", "focus_group"),
        ("TJ-KT-KUL", "women", "ru", "focus_group"),
        ("TJ-KT-KUL", "men", "tg", "focus_group"),
        ("TJ-KT-HAM", "mixed", "en", "workshop"),
        ("TJ-KT-KUS", "women", "uz", "focus_group"),
        ("TJ-RA-VAH", "women", "ru", "focus_group"),
        ("TJ-RA-VAH", "men", "tg", "interview"),
        ("TJ-RA-NUR", "mixed", "tg", "workshop"),
        ("TJ-RA-TOJ", "youth", "en", "focus_group"),
        ("TJ-RA-TOJ", "men", "ru", "focus_group"),
        ("TJ-GB-VAN", "women", "tg", "focus_group"),
        ("TJ-GB-VAN", "men", "en", "focus_group"),
        ("TJ-GB-VAN", "mixed", "ru", "workshop"),
    ],
    "UZ": [
        ("UZ-JI-JIZ", "women", "uz", "focus_group"),
        ("UZ-JI-JIZ", "men", "ru", "focus_group"),
        ("UZ-JI-JIZ", "youth", "uz", "focus_group"),
        ("UZ-JI-ZOM", "women", "ru", "focus_group"),
        ("UZ-JI-ZOM", "mixed", "uz", "workshop"),
        ("UZ-JI-FOR", "men", "en", "interview"),
        ("UZ-TO-YAN", "women", "uz", "focus_group"),
        ("UZ-TO-YAN", "men", "uz", "focus_group"),
        ("UZ-TO-YAN", "youth", "ru", "focus_group"),
        ("UZ-TO-CHI", "women", "en", "focus_group"),
        ("UZ-TO-CHI", "mixed", "ru", "workshop"),
        ("UZ-TO-YAN", "mixed", "tg", "workshop"),
        ("UZ-NG-CHU", "women", "uz", "focus_group"),
        ("UZ-NG-CHU", "men", "uz", "focus_group"),
        ("UZ-NG-CHU", "youth", "tg", "focus_group"),
        ("UZ-NG-NAM", "women", "ru", "focus_group"),
        ("UZ-NG-NAM", "men", "en", "focus_group"),
        ("UZ-NG-CHU", "mixed", "uz", "workshop"),
    ],
}
# When the discussions were held (the baseline assessment's fieldwork) and the priorities
# agreed, per country.
HELD: dict[str, tuple[datetime.date, int]] = {
    "TJ": (datetime.date(2021, 9, 6), 60),
    "UZ": (datetime.date(2021, 3, 8), 50),
}
AGREED: dict[str, datetime.date] = {
    "TJ": datetime.date(2021, 12, 4),
    "UZ": datetime.date(2021, 6, 5),
}
SECOND_CODED = {"TJ": 4, "UZ": 3}
# Codes a second coder plausibly confuses with each other.
CONFUSABLE = {
    "domestic_violence": "gender_based_violence",
    "harassment_public_spaces": "gender_based_violence",
    "youth_unemployment": "unemployment",
    "returning_migrants_unemployment": "unemployment",
    "unemployment": "youth_unemployment",
    "police_mistrust": "repressive_policing",
    "repressive_policing": "police_mistrust",
    "corruption": "mistrust_local_authorities",
    "limited_dialogue": "mistrust_local_authorities",
    "neighbour_conflict": "border_water_disputes",
    "border_water_disputes": "neighbour_conflict",
    "exclusion_youth": "youth_unemployment",
    "girls_education": "poor_education",
    "poor_health_care": "limited_social_services",
    "drugs": "youth_unemployment",
    "recruitment_violent_groups": "restricted_religious_freedom",
}

# Driver maps: which codes are concerns and which root causes (the rest are drivers), how
# they link, and who is most affected by each concern on a priority list.
CONCERN_CODES = frozenset(
    {
        "domestic_violence",
        "harassment_public_spaces",
        "theft",
        "drugs",
        "neighbour_conflict",
        "border_water_disputes",
        "recruitment_violent_groups",
    }
)
ROOT_CAUSE_CODES = frozenset({"corruption", "restricted_religious_freedom", "limited_dialogue"})
CAUSAL_LINKS: tuple[tuple[str, str, str, int], ...] = (
    ("unemployment", "theft", Link.Kind.CAUSES, 2),
    ("unemployment", "neighbour_conflict", Link.Kind.WORSENS, 1),
    ("unemployment", "drugs", Link.Kind.WORSENS, 2),
    ("youth_unemployment", "drugs", Link.Kind.CAUSES, 3),
    ("youth_unemployment", "recruitment_violent_groups", Link.Kind.WORSENS, 2),
    ("returning_migrants_unemployment", "domestic_violence", Link.Kind.WORSENS, 3),
    ("returning_migrants_unemployment", "theft", Link.Kind.WORSENS, 1),
    ("exclusion_women", "domestic_violence", Link.Kind.WORSENS, 2),
    ("girls_education", "exclusion_women", Link.Kind.CAUSES, 2),
    ("harassment_public_spaces", "girls_education", Link.Kind.CAUSES, 2),
    ("police_mistrust", "domestic_violence", Link.Kind.WORSENS, 2),
    ("police_mistrust", "harassment_public_spaces", Link.Kind.WORSENS, 1),
    ("police_mistrust", "theft", Link.Kind.WORSENS, 1),
    ("repressive_policing", "police_mistrust", Link.Kind.CAUSES, 3),
    ("repressive_policing", "recruitment_violent_groups", Link.Kind.WORSENS, 2),
    ("corruption", "police_mistrust", Link.Kind.CAUSES, 2),
    ("corruption", "unemployment", Link.Kind.WORSENS, 1),
    ("limited_dialogue", "police_mistrust", Link.Kind.WORSENS, 2),
    ("limited_dialogue", "neighbour_conflict", Link.Kind.WORSENS, 1),
    ("limited_dialogue", "border_water_disputes", Link.Kind.WORSENS, 2),
    ("limited_social_services", "neighbour_conflict", Link.Kind.CAUSES, 2),
    ("limited_social_services", "girls_education", Link.Kind.WORSENS, 1),
    ("poor_health_care", "domestic_violence", Link.Kind.WORSENS, 1),
    ("restricted_religious_freedom", "recruitment_violent_groups", Link.Kind.WORSENS, 2),
    ("exclusion_youth", "recruitment_violent_groups", Link.Kind.WORSENS, 2),
    ("exclusion_youth", "drugs", Link.Kind.WORSENS, 1),
    ("drugs", "theft", Link.Kind.CAUSES, 2),
    ("border_water_disputes", "neighbour_conflict", Link.Kind.CAUSES, 2),
)
# An effect each perspective names, and what causes it (when that factor is on the map).
EFFECTS = {
    "women": ("Women and girls stay at home after dark", "harassment_public_spaces"),
    "men": ("Young men leave to work abroad", "unemployment"),
}
MITIGATION = "Community group meets the district police every month"
MOST_AFFECTED: dict[str, list[str]] = {
    "domestic_violence": [AffectedGroup.WOMEN, AffectedGroup.GIRLS],
    "harassment_public_spaces": [AffectedGroup.GIRLS, AffectedGroup.WOMEN],
    "girls_education": [AffectedGroup.GIRLS],
    "exclusion_women": [AffectedGroup.WOMEN],
    "youth_unemployment": [AffectedGroup.YOUTH, AffectedGroup.BOYS],
    "exclusion_youth": [AffectedGroup.YOUTH],
    "drugs": [AffectedGroup.BOYS, AffectedGroup.YOUTH],
    "recruitment_violent_groups": [AffectedGroup.YOUTH, AffectedGroup.BOYS],
    "returning_migrants_unemployment": [AffectedGroup.RETURNEES, AffectedGroup.MEN],
    "reintegration_returnees": [AffectedGroup.RETURNEES, AffectedGroup.WOMEN],
    "unemployment": [AffectedGroup.MEN, AffectedGroup.YOUTH],
    "repressive_policing": [AffectedGroup.YOUTH, AffectedGroup.MEN],
    "restricted_religious_freedom": [AffectedGroup.MINORITIES, AffectedGroup.YOUTH],
    "border_water_disputes": [AffectedGroup.MEN],
    "neighbour_conflict": [AffectedGroup.MEN, AffectedGroup.WOMEN],
}
# What a group of each kind puts on its list when its district's notes say little.
GROUP_DEFAULTS: dict[str, tuple[str, ...]] = {
    CommunityGroup.Kind.YOUTH_GROUP: PROFILE_CODES["youth"],
    CommunityGroup.Kind.POLICING_TEAM: (
        "police_mistrust",
        "theft",
        "drugs",
        "domestic_violence",
        "neighbour_conflict",
    ),
    CommunityGroup.Kind.PUBLIC_COUNCIL: PROFILE_CODES["mixed"],
}


ENDS_LIKE_INITIAL = re.compile(r"(?:^|[\s(\"'«“‘\[])[^\W\d_]\.$")


@dataclass
class Written:
    """One generated discussion: its text and which code each coded sentence carries."""

    text: str
    coded: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, code key)
    neutral: list[tuple[int, int]] = field(default_factory=list)


@cache
def banks(language: str) -> dict[str, Any]:
    with (NOTES / f"{language}.yaml").open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _sentence(rng: random.Random, bank: dict[str, Any], core: str, *, wrap: bool) -> str:
    opener = rng.choice(bank["openers"]) if wrap else ""
    tail = rng.choice(bank["tails"]) if wrap else ""
    text = (opener + core + tail).format(n=rng.randint(2, 4)).strip() + "."
    return text[0].upper() + text[1:]


def write_notes(
    rng: random.Random, *, language: str, header: str, codes: list[str], sentences: int
) -> Written:
    """Notes of one discussion about ``codes``: a header line, then question by question a few
    lines of one to three sentences each; about ``sentences`` sentences after the header."""
    bank = banks(language)
    neutral_pool = list(bank["neutral"])
    rng.shuffle(neutral_pool)
    per_code = max(3, min(6, (sentences - 5) // max(1, len(codes))))
    statements: list[tuple[str, str | None]] = []
    for key in codes:
        cores = list(bank["codes"][key])
        rng.shuffle(cores)
        for core in cores[: rng.randint(3, per_code)]:
            statements.append((_sentence(rng, bank, core, wrap=rng.random() < 0.55), key))
    while len(statements) < sentences - 3 and neutral_pool:
        statements.insert(
            rng.randrange(len(statements) + 1), (neutral_pool.pop().format(n=20) + ".", None)
        )
    questions = list(bank["questions"])
    blocks = max(3, min(5, len(statements) // 5))
    written = Written(text="")
    parts: list[str] = []
    position = 0

    def put(text: str) -> tuple[int, int]:
        nonlocal position
        start = position
        parts.append(text)
        position += len(text)
        return start, position

    put(header + "\n\n")
    size = -(-len(statements) // blocks)
    for block in range(blocks):
        chunk = statements[block * size : (block + 1) * size]
        if not chunk:
            break
        put(questions[block % len(questions)].format(q=block + 1) + "\n")
        index = 0
        while index < len(chunk):
            line = chunk[index : index + rng.randint(1, 3)]
            # The sentence splitter reads a full stop after a lone letter as an initial
            # (Uzbek "yo'q." ends in "q."), so such a sentence ends its line.
            for cut, (said, _code) in enumerate(line[:-1], start=1):
                if ENDS_LIKE_INITIAL.search(said):
                    line = line[:cut]
                    break
            index += len(line)
            for number, (sentence, code_key) in enumerate(line):
                if number:
                    put(" ")
                start, end = put(sentence)
                if code_key is None:
                    written.neutral.append((start, end))
                else:
                    written.coded.append((start, end, code_key))
            put("\n")
        put("\n")
    written.text = "".join(parts).rstrip() + "\n"
    return written


# Sources ------------------------------------------------------------------------------------


@dataclass
class DemoSource:
    source: Source
    who: str
    region: str
    written: Written


def _place_name(place: Place, language: str) -> str:
    return str(getattr(place, f"name_{language}") or place.name_en)


def _groups_by_district(programme: Programme) -> dict[str, list[CommunityGroup]]:
    groups: dict[str, list[CommunityGroup]] = defaultdict(list)
    for group in CommunityGroup.objects.filter(programme=programme).select_related(
        "place__parent", "facilitating_organisation"
    ):
        district = group.place if group.place.level == Place.Level.DISTRICT else group.place.parent
        if district is not None:
            groups[district.code].append(group)
    return groups


def _profile(rng: random.Random, who: str) -> dict[str, Any]:
    participants = rng.randint(6, 14)
    if who == "women":
        women, men = participants, 0
        bands = ["18_29", "30_44", "45_59"]
        sectors = ["womens_activist", "teacher", "health_worker"]
    elif who == "men":
        women, men = 0, participants
        bands = ["18_29", "30_44", "45_59", "60_plus"]
        sectors = ["mahalla_leader", "returning_migrant", "other"]
    elif who == "youth":
        women = rng.randint(2, participants - 2)
        men = participants - women
        bands = ["under_18", "18_29"]
        sectors = ["youth"]
    else:
        women = participants // 2
        men = participants - women
        bands = ["18_29", "30_44", "45_59", "60_plus"]
        sectors = ["mahalla_leader", "local_government", "police", "teacher"]
    return {
        "participants": participants,
        "women": women,
        "men": men,
        "age_bands": bands,
        "sectors": rng.sample(sectors, k=min(len(sectors), rng.randint(1, 3))),
    }


def _topics(rng: random.Random, who: str, region: str, known: set[str]) -> list[str]:
    pool = [key for key in PROFILE_CODES[who] if key in known]
    for key in PLACE_CODES.get(region, ()):
        if key not in pool and key in known and rng.random() < 0.7:
            pool.insert(rng.randint(0, 3), key)
    # Earlier codes of a profile are talked about more often.
    weights = [1.0 / (1 + index * 0.35) for index in range(len(pool))]
    chosen: list[str] = []
    count = rng.randint(3, 5)
    while len(chosen) < count and len(chosen) < len(pool):
        key = rng.choices(pool, weights=weights)[0]
        if key not in chosen:
            chosen.append(key)
    return chosen


def build_sources(
    rng: random.Random,
    programme: Programme,
    *,
    country: str,
    assessment: Assessment,
    analyst: User,
    codes: dict[str, Code],
    plan: list[tuple[str, str, str, str]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[DemoSource]:
    """The notes of every discussion of ``plan`` (by default the demo's, :data:`PLANS`):
    (district code, who took part, language, kind) each."""
    plan = PLANS[country] if plan is None else plan
    groups = _groups_by_district(programme)
    places = {p.code: p for p in Place.objects.filter(code__in={d for d, *_ in plan})}
    first_day, span = HELD[country]
    made = []
    with translation.override("en"):
        for number, (district_code, who, language, kind) in enumerate(plan, start=1):
            district = places[district_code]
            region = district_code.rsplit("-", 1)[0]
            district_groups = groups.get(district_code, [])
            community = district_groups[0].place if district_groups else None
            place = community if community is not None else district
            where = ", ".join(
                _place_name(p, language) for p in (community, district) if p is not None
            )
            profile = _profile(rng, who)
            held_on = first_day + datetime.timedelta(days=rng.randrange(span))
            bank = banks(language)
            header = bank["header"].format(
                kind=bank["kinds"][kind],
                who=bank["who"][who],
                place=where,
                date=held_on.isoformat(),
                participants=profile["participants"],
            )
            written = write_notes(
                rng,
                language=language,
                header=header,
                codes=_topics(rng, who, region, set(codes)),
                sentences=rng.randint(22, 38),
            )
            kind_label = str(Source.Kind(kind).label).capitalize()
            who_label = {"women": "women", "men": "men", "youth": "young people"}.get(
                who, "women and men"
            )
            source = source_create(
                user=analyst,
                programme=programme,
                assessment=assessment,
                title=(
                    f"{number:02d}. {kind_label} with {who_label}, {place.name_en}"
                    + (f" ({district.name_en})" if community is not None else "")
                    + f" — {TITLE_SUFFIX}"
                ),
                kind=kind,
                language=language,
                text=written.text,
                place=place,
                held_on=held_on,
                organisation=(
                    district_groups[0].facilitating_organisation if district_groups else None
                ),
                is_demo=True,
                **profile,
            )
            made.append(DemoSource(source=source, who=who, region=region, written=written))
            if progress is not None:
                progress(len(made))
    return made


# Coding -------------------------------------------------------------------------------------


def _coded_choice(rng: random.Random, sources: list[DemoSource]) -> list[DemoSource]:
    """About 70 % of the sources; every region's first women's and men's discussion is among
    them (the maps rest on them)."""
    must: set[int] = set()
    seen: set[tuple[str, str]] = set()
    for item in sources:
        key = (item.region, item.who)
        if item.who in ("women", "men") and key not in seen:
            seen.add(key)
            must.add(item.source.pk)
    others = [s for s in sources if s.source.pk not in must]
    wanted = round(len(sources) * 0.7) - len(must)
    chosen = set(must) | {s.source.pk for s in rng.sample(others, k=max(0, wanted))}
    return [s for s in sources if s.source.pk in chosen]


def code_sources(
    rng: random.Random,
    sources: list[DemoSource],
    *,
    analyst: User,
    second_coder: User,
    second_count: int,
    codes: dict[str, Code],
) -> dict[int, list[Excerpt]]:
    """The analyst codes every bank sentence of the chosen sources; the second coder codes a
    few of them again, missing some sentences, choosing a neighbouring code for others and
    coding the odd sentence the analyst left alone."""
    coded = _coded_choice(rng, sources)
    excerpts: dict[int, list[Excerpt]] = {}
    for item in coded:
        excerpts[item.source.pk] = [
            excerpt_create(user=analyst, source=item.source, code=codes[key], start=start, end=end)
            for start, end, key in item.written.coded
        ]
    # The second coder works in the programme's main languages, where the team has two coders.
    main = Counter(s.source.language for s in coded).most_common(2)
    candidates = [s for s in coded if s.source.language in {lang for lang, _n in main}]
    for item in rng.sample(candidates, k=min(second_count, len(candidates))):
        keys = [key for _s, _e, key in item.written.coded]
        for start, end, key in item.written.coded:
            roll = rng.random()
            if roll < 0.07:
                continue  # missed
            if roll < 0.15 and CONFUSABLE.get(key) in codes:
                key = CONFUSABLE[key]
            excerpt_create(
                user=second_coder, source=item.source, code=codes[key], start=start, end=end
            )
        for start, end in rng.sample(item.written.neutral, k=min(1, len(item.written.neutral))):
            excerpt_create(
                user=second_coder,
                source=item.source,
                code=codes[rng.choice(keys)],
                start=start,
                end=end,
            )
    return excerpts


# Driver maps --------------------------------------------------------------------------------


def _kind_of(key: str) -> str:
    if key in CONCERN_CODES:
        return Factor.Kind.CONCERN
    if key in ROOT_CAUSE_CODES:
        return Factor.Kind.ROOT_CAUSE
    return Factor.Kind.DRIVER


COLUMNS = {
    Factor.Kind.ROOT_CAUSE: 0.0,
    Factor.Kind.DRIVER: 280.0,
    Factor.Kind.CONCERN: 560.0,
    Factor.Kind.EFFECT: 840.0,
}


def build_maps(
    rng: random.Random,
    programme: Programme,
    *,
    sources: list[DemoSource],
    excerpts: dict[int, list[Excerpt]],
    analyst: User,
    reviewer: User,
    codes: dict[str, Code],
    publish_region: str,
) -> list[DriverMap]:
    """A women's and a men's map per region from the coded discussions of women and of men;
    the women's map of ``publish_region`` is published with a few of its quotes proposed by
    the analyst and approved by ``reviewer``, the second person."""
    covered = programme_area_ids(programme)
    # The indicators the map service accepts on a factor (it may know fewer than the codebook).
    indicators = map_services.indicator_keys_of(programme)
    regions = Place.objects.filter(code__in=sorted({s.region for s in sources}))
    made = []
    for region in regions.order_by("code"):
        for who, perspective in (
            ("women", DriverMap.Perspective.WOMEN),
            ("men", DriverMap.Perspective.MEN),
        ):
            evidence: dict[str, list[Excerpt]] = defaultdict(list)
            for item in sources:
                if item.region == region.code and item.who == who:
                    for excerpt in excerpts.get(item.source.pk, []):
                        evidence[excerpt.code.key].append(excerpt)
            if not evidence:
                continue
            keys = [
                key for key, _n in Counter({k: len(v) for k, v in evidence.items()}).most_common(7)
            ]
            # A thin region's map is completed from what such groups usually name (factors
            # without quotes), with at least one security concern to point at.
            for key in PROFILE_CODES[who]:
                if len(keys) >= 5 and any(k in CONCERN_CODES for k in keys):
                    break
                if key not in keys and key in codes:
                    keys.append(key)
            title = f"{region.name_en}: {who}'s view of insecurity (demo)"
            driver_map = map_services.map_create(
                acting_user=analyst,
                programme=programme,
                title=title,
                place=region if region.pk in covered else None,
                perspective=perspective,
                description=(
                    f"Drawn from the coded notes of {who}'s discussions in {region.name_en}. "
                    "Generated demo data."
                ),
            )
            DriverMap.objects.filter(pk=driver_map.pk).update(is_demo=True)
            effect_label, effect_cause = EFFECTS[who]
            plan = [(key, _kind_of(key)) for key in keys]
            plan.append((effect_label, Factor.Kind.EFFECT))
            if "police_mistrust" in keys or "limited_dialogue" in keys:
                plan.append((MITIGATION, Factor.Kind.DRIVER))
            rows: Counter[str] = Counter()
            factors: dict[str, Factor] = {}
            for label_or_key, kind in plan:
                column = COLUMNS[Factor.Kind(kind)]
                y = 40.0 + 110.0 * rows[kind]
                rows[kind] += 1
                code = codes.get(label_or_key)
                quotes = evidence.get(label_or_key, [])
                factors[label_or_key] = map_services.factor_add(
                    acting_user=analyst,
                    driver_map=driver_map,
                    label=code.name_en if code is not None else label_or_key,
                    kind=kind,
                    code=code,
                    x=column + rng.uniform(-20, 20),
                    y=y,
                    indicator_keys=[
                        k
                        for k in (code.indicator_keys if code is not None else [])
                        if k in indicators
                    ],
                    excerpts=rng.sample(quotes, k=min(2, len(quotes))),
                )
            for source_key, target_key, kind, strength in CAUSAL_LINKS:
                if source_key in factors and target_key in factors:
                    map_services.link_add(
                        acting_user=analyst,
                        driver_map=driver_map,
                        source=factors[source_key],
                        target=factors[target_key],
                        kind=kind,
                        strength=strength,
                        excerpts=rng.sample(
                            evidence[target_key], k=min(1, len(evidence[target_key]))
                        ),
                    )
            # A driver that causes nothing else on the map worsens its main concern.
            causing = {a for a, b, *_rest in CAUSAL_LINKS if a in factors and b in factors}
            concern = next(k for k in keys if k in CONCERN_CODES)
            for key in keys:
                if key in CONCERN_CODES or key in causing:
                    continue
                map_services.link_add(
                    acting_user=analyst,
                    driver_map=driver_map,
                    source=factors[key],
                    target=factors[concern],
                    kind=Link.Kind.WORSENS,
                    strength=1,
                )
            cause = effect_cause if effect_cause in factors else concern
            map_services.link_add(
                acting_user=analyst,
                driver_map=driver_map,
                source=factors[cause],
                target=factors[effect_label],
                kind=Link.Kind.CAUSES,
                strength=2,
            )
            if MITIGATION in factors:
                target = "police_mistrust" if "police_mistrust" in factors else "limited_dialogue"
                map_services.link_add(
                    acting_user=analyst,
                    driver_map=driver_map,
                    source=factors[MITIGATION],
                    target=factors[target],
                    kind=Link.Kind.MITIGATES,
                    strength=2,
                )
            if region.code == publish_region and who == "women":
                _publish_quotes(driver_map, proposer=analyst, reviewer=reviewer)
                map_services.map_publish(acting_user=analyst, driver_map=driver_map)
            made.append(driver_map)
    return made


def _publish_quotes(
    driver_map: DriverMap, *, proposer: User, reviewer: User, wanted: int = 4
) -> None:
    """Two people, as in the app: ``proposer`` proposes each quote, ``reviewer`` (who neither
    coded nor proposed it) ticks the checklist and approves it."""
    marked = 0
    for factor in driver_map.factors.prefetch_related("excerpts__source").order_by("pk"):
        for excerpt in factor.excerpts.all():
            if marked >= wanted:
                return
            if excerpt.publication != Excerpt.Publication.NONE or open_flags_over(excerpt):
                continue
            if reviewer.pk in (excerpt.coder_id, proposer.pk):
                continue
            excerpt_propose(user=proposer, excerpt=excerpt)
            excerpt_approve(user=reviewer, excerpt=excerpt, checklist=Excerpt.Check.values)
            marked += 1


# Priorities ---------------------------------------------------------------------------------


def _took_part(sectors: Counter[str]) -> str:
    names = dict(Sector.choices)
    parts = []
    for sector, count in sorted(sectors.items(), key=lambda item: (-item[1], item[0])):
        label = str(names.get(sector, sector))
        parts.append(label if count == 1 else f"{count} × {label}")
    return "Members of the group: " + ", ".join(parts) + " (roles only; generated demo data)."


def build_priorities(
    rng: random.Random,
    programme: Programme,
    *,
    country: str,
    assessment: Assessment,
    sources: list[DemoSource],
    excerpts: dict[int, list[Excerpt]],
    codes: dict[str, Code],
) -> list[PriorityList]:
    """An agreed priority list per community group, from what its district's discussions
    raised most, scored by the group; the survey fills "how many are affected"."""
    talked: dict[str, Counter[str]] = defaultdict(Counter)
    for item in sources:
        district = item.source.place
        while district is not None and district.level == Place.Level.COMMUNITY:
            district = district.parent
        for excerpt in excerpts.get(item.source.pk, []):
            if district is not None:
                talked[district.code][excerpt.code.key] += 1
    agreed_base = AGREED[country]
    made = []
    groups = CommunityGroup.objects.filter(programme=programme).select_related("place__parent")
    for group in groups.order_by("name"):
        district = group.place if group.place.level == Place.Level.DISTRICT else group.place.parent
        counts = talked.get(district.code if district else "", Counter())
        keys = [key for key, _n in counts.most_common(8)]
        for key in GROUP_DEFAULTS.get(group.kind, PROFILE_CODES["mixed"]):
            if key not in keys:
                keys.append(key)
        keys = [key for key in keys if key in codes][: rng.randint(5, 7)]
        agreed_on = agreed_base + datetime.timedelta(days=rng.randrange(40))
        priority_list = priority_services.priority_list_create(
            user=None,
            programme=programme,
            group=group,
            title=f"Security priorities, {agreed_on:%B %Y}",
            assessment=assessment,
            is_demo=True,
        )
        for index, key in enumerate(keys):
            lean = max(0, 2 - index // 2)  # what the group raised first weighs more
            priority_services.priority_add(
                user=None,
                priority_list=priority_list,
                concern=codes[key].name_en,
                code=codes[key],
                severity=min(5, rng.randint(2, 4) + (lean > 1)),
                affected=rng.randint(2, 4),
                urgency=min(5, rng.randint(1, 4) + (lean > 0)),
                changeable=rng.randint(1, 5),
                most_affected=MOST_AFFECTED.get(key, []),
            )
        members = [
            m
            for m in group.members.all()
            if m.joined_on <= agreed_on and (m.left_on is None or m.left_on > agreed_on)
        ]
        present = rng.sample(members, k=max(1, round(len(members) * rng.uniform(0.7, 0.95))))
        sectors: Counter[str] = Counter(s for m in present for s in m.sectors)
        with translation.override("en"):
            took_part = _took_part(sectors)
        priority_services.priority_list_agree(
            user=None,
            priority_list=priority_list,
            agreed_on=agreed_on,
            participants=len(present),
            women=sum(1 for m in present if m.sex == "female"),
            men=sum(1 for m in present if m.sex == "male"),
            sectors=sorted(sectors),
            took_part=took_part,
        )
        made.append(priority_list)
    return made


# The whole of it ----------------------------------------------------------------------------


@transaction.atomic
def build_drivers_demo(programme: Programme, *, analyst: User, second_coder: User) -> None:
    """Codebook, notes, coding, maps and priorities of one demo programme (its surveys,
    groups and the demo accounts must exist)."""
    country = programme.country.code
    build_drivers(
        programme,
        rng=random.Random(f"{SEED}-{country}"),  # noqa: S311 - invented demo data, not secrets
        analyst=analyst,
        second_coder=second_coder,
    )


def build_drivers(
    programme: Programme,
    *,
    rng: random.Random,
    analyst: User,
    second_coder: User,
    plan: list[tuple[str, str, str, str]] | None = None,
    second_count: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Codebook, the notes of every discussion of ``plan`` (by default the demo's), their
    coding (``second_count`` of them coded again by ``second_coder``), maps and priorities.
    ``progress`` hears each step begin, (step, 0), and how far it got: ("notes", discussions
    written so far), then ("coding", 1), ("maps", 1) and ("priorities", 1) when each is done."""
    country = programme.country.code
    tell = progress or (lambda step, done: None)
    tell("notes", 0)
    codebook_seed(programme=programme)
    codes = {code.key: code for code in Code.objects.filter(programme=programme)}
    assessment = Assessment.objects.filter(programme=programme, kind="baseline").order_by("pk")[0]
    sources = build_sources(
        rng,
        programme,
        country=country,
        assessment=assessment,
        analyst=analyst,
        codes=codes,
        plan=plan,
        progress=lambda done: tell("notes", done),
    )
    tell("coding", 0)
    excerpts = code_sources(
        rng,
        sources,
        analyst=analyst,
        second_coder=second_coder,
        second_count=SECOND_CODED[country] if second_count is None else second_count,
        codes=codes,
    )
    tell("coding", 1)
    tell("maps", 0)
    build_maps(
        rng,
        programme,
        sources=sources,
        excerpts=excerpts,
        analyst=analyst,
        reviewer=second_coder,
        codes=codes,
        publish_region={"TJ": "TJ-KT", "UZ": "UZ-JI"}[country],
    )
    tell("maps", 1)
    tell("priorities", 0)
    build_priorities(
        rng,
        programme,
        country=country,
        assessment=assessment,
        sources=sources,
        excerpts=excerpts,
        codes=codes,
    )
    tell("priorities", 1)


def remove_drivers_demo(programme: Programme) -> None:
    """Delete the programme's drivers data, maps first: maps and sources hold protected
    references to places, groups, assessments and organisations."""
    DriverMap.objects.filter(programme=programme).delete()
    PriorityList.objects.filter(group__programme=programme).delete()
    Source.objects.filter(programme=programme).delete()
    Code.objects.filter(programme=programme).delete()
    coding_changed(programme_id=programme.pk)
