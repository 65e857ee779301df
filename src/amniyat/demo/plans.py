"""The demo's action plans: one joint plan for every community group of each demo programme
that has an agreed priority list, started from the group's priorities through the plans'
services, endorsed by the group, the district administration and the police, with actions
adapted to what the group raised and to the country (joint police–community patrols,
street lighting by the hukumat or hokimiyat, youth sports and vocational courses, a
domestic-violence helpline, reintegration support for returning migrants, …) and a year of
progress updates; the consultations held with each programme's chosen groups, their
commitments (one of them an action of a plan); one open dispute and one resolved; updates
verified by the lead; one plan published.

Everything is written through the plans' services (``services``, ``updates``,
``consultations``), on dates fixed relative to the group's agreed priority list, and with a
random generator seeded by the group's name: the same demo every time."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from djmoney.money import Money

from amniyat.accounts.models import Programme, User
from amniyat.communities.models import AgeBand, CommunityGroup
from amniyat.drivers.models import PriorityList
from amniyat.places.models import Place
from amniyat.plans import consultation_selectors, consultations, services, updates
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Consultation,
    Objective,
    Signatory,
)

DAY = datetime.timedelta(days=1)
SEED = "demo-plans"
# The group of each demo programme whose plan carries the consultations, the dispute and (in
# Tajikistan) is published: the demo group member's in Tajikistan, the Uzbek demo
# facilitator's in Uzbekistan.
GROUPS = {
    "TJ": "Mahalla Guliston community group",
    "UZ": "Mahalla Navbahor community security working group",
}
CURRENCY = {"TJ": "TJS", "UZ": "UZS"}
# Costs are written in somoni; a sum in sum is about a thousand times larger.
COST_SCALE = {"TJ": 1, "UZ": 1000}
PLAN_TITLE = "Joint community safety plan"
# How many actions (of the plan's objectives; parts not counted) each plan has.
TOP_ACTIONS = 4
# An action due this many days after the plan starts runs through its year.
YEAR_LONG = 330

Status = Action.Status


@dataclass(frozen=True)
class DemoAction:
    """An action as the demo writes it: ``lead`` and ``supporting`` name roles (keys of
    :func:`actors`), ``days`` its start and due date in days from the plan's start."""

    title: str
    lead: str
    days: tuple[int, int]
    cost: int | None = None
    funding: str = "own"
    beneficiaries: tuple[str, ...] = ()
    supporting: tuple[str, ...] = ()
    parts: tuple[DemoAction, ...] = field(default=())


CATALOGUE: dict[str, DemoAction] = {
    "patrols": DemoAction(
        "Joint police–community patrols and monthly meetings",
        "police",
        (14, 180),
        beneficiaries=("women", "men", "youth"),
        supporting=("local", "women"),
        parts=(
            DemoAction("Agree the patrol routes with residents", "women", (14, 45)),
            DemoAction(
                "Monthly open meeting with the district police inspector", "police", (30, 180)
            ),
        ),
    ),
    "lighting": DemoAction(
        "Street lighting on the roads to the school and the market",
        "district",
        (30, 240),
        cost=45000,
        funding="authority",
        beneficiaries=("women", "girls"),
        supporting=("local",),
    ),
    "youth": DemoAction(
        "Evening sports and vocational courses for young people and returning migrants",
        "youth",
        (60, 300),
        cost=12000,
        funding="small_grant",
        beneficiaries=("youth", "returnees", "boys"),
        supporting=("vocational",),
    ),
    "helpline": DemoAction(
        "A helpline for women facing domestic violence",
        "women",
        (45, 220),
        cost=8000,
        funding="small_grant",
        beneficiaries=("women", "girls"),
        supporting=("police", "district"),
        parts=(
            DemoAction(
                "Train police inspectors and women's council members to answer the helpline",
                "women",
                (45, 110),
            ),
        ),
    ),
    "migrants": DemoAction(
        "Reintegration support for returning migrants: advice, documents and job referrals",
        "migration",
        (30, 270),
        cost=15000,
        funding="authority",
        beneficiaries=("returnees", "men"),
        supporting=("vocational", "local"),
    ),
    "hearing": DemoAction(
        "Quarterly public hearing of the community with the district administration",
        "district",
        (20, 350),
        beneficiaries=("women", "men", "youth"),
        supporting=("group",),
    ),
    "mediation": DemoAction(
        "Mediation of neighbours' disputes over water and land by the elders' council",
        "local",
        (30, 300),
        beneficiaries=("men", "women"),
        supporting=("police",),
    ),
    "girls": DemoAction(
        "Meetings with parents on girls' education and the local services",
        "women",
        (40, 220),
        cost=3000,
        funding="small_grant",
        beneficiaries=("girls", "women"),
        supporting=("school",),
    ),
    "drugs": DemoAction(
        "Drug prevention sessions for young people in schools",
        "youth",
        (60, 240),
        cost=4000,
        funding="small_grant",
        beneficiaries=("youth", "boys", "girls"),
        supporting=("police", "school"),
    ),
}
# Which actions answer a priority of each code, best first.
ANSWERS: dict[str, tuple[str, ...]] = {
    "police_mistrust": ("patrols", "hearing"),
    "repressive_policing": ("patrols", "hearing"),
    "theft": ("patrols", "lighting"),
    "harassment_public_spaces": ("lighting", "patrols"),
    "domestic_violence": ("helpline",),
    "youth_unemployment": ("youth",),
    "exclusion_youth": ("youth", "hearing"),
    "drugs": ("drugs", "youth"),
    "recruitment_violent_groups": ("youth", "drugs"),
    "returning_migrants_unemployment": ("migrants",),
    "reintegration_returnees": ("migrants",),
    "unemployment": ("migrants", "youth"),
    "limited_dialogue": ("hearing",),
    "exclusion_women": ("hearing", "helpline"),
    "corruption": ("hearing",),
    "neighbour_conflict": ("mediation",),
    "border_water_disputes": ("mediation",),
    "girls_education": ("girls",),
    "limited_social_services": ("girls", "hearing"),
    "poor_health_care": ("girls",),
    "restricted_religious_freedom": ("hearing",),
}
FALLBACK = ("patrols", "hearing", "lighting", "youth")


def _district(group: CommunityGroup) -> Place:
    place = group.place
    return place.parent if place.level == Place.Level.COMMUNITY and place.parent else place


def actors(group: CommunityGroup) -> dict[str, tuple[str, str]]:
    """Who does what around ``group``, by role: (name, side). Organisations and roles, as the
    country names them; never a person."""
    district = _district(group).name_en
    local = group.place.name_en
    if group.programme.country.code == "UZ":
        area = district if "city" in district else f"{district} district"
        named = {
            "district": (f"{area} hokimiyat", "authority"),
            "police": (f"{area} internal affairs department", "authority"),
            "local": (f"{local} citizens' assembly", "authority"),
            "women": (f"{local} women's activist", "community"),
            "youth": ("Youth Affairs Agency, district branch", "authority"),
            "vocational": ("Monomarkaz vocational training centre", "authority"),
            "migration": ("Migration Agency, district office", "authority"),
            "school": ("Mahalla school", "authority"),
        }
    else:
        named = {
            "district": (f"{district} district hukumat", "authority"),
            "police": (f"{district} district police", "authority"),
            "local": (local, "authority"),
            "women": ("Women's council", "community"),
            "youth": ("Youth club", "community"),
            "vocational": ("Vocational training centre", "authority"),
            "migration": ("Migration service, district office", "authority"),
            "school": ("Secondary school", "authority"),
        }
    named["group"] = (group.name, "community")
    return named


def agreed_list(group: CommunityGroup) -> PriorityList | None:
    """The group's latest agreed priority list, if it has one."""
    return (
        PriorityList.objects.filter(group=group, agreed_on__isnull=False)
        .order_by("-agreed_on", "-pk")
        .first()
    )


def build_plans_demo(programme: Programme, *, lead: User | None = None) -> list[ActionPlan]:
    """A plan for every group of ``programme`` with an agreed priority list; the chosen
    group's consultations; with ``lead`` (the programme's lead): updates verified, one
    dispute resolved, and the Tajik chosen plan published."""
    country = programme.country.code
    plans: dict[str, ActionPlan] = {}
    for group in (
        CommunityGroup.objects.filter(programme=programme)
        .select_related("place__parent", "programme__country")
        .order_by("name")
    ):
        plan = build_plan(group)
        if plan is not None:
            plans[group.name] = plan
    chosen = plans.get(GROUPS.get(country, ""))
    if chosen is None:
        return list(plans.values())
    # The third consultation is another group's: one of the chosen group's district if any.
    district = chosen.group and _district(chosen.group).pk
    others = sorted(
        (plan for plan in plans.values() if plan.pk != chosen.pk and plan.group),
        key=lambda plan: plan.group is None or _district(plan.group).pk != district,
    )
    build_consultations(chosen, others[0] if others else None)
    if lead is not None:
        for update in ActionUpdate.objects.filter(
            action__objective__plan=chosen, status=Status.DONE
        ).order_by("reported_on", "pk"):
            updates.update_verify(user=lead, update=update)
    if country == "TJ":
        _dispute(chosen, resolved_by=None)
        if lead is not None:
            services.plan_publish(user=lead, plan=chosen)
    elif lead is not None:
        _dispute(chosen, resolved_by=lead)
    return list(plans.values())


def build_plan(group: CommunityGroup) -> ActionPlan | None:
    """``group``'s plan from its latest agreed priority list (its first three priorities,
    endorsed by the group, the district and the police, four actions answering them and their
    parts, a year of updates); None if the group has agreed no list."""
    priority_list = agreed_list(group)
    if priority_list is None or priority_list.agreed_on is None:
        return None
    country = group.programme.country.code
    named = actors(group)
    rng = random.Random(f"{SEED}-{group.name}")  # noqa: S311 - invented demo data
    chosen = list(priority_list.priorities.select_related("code").order_by("rank", "pk")[:3])
    if not chosen:
        return None
    start = priority_list.agreed_on + 14 * DAY
    plan = services.plan_create_from_priorities(
        user=None,
        priority_list=priority_list,
        priorities=chosen,
        title=PLAN_TITLE,
        period_start=start,
        period_end=start + 364 * DAY,
        content_language="en",
        is_demo=True,
    )
    endorsed = start - 3 * DAY
    for kind, (name, _side), role in (
        (Signatory.Kind.GROUP, named["group"], "group chair"),
        (Signatory.Kind.DISTRICT, named["district"], "deputy head"),
        (Signatory.Kind.POLICE, named["police"], "community policing inspector"),
    ):
        services.signatory_add(
            user=None, plan=plan, kind=kind, name=name, role=role, endorsed_on=endorsed
        )
    objectives = list(plan.objectives.select_related("priority__code").order_by("position"))
    made: list[Action] = []
    for objective, key in _choose(objectives):
        made.extend(_add(plan, objective, CATALOGUE[key], named, country))
    services.plan_status_set(user=None, plan=plan, status=ActionPlan.Status.AGREED)
    services.plan_status_set(user=None, plan=plan, status=ActionPlan.Status.IN_PROGRESS)
    offset = rng.randrange(len(FATES))
    for index, action in enumerate(made):
        report(action, FATES[(index + offset) % len(FATES)], rng)
    return plan


def _choose(objectives: list[Objective]) -> list[tuple[Objective, str]]:
    """An action for each objective answering its priority (one of the fallbacks when no
    other fits), then more for the first objectives up to ``TOP_ACTIONS``, none twice; and
    the public hearings if no other action runs through the year."""
    used: list[str] = []
    chosen: list[tuple[Objective, str]] = []
    for index in range(TOP_ACTIONS):
        objective = objectives[index % len(objectives)]
        code = objective.priority.code.key if objective.priority and objective.priority.code else ""
        options = [k for k in (*ANSWERS.get(code, ()), *FALLBACK) if k not in used]
        if not options:
            break
        used.append(options[0])
        chosen.append((objective, options[0]))
    # A year of work: one action at least runs through the plan's year.
    if all(CATALOGUE[key].days[1] < YEAR_LONG for key in used):
        chosen.append((objectives[0], "hearing"))
    return chosen


def _add(
    plan: ActionPlan,
    objective: Objective,
    item: DemoAction,
    named: dict[str, tuple[str, str]],
    country: str,
    parent: Action | None = None,
) -> list[Action]:
    lead, side = named[item.lead]
    cost = item.cost * COST_SCALE[country] if item.cost is not None else None
    action = services.action_create(
        user=None,
        objective=objective,
        parent=parent,
        title=item.title,
        lead_actor=lead,
        lead_side=side,
        supporting_actors=[
            {"name": named[role][0], "side": named[role][1]}
            for role in item.supporting
            if named[role][0] != lead
        ],
        start_on=plan.period_start + item.days[0] * DAY,
        due_on=plan.period_start + item.days[1] * DAY,
        cost=Money(Decimal(cost), CURRENCY[country]) if cost is not None else None,
        funding=item.funding,
        beneficiaries=list(item.beneficiaries),
        priorities=[objective.priority] if objective.priority else [],
        factors=list(objective.factors.all()[:2]),
    )
    made = [action]
    for part in item.parts:
        made.extend(_add(plan, objective, part, named, country, parent=action))
    return made


# A year of progress updates -------------------------------------------------------------------

# How each action of a plan ends its year, in turn: done on time, done late, still delayed.
FATES = ("on_time", "delayed", "on_time", "late", "on_time", "on_time", "delayed")
EVERY = 60  # days between two updates while an action runs

TEXTS = {
    "started": "Started: the first meeting was held and the work agreed with residents.",
    "under_way": "Under way as planned; the group checked it with residents.",
    "delayed": "Delayed: the funds promised for this quarter have not come yet.",
    "still_delayed": "Still delayed: the group raised it again with the district.",
    "done": "Done and shown to the group at its monthly meeting.",
}


def report(action: Action, fate: str, rng: random.Random) -> list[ActionUpdate]:
    """Updates on ``action`` from its start through its year, through the updates service:
    every ``EVERY`` days while it runs; a done action's last update on the day it was done
    (a few days before its due date, or some weeks after it when ``fate`` is "late"), which
    the service keeps as the action's ``done_on``; a delayed one stays delayed. Updates a day
    after today are not written (a plan still running)."""
    start, due = action.start_on, action.due_on
    if fate == "on_time":
        end = max(start + DAY, due - rng.randint(1, 10) * DAY)
    elif fate == "late":
        end = due + rng.randint(10, 40) * DAY
    else:
        end = due + 30 * DAY
    span = max(1, (end - start).days)
    posted: list[ActionUpdate] = []
    day = start + 7 * DAY
    while day < end - 10 * DAY:
        share = (day - start).days / span
        late = fate == "delayed" and share > 0.5
        progress = max(5, min(90, 5 * round(90 * share / 5)))
        if late:
            progress = min(progress, 45)
        text = TEXTS["started"] if not posted else TEXTS["delayed" if late else "under_way"]
        posted += _post(
            action, day, text, Status.DELAYED if late else Status.ON_TRACK, progress, rng
        )
        day += EVERY * DAY
    if fate == "delayed":
        posted += _post(action, end, TEXTS["still_delayed"], Status.DELAYED, 45, rng)
    else:
        posted += _post(action, end, TEXTS["done"], Status.DONE, 100, rng)
    return posted


def _post(
    action: Action,
    day: datetime.date,
    text: str,
    status: str,
    progress: int,
    rng: random.Random,
) -> list[ActionUpdate]:
    if day > timezone.localdate():
        return []
    update = updates.update_post(
        user=None,
        action=action,
        reported_on=day,
        text=text,
        status=status,
        progress=progress,
        participants=participants(action, rng),
    )
    return [update]


def participants(action: Action, rng: random.Random) -> dict[str, dict[str, int]]:
    """Who took part, by sex and age band, leaning to whom the action is for."""
    who = set(action.beneficiaries)
    young = bool(who & {"youth", "boys", "girls"}) and not who & {"women", "men"}
    bands = (
        [AgeBand.UNDER_18, AgeBand.AGE_18_24, AgeBand.AGE_25_29]
        if young
        else [AgeBand.AGE_18_24, AgeBand.AGE_30_44, AgeBand.AGE_45_59, AgeBand.AGE_60_PLUS]
    )
    women = 3 if who & {"women", "girls"} else 1
    men = 3 if who & {"men", "boys", "returnees"} else 1
    counts: dict[str, dict[str, int]] = {"female": {}, "male": {}}
    for band in bands:
        counts["female"][str(band)] = rng.randint(0, 2 * women)
        counts["male"][str(band)] = rng.randint(0, 2 * men)
    counts["female"][str(bands[1])] += women
    counts["male"][str(bands[1])] += men
    return counts


# Consultations, disputes ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoConsultation:
    title: str
    level: str
    day: int  # from the plan's start
    attendance: tuple[int, int, int, int]  # community women, men; authority women, men
    attendees: tuple[str, ...]  # roles, of :func:`actors`
    issues: str
    reflected: str
    reflected_note: str
    commitments: tuple[tuple[str, str, int], ...]  # what, role, due in days from held


CONSULTATIONS = (
    DemoConsultation(
        "Open meeting of the community group with the district police",
        Consultation.Level.LOCAL,
        40,
        (14, 11, 2, 5),
        ("group", "women", "local", "police"),
        "Women said the road to the market is unsafe after dark; young men asked for fewer "
        "document checks in the street.",
        Consultation.Reflected.YES,
        "The patrol routes now pass the market road after dark.",
        (
            ("Weekly office hours of the police inspector at the community centre", "police", 120),
            ("Residents mark the dark spots on the way to school", "group", 30),
        ),
    ),
    DemoConsultation(
        "District consultation on the community safety plans",
        Consultation.Level.DISTRICT,
        130,
        (6, 5, 4, 9),
        ("group", "women", "district", "police", "youth"),
        "Street lighting, jobs for returning migrants and a place for young people in the "
        "evenings.",
        Consultation.Reflected.PARTLY,
        "Lighting is in the district budget; the youth centre waits for next year's funds.",
        (("Include the street lighting in next year's district budget", "district", 300),),
    ),
    DemoConsultation(
        "Meeting with women and young people on domestic violence and youth activities",
        Consultation.Level.LOCAL,
        200,
        (18, 7, 3, 2),
        ("group", "women", "youth", "local"),
        "Women do not know whom to call about violence at home; girls stop school early.",
        Consultation.Reflected.YES,
        "The helpline number is on the community centre's board.",
        (("Publicise the helpline number at the health centre and the schools", "women", 60),),
    ),
)


def build_consultations(chosen: ActionPlan, other: ActionPlan | None) -> list[Consultation]:
    """The consultations of the programme: two with the chosen group, one with another group
    (``other``'s); the first commitment of the first becomes an action of the chosen plan."""
    made = []
    for index, item in enumerate(CONSULTATIONS):
        plan = chosen if index < 2 or other is None else other
        group = plan.group
        held = plan.period_start + item.day * DAY
        if group is None or held > timezone.localdate():
            continue
        named = actors(group)
        objectives = list(plan.objectives.order_by("position"))
        priorities = [o.priority for o in objectives[:2] if o.priority]
        factors = list(
            consultation_selectors.factors_for(user=None, programme=plan.programme, group=group)
            .filter(pk__in=[f.pk for o in objectives[:2] for f in o.factors.all()])
            .order_by("pk")[:2]
        )
        community_women, community_men, authority_women, authority_men = item.attendance
        consultation = consultations.consultation_create(
            user=None,
            programme=plan.programme,
            group=group,
            place=group.place,
            factors=factors,
            priorities=priorities,
            content_language="en",
            is_demo=True,
            held_on=held,
            level=item.level,
            title=item.title,
            community_women=community_women,
            community_men=community_men,
            authority_women=authority_women,
            authority_men=authority_men,
            attendees=[
                {"organisation": named[role][0], "role": "", "side": named[role][1]}
                for role in item.attendees
            ],
            issues_note=item.issues,
            reflected=item.reflected,
            reflected_note=item.reflected_note,
        )
        for what, role, days in item.commitments:
            commitment = consultations.commitment_add(
                user=None,
                consultation=consultation,
                what=what,
                made_by=named[role][0],
                side=named[role][1],
                due_on=held + days * DAY,
            )
            if index == 0 and commitment.position == 0:
                action = consultations.commitment_to_action(
                    user=None,
                    commitment=commitment,
                    objective=objectives[0],
                    start_on=held + 7 * DAY,
                    due_on=None,
                )
                report(action, "on_time", random.Random(f"{SEED}-{what}"))  # noqa: S311
        made.append(consultation)
    return made


DISPUTE = (
    "The group says the work is not finished: only some of it can be seen in the mahalla, and "
    "residents were not told when the rest will come."
)


def _dispute(plan: ActionPlan, *, resolved_by: User | None) -> None:
    """The group disputes the first "done" reported by an authority on ``plan``; with
    ``resolved_by``, the lead settles it."""
    update = (
        ActionUpdate.objects.filter(
            action__objective__plan=plan, status=Status.DONE, action__lead_side="authority"
        )
        .select_related("action__objective__plan")
        .order_by("reported_on", "pk")
        .first()
    )
    if update is None:
        return
    dispute = updates.dispute_raise(
        user=None,
        action=update.action,
        claimed_status=Status.DELAYED,
        text=DISPUTE,
        update=update,
    )
    if resolved_by is not None:
        updates.dispute_resolve(
            user=resolved_by,
            dispute=dispute,
            resolution="Checked with the group on a joint visit: the rest was finished a month "
            "later; the status stays done.",
        )


def remove_plans(programme: Programme) -> None:
    """Plans and consultations hold protected references to groups, places and priority
    lists: they go first."""
    ActionPlan.objects.filter(programme=programme).delete()
    Consultation.objects.filter(programme=programme).delete()
