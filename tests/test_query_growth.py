"""No page or endpoint makes more queries for more rows, and none more than its cap (#19
point 3).

Every GET route the resolver knows (pages, API endpoints, the OpenRosa form list a collection
device reads) is opened, with its URL filled by the access matrix (tests/test_access_matrix.py),
by a lead, by a facilitator where the route is theirs to open, and by a collection device for
the routes it signs. Each request's queries are counted once on the matrix's programme with
two of every kind of row, and again after :func:`grow` has added three more of every kind
(groups, members, places, partners, memberships, tokens, targets, assessments, forms, versions,
submissions, imports, exports, devices, findings, notes, passages, redaction flags, codes,
excerpts, suggestions, maps, factors, links, priority lists and priorities), both beside the
objects the URL names and inside them. A route whose count grew reads something once per row
(an N+1): the failure names it, gives both counts and the queries that were added, grouped.

Each count is also capped (:data:`CAPS`), so a page that starts reading one more thing on
every request is seen too. API lists are read page by page through the links they answer with
("next"), whatever their pagination, and a later page may cost no more than the first.

The programme is built and measured once for the module (about 30 s on two idle cores), in a
transaction rolled back at the end, and each test reads the measurements.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path
from django.utils import timezone, translation

from amniyat.accounts.models import Membership, Organisation, User
from amniyat.accounts.services import token_create
from amniyat.communities.models import CommunityGroup, RepresentationTarget, Sector
from amniyat.downloads import services as download_services
from amniyat.drivers.maps import services as maps_services
from amniyat.drivers.models import (
    Code,
    CodeQuality,
    Excerpt,
    Factor,
    Passage,
    Priority,
    RedactionFlag,
    Suggestion,
)
from amniyat.fieldwork.models import Assessment, Attachment, FormVersion, Submission
from amniyat.fieldwork.submissions import services as submission_services
from amniyat.findings.models import IndicatorSet
from amniyat.places import services as places_services
from amniyat.places.models import Place
from amniyat.plans.models import (
    Action,
    ActionUpdate,
    Commitment,
    Dispute,
    Evidence,
    Objective,
    Signatory,
)
from amniyat.reports.models import Rendering, Report, Section
from tests.conftest import forget_kept
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    member_of,
    shipped_place,
)
from tests.queries import Queries, describe, queries_of
from tests.test_access_matrix import (
    DEVICE_ROUTES,
    GET_QUERIES,
    INDICATORS_YAML,
    KWARG_REGISTRY,
    TAG,
    Route,
    World,
    _digest,
    _drivers,
    _fieldwork,
    _fill,
    _findings,
    _import_job,
    build_world,
    walk_routes,
)

# The tests read what the module's fixture measured; the mark gives them (and it) the test
# database even when they are run alone.
pytestmark = pytest.mark.django_db

Role = Membership.Role
DEVICE = "device"  # who signs the OpenRosa routes
MEASURED_ROLES = (Role.LEAD, Role.FACILITATOR)

# ----------------------------------------------------------------------------------------
# Routes whose queries may grow with the rows they show, each with the reason. Keep it short:
# a route here is one an N+1 can come back to unseen. "issue #19: N+1 to fix" marks one found
# by this test and reported, not yet fixed.
KNOWN_GROWTH: dict[str, str] = {}

# The most queries each route may make, for any role, with one of each row or with more (and
# for an API list, on any of its pages); the session and the signed-in user are counted, as
# every request reads them. A route's count above its cap fails; when a change means the page
# must read more (it shows something new), raise the cap here and say why in the commit; when
# it reads less, lower it.
CAPS: dict[str, int] = {
    "accounts:account": 4,
    "accounts:membership_edit": 6,
    "accounts:organisation_create": 2,
    "accounts:organisation_detail": 7,
    "accounts:organisation_list": 3,
    "accounts:team": 5,
    "accounts:translate_assessment": 3,
    "accounts:translate_communitygroup": 3,
    "accounts:translate_drivermap": 4,
    "accounts:translate_organisation": 4,
    "accounts:translate_prioritylist": 5,
    "accounts:translate_actionplan": 6,
    "accounts:translate_programme": 3,
    "accounts:translate_source": 3,
    "accounts:two_factor_setup": 4,
    "accounts:two_factor_verify": 2,
    "api:api-root": 2,
    "api:assessment-detail": 4,
    "api:assessment-list": 4,
    "api:device-detail": 4,
    "api:device-list": 4,
    "api:form-detail": 4,
    "api:form-list": 4,
    "api:group-detail": 3,
    "api:group-list": 4,
    "api:import-job-detail": 3,
    "api:import-job-list": 3,
    "api:member-detail": 5,
    "api:member-list": 5,
    "api:organisation-detail": 3,
    "api:organisation-list": 3,
    "api:place-detail": 3,
    "api:place-list": 3,
    "api:programme-detail": 5,
    "api:programme-list": 5,
    "api:report-detail": 7,
    "api:report-file-detail": 4,
    "api:report-file-download": 5,
    "api:report-file-list": 4,
    "api:report-list": 3,
    "api:schema": 2,
    "api:submission-detail": 5,
    "api:submission-list": 6,
    "communities:create": 4,
    "communities:detail": 6,
    "communities:edit": 6,
    "communities:list": 5,
    "communities:member_create": 3,
    "communities:member_edit": 5,
    "communities:pick": 3,
    "communities:representativeness": 6,
    "communities:targets": 3,
    "core:api_reference": 2,
    "core:audit": 4,
    "core:healthz": 1,
    "core:home": 2,
    "core:programme": 13,
    "downloads:detail": 3,
    "downloads:file": 8,
    "downloads:progress": 3,
    "drivers:agreement": 7,
    "drivers:agreement_code": 10,
    "drivers:assist": 6,
    "drivers:code_create": 4,
    "drivers:code_edit": 6,
    "drivers:code_excerpts": 10,
    "drivers:codebook": 7,
    "drivers:excerpt_review": 3,
    "drivers:index": 7,
    "drivers:map_analysis": 5,
    "drivers:map_compare": 11,
    "drivers:map_create": 6,
    "drivers:map_delete": 5,
    "drivers:map_detail": 11,
    "drivers:map_edit": 6,
    "drivers:map_editor": 11,
    "drivers:map_export": 8,
    "drivers:map_graph": 9,
    "drivers:map_import": 3,
    "drivers:map_list": 3,
    "drivers:map_suggest": 7,
    "drivers:priority_edit": 4,
    "drivers:priority_index": 5,
    "drivers:priority_list_create": 5,
    "drivers:priority_list_detail": 5,
    "drivers:priority_list_edit": 4,
    "drivers:qdpx_import": 3,
    "drivers:source_create": 4,
    "drivers:source_detail": 10,
    "drivers:source_edit": 7,
    "drivers:source_list": 7,
    "fieldwork:assessment_create": 3,
    "fieldwork:assessment_detail": 6,
    "fieldwork:assessment_edit": 5,
    "fieldwork:assessment_list": 4,
    "fieldwork:device_create": 5,
    "fieldwork:device_list": 4,
    "fieldwork:device_revoke": 3,
    "fieldwork:form_detail": 5,
    "fieldwork:form_sensitivity": 5,
    "fieldwork:form_upload": 3,
    "fieldwork:import_create": 4,
    "fieldwork:import_detail": 5,
    "fieldwork:import_problems": 4,
    "fieldwork:import_progress": 4,
    "fieldwork:openrosa_form": 6,
    "fieldwork:openrosa_form_list": 6,
    "fieldwork:openrosa_manifest": 6,
    "fieldwork:submission_export": 9,
    "fieldwork:submission_list": 10,
    "findings:assessment": 9,
    "findings:assessment_table": 9,
    "findings:change": 13,
    "findings:change_table": 13,
    "findings:gender_gap": 8,
    "findings:gender_gap_table": 8,
    "findings:index": 4,
    "findings:indicators": 4,
    "places:create": 4,
    "places:detail": 5,
    "places:edit": 4,
    "places:list": 3,
    "reports:create": 3,
    "reports:detail": 10,
    "reports:edit": 4,
    "reports:list": 4,
    "reports:rendering_file": 6,
    "reports:rendering_progress": 5,
    "reports:section_edit": 5,
    "reports:template": 3,
    "places:partner_area": 6,
    "places:pick": 5,
    # The plan page: the plan (with its group, place and list), its objectives with their
    # factors, its actions with their factors and priorities, its endorsements.
    "plans:action_create": 7,
    "plans:action_edit": 9,
    "plans:create": 5,
    # ... and (2 more) its updates counted and its open disputes (plans/updates/summary.html).
    "plans:detail": 11,
    "plans:endorse": 3,
    "plans:list": 5,
    # Consultations: the list (its page, the summary's one grouped count, the groups it
    # filters by); one with its factors, priorities, commitments and the actions they became.
    "plans:consultation_list": 6,
    "plans:consultation_create": 3,
    "plans:consultation_detail": 7,
    "plans:consultation_edit": 9,
    "plans:commitment_action": 6,
    "accounts:translate_consultation": 4,
    "api:plan-list": 3,
    "api:plan-detail": 9,
    "api:action-list": 3,
    "api:action-detail": 3,
    "api:consultation-list": 3,
    "api:consultation-detail": 8,
    # The workplan: the plan, its objectives, its actions with their factors and priorities,
    # and the audit row of the download; the calendar: the plan, its actions, the audit row.
    "plans:workplan": 9,
    "plans:workplan_import": 4,
    "plans:calendar": 6,
    # Accountability: the plan, its actions with their priorities and factors (with their
    # maps and evidence counted), its objectives with theirs, its endorsements; the
    # programme's: its plans (counted and a page of them) and all their actions; the open
    # disputes' statuses shown beside those reported.
    "plans:accountability": 10,
    "plans:public": 10,
    "plans:programme_accountability": 6,
    # An action's updates: the action, a page of updates (counted) with the evidence the
    # reader may see, the action's disputes, and the audit row of the text shown.
    "plans:action_updates": 10,
    "plans:update_create": 3,
    "plans:dispute_resolve": 4,
    "plans:evidence_file": 4,
}

# The names of list pages and endpoints ("communities:list", "api:group-list", …).
LISTS = re.compile(r"[:_-](list|index)$")

# Routes that answer a signed-in lead's GET with neither the page (200) nor "not a GET route"
# (405), each with why: they are not measured.
NOT_MEASURED: dict[str, str] = {
    "accounts:login": "a signed-in person is sent on to the home page",
}


# Query parameters for routes whose bare address shows a choice, or a default that growing
# the programme changes (the newest baseline), rather than the page: the same for both
# counts, read from the world as the URL's arguments are.
def _comparison(world: World, role: str) -> str:
    """The own baseline and, for those who may read drafts, the draft endline."""
    base = world.own[role]["findings_assessment"].pk
    if role != Role.LEAD:
        return f"baseline={base}"
    endline = Assessment.objects.get(programme=world.p1, kind=Assessment.Kind.ENDLINE)
    return f"baseline={base}&endline={endline.pk}"


def _coders(world: World, _role: str) -> str:
    return f"a={world.users[Role.LEAD].pk}&b={world.users[Role.FACILITATOR].pk}"


PAGE_QUERIES: dict[str, Callable[[World, str], str]] = {
    "drivers:map_compare": lambda w, role: "a={0}&b={0}".format(w.own[role]["driver_map"].pk),
    "drivers:agreement": _coders,
    "drivers:agreement_code": _coders,
    "drivers:map_import": lambda _w, _role: "into=0",
    "findings:change": _comparison,
    "findings:change_table": _comparison,
}


# The first count is made once the matrix's programme has grown by one row of each kind (so
# that there are two of each, and every page shows every part it has: a coder's own excerpts,
# two coders' shared notes, findings to compare); the second once it has grown by GROWN more.
GROWN = 3
GROWN_SUBMISSIONS = 150  # more than one page of the API's submissions
EXTRA_DISTRICTS = (("TJ-KT-KUL",), ("TJ-KT-HAM", "TJ-KT-KUS"))


# ----------------------------------------------------------------------------------------
# Growing the programme.


def grow(world: World, *, rows: int, step: int) -> None:
    """Add ``rows`` more of every kind of row to the matrix's programme P1, beside and inside
    the objects its URLs name, visible to its lead and to its facilitator (the facilitator's
    organisation, in the facilitator's area). ``step`` (1, 2) tells the rows of one call from
    another's."""
    p1 = world.p1
    lead, facilitator = world.users[Role.LEAD], world.users[Role.FACILITATOR]
    own = world.own[Role.LEAD]
    own_org, community, vakhsh = (
        world.partner_of[p1.pk],
        world.community_of[p1.pk],
        world.district_of[p1.pk],
    )
    other_org = Organisation.objects.get(name="Other partner CSO")
    group: CommunityGroup = own["group"]

    # Places, partners and the people of the programme.
    p1.places.add(*(shipped_place(code) for code in EXTRA_DISTRICTS[step - 1]))
    for n in range(rows):
        mark = f"{step}{n}"
        partner = OrganisationFactory(name=f"GROWN-PARTNER-{mark}")
        member_of(p1, Role.FACILITATOR, organisation=partner)
        place = places_services.community_create(
            acting_user=lead, programme=p1, parent=vakhsh, name_en=f"GROWN-COMMUNITY-{mark}"
        )
        places_services.partner_area_assign(
            acting_user=lead, programme=p1, organisation=partner, places=[place]
        )
        own["assessment"].places.add(place)
        member_of(p1, Role.GROUP_MEMBER, organisation=own_org, group=group)
        member_of(p1, Role.ANALYST)
        for user in world.users.values():
            token_create(user=user, name=f"GROWN-TOKEN-{mark}")
        for organisation, where in ((own_org, community), (other_org, vakhsh)):
            grown = CommunityGroupFactory(
                programme=p1,
                name=f"GROWN-GROUP-{organisation.pk}-{mark}",
                place=where,
                facilitating_organisation=organisation,
            )
            for k in range(rows):
                GroupMemberFactory(group=grown, sex=("female", "male")[k % 2])
        GroupMemberFactory(
            group=group,
            sex=("female", "male")[n % 2],
            age_band="18_24",
            sectors=[Sector.YOUTH, Sector.POLICE],
            joined_on=datetime.date(2021, 11, 1 + n),
            left_on=datetime.date(2022, 2, 1) if n == 0 else None,
        )
    sectors = list(Sector)[4 * (step - 1) :][:rows]
    for sector in sectors:
        RepresentationTarget.objects.create(
            programme=p1,
            dimension=RepresentationTarget.Dimension.SECTOR,
            sector=sector,
            min_count=1,
        )
    if step == 1:
        RepresentationTarget.objects.create(
            programme=p1, dimension=RepresentationTarget.Dimension.YOUTH, min_share=20
        )
    _grow_fieldwork(world, lead, facilitator, own_org, community, rows=rows, step=step)
    _grow_drivers(world, lead, facilitator, own_org, community, rows=rows, step=step)
    _grow_reports(world, rows=rows, step=step)


def _grow_fieldwork(
    world: World,
    lead: User,
    facilitator: User,
    own_org: Organisation,
    community: Place,
    *,
    rows: int,
    step: int,
) -> None:
    p1, own = world.p1, world.own[Role.LEAD]
    form = own["form"]
    version = FormVersion.objects.filter(form=form).order_by("pk").first()
    assert version is not None
    assert world.device is not None
    indicator_set = IndicatorSet.objects.create(
        programme=p1, version=1 + step, spec=f"# GROWN-{TAG}-INDICATORS\n{INDICATORS_YAML}"
    )
    for n in range(rows):
        mark = f"{step}{n}"
        bundle = _fieldwork(
            p1,
            marker=f"GROWN{mark}-{TAG}",
            place=community,
            organisation=own_org,
            started_by=facilitator,
        )
        world.device.assessments.add(bundle["assessment"])
        _findings(bundle["form"], indicator_set, marker=f"GROWN{mark}-{TAG}", published=True)
        _import_job(form, marker=f"GROWN-OWN{mark}-{TAG}", by=facilitator)
        FormVersion.objects.create(
            form=form,
            version=f"grown-{mark}",
            xlsform=b"",
            xlsform_name=f"GROWN{mark}.xlsx",
            xform=version.xform,
            schema=version.schema,
            languages=version.languages,
            sensitivity=version.sensitivity,
        )
    start = timezone.now() - datetime.timedelta(days=30 * step)
    submitted = Submission.objects.bulk_create(
        Submission(
            form=form,
            form_version=version,
            instance_id=f"uuid:grown-{step}-{n}",
            content_hash=f"grown-{step}-{n}",
            place=community,
            submitted_at=start + datetime.timedelta(hours=n),
            enumerator=f"GROWN-ENUMERATOR-{n % 7}",
            data={"/data/district": f"GROWN-ANSWER-{n}"},
            protected_data=json.dumps({"/data/respondent": f"GROWN-RESPONDENT-{n}"}),
            source=Submission.Source.IMPORT,
        )
        for n in range(GROWN_SUBMISSIONS if step > 1 else rows)
    )
    for submission in (own["submission"], *submitted[:rows]):
        for n in range(rows):
            Attachment.objects.create(
                submission=submission,
                name=f"photo-{step}-{n}.jpg",
                file=ContentFile(b"jpeg", name=f"grown-{submission.pk}-{n}.jpg"),
                content_type="image/jpeg",
                size=4,
            )
    # Findings for the data as it now stands, with the indicators as they now are.
    _findings(form, indicator_set, marker=f"GROWN{step}-OWN-{TAG}", published=True)
    for _n in range(rows):
        export = submission_services.submissions_export_start(
            acting_user=lead, form=form, export_format="csv", language="en"
        )
        download_services.download_run(export.pk)


def _grow_reports(world: World, *, rows: int, step: int) -> None:
    """More reports, and more sections of every kind and files inside the report the URLs
    name (its built ones referring to the excerpts, findings and lists of the programme)."""
    p1, own = world.p1, world.own[Role.LEAD]
    report, source = own["report"], own["source"]
    # A quote approved for publication (its own span, so the excerpts the URLs name keep
    # what they had).
    excerpt = Excerpt.objects.create(
        source=source,
        code=own["code"],
        coder=world.users[Role.FACILITATOR],
        start=step,
        end=step + 4,
        publication=Excerpt.Publication.APPROVED,
        public_text=f"GROWN-QUOTE-{step}",
        proposed_by=world.users[Role.ANALYST],
        reviewed_by=world.users[Role.LEAD],
    )
    position = report.sections.count()
    for n in range(rows):
        mark = f"{step}{n}"
        Report.objects.create(
            programme=p1, kind="briefing", language="en", title=f"GROWN-REPORT-{mark}"
        )
        Rendering.objects.create(
            report=report,
            number=10 * step + n + 3,
            format="pdf",
            report_revision=0,
            error=f"GROWN-FILE-{mark}",  # what the API's list of files shows of it
        )
        built = {
            Section.Kind.TEXT: {},
            Section.Kind.QUOTES: {"quotes": [{"excerpt": excerpt.pk, "code": "", "profile": ""}]},
            Section.Kind.PRIORITIES: {"concerns": [], "lists": 0, "top": 3},
            Section.Kind.FINDINGS: {"indicators": [], "min_cell": 5, "respondents": 0},
        }
        for kind, content in built.items():
            Section.objects.create(
                report=report,
                position=position,
                kind=kind,
                text=f"GROWN-TEXT-{mark}",
                options={"excerpts": [excerpt.pk]} if kind == Section.Kind.QUOTES else {},
                built=content,
                built_from={"grown": mark},
                built_at=timezone.now() if content else None,
            )
            position += 1


def _grow_drivers(
    world: World,
    lead: User,
    facilitator: User,
    own_org: Organisation,
    community: Place,
    *,
    rows: int,
    step: int,
) -> None:
    p1, own = world.p1, world.own[Role.LEAD]
    source, code, driver_map = own["source"], own["code"], own["driver_map"]
    priority_list, passage = own["priority_list"], own["passage"]
    text_end = len(source.text)  # before it grows
    made = [
        _drivers(
            p1,
            marker=f"GROWN{step}{n}-{TAG}",
            assessment=own["assessment"],
            organisation=own_org,
            coder=facilitator,
            place=community,
            group=own["group"],
        )
        for n in range(rows)
    ]
    factors = list(Factor.objects.filter(map=driver_map).order_by("pk"))
    # Inside the own notes: more sentences, each a passage.
    text, position = source.text, source.passages.count()
    for n in range(rows):
        sentence = f" GROWN-SENTENCE-{step}{n} said the road is dark."
        Passage.objects.create(
            source=source,
            position=position + n,
            paragraph=step,
            start=len(text) + 1,
            end=len(text) + len(sentence),
        )
        text += sentence
    source.text = text
    source.save(update_fields=["text"])
    for n, bundle in enumerate(made):
        mark = f"{step}{n}"
        other_code: Code = bundle["code"]
        Code.objects.create(
            programme=p1,
            key=f"grown-{mark}-below",
            kind=Code.Kind.CONCERN,
            name_en=f"GROWN-{mark}-BELOW",
            parent=code,
        )
        CodeQuality.objects.create(code=other_code, precision=0.8, recall=0.7, support=5)
        # Inside the own notes: each coder's excerpts, flags, the assistant's suggestions.
        excerpts = [
            Excerpt.objects.create(
                source=source,
                code=chosen,
                coder=coder,
                start=0,
                end=passage.end,
                memo=f"GROWN-MEMO-{mark}",
            )
            for chosen in (other_code,)
            for coder in (lead, facilitator)
        ]
        Excerpt.objects.create(
            source=bundle["source"], code=code, coder=lead, start=0, end=10, memo="GROWN"
        )
        Excerpt.objects.create(
            source=bundle["source"], code=code, coder=facilitator, start=0, end=10
        )
        RedactionFlag.objects.create(
            source=source,
            kind=RedactionFlag.Kind.NAME,
            start=4 * step + n,
            end=min(4 * step + n + 4, text_end),
        )
        Suggestion.objects.create(
            passage=passage,
            code=other_code,
            probability=0.6,
            decision=Suggestion.Decision.REJECTED,
            decided_by=lead,
        )
        # Inside the own map: factors with codes and evidence, linked in a chain.
        grown_factor = Factor.objects.create(
            map=driver_map,
            kind=Factor.Kind.DRIVER,
            label=f"GROWN-FACTOR-{mark}",
            code=other_code,
            x=100 * n,
            y=50 * step,
        )
        grown_factor.excerpts.add(*excerpts)
        maps_services.link_add(
            acting_user=lead,
            driver_map=driver_map,
            source=grown_factor,
            target=factors[-1],
            excerpts=[excerpts[0].pk],
        )
        factors.append(grown_factor)
        # Inside the own priority list.
        Priority.objects.create(
            priority_list=priority_list,
            concern=f"GROWN-CONCERN-{mark}",
            code=other_code,
            severity=3,
            affected=2,
            urgency=4,
            changeable=3,
            rank=10 * step + n,
        )
        # Inside the own action plan: an objective with an action, a part of the own action
        # (addressing a factor and a priority) and an endorsement.
        plan = own["plan"]
        grown_objective = Objective.objects.create(
            plan=plan, title=f"GROWN-OBJECTIVE-{mark}", position=10 * step + n
        )
        grown_objective.factors.add(factors[0])
        dates = {"start_on": datetime.date(2022, 2, 1), "due_on": datetime.date(2022, 5, 1)}
        Action.objects.create(
            objective=grown_objective,
            title=f"GROWN-ACTION-{mark}",
            lead_actor="Mahalla committee",
            lead_side="authority",
            **dates,
        )
        grown_part = Action.objects.create(
            objective=own["objective"],
            parent=own["action"],
            title=f"GROWN-PART-{mark}",
            lead_actor="Youth club",
            lead_side="community",
            progress=20,
            **dates,
        )
        grown_part.factors.add(factors[0])
        grown_part.priorities.add(own["priority"])
        # Inside the own consultation: a commitment, and another factor raised.
        Commitment.objects.create(
            consultation=own["consultation"],
            what=f"GROWN-COMMITMENT-{mark}",
            made_by="Youth club",
            side="community",
            position=10 * step + n,
        )
        own["consultation"].factors.add(factors[-1])
        Signatory.objects.create(
            plan=plan,
            kind=Signatory.Kind.SCHOOL,
            name=f"GROWN-SIGNATORY-{mark}",
            role="director",
            endorsed_on=datetime.date(2022, 1, 20),
        )
        # On the own action: a progress update with a photo and a document, disputed (one
        # dispute open, one resolved), verified every other time.
        grown_update = ActionUpdate.objects.create(
            action=own["action"],
            reported_on=datetime.date(2022, 3, 10 + n),
            text=f"GROWN-UPDATE-{mark}",
            status=Action.Status.ON_TRACK,
            progress=30 + n,
            participants={"female": {"18_24": n + 1}},
            verified_by=lead if n % 2 else None,
            verified_at=timezone.now() if n % 2 else None,
        )
        for kind, publishable in ((Evidence.Kind.PHOTO, True), (Evidence.Kind.DOCUMENT, False)):
            Evidence.objects.create(
                update=grown_update,
                kind=kind,
                file=f"plans/evidence/grown-{mark}-{kind}.bin",
                content_type="image/jpeg" if kind == Evidence.Kind.PHOTO else "application/pdf",
                extension="jpg" if kind == Evidence.Kind.PHOTO else "pdf",
                size=100,
                sha256="0" * 64,
                width=8,
                height=6,
                publishable=publishable,
                uploaded_by=facilitator,
            )
        for resolved in (False, True):
            Dispute.objects.create(
                action=own["action"],
                update=grown_update,
                reported_status=Action.Status.ON_TRACK,
                claimed_status=Action.Status.DELAYED,
                text=f"GROWN-DISPUTE-{mark}",
                raised_as=Dispute.Raiser.GROUP,
                resolution="Settled." if resolved else "",
                resolved_by=lead if resolved else None,
                resolved_at=timezone.now() if resolved else None,
            )


# ----------------------------------------------------------------------------------------
# Measuring.


@dataclass(frozen=True)
class Count:
    who: str
    route: Route
    url: str
    queries: Queries
    pages: tuple[Queries, ...] = ()  # an API list's later pages, read through its links

    @property
    def most(self) -> int:
        return max(len(q) for q in (self.queries, *self.pages))


@dataclass
class Measured:
    small: dict[tuple[str, str], Count] = field(default_factory=dict)
    grown: dict[tuple[str, str], Count] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # route -> the lead's answer
    routes: list[Route] = field(default_factory=list)


def measured_routes() -> list[Route]:
    """Every route a person or a device may GET: the API's format twins reach the same views,
    and the admin and static files are not the programme's."""
    return [
        route
        for route in walk_routes()
        if "format" not in route.kwargs
        and set(route.kwargs) <= set(KWARG_REGISTRY.get(route.name, {}))
    ]


def _next_link(page: Queries) -> str | None:
    """The address of the page after ``page``: its "next" (in the body, as DRF's paginations
    give it, or in a ``Link`` header)."""
    header = page.response.headers.get("Link", "") if page.response else ""
    for part in header.split(","):
        address, _, params = part.partition(";")
        if 'rel="next"' in params:
            return address.strip().strip("<>")
    try:
        answer = json.loads(page.body)
    except ValueError:
        return None
    following = answer.get("next") if isinstance(answer, dict) else None
    return str(following) if following else None


def _later_pages(client: Client, first: Queries) -> tuple[Queries, ...]:
    """An API list's pages after the first, read through the links each answers with."""
    pages: list[Queries] = []
    following = _next_link(first)
    while following:
        pages.append(queries_of(client, following))
        following = _next_link(pages[-1])
    return tuple(pages)


def _device_queries(world: World, url: str) -> Queries:
    """The queries of a device's signed GET (each request signs anew: a Digest answer is
    accepted once)."""
    assert world.device is not None
    client = Client(raise_request_exception=False)
    bare = url.split("?")[0]
    client.get(url, headers=_digest("GET", bare, world.device.username))
    headers = _digest("GET", bare, world.device.username)
    # One signed request in fifty also forgets the expired answers of every device: not this
    # route's to count, and never the same request twice.
    with mock.patch.object(secrets, "randbelow", lambda _n: 1):
        return queries_of(client, url, headers=headers, warm=False, status=None)


def measure(
    world: World, routes: list[Route]
) -> tuple[dict[tuple[str, str], Count], dict[str, int]]:
    """Count the queries of every route for the lead and the facilitator (where it answers
    them 200) and the device (its routes)."""
    counts: dict[tuple[str, str], Count] = {}
    refused: dict[str, int] = {}
    for role in MEASURED_ROLES:
        client = Client(raise_request_exception=False)
        client.force_login(world.users[role])
        for route in routes:
            if route.name in DEVICE_ROUTES:
                continue
            url = route.url(_fill(route, KWARG_REGISTRY, world.own[role]))
            url += GET_QUERIES.get(route.name, "")
            if route.name in PAGE_QUERIES:
                url += ("&" if "?" in url else "?") + PAGE_QUERIES[route.name](world, role)
            queries = queries_of(client, url, status=None)
            status = queries.response.status_code if queries.response else 0
            if status != 200:
                if role == Role.LEAD and status != 405:
                    refused[route.name] = status
                continue
            counts[(role, route.name)] = Count(
                role, route, url, queries, _later_pages(client, queries) if route.is_api else ()
            )
    for route in routes:
        if route.name not in DEVICE_ROUTES or "GET" not in DEVICE_ROUTES[route.name]:
            continue
        url = route.url(_fill(route, KWARG_REGISTRY, world.device_own))
        queries = _device_queries(world, url)
        status = queries.response.status_code if queries.response else 0
        if status != 200:
            refused[route.name] = status
            continue
        counts[(DEVICE, route.name)] = Count(DEVICE, route, url, queries)
    return counts, refused


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


@pytest.fixture(scope="module")
def measured(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Measured]:
    """The matrix's programme measured, grown and measured again, in one transaction rolled
    back at the end (nothing it wrote is left for the tests after it)."""
    routes = measured_routes()
    result = Measured(routes=routes)
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # devices
            AMNIYAT_REQUIRE_2FA=False,
            AXES_ENABLED=True,
        ),
        translation.override("en"),
        _quiet("django.request"),  # the 404s and 405s of routes not opened are expected
    ):
        forget_kept()
        try:
            with transaction.atomic():
                world = build_world()
                grow(world, rows=1, step=1)
                result.small, result.refused = measure(world, routes)
                grow(world, rows=GROWN, step=2)
                result.grown, _refused = measure(world, routes)
                transaction.set_rollback(True)
        finally:
            forget_kept()
    yield result


# ----------------------------------------------------------------------------------------
# What the measurements must show.


def _where(count: Count) -> str:
    return f"{count.who} GET {count.url} [{count.route.name}]"


def growth_violations(
    small: dict[tuple[str, str], Count],
    grown: dict[tuple[str, str], Count],
    known: dict[str, str],
) -> list[str]:
    """Every route whose count grew with the rows (unless it is known to), with the queries
    it added; and every known growth that no longer grows."""
    violations = []
    grew = set()
    for key, before in small.items():
        after = grown.get(key)
        if after is None:
            violations.append(f"{_where(before)}: answered 200, and not once the programme grew")
            continue
        if len(after.queries) <= len(before.queries):
            continue
        grew.add(before.route.name)
        if before.route.name in known:
            continue
        added = after.queries.grouped() - before.queries.grouped()
        violations.append(
            f"{_where(after)}: {len(before.queries)} queries, {len(after.queries)} once the "
            f"programme grew; the queries added:\n{describe(added)}"
        )
    for name in sorted(set(known) - grew):
        violations.append(f"{name} no longer reads more for more rows: remove it from KNOWN_GROWTH")
    return violations


def cap_violations(counts: list[Count], caps: dict[str, int]) -> list[str]:
    """Every route whose count (any role, any size, any page) is over its cap, or has none;
    and every cap of a route no longer measured."""
    worst: dict[str, tuple[int, Count, Queries]] = {}
    for count in counts:
        for queries in (count.queries, *count.pages):
            name = count.route.name
            if name not in worst or len(queries) > worst[name][0]:
                worst[name] = (len(queries), count, queries)
    violations = []
    for name, (most, count, queries) in sorted(worst.items()):
        cap = caps.get(name)
        if cap is None:
            violations.append(f"{name} has no cap: add {name!r}: {most}, to CAPS in {__name__}")
        elif most > cap:
            violations.append(
                f"{_where(count)}: {most} queries, over its cap of {cap}. If the route must now "
                f"read more (it shows something new), set CAPS[{name!r}] to {most} in {__name__} "
                f"and say why in the commit; if not, find the query it added:\n"
                f"{describe(queries.grouped())}"
            )
    for name in sorted(set(caps) - set(worst)):
        violations.append(f"{name} is in CAPS but no longer measured: remove it")
    return violations


def _report(what: str, violations: list[str]) -> str:
    return f"{len(violations)} {what}:\n" + "\n".join(violations)


def test_no_route_makes_more_queries_for_more_rows(measured: Measured) -> None:
    violations = growth_violations(measured.small, measured.grown, KNOWN_GROWTH)
    assert not violations, _report("routes read once per row", violations)


def test_every_route_stays_within_its_cap(measured: Measured) -> None:
    counts = [*measured.small.values(), *measured.grown.values()]
    violations = cap_violations(counts, CAPS)
    assert not violations, _report("query caps broken", violations)


def test_every_get_route_is_measured(measured: Measured) -> None:
    """A route a lead cannot open is measured by nobody: it must say why (a route that takes
    arguments the matrix cannot fill is reported by the matrix itself)."""
    problems = [
        f"{name} answered the lead's GET {status}: "
        + (
            "it is broken"
            if status >= 500
            else "fix its URL's filling, or say in NOT_MEASURED why it is not measured"
        )
        for name, status in sorted(measured.refused.items())
        if name not in NOT_MEASURED
    ]
    problems += [
        f"{name} is in NOT_MEASURED but no longer refused (or no longer a route): remove it"
        for name in sorted(set(NOT_MEASURED) - set(measured.refused))
    ]
    # Every list page and endpoint, at least, is measured (#19 point 3).
    counted = {name for _who, name in measured.small}
    problems += [
        f"{route.name} ({route.label}) lists rows but is measured by nobody"
        for route in measured.routes
        if LISTS.search(route.name) and route.name not in counted
    ]
    assert not problems, "\n".join(problems)


def test_an_api_list_is_read_page_by_page_each_no_dearer_than_the_first(
    measured: Measured,
) -> None:
    """Through the links it answers with, whatever the pagination; a page deep in the list
    makes no more queries than the first."""
    paged = {key: count for key, count in measured.grown.items() if count.pages}
    assert any(name == "api:submission-list" for _who, name in paged), (
        f"{GROWN_SUBMISSIONS} submissions fit on one page of the API: grow more, so that its "
        "later pages are read"
    )
    dearer = [
        f"{_where(count)}: page {n + 2} made {len(page)} queries, the first {len(count.queries)}"
        f"\n{describe(page.grouped() - count.queries.grouped())}"
        for count in paged.values()
        for n, page in enumerate(count.pages)
        if len(page) > len(count.queries)
    ]
    assert not dearer, "\n".join(dearer)


# Lists whose rows grow() does not add to, each with why.
NOT_GROWN: dict[str, str] = {
    "api:programme-list": "a lead's programmes: P1 and no other, growing P1 adds none",
}


def test_every_list_shows_the_rows_grown(measured: Measured) -> None:
    """Otherwise the counts above would compare a page with itself: each list page and
    endpoint, once the programme grew, shows the rows grow() added (by their names; members,
    whose names the factories give, by theirs)."""
    unseen = [
        f"{_where(count)} shows none of the rows grown: grow what it lists in grow(), or say "
        "in NOT_GROWN why not"
        for (who, name), count in sorted(measured.grown.items())
        if who in (Role.LEAD, DEVICE)
        and LISTS.search(name)
        and name not in NOT_GROWN
        and not re.search(rb"GROWN|Member name", count.queries.body)
    ]
    assert not unseen, "\n".join(unseen)


# ----------------------------------------------------------------------------------------
# The check catches a page that reads once per row.


def members_per_group(request: HttpRequest, slug: str) -> HttpResponse:
    groups = CommunityGroup.objects.filter(programme__slug=slug).order_by("pk")
    # One query per group: the N+1 on purpose.
    return HttpResponse(", ".join(f"{g.pk}: {g.members.count()}" for g in groups))


def _leaky_urls() -> Any:
    import types

    from amniyat import urls as real_urls

    module = types.ModuleType("growth_leaky_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        *real_urls.urlpatterns,
        path("p/<slug:slug>/members-per-group/", members_per_group, name="members_per_group"),
    ]
    return module


def test_the_check_reports_a_page_that_reads_once_per_row() -> None:
    programme = ProgrammeFactory()
    lead = member_of(programme, Role.LEAD)
    CommunityGroupFactory(programme=programme)
    client = Client()
    client.force_login(lead)
    with override_settings(ROOT_URLCONF=_leaky_urls()):
        (route,) = [r for r in walk_routes() if r.name == "members_per_group"]
        url = route.url({"slug": programme.slug})
        small = {("lead", route.name): Count("lead", route, url, queries_of(client, url))}
        for _n in range(3):
            GroupMemberFactory(group=CommunityGroupFactory(programme=programme))
        grown = {("lead", route.name): Count("lead", route, url, queries_of(client, url))}
    (violation,) = growth_violations(small, grown, {})
    assert f"lead GET {url} [members_per_group]: 4 queries, 7 once the programme grew" in violation
    assert '3 × SELECT COUNT(*) AS "__count" FROM "communities_groupmember"' in violation
    assert growth_violations(small, grown, {route.name: "why"}) == []
    assert growth_violations(small, small, {route.name: "why"}) == [
        "members_per_group no longer reads more for more rows: remove it from KNOWN_GROWTH"
    ]
    (over,) = cap_violations([*small.values(), *grown.values()], {route.name: 5})
    assert "7 queries, over its cap of 5" in over and "set CAPS['members_per_group'] to 7" in over
    assert cap_violations(list(small.values()), {}) == [
        f"members_per_group has no cap: add 'members_per_group': 4, to CAPS in {__name__}"
    ]
