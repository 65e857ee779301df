"""The two demo programmes, built from the programme profiles with a fixed seed.

Every organisation and person here is invented and marked ``is_demo``; names are plausible
for Tajikistan and Uzbekistan so that pages look as they would in real use. Building twice
gives the same data.
"""

from __future__ import annotations

import datetime
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from amniyat.accounts.models import Membership, Organisation, Programme, User
from amniyat.accounts.services import membership_grant
from amniyat.communities.models import AgeBand, CommunityGroup, RepresentationTarget, Sector, Sex
from amniyat.communities.services import group_create, member_add, members_changed, target_set
from amniyat.core.fields import keyed_hash
from amniyat.demo import survey as demo_survey
from amniyat.demo.drivers import build_drivers_demo, remove_drivers_demo
from amniyat.demo.plans import build_plans_demo, remove_plans
from amniyat.demo.reports import build_reports_demo, remove_reports
from amniyat.demo.translations import translate_demo
from amniyat.fieldwork.forms.services import assessment_create, form_add, sensitivity_set
from amniyat.fieldwork.models import Assessment, Attachment, Form, FormVersion, Submission
from amniyat.fieldwork.submissions.services import submissions_changed
from amniyat.findings.models import Findings
from amniyat.findings.services import findings_compute, findings_for, indicator_set_save
from amniyat.places.models import Place
from amniyat.places.services import (
    administrative_places_load,
    community_create,
    partner_area_assign,
)

SEED = 2021
DEMO_PASSWORD = "amniyat-demo"  # noqa: S105 - printed on purpose: demo accounts only


@dataclass(frozen=True)
class DemoAccount:
    username: str
    description: str


DEMO_ACCOUNTS = [
    DemoAccount("demo-lead", "programme lead in both programmes"),
    DemoAccount("demo-analyst", "analyst in both programmes"),
    DemoAccount("demo-facilitator", "facilitator of one Tajik partner CSO (Vakhsh)"),
    DemoAccount("demo-facilitator-uz", "facilitator of one Uzbek women-led CSO (Jizzakh)"),
    DemoAccount("demo-member", "member of one Tajik community group"),
    DemoAccount("demo-viewer", "donor viewer in both programmes"),
    DemoAccount("demo-admin", "superuser for the Django admin (/admin/)"),
]

TJ_DISTRICTS = [  # (code, existing group before this programme?)
    ("TJ-SU-BGH", True),
    ("TJ-SU-ISF", True),
    ("TJ-KT-KUL", True),
    ("TJ-KT-VAK", True),
    ("TJ-RA-VAH", True),
    ("TJ-KT-HAM", False),
    ("TJ-KT-KUS", False),
    ("TJ-RA-NUR", False),
    ("TJ-RA-TOJ", False),
    ("TJ-GB-VAN", False),
]

TJ_COMMUNITIES = {
    "TJ-SU-BGH": [("Jamoat Unji", "Ҷамоати Унҷи", "Джамоат Унджи", "Unji jamoati")],
    "TJ-SU-ISF": [("Mahalla Chorkuh", "Маҳаллаи Чоркӯҳ", "Махалля Чоркух", "Chorkoʻh mahallasi")],
    "TJ-KT-KUL": [
        ("Mahalla Guliston", "Маҳаллаи Гулистон", "Махалля Гулистон", "Guliston mahallasi")
    ],
    "TJ-KT-VAK": [
        ("Jamoat Tojikiston", "Ҷамоати Тоҷикистон", "Джамоат Таджикистан", "Tojikiston jamoati"),
        ("Jamoat Navobod", "Ҷамоати Навобод", "Джамоат Навобод", "Navobod jamoati"),
    ],
    "TJ-RA-VAH": [("Jamoat Simiganj", "Ҷамоати Симиганҷ", "Джамоат Симиганч", "Simiganj jamoati")],
    "TJ-KT-HAM": [
        ("Jamoat Dashtigul", "Ҷамоати Даштигул", "Джамоат Даштигул", "Dashtigul jamoati")
    ],
    "TJ-KT-KUS": [
        ("Jamoat Bokhtariyon", "Ҷамоати Бохтариён", "Джамоат Бохтариён", "Boxtariyon jamoati")
    ],
    "TJ-RA-NUR": [("Jamoat Nurobod", "Ҷамоати Нуробод", "Джамоат Нуробод", "Nurobod jamoati")],
    "TJ-RA-TOJ": [
        (
            "Jamoat Qalai Labiob",
            "Ҷамоати Қалъаи Лабиоб",
            "Джамоат Калаи Лабиоб",
            "Qalʼai Labiob jamoati",
        )
    ],
    "TJ-GB-VAN": [("Jamoat Vanj", "Ҷамоати Ванҷ", "Джамоат Ванч", "Vanj jamoati")],
}

TJ_CSO_WORDS = [
    "Umed",
    "Dusti",
    "Oshti",
    "Nuri Subh",
    "Ittifoq",
    "Bonuvoni Sharq",
    "Javonon va Kelajak",
    "Rushd",
    "Hamdili",
    "Chashma",
    "Munis",
    "Sadoqat",
    "Fayz",
    "Tavon",
    "Ozod",
    "Navruz",
    "Sitorai Subh",
    "Obod",
    "Zanoni Fa'ol",
    "Hamkori",
    "Tarraqiyot",
    "Sulh",
    "Mehr",
    "Rohi Nek",
    "Bahor",
    "Ganj",
    "Shukufa",
    "Ma'rifat",
    "Vahdati Jomea",
    "Khonai Umed",
]
UZ_CSO_WORDS = [
    "Ayollar Tayanchi",
    "Oydin Yoʻl",
    "Mehr Nuri",
    "Kelajak Ayollari",
    "Zamin Qizlari",
    "Tinchlik Uyi",
    "Oila va Jamiyat",
    "Nurli Maskan",
    "Ishonch",
    "Sabr",
    "Mahalla Ovozi",
    "Farovon Hayot",
    "Yoshlar Tashabbusi",
    "Bonu",
    "Saodat",
    "Baxt Yoʻli",
    "Ezgulik",
    "Oltin Meros",
    "Istiqbol Ayollari",
    "Hamjihat",
]
TJ_WOMEN = [
    "Zarina",
    "Dilnoza",
    "Mavjuda",
    "Nigina",
    "Shahlo",
    "Gulnora",
    "Malika",
    "Tahmina",
    "Parvina",
    "Madina",
    "Nilufar",
    "Sitora",
    "Firuza",
    "Munira",
    "Mehrangez",
    "Zulaykho",
]
TJ_MEN = [
    "Farrukh",
    "Firuz",
    "Rustam",
    "Bahrom",
    "Jamshed",
    "Sorbon",
    "Umed",
    "Suhrob",
    "Davlat",
    "Khurshed",
    "Parviz",
    "Anvar",
    "Shuhrat",
    "Daler",
    "Abdullo",
    "Saidjon",
]
UZ_WOMEN = [
    "Dilfuza",
    "Gulnoza",
    "Nodira",
    "Feruza",
    "Shahnoza",
    "Umida",
    "Zulfiya",
    "Mohira",
    "Kamola",
    "Dildora",
    "Sevara",
    "Maftuna",
    "Nargiza",
    "Barno",
    "Lola",
    "Yulduz",
]
UZ_MEN = [
    "Sardor",
    "Jasur",
    "Bekzod",
    "Otabek",
    "Sanjar",
    "Aziz",
    "Rustam",
    "Sherzod",
    "Doniyor",
    "Akmal",
    "Ulugʻbek",
    "Jahongir",
    "Ilhom",
    "Bobur",
    "Farhod",
    "Nodir",
]
INITIALS = "ABDFGHJKMNORSTUYZ"

AGE_WEIGHTS = [
    (AgeBand.UNDER_18, 4),
    (AgeBand.AGE_18_24, 16),
    (AgeBand.AGE_25_29, 12),
    (AgeBand.AGE_30_44, 30),
    (AgeBand.AGE_45_59, 26),
    (AgeBand.AGE_60_PLUS, 12),
]


def _age(rng: random.Random) -> str:
    return rng.choices([a for a, _w in AGE_WEIGHTS], [w for _a, w in AGE_WEIGHTS])[0]


def _user(username: str, first: str, last: str, *, superuser: bool = False) -> User:
    user, _created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last}
    )
    user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_superuser = superuser
    user.save()
    return user


def _organisation(name: str, kind: str, country: str, *, women_led: bool = False) -> Organisation:
    organisation, _created = Organisation.objects.get_or_create(
        name=name,
        defaults={"kind": kind, "country": country, "women_led": women_led, "is_demo": True},
    )
    return organisation


def _members(
    rng: random.Random,
    group: CommunityGroup,
    *,
    size: int,
    share_women: float,
    women_names: list[str],
    men_names: list[str],
    start: datetime.date,
    end: datetime.date,
    sectors_required: list[Sector],
    missing: Sector | None = None,
    is_demo: bool = False,
) -> None:
    required: list[str] = list(sectors_required)
    for index in range(size):
        sex = Sex.FEMALE if rng.random() < share_women else Sex.MALE
        first = rng.choice(women_names if sex == Sex.FEMALE else men_names)
        sectors: list[str] = []
        if required:
            sectors.append(required.pop(0))
        elif rng.random() < 0.8:
            pool = [
                Sector.MAHALLA_LEADER,
                Sector.WOMENS_ACTIVIST,
                Sector.TEACHER,
                Sector.HEALTH_WORKER,
                Sector.RETURNING_MIGRANT,
                Sector.RELIGIOUS_LEADER,
                Sector.MINORITY,
                Sector.OTHER,
            ]
            sectors.append(rng.choice([s for s in pool if s != missing]))
        age = _age(rng)
        if age in (AgeBand.UNDER_18, AgeBand.AGE_18_24) and rng.random() < 0.6:
            sectors.append(Sector.YOUTH)
        if sex == Sex.FEMALE and Sector.WOMENS_ACTIVIST not in sectors and rng.random() < 0.2:
            sectors.append(Sector.WOMENS_ACTIVIST)
        joined = start + datetime.timedelta(
            days=rng.randint(0, 60) if index < size - 3 else rng.randint(60, 240)
        )
        left = None
        if rng.random() < 0.08:
            left = joined + datetime.timedelta(days=rng.randint(90, 300))
            if left > end:
                left = None
        member_add(
            acting_user=None,
            group=group,
            display_name=f"{first} {rng.choice(INITIALS)}.",
            sex=sex,
            age_band=age,
            sectors=sectors,
            joined_on=joined,
            left_on=left,
            **({"is_demo": True} if is_demo else {}),
        )


def tajik_group_members(
    rng: random.Random,
    group: CommunityGroup,
    *,
    start: datetime.date,
    end: datetime.date,
    is_demo: bool = False,
) -> None:
    """A Tajik group's 9 to 15 members: police, local government and a mahalla leader among
    them (two young people in a youth group), fewer women in a policing team."""
    required = [Sector.POLICE, Sector.LOCAL_GOVERNMENT, Sector.MAHALLA_LEADER]
    if group.kind == CommunityGroup.Kind.YOUTH_GROUP:
        required = [Sector.YOUTH, Sector.YOUTH]
    _members(
        rng,
        group,
        size=rng.randint(9, 15),
        share_women=0.45 if group.kind != CommunityGroup.Kind.POLICING_TEAM else 0.3,
        women_names=TJ_WOMEN,
        men_names=TJ_MEN,
        start=start,
        end=end,
        sectors_required=required,
        is_demo=is_demo,
    )


def build_tajikistan(rng: random.Random, lead_org: Organisation) -> Programme:
    country = Place.objects.get(code="TJ")
    donor = _organisation(
        "Public Affairs Section, US Embassy in Dushanbe", Organisation.Kind.DONOR, "US"
    )
    platform = _organisation(
        "Civil Society Platform for Community Security", Organisation.Kind.NETWORK, "TJ"
    )
    programme = Programme.objects.create(
        name="Community security in ten districts of Tajikistan",
        slug="tajikistan-community-security",
        country=country,
        donor=donor,
        lead_organisation=lead_org,
        starts_on=datetime.date(2021, 8, 1),
        ends_on=datetime.date(2022, 7, 31),
        languages=["tg", "ru", "en"],
        summary=(
            "Supporting civil society and local authorities to address the drivers of violence "
            "and insecurity: assessment with the Civil Society Platform, community groups in five "
            "existing and five new districts, seed funds for outreach campaigns, regional and "
            "national conferences."
        ),
        is_demo=True,
    )
    districts = [Place.objects.get(code=code) for code, _existing in TJ_DISTRICTS]
    programme.places.set(districts)
    programme.partners.add(platform)
    csos = []
    for index, word in enumerate(TJ_CSO_WORDS):
        district = districts[index % len(districts)]
        cso = _organisation(
            f"Public Organisation «{word}» ({district.name_en})",
            Organisation.Kind.CSO,
            "TJ",
            women_led=index % 3 == 0,
        )
        csos.append(cso)
    programme.partners.add(*csos)

    for dimension, share in [
        (RepresentationTarget.Dimension.WOMEN, Decimal("40")),
        (RepresentationTarget.Dimension.YOUTH, Decimal("25")),
    ]:
        target_set(acting_user=None, programme=programme, dimension=dimension, min_share=share)
    for sector in (Sector.POLICE, Sector.LOCAL_GOVERNMENT):
        target_set(
            acting_user=None,
            programme=programme,
            dimension=RepresentationTarget.Dimension.SECTOR,
            sector=sector,
            min_count=1,
        )

    for d_index, ((code, existing), district) in enumerate(
        zip(TJ_DISTRICTS, districts, strict=True)
    ):
        communities = [
            community_create(
                acting_user=None,
                programme=programme,
                parent=district,
                name_en=en,
                name_tg=tg,
                name_ru=ru,
                name_uz=uz,
                kind="jamoat" if en.startswith("Jamoat") else "mahalla",
            )
            for en, tg, ru, uz in TJ_COMMUNITIES[code]
        ]
        facilitator_org = csos[d_index]  # the CSO based in this district
        start = datetime.date(2019, 3, 1) if existing else datetime.date(2021, 10, 1)
        kinds = [CommunityGroup.Kind.COMMUNITY_GROUP]
        if d_index in (0, 3):
            kinds.append(CommunityGroup.Kind.YOUTH_GROUP)
        if d_index in (2, 5):
            kinds.append(CommunityGroup.Kind.POLICING_TEAM)
        if d_index in (4,):
            kinds.append(CommunityGroup.Kind.PUBLIC_COUNCIL)
        for g_index, kind in enumerate(kinds):
            place = communities[g_index % len(communities)]
            name = {
                CommunityGroup.Kind.COMMUNITY_GROUP: f"{place.name_en} community group",
                CommunityGroup.Kind.YOUTH_GROUP: f"{district.name_en} youth activists",
                CommunityGroup.Kind.POLICING_TEAM: f"{district.name_en} community policing team",
                CommunityGroup.Kind.PUBLIC_COUNCIL: f"{district.name_en} public security council",
            }[kind]
            group = group_create(
                acting_user=None,
                programme=programme,
                name=name,
                kind=kind,
                place=place,
                facilitating_organisation=facilitator_org,
                is_new=not existing,
                established_on=start,
                is_demo=True,
            )
            tajik_group_members(rng, group, start=start, end=programme.ends_on)
    # The lead assigns each CSO the district it is based in; the platform works everywhere.
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
    _police_left(programme, "Jamoat Tojikiston community group", datetime.date(2022, 3, 14))
    return programme


def _police_left(programme: Programme, group_name: str, on: datetime.date) -> None:
    """The story behind a warning: the group's police officer left in March."""
    group = CommunityGroup.objects.get(programme=programme, name=group_name)
    with transaction.atomic():
        for member in group.members.all():
            if Sector.POLICE in member.sectors and member.left_on is None:
                member.left_on = on
                member.save(update_fields=["left_on"])
        members_changed(programme_id=programme.pk)


def build_uzbekistan(rng: random.Random, lead_org: Organisation) -> Programme:
    country = Place.objects.get(code="UZ")
    donor = _organisation("United States Institute of Peace", Organisation.Kind.DONOR, "US")
    network = _organisation(
        "Women's Future Network (demo)", Organisation.Kind.NETWORK, "UZ", women_led=True
    )
    regions = [Place.objects.get(code=code) for code in ("UZ-JI", "UZ-TO", "UZ-NG")]
    programme = Programme.objects.create(
        name="Women-led CSOs for peace and security in Uzbekistan",
        slug="uzbekistan-women-led-csos",
        country=country,
        donor=donor,
        lead_organisation=lead_org,
        starts_on=datetime.date(2021, 1, 1),
        ends_on=datetime.date(2022, 6, 30),
        languages=["uz", "ru", "en"],
        summary=(
            "Supporting women-led civil society organisations in Jizzakh, Tashkent and Namangan "
            "regions to work with communities, local authorities and police: two existing and "
            "two new community security working groups, action plans, small grants."
        ),
        is_demo=True,
    )
    programme.places.set(regions)
    programme.partners.add(network)
    csos = []
    for index, word in enumerate(UZ_CSO_WORDS):
        region = regions[index % 3]
        csos.append(
            _organisation(
                f"«{word}» women's NGO ({region.name_en})",
                Organisation.Kind.CSO,
                "UZ",
                women_led=True,
            )
        )
    programme.partners.add(*csos)
    target_set(
        acting_user=None,
        programme=programme,
        dimension=RepresentationTarget.Dimension.WOMEN,
        min_share=Decimal("50"),
    )
    target_set(
        acting_user=None,
        programme=programme,
        dimension=RepresentationTarget.Dimension.YOUTH,
        min_share=Decimal("30"),
    )
    for sector in (Sector.POLICE, Sector.LOCAL_GOVERNMENT, Sector.RELIGIOUS_LEADER):
        target_set(
            acting_user=None,
            programme=programme,
            dimension=RepresentationTarget.Dimension.SECTOR,
            sector=sector,
            min_count=1,
        )
    plan = [  # (district code, community names, existing?, facilitating CSO index)
        (
            "UZ-JI-JIZ",
            ("Mahalla Navbahor", "Маҳаллаи Навбаҳор", "Махалля Навбахор", "Navbahor mahallasi"),
            True,
            0,
        ),
        (
            "UZ-JI-ZOM",
            ("Mahalla Oqtepa", "Маҳаллаи Оқтепа", "Махалля Октепа", "Oqtepa mahallasi"),
            True,
            3,
        ),
        (
            "UZ-NG-CHU",
            ("Mahalla Do'stlik", "Маҳаллаи Дӯстлик", "Махалля Дустлик", "Doʻstlik mahallasi"),
            False,
            2,
        ),
        (
            "UZ-TO-YAN",
            ("Mahalla Bog'bon", "Маҳаллаи Боғбон", "Махалля Богбон", "Bogʻbon mahallasi"),
            False,
            1,
        ),
    ]
    for code, (en, tg, ru, uz), existing, cso_index in plan:
        district = Place.objects.get(code=code)
        mahalla = community_create(
            acting_user=None,
            programme=programme,
            parent=district,
            name_en=en,
            name_tg=tg,
            name_ru=ru,
            name_uz=uz,
            kind="mahalla",
        )
        start = datetime.date(2018, 9, 1) if existing else datetime.date(2021, 5, 1)
        group = group_create(
            acting_user=None,
            programme=programme,
            name=f"{en} community security working group",
            kind=CommunityGroup.Kind.CSWG,
            place=mahalla,
            facilitating_organisation=csos[cso_index],
            is_new=not existing,
            established_on=start,
            is_demo=True,
        )
        required = [
            Sector.POLICE,
            Sector.LOCAL_GOVERNMENT,
            Sector.MAHALLA_LEADER,
            Sector.RELIGIOUS_LEADER,
        ]
        missing = None
        if code == "UZ-NG-CHU":  # a gap the group page points out
            required.remove(Sector.RELIGIOUS_LEADER)
            missing = Sector.RELIGIOUS_LEADER
        _members(
            rng,
            group,
            size=rng.randint(10, 16),
            share_women=0.62,
            women_names=UZ_WOMEN,
            men_names=UZ_MEN,
            start=start,
            end=programme.ends_on,
            sectors_required=required,
            missing=missing,
        )
    # The lead assigns each CSO the districts of the working groups it facilitates, and the
    # network the three regions.
    areas: dict[int, list[Place]] = {}
    for code, _names, _existing, cso_index in plan:
        areas.setdefault(cso_index, []).append(Place.objects.get(code=code))
    for cso_index, places in areas.items():
        partner_area_assign(
            acting_user=None, programme=programme, organisation=csos[cso_index], places=places
        )
    partner_area_assign(acting_user=None, programme=programme, organisation=network, places=regions)
    return programme


@transaction.atomic
def build_demo() -> list[Programme]:
    """Create both demo programmes and one account per role. Fails if they exist already."""
    rng = random.Random(SEED)  # noqa: S311 - invented demo data, not secrets
    administrative_places_load()
    Place.objects.filter(code__in=["TJ", "UZ"]).update(is_demo=False)
    lead_org = _organisation(
        "Safer Communities Alliance (demo)", Organisation.Kind.INTERNATIONAL_NGO, "GB"
    )
    tajikistan = build_tajikistan(rng, lead_org)
    uzbekistan = build_uzbekistan(rng, lead_org)
    build_findings(tajikistan, build_surveys(tajikistan, "TJ", seed=SEED))
    build_findings(uzbekistan, build_surveys(uzbekistan, "UZ", seed=SEED + 1))

    lead = _user("demo-lead", "Amina", "Karimova")
    analyst = _user("demo-analyst", "Timur", "Nazarov")
    facilitator = _user("demo-facilitator", "Mehrangez", "Saidova")
    facilitator_uz = _user("demo-facilitator-uz", "Dilfuza", "Rahimova")
    group_member = _user("demo-member", "Bahrom", "Qodirov")
    viewer = _user("demo-viewer", "Sarah", "Miller")
    _user("demo-admin", "Demo", "Administrator", superuser=True)

    for programme in (tajikistan, uzbekistan):
        membership_grant(
            acting_user=None,
            programme=programme,
            user=lead,
            organisation=lead_org,
            role=Membership.Role.LEAD,
        )
        membership_grant(
            acting_user=None,
            programme=programme,
            user=analyst,
            organisation=lead_org,
            role=Membership.Role.ANALYST,
        )
        membership_grant(
            acting_user=None,
            programme=programme,
            user=viewer,
            organisation=programme.donor or lead_org,
            role=Membership.Role.VIEWER,
        )
    vakhsh_cso = CommunityGroup.objects.get(
        programme=tajikistan, name="Jamoat Tojikiston community group"
    ).facilitating_organisation
    membership_grant(
        acting_user=None,
        programme=tajikistan,
        user=facilitator,
        organisation=vakhsh_cso,
        role=Membership.Role.FACILITATOR,
    )
    jizzakh_group = CommunityGroup.objects.get(
        programme=uzbekistan, name="Mahalla Navbahor community security working group"
    )
    membership_grant(
        acting_user=None,
        programme=uzbekistan,
        user=facilitator_uz,
        organisation=jizzakh_group.facilitating_organisation,
        role=Membership.Role.FACILITATOR,
        can_view_personal_data=True,
    )
    kulob_group = CommunityGroup.objects.get(
        programme=tajikistan, name="Mahalla Guliston community group"
    )
    membership_grant(
        acting_user=None,
        programme=tajikistan,
        user=group_member,
        organisation=kulob_group.facilitating_organisation,
        role=Membership.Role.GROUP_MEMBER,
        community_group=kulob_group,
    )
    for programme in (tajikistan, uzbekistan):
        build_drivers_demo(programme, analyst=analyst, second_coder=lead)
        build_plans_demo(programme, lead=lead)
    translate_demo([tajikistan, uzbekistan])
    for programme in (tajikistan, uzbekistan):
        build_reports_demo(programme, analyst=analyst, lead=lead)
    return [tajikistan, uzbekistan]


# The two programmes ``amniyat demo`` builds. Other programmes marked ``is_demo`` (the scale
# data set of ``amniyat bench-data``) are neither reported nor removed with them.
DEMO_SLUGS = ("tajikistan-community-security", "uzbekistan-women-led-csos")


def demo_exists() -> bool:
    return Programme.objects.filter(is_demo=True, slug__in=DEMO_SLUGS).exists()


@transaction.atomic
def remove_demo() -> None:
    """Delete the demo programmes, their organisations and accounts."""
    for programme in Programme.objects.filter(is_demo=True, slug__in=DEMO_SLUGS):
        remove_programme_data(programme)
    remove_unused_demo_organisations()
    User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).delete()


def remove_programme_data(programme: Programme) -> None:
    """Delete one generated programme and everything in it, in the order the protected
    references allow."""
    # Drivers data first: maps and sources hold protected references to places, groups,
    # assessments and organisations.
    remove_reports(programme)
    remove_plans(programme)
    remove_drivers_demo(programme)
    programme.memberships.all().delete()
    for group in programme.community_groups.all():
        group.user_memberships.all().delete()
    programme.community_groups.all().delete()
    # Findings and submissions hold protected references (indicator set, form version).
    Findings.objects.filter(assessment__programme=programme).delete()
    _remove_submissions(programme)
    programme.assessments.all().delete()
    programme.indicator_sets.all().delete()
    programme.own_places.all().delete()
    programme.delete()


def _remove_submissions(programme: Programme, slice_rows: int = 20_000) -> None:
    """The programme's submissions, attachments first, then a slice of ids at a time reading
    nothing else: deleting them in one go would load (and decrypt) every row of a large
    programme before deleting it, as Django does with rows that others refer to."""
    submissions = Submission.objects.filter(form__assessment__programme=programme)
    Attachment.objects.filter(submission__in=submissions).delete()
    bounds = submissions.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return
    forms = list(Form.objects.filter(assessment__programme=programme).values_list("pk", flat=True))
    for start in range(bounds["first"], bounds["last"] + 1, slice_rows):
        with transaction.atomic():
            submissions.filter(pk__gte=start, pk__lt=start + slice_rows).only("pk").delete()
            submissions_changed(form_ids=forms)


def remove_unused_demo_organisations() -> None:
    """Delete the demo organisations no remaining programme has as lead, donor or partner,
    nor any membership names: another generated programme may share them."""
    remaining = Programme.objects.all()
    used = (
        set(remaining.values_list("lead_organisation_id", flat=True))
        | set(remaining.exclude(donor=None).values_list("donor_id", flat=True))
        | set(Programme.partners.through.objects.values_list("organisation_id", flat=True))
        | set(Membership.objects.values_list("organisation_id", flat=True))
    )
    Organisation.objects.filter(is_demo=True).exclude(pk__in=used).delete()


# --- Assessment surveys -------------------------------------------------------------------

SURVEYS = {
    "TJ": [
        ("Community security baseline survey 2021", "baseline", (2021, 9, 1), (2021, 10, 31)),
        ("Community security endline survey 2022", "endline", (2022, 6, 1), (2022, 6, 30)),
    ],
    "UZ": [
        ("Community security baseline survey 2021", "baseline", (2021, 3, 1), (2021, 4, 30)),
        ("Community security endline survey 2022", "endline", (2022, 5, 1), (2022, 5, 31)),
    ],
}
INDICATORS_FILE = (
    Path(__file__).resolve().parent.parent
    / "analysis"
    / "data"
    / "community_security_indicators.yaml"
)


def _store_generated(version: FormVersion, frame: pl.DataFrame) -> int:
    """Store generated respondents as submissions of ``version``, answers split by the
    sensitivity of each field as an import would."""
    paths = {field["name"]: field["path"] for field in version.schema}
    # Stored as an import or ODK Collect would store them: several choices as a list.
    several = {
        field["name"] for field in version.schema if str(field.get("type")) == "select_multiple"
    }
    protected = {
        path
        for path, sensitivity in version.sensitivity.items()
        if sensitivity in ("personal", "sensitive")
    }
    districts = {
        p.code: p.pk for p in Place.objects.filter(code__in=frame["district"].unique().to_list())
    }
    rows = []
    for record in frame.iter_rows(named=True):
        enumerator = str(record.get("enumerator") or "")
        answers: dict[str, Any] = {}
        for name, value in record.items():
            if name in ("instance_id", "submitted_at") or value is None or name not in paths:
                continue
            if name in several and isinstance(value, str):
                value = value.split()
            answers[paths[name]] = value.isoformat() if hasattr(value, "isoformat") else value
        public = {k: v for k, v in answers.items() if k not in protected}
        private = {k: v for k, v in answers.items() if k in protected}
        rows.append(
            Submission(
                form=version.form,
                form_version=version,
                instance_id=record["instance_id"],
                content_hash=Submission.hash_content(answers),
                place_id=districts.get(record["district"]),
                submitted_at=record["submitted_at"],
                enumerator=enumerator,  # encrypted by the field
                enumerator_hash=keyed_hash(enumerator),
                data=public,
                protected_data=json.dumps(private, ensure_ascii=False) if private else "",
                source=Submission.Source.DEMO,
            )
        )
    with transaction.atomic():
        Submission.objects.bulk_create(rows, batch_size=2000)
        submissions_changed(form_ids=[version.form_id])
    return len(rows)


def build_surveys(programme: Programme, country: str, *, seed: int) -> list[Form]:
    """Baseline and endline assessments with the demo perception survey and its generated
    respondents (labelled as generated demo data)."""
    forms = []
    for title, kind, start, end in SURVEYS[country]:
        version = survey_form(
            programme,
            country,
            title=title,
            kind=kind,
            starts_on=datetime.date(*start),
            ends_on=datetime.date(*end),
        )
        frame = demo_survey.generate_responses(country, phase=kind, seed=seed)  # type: ignore[arg-type]
        _store_generated(version, frame)
        forms.append(version.form)
    return forms


def survey_form(
    programme: Programme,
    country: str,
    *,
    title: str,
    kind: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    actor_label: str = "demo",
) -> FormVersion:
    """An assessment of ``programme`` with the demo perception survey as its form, every
    field's sensitivity decided as the demo survey team decided it."""
    info = demo_survey.design_info(country)  # type: ignore[arg-type]
    assessment = assessment_create(
        acting_user=None,
        actor_label=actor_label,
        programme=programme,
        title=title,
        kind=kind,
        places=list(programme.places.all()),
        starts_on=starts_on,
        ends_on=ends_on,
        weight_field=info["weight"],
        strata_field=info["strata"],
        cluster_field=info["cluster"],
    )
    Assessment.objects.filter(pk=assessment.pk).update(is_demo=True)
    version = form_add(
        acting_user=None,
        actor_label=actor_label,
        assessment=assessment,
        file_name=f"community_security_{country.lower()}.xlsx",
        content=demo_survey.build_xlsform(country),  # type: ignore[arg-type]
    )
    # The survey team's decision: closed answers may be published in aggregate; free
    # text stays sensitive (the form's own default), metadata internal.
    undecided = {
        field["path"]: "internal"
        if field["type"] in ("start", "end", "username", "deviceid", "today", "calculate")
        or field["path"].startswith("meta/")
        else "public"
        for field in version.schema
        if field["path"] in version.fields_lacking_sensitivity()
    }
    if undecided:
        version = sensitivity_set(
            acting_user=None, actor_label=actor_label, version=version, classes=undecided
        )
    return version


def build_findings(programme: Programme, forms: list[Form]) -> None:
    """The demo indicator set, and findings computed now; the baseline's are published."""
    indicator_set_save(
        acting_user=None, programme=programme, spec=INDICATORS_FILE.read_text(encoding="utf-8")
    )
    for index, form in enumerate(forms):
        findings = findings_for(form, enqueue=False)
        if findings is None:
            continue
        findings = findings_compute(findings.pk)
        if index == 0 and findings.status == Findings.Status.READY:
            findings.published_at = timezone.now()
            findings.save(update_fields=["published_at"])
