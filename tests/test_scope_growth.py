"""No write widens its writer's scope.

What a user may read is decided only by grants that someone else made (a membership, a
partner's assigned area). This test performs, for every role, every write the role can send
through the pages and the API (every route the resolver knows, with the access matrix's
payloads and, for every field that names a place, an organisation, a group or an assessment,
each such object of the programme in its place), and checks after each one that the set of
objects of every kind the user can read grew by nothing but what the write created.

It reads the URL resolver through the access matrix, so a new route is covered; and it reads
every model of the project, so a new kind of programme data must say here how a user reads it
(:data:`READERS`) or why it is not read on its own (:data:`NOT_READ_ON_ITS_OWN`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amniyat.accounts import policies
from amniyat.accounts.models import (
    Membership,
    Organisation,
    PersonalToken,
    Programme,
    User,
)
from amniyat.accounts.selectors import (
    memberships_visible,
    organisations_visible,
    programmes_visible,
    tokens_of,
)
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import CommunityGroup, GroupMember, RepresentationTarget
from amniyat.communities.selectors import groups_visible, members_visible, targets_of
from amniyat.downloads.models import Download
from amniyat.downloads.selectors import downloads_of
from amniyat.drivers.codebook import selectors as codebook_selectors
from amniyat.drivers.coding import selectors as coding_selectors
from amniyat.drivers.maps import selectors as maps_selectors
from amniyat.drivers.models import (
    Code,
    CodeQuality,
    DriverMap,
    Excerpt,
    Factor,
    Link,
    Passage,
    Priority,
    PriorityList,
    RedactionFlag,
    Source,
    Suggestion,
)
from amniyat.drivers.priorities import selectors as priorities_selectors
from amniyat.fieldwork.collection.selectors import devices_visible
from amniyat.fieldwork.forms.selectors import assessments_visible, forms_visible
from amniyat.fieldwork.imports.selectors import import_jobs_visible
from amniyat.fieldwork.models import (
    Assessment,
    Attachment,
    DeviceUser,
    Form,
    FormVersion,
    ImportJob,
    Submission,
)
from amniyat.fieldwork.submissions.selectors import submissions_visible
from amniyat.findings.models import Findings, IndicatorSet
from amniyat.findings.selectors import assessments_with_findings
from amniyat.places.models import Place
from amniyat.places.selectors import places_visible, programme_area_ids
from amniyat.plans import consultation_selectors
from amniyat.plans import selectors as plans_selectors
from amniyat.plans.models import (
    Action,
    ActionPlan,
    ActionUpdate,
    Commitment,
    Consultation,
    Dispute,
    Evidence,
    Objective,
    Signatory,
)
from amniyat.reports import selectors as reports_selectors
from amniyat.reports.models import Recommendation, Rendering, Report, ReportTemplate, Section
from tests.test_access_matrix import (
    DEVICE_ROUTES,
    KWARG_REGISTRY,
    PATCH_PAYLOADS,
    ROLES,
    Route,
    World,
    _fill,
    _writes,
    build_world,
    post_payloads,
    walk_routes,
)

Role = Membership.Role

# ----------------------------------------------------------------------------------------
# How a user reads each kind of object: (user, the programmes they are in) -> ids.

Reader = Callable[[User, list[Programme]], Iterable[int]]


def _ids(queryset: models.QuerySet[Any]) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def _per_programme(read: Callable[[User, Programme], models.QuerySet[Any]]) -> Reader:
    def reader(user: User, programmes: list[Programme]) -> set[int]:
        ids: set[int] = set()
        for programme in programmes:
            ids |= _ids(read(user, programme))
        return ids

    return reader


def _findings(user: User, programme: Programme) -> models.QuerySet[Findings]:
    drafts = policies.can(user, "findings.view_draft", programme)
    shown = Findings.objects.filter(
        assessment__in=assessments_with_findings(user=user, programme=programme)
    )
    return shown if drafts else shown.filter(published_at__isnull=False)


def _indicator_sets(user: User, programme: Programme) -> models.QuerySet[IndicatorSet]:
    if policies.can(user, "indicators.manage", programme):
        return IndicatorSet.objects.filter(programme=programme)
    return IndicatorSet.objects.none()


def _audit(user: User, programme: Programme) -> models.QuerySet[AuditEvent]:
    if policies.can(user, "programme.view_audit", programme):
        return AuditEvent.objects.filter(programme=programme)
    return AuditEvent.objects.none()


def _maps(user: User, programme: Programme) -> models.QuerySet[DriverMap]:
    return maps_selectors.driver_map_list(user=user, programme=programme)


def _reports(user: User, programme: Programme) -> models.QuerySet[Report]:
    return reports_selectors.report_list(user=user, programme=programme)


def _renderings(user: User, programme: Programme) -> set[int]:
    ids: set[int] = set()
    for report in _reports(user, programme):
        ids |= _ids(reports_selectors.renderings_of(user=user, report=report))
    return ids


def _plans(user: User, programme: Programme) -> models.QuerySet[ActionPlan]:
    return plans_selectors.plan_list(user=user, programme=programme)


READERS: dict[type[models.Model], Reader] = {
    ActionPlan: _per_programme(_plans),
    Objective: _per_programme(lambda u, p: Objective.objects.filter(plan__in=_plans(u, p))),
    Action: _per_programme(lambda u, p: Action.objects.filter(objective__plan__in=_plans(u, p))),
    Signatory: _per_programme(lambda u, p: Signatory.objects.filter(plan__in=_plans(u, p))),
    Consultation: _per_programme(
        lambda u, p: consultation_selectors.consultation_list(user=u, programme=p)
    ),
    Commitment: _per_programme(
        lambda u, p: Commitment.objects.filter(
            consultation__in=consultation_selectors.consultation_list(user=u, programme=p)
        )
    ),
    ActionUpdate: _per_programme(
        lambda u, p: ActionUpdate.objects.filter(action__objective__plan__in=_plans(u, p))
    ),
    Dispute: _per_programme(
        lambda u, p: Dispute.objects.filter(action__objective__plan__in=_plans(u, p))
    ),
    # Photos not marked publishable only for the team around the plan (and their sender).
    Evidence: _per_programme(
        lambda u, p: Evidence.objects.filter(
            policies.evidence_scope(u), update__action__objective__plan__programme=p
        )
    ),
    Report: _per_programme(_reports),
    Section: _per_programme(lambda u, p: Section.objects.filter(report__in=_reports(u, p))),
    Recommendation: _per_programme(
        lambda u, p: Recommendation.objects.filter(section__report__in=_reports(u, p))
    ),
    Rendering: lambda user, programmes: set().union(*(_renderings(user, p) for p in programmes)),
    ReportTemplate: _per_programme(
        lambda u, p: reports_selectors.templates_visible(user=u, programme=p)
    ),
    Programme: lambda user, _p: _ids(programmes_visible(user=user)),
    Organisation: lambda user, _p: _ids(organisations_visible(user=user)),
    Membership: _per_programme(lambda u, p: memberships_visible(user=u, programme=p)),
    PersonalToken: lambda user, _p: _ids(tokens_of(user=user)),
    AuditEvent: _per_programme(_audit),
    Place: lambda user, _p: _ids(places_visible(user=user)),
    CommunityGroup: lambda user, _p: _ids(groups_visible(user=user)),
    GroupMember: lambda user, _p: _ids(members_visible(user=user)),
    RepresentationTarget: _per_programme(
        lambda u, p: (
            targets_of(programme=p)
            if policies.can(u, "programme.view", p)
            else RepresentationTarget.objects.none()
        )
    ),
    Assessment: lambda user, programmes: _ids(assessments_visible(user=user)).union(
        *(_ids(assessments_with_findings(user=user, programme=p)) for p in programmes)
    ),
    Form: lambda user, _p: _ids(forms_visible(user=user)),
    FormVersion: lambda user, _p: _ids(
        FormVersion.objects.filter(form__in=forms_visible(user=user))
    ),
    Submission: lambda user, _p: _ids(submissions_visible(user=user)),
    Attachment: lambda user, _p: _ids(
        Attachment.objects.filter(submission__in=submissions_visible(user=user))
    ),
    ImportJob: lambda user, _p: _ids(import_jobs_visible(user=user)),
    DeviceUser: _per_programme(lambda u, p: devices_visible(user=u, programme=p)),
    Download: _per_programme(lambda u, p: downloads_of(user=u, programme=p)),
    IndicatorSet: _per_programme(_indicator_sets),
    Findings: _per_programme(_findings),
    Source: _per_programme(lambda u, p: coding_selectors.source_list(user=u, programme=p)),
    Passage: _per_programme(lambda u, p: coding_selectors.passage_list(user=u, programme=p)),
    Excerpt: _per_programme(lambda u, p: coding_selectors.excerpt_list(user=u, programme=p)),
    RedactionFlag: _per_programme(
        lambda u, p: RedactionFlag.objects.filter(
            source__in=coding_selectors.source_list(user=u, programme=p)
        )
    ),
    Suggestion: _per_programme(
        lambda u, p: Suggestion.objects.filter(
            passage__in=coding_selectors.passage_list(user=u, programme=p)
        )
    ),
    Code: _per_programme(lambda u, p: codebook_selectors.code_list(user=u, programme=p)),
    CodeQuality: _per_programme(
        lambda u, p: CodeQuality.objects.filter(
            code__in=codebook_selectors.code_list(user=u, programme=p)
        )
    ),
    DriverMap: _per_programme(_maps),
    Factor: _per_programme(lambda u, p: Factor.objects.filter(map__in=_maps(u, p))),
    Link: _per_programme(lambda u, p: Link.objects.filter(map__in=_maps(u, p))),
    PriorityList: _per_programme(
        lambda u, p: priorities_selectors.priority_list_list(user=u, programme=p)
    ),
    Priority: _per_programme(
        lambda u, p: Priority.objects.filter(
            priority_list__in=priorities_selectors.priority_list_list(user=u, programme=p)
        )
    ),
}

# Models that hold no programme data of their own to read, each with the reason.
NOT_READ_ON_ITS_OWN: dict[str, str] = {
    "accounts.user": "people are read through the memberships of a team list",
    "places.partnerarea": "a grant: what it grants is read through the kinds it scopes",
    "fieldwork.digestnonceuse": "OpenRosa sign-in bookkeeping, never shown",
    "fieldwork.formdatarevision": "a random key of a form's data state, read with its form",
    "communities.membersrevision": "a random key of a programme's members, read with it",
    "drivers.codingrevision": "a random key of a programme's coding, read with it",
    "plans.remindersent": "bookkeeping of the reminders e-mailed, never shown",
}


def project_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if model.__module__.startswith("amniyat.") and not model._meta.auto_created
    ]


def readable(user: User, programmes: list[Programme]) -> set[tuple[str, int]]:
    """Every (kind, id) the user can read, and every programme-wide verb the policy grants
    them (as ("verb:…", programme id)), so that a write that widened a right shows too."""
    policies.forget_memberships(user)
    seen: set[tuple[str, int]] = set()
    for model, reader in READERS.items():
        seen |= {(model._meta.label_lower, pk) for pk in reader(user, programmes)}
    for programme in programmes:
        for verb in policies._RULES:
            try:
                allowed = policies.can(user, verb, programme)
            except (AttributeError, TypeError):
                continue  # a verb about an object of another kind
            if allowed:
                seen.add((f"verb:{verb}", programme.pk))
    return seen


def every_id() -> set[tuple[str, int]]:
    return {
        (model._meta.label_lower, pk)
        for model in project_models()
        for pk in model.objects.values_list("pk", flat=True)
    }


# ----------------------------------------------------------------------------------------
# The writes: every route, every payload the access matrix sends, and each payload with the
# objects it names swapped for the programme's others of the same kind; for an API object, its
# partial updates and its deletion too.

SWAPPABLE: dict[str, type[models.Model]] = {
    "place": Place,
    "parent": Place,
    "places": Place,
    "facilitating_organisation": Organisation,
    "organisation": Organisation,
    "group": CommunityGroup,
    "assessment": Assessment,
    "assessments": Assessment,
}


def _candidates(world: World) -> dict[type[models.Model], list[int]]:
    p1 = world.p1
    return {
        Place: sorted(programme_area_ids(p1)),
        Organisation: sorted(p1.taking_part_ids()),
        CommunityGroup: sorted(
            CommunityGroup.objects.filter(programme=p1).values_list("pk", flat=True)
        ),
        Assessment: sorted(Assessment.objects.filter(programme=p1).values_list("pk", flat=True)),
    }


def swapped(
    data: dict[str, Any], candidates: dict[type[models.Model], list[int]]
) -> Iterator[dict[str, Any]]:
    """``data`` itself, then, for each field naming an object, ``data`` with every other
    object of that kind in the programme there (a list field: each one alone)."""
    yield data
    for key, value in data.items():
        model = SWAPPABLE.get(key)
        if model is None:
            continue
        for pk in candidates[model]:
            new: Any = [pk] if isinstance(value, list) else pk
            if new != value:
                yield {**data, key: new}


def _patches(route: Route, candidates: dict[type[models.Model], list[int]]) -> list[dict[str, Any]]:
    """An API object's partial updates: the matrix's, and each swappable field set alone to
    each object of its kind (fields a serializer does not know are ignored by it)."""
    out = [PATCH_PAYLOADS.get(route.name, {})]
    for key, model in SWAPPABLE.items():
        for pk in candidates[model]:
            out.append({key: [pk] if key.endswith("s") else pk})
    return out


def scope_growth_violations(world: World, *, roles: Iterable[str] = ROLES) -> list[str]:
    """Perform every write of every role; return each one after which the user could read
    something that neither they could read before nor the write created."""
    violations: list[str] = []
    programmes = [world.p1]
    candidates = _candidates(world)
    routes = [
        r
        for r in walk_routes()
        # Device routes are signed by a collection device, not a person; the format twins of
        # API routes reach the same views.
        if r.name not in DEVICE_ROUTES
        and "format" not in r.kwargs
        and set(r.kwargs) <= set(KWARG_REGISTRY.get(r.name, {}))
    ]
    for role in roles:
        user = world.users[role]
        client = Client(raise_request_exception=False)
        baseline = readable(user, programmes)
        for route in routes:
            objects = world.own[role]
            url = route.url(_fill(route, KWARG_REGISTRY, objects))
            sends: list[tuple[str, dict[str, Any]]] = [
                ("POST", data)
                for payload in post_payloads(route.name, objects, world, foreign=False)
                for data in swapped(payload, candidates)
            ]
            if route.is_api and route.kwargs == ("pk",):
                sends += [("PATCH", data) for data in _patches(route, candidates)]
                sends.append(("DELETE", {}))
            for method, data in sends:
                with transaction.atomic():
                    client.force_login(user)
                    before = every_id()
                    kwargs: dict[str, Any] = (
                        {"data": json.dumps(data), "content_type": "application/json"}
                        if route.is_api
                        else {"data": data}
                    )
                    reset_queries()
                    with CaptureQueriesContext(connection) as queries:
                        response = getattr(client, method.lower())(url, **kwargs)
                    if _writes(queries.captured_queries):
                        # What the user reads now and did not before, less what is new.
                        grown = (readable(user, programmes) - baseline) - (every_id() - before)
                        if grown:
                            shown = ", ".join(f"{kind} {pk}" for kind, pk in sorted(grown)[:6])
                            violations.append(
                                f"{role} {method} {url} [{route.name}] {data} "
                                f"(answered {response.status_code}): now reads {shown}"
                            )
                    transaction.set_rollback(True)
    return violations


# ----------------------------------------------------------------------------------------


@pytest.fixture
def world(db: None, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    # The programme works in a second district, where the other partner's respondents are:
    # a place the facilitator's organisation was not assigned, but one a group could be put in.
    world.p1.places.add(Place.objects.get(code="TJ-KT-KUL"))
    return world


def test_every_model_says_how_it_is_read() -> None:
    known = {m._meta.label_lower for m in READERS} | set(NOT_READ_ON_ITS_OWN)
    missing = sorted({m._meta.label_lower for m in project_models()} - known)
    assert not missing, (
        f"Say how a user reads {missing}: add a reader to READERS in {__name__} "
        "(or, if it holds no programme data, a reason to NOT_READ_ON_ITS_OWN)"
    )


def test_no_write_widens_what_its_writer_reads(world: World) -> None:
    violations = scope_growth_violations(world)
    assert not violations, "\n".join(violations)


def _place_ids_from_groups(membership: Membership) -> set[int]:
    """The rule as it was: a facilitator's places were the districts of the groups their
    organisation facilitates, which a facilitator can create anywhere."""
    roots: set[int] = set()
    for place_id, level, parent_id in CommunityGroup.objects.filter(
        programme_id=membership.programme_id,
        facilitating_organisation_id=membership.organisation_id,
    ).values_list("place_id", "place__level", "place__parent_id"):
        roots.add(parent_id if level == Place.Level.COMMUNITY and parent_id else place_id)
    ids, frontier = set(roots), roots
    while frontier:
        frontier = set(Place.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier -= ids
        ids |= frontier
    return ids


def test_the_check_catches_a_scope_read_from_the_writers_own_data(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With submissions scoped by where the partner's groups are, a facilitator who creates a
    group in another district reads that district's respondents: the check must say so."""
    monkeypatch.setattr(policies, "facilitator_area", _place_ids_from_groups)
    monkeypatch.setattr(policies, "facilitator_place_ids", _place_ids_from_groups)
    monkeypatch.setattr(policies, "partner_place_ids", lambda user, programme: None)
    violations = scope_growth_violations(world, roles=[Role.FACILITATOR])
    assert any("communities:create" in v and "fieldwork.submission" in v for v in violations), (
        violations
    )
    assert any("api:group-list" in v for v in violations), violations
