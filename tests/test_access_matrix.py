"""The access matrix: every route the resolver knows, for every role, against own and foreign
objects.

The walk is over ``get_resolver()`` (HTML pages, the DRF router with its format-suffix
variants, the schema), so a route added later is covered without anyone remembering to add a
test: if it takes URL arguments that :data:`KWARG_REGISTRY` does not know how to fill, the
matrix fails with "add <name> to the access matrix".

What the matrix asserts, for every role x route x (own object, foreign object) x method:

* a foreign object never answers 200: 404 (or 405 where the method is refused anyway);
* a request about a foreign object changes nothing in the database;
* no response, to any request, contains a foreign object's name or id (objects of another
  programme, and inside the programme those of another partner for roles that may not see
  them; members' names for roles that may not see personal data);
* no request ends in a 500;
* anonymous requests are sent to the login page (pages) or answered 401 (API).

:func:`access_violations` returns the list of what went wrong; the real test asserts it is
empty, and a second test shows it catches a view that skips the selector.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.html import escape

from amniyat import urls as real_urls
from amniyat.accounts.models import Membership, Organisation, PersonalToken, Programme, User
from amniyat.accounts.services import token_create
from amniyat.audit.models import AuditEvent
from amniyat.communities.models import (
    CommunityGroup,
    GroupMember,
    RepresentationTarget,
    Sector,
)
from amniyat.places.models import Place
from tests.factories import (
    CommunityGroupFactory,
    GroupMemberFactory,
    OrganisationFactory,
    ProgrammeFactory,
    UserFactory,
    member_of,
)

Role = Membership.Role
SKIPPED_PREFIXES = ("admin/", "static/")

# ----------------------------------------------------------------------------------------
# How to fill each route's URL arguments: url name -> {kwarg: kind of object}. Kinds:
# programme (its slug), group, member, place (a programme's own community), organisation,
# membership, token. ``format`` (the API's format suffix) is filled for every route.

KWARG_REGISTRY: dict[str, dict[str, str]] = {
    "core:programme": {"slug": "programme"},
    "core:audit": {"slug": "programme"},
    "accounts:token_revoke": {"pk": "token"},
    "accounts:team": {"slug": "programme"},
    "accounts:membership_edit": {"slug": "programme", "pk": "membership"},
    "accounts:organisation_list": {"slug": "programme"},
    "accounts:organisation_create": {"slug": "programme"},
    "accounts:organisation_detail": {"slug": "programme", "pk": "organisation"},
    "places:list": {"slug": "programme"},
    "places:create": {"slug": "programme"},
    "places:detail": {"slug": "programme", "pk": "place"},
    "places:edit": {"slug": "programme", "pk": "place"},
    "communities:list": {"slug": "programme"},
    "communities:create": {"slug": "programme"},
    "communities:detail": {"slug": "programme", "pk": "group"},
    "communities:edit": {"slug": "programme", "pk": "group"},
    "communities:member_create": {"slug": "programme", "pk": "group"},
    "communities:member_edit": {"slug": "programme", "pk": "group", "member_pk": "member"},
    "communities:representativeness": {"slug": "programme"},
    "communities:targets": {"slug": "programme"},
    "api:programme-detail": {"slug": "programme"},
    "api:organisation-detail": {"pk": "organisation"},
    "api:place-detail": {"pk": "place"},
    "api:group-detail": {"pk": "group"},
    "api:member-detail": {"pk": "member"},
}

# Routes an anonymous visitor may use: signing in and out, the health check, the language.
OPEN_ROUTES = frozenset({"accounts:login", "accounts:logout", "core:healthz", "core:set_language"})

# ----------------------------------------------------------------------------------------
# Walking the resolver.

_ROUTE_ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    name: str
    patterns: tuple[Any, ...]
    kwargs: tuple[str, ...]

    @property
    def label(self) -> str:
        return "".join(str(p) for p in self.patterns)

    @property
    def is_api(self) -> bool:
        return self.url({k: "1" for k in self.kwargs}).startswith("/api/")

    def url(self, values: dict[str, str]) -> str:
        parts = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):

                def fill(match: re.Match[str], pattern: RoutePattern = pattern) -> str:
                    name = match["name"]
                    return str(pattern.converters[name].to_url(values[name]))

                parts.append(_ROUTE_ARG.sub(fill, str(pattern)))
            elif isinstance(pattern, RegexPattern):
                regex = str(pattern).removeprefix("^").removesuffix("$")
                regex = _REGEX_GROUP.sub(lambda m: values[m["name"]], regex)
                parts.append(regex.replace("/?", "/").replace("\\.", "."))
            else:  # pragma: no cover - Django has only these two
                raise TypeError(pattern)
        return "/" + "".join(parts)


def walk_routes() -> list[Route]:
    """Every route of the current ROOT_URLCONF, except the admin and static files."""
    routes: list[Route] = []

    def visit(resolver: URLResolver, prefix: tuple[Any, ...], namespace: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                visit(
                    entry,
                    (*prefix, entry.pattern),
                    (*namespace, entry.namespace) if entry.namespace else namespace,
                )
            elif isinstance(entry, URLPattern):
                patterns = (*prefix, entry.pattern)
                text = "".join(str(p) for p in patterns).lstrip("^")
                if text.startswith(SKIPPED_PREFIXES):
                    continue
                kwargs = set()
                for pattern in patterns:
                    kwargs |= set(pattern.regex.groupindex)
                name = ":".join((*namespace, entry.name or f"<unnamed {text}>"))
                routes.append(Route(name, patterns, tuple(sorted(kwargs))))

    visit(get_resolver(), (), ())
    return routes


# ----------------------------------------------------------------------------------------
# The world: programme P1 with partners OWN and OTHER, and programme P2 that is foreign to
# everyone who is only in P1. Foreign objects get unique names and large explicit ids. They
# are created after every auto-numbered object, and each table's ids are 10,000 apart, so an
# id handed out later (SQLite continues after the largest) never equals a foreign id.

TAG = "7f3a"


@dataclass
class World:
    p1: Programme
    p2: Programme
    users: dict[str, User]
    own: dict[str, dict[str, Any]]  # role -> kind -> object
    bundles: dict[str, list[dict[str, Any]]]  # role -> foreign bundles (kind -> object)
    hidden: dict[str, tuple[list[str], list[int]]]  # role -> (names, ids) never to appear
    community_of: dict[int, Place] = field(default_factory=dict)  # programme pk -> community
    district_of: dict[int, Place] = field(default_factory=dict)
    partner_of: dict[int, Organisation] = field(default_factory=dict)
    target_of: dict[int, RepresentationTarget] = field(default_factory=dict)
    newcomer: User | None = None


ROLES = (Role.LEAD, Role.ANALYST, Role.FACILITATOR, Role.GROUP_MEMBER, Role.VIEWER)


def build_world() -> World:
    vakhsh = Place.objects.get(code="TJ-KT-VAK")
    jizzakh = Place.objects.get(code="UZ-JI-JIZ")

    # --- P1, everything auto-numbered -------------------------------------------------
    lead_org = OrganisationFactory(name="Lead NGO of P1", kind=Organisation.Kind.INTERNATIONAL_NGO)
    donor = OrganisationFactory(name="Donor of P1", kind=Organisation.Kind.DONOR)
    own_org = OrganisationFactory(name="Own partner CSO")
    other_org = OrganisationFactory(name="Other partner CSO")
    p1 = ProgrammeFactory(
        name="Programme One", slug="programme-one", lead_organisation=lead_org, donor=donor
    )
    p1.partners.add(own_org, other_org)
    c1 = Place.objects.create(
        level=Place.Level.COMMUNITY,
        parent=vakhsh,
        programme=p1,
        name_en=f"OWN-COMMUNITY-{TAG}",
    )
    g_own = CommunityGroupFactory(
        programme=p1, name=f"OWN-GROUP-{TAG}", place=c1, facilitating_organisation=own_org
    )
    m_own = GroupMemberFactory(
        group=g_own, display_name=f"OWN-MEMBER-{TAG}", sectors=[Sector.POLICE]
    )
    GroupMemberFactory(group=g_own, display_name="", sex="male", age_band="18_24")
    p1_target = RepresentationTarget.objects.create(
        programme=p1, dimension=RepresentationTarget.Dimension.WOMEN, min_share=40
    )
    users = {
        Role.LEAD: member_of(p1, Role.LEAD, username="matrix-lead"),
        Role.ANALYST: member_of(p1, Role.ANALYST, username="matrix-analyst"),
        Role.FACILITATOR: member_of(
            p1, Role.FACILITATOR, organisation=own_org, username="matrix-facilitator"
        ),
        Role.GROUP_MEMBER: member_of(
            p1, Role.GROUP_MEMBER, organisation=own_org, group=g_own, username="matrix-member"
        ),
        Role.VIEWER: member_of(p1, Role.VIEWER, organisation=donor, username="matrix-viewer"),
    }
    newcomer = UserFactory(username="matrix-newcomer")
    tokens = {
        role: token_create(user=user, name=f"{role} laptop")[0] for role, user in users.items()
    }
    facilitator_membership = Membership.objects.get(user=users[Role.FACILITATOR], programme=p1)

    # --- P1 objects hidden from some roles: explicit large ids ------------------------
    g_other = CommunityGroupFactory(
        pk=7320002,
        programme=p1,
        name=f"OTHER-GROUP-{TAG}",
        place=vakhsh,
        facilitating_organisation=other_org,
    )
    g_sibling = CommunityGroupFactory(
        pk=7320003,
        programme=p1,
        name=f"SIBLING-GROUP-{TAG}",
        place=vakhsh,
        facilitating_organisation=own_org,
    )
    m_other = GroupMemberFactory(pk=7350002, group=g_other, display_name=f"OTHER-MEMBER-{TAG}")
    m_sibling = GroupMemberFactory(
        pk=7350003, group=g_sibling, display_name=f"SIBLING-MEMBER-{TAG}"
    )

    # --- P2: foreign to everyone above ------------------------------------------------
    p2_lead = OrganisationFactory(
        pk=7340001, name=f"FOREIGN-LEADORG-{TAG}", kind=Organisation.Kind.INTERNATIONAL_NGO
    )
    p2_org = OrganisationFactory(pk=7340002, name=f"FOREIGN-ORG-{TAG}", country="UZ")
    p2 = ProgrammeFactory(
        pk=7310001,
        name=f"FOREIGN-PROGRAMME-{TAG}",
        slug=f"foreign-{TAG}",
        country=Place.objects.get(code="UZ"),
        lead_organisation=p2_lead,
        districts=[jizzakh],
    )
    p2.partners.add(p2_org)
    c2 = Place.objects.create(
        pk=7330001,
        level=Place.Level.COMMUNITY,
        parent=jizzakh,
        programme=p2,
        name_en=f"FOREIGN-COMMUNITY-{TAG}",
    )
    g_p2 = CommunityGroupFactory(
        pk=7320001,
        programme=p2,
        name=f"FOREIGN-GROUP-{TAG}",
        place=c2,
        facilitating_organisation=p2_org,
    )
    m_p2 = GroupMemberFactory(pk=7350001, group=g_p2, display_name=f"FOREIGN-MEMBER-{TAG}")
    p2_user = UserFactory(pk=7390001, username=f"FOREIGN-USER-{TAG}")
    p2_membership = Membership.objects.create(
        pk=7360001, user=p2_user, programme=p2, organisation=p2_lead, role=Role.LEAD
    )
    p2_token = PersonalToken.objects.create(
        pk=7370001,
        user=p2_user,
        name=f"FOREIGN-TOKEN-{TAG}",
        digest=PersonalToken.digest_of("matrix-foreign-secret"),
        hint="amn_fore",
    )
    p2_target = RepresentationTarget.objects.create(
        pk=7380001, programme=p2, dimension=RepresentationTarget.Dimension.YOUTH, min_share=30
    )

    p2_names = [
        p2.name,
        p2.slug,
        p2_lead.name,
        p2_org.name,
        c2.name_en,
        g_p2.name,
        m_p2.display_name,
        p2_user.username,
        p2_token.name,
    ]
    p2_ids = [p2.pk, p2_lead.pk, p2_org.pk, c2.pk, g_p2.pk, m_p2.pk, 7360001, 7370001, 7380001]
    p2_ids.append(p2_user.pk)
    other = ([g_other.name, m_other.display_name], [g_other.pk, m_other.pk])
    sibling = ([g_sibling.name, m_sibling.display_name], [g_sibling.pk, m_sibling.pk])
    own_names = [m_own.display_name]  # personal data: only for who may see it
    hidden = {
        Role.LEAD: (p2_names, p2_ids),
        Role.ANALYST: (p2_names, p2_ids),
        Role.FACILITATOR: (
            p2_names + other[0] + own_names + [m_sibling.display_name],
            p2_ids + other[1],
        ),
        Role.GROUP_MEMBER: (
            p2_names + other[0] + sibling[0] + own_names,
            p2_ids + other[1] + sibling[1],
        ),
        Role.VIEWER: (
            p2_names + other[0] + sibling[0] + own_names + [g_own.name, c1.name_en],
            p2_ids + other[1] + sibling[1],
        ),
    }
    p2_bundle = {
        "programme": p2,
        "group": g_p2,
        "member": m_p2,
        "place": c2,
        "organisation": p2_org,
        "membership": p2_membership,
        "token": p2_token,
    }
    bundles: dict[str, list[dict[str, Any]]] = {}
    own: dict[str, dict[str, Any]] = {}
    for index, role in enumerate(ROLES):
        colleague = ROLES[(index + 1) % len(ROLES)]
        own[role] = {
            "programme": p1,
            "group": g_own,
            "member": m_own,
            "place": c1,
            "organisation": own_org,
            "membership": facilitator_membership,
            "token": tokens[role],
        }
        bundles[role] = [p2_bundle, {"token": tokens[colleague]}]
        if role in (Role.FACILITATOR, Role.GROUP_MEMBER, Role.VIEWER):
            bundles[role].append({"group": g_other, "member": m_other})
        if role in (Role.GROUP_MEMBER, Role.VIEWER):
            bundles[role].append({"group": g_sibling, "member": m_sibling})
        if role == Role.VIEWER:
            bundles[role].append({"group": g_own, "member": m_own, "place": c1})
    return World(
        p1=p1,
        p2=p2,
        users=users,
        own=own,
        bundles=bundles,
        hidden=hidden,
        community_of={p1.pk: c1, p2.pk: c2},
        district_of={p1.pk: vakhsh, p2.pk: jizzakh},
        partner_of={p1.pk: own_org, p2.pk: p2_org},
        target_of={p1.pk: p1_target, p2.pk: p2_target},
        newcomer=newcomer,
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


# ----------------------------------------------------------------------------------------
# What to send. ``o`` is the full set of objects the URL was filled from.


def _value(kind: str, obj: Any) -> str:
    return str(obj.slug if kind == "programme" else obj.pk)


def post_payloads(name: str, o: dict[str, Any], w: World, *, foreign: bool) -> list[dict[str, Any]]:
    prog = o["programme"]
    group, member, place, membership = o["group"], o["member"], o["place"], o["membership"]
    group_data = {
        "name": "MATRIX-NEW-GROUP",
        "kind": CommunityGroup.Kind.COMMUNITY_GROUP,
        "place": w.community_of[prog.pk].pk,
        "facilitating_organisation": w.partner_of[prog.pk].pk,
    }
    payloads: dict[str, list[dict[str, Any]]] = {
        "communities:create": [{**group_data, "is_new": "on"}],
        "communities:edit": [
            {
                "name": group.name,
                "kind": group.kind,
                "place": group.place_id,
                "facilitating_organisation": group.facilitating_organisation_id,
                "established_on": "2021-09-01",
                "description": "MATRIX-EDITED",
            }
        ],
        "communities:member_create": [
            {
                "display_name": "MATRIX-NEW-MEMBER",
                "sex": "female",
                "age_band": "25_29",
                "joined_on": "2022-01-10",
            }
        ],
        "communities:member_edit": [
            {
                "display_name": "MATRIX-RENAMED",
                "sex": member.sex,
                "age_band": member.age_band,
                "joined_on": member.joined_on.isoformat(),
                "left_on": "2022-03-01",
            }
        ],
        "communities:targets": [{"dimension": "youth", "min_share": "25"}],
        "places:create": [{"parent": w.district_of[prog.pk].pk, "name_en": "MATRIX-NEW-PLACE"}],
        "places:edit": [
            {"parent": place.parent_id, "name_en": "MATRIX-RENAMED-PLACE", "kind": "mahalla"}
        ],
        "accounts:team": [
            {
                "username": w.newcomer.username,  # type: ignore[union-attr]
                "organisation": w.partner_of[prog.pk].pk,
                "role": Role.VIEWER,
            }
        ],
        "accounts:membership_edit": [
            {
                "organisation": membership.organisation_id,
                "role": membership.role,
                "can_view_personal_data": "on",
            },
            *([{"action": "revoke"}] if foreign else []),
        ],
        "accounts:organisation_create": [{"name": "MATRIX-NEW-ORG", "kind": "cso"}],
        "accounts:account": [{"name": "MATRIX-TOKEN"}],
        "accounts:two_factor_setup": [{"token": "123456"}],
        "accounts:two_factor_verify": [{"token": "123456"}],
        "core:set_language": [{"language": "en", "next": "/"}],
        "api:group-list": [{**group_data, "programme": prog.slug, "name": "MATRIX-API-GROUP"}],
        "api:member-list": [
            {
                "group": group.pk,
                "display_name": "MATRIX-API-MEMBER",
                "sex": "male",
                "age_band": "18_24",
                "joined_on": "2022-02-01",
            }
        ],
    }
    return payloads.get(name, [{}])


PATCH_PAYLOADS: dict[str, dict[str, Any]] = {
    "api:group-detail": {"description": "MATRIX-PATCHED"},
    "api:member-detail": {"left_on": "2022-03-01", "display_name": "MATRIX-PATCHED"},
}


def body_foreign_payloads(
    name: str, bundle: dict[str, Any], w: World, role: str
) -> list[dict[str, Any]]:
    """Posts to a route about the user's own programme that name a foreign object in the body."""
    p1 = w.p1
    out: list[dict[str, Any]] = []
    if "programme" in bundle:
        p2 = bundle["programme"]
        foreign_group = {
            "name": "MATRIX-FOREIGN-GROUP",
            "kind": CommunityGroup.Kind.COMMUNITY_GROUP,
            "place": w.community_of[p2.pk].pk,
            "facilitating_organisation": w.partner_of[p2.pk].pk,
        }
        out += {
            "communities:create": [foreign_group],
            "api:group-list": [
                {**foreign_group, "programme": p2.slug},
                {**foreign_group, "programme": p1.slug},
            ],
            "places:create": [{"parent": w.district_of[p2.pk].pk, "name_en": "MATRIX-FOREIGN"}],
            "communities:targets": [{"delete": w.target_of[p2.pk].pk}],
            "accounts:team": [
                {
                    "username": w.newcomer.username,  # type: ignore[union-attr]
                    "organisation": w.partner_of[p2.pk].pk,
                    "role": Role.VIEWER,
                },
                {
                    "username": w.newcomer.username,  # type: ignore[union-attr]
                    "organisation": w.partner_of[p1.pk].pk,
                    "role": Role.GROUP_MEMBER,
                    "community_group": bundle["group"].pk,
                },
            ],
        }.get(name, [])
    if "group" in bundle and name == "api:member-list":
        out.append(
            {
                "group": bundle["group"].pk,
                "sex": "male",
                "age_band": "18_24",
                "joined_on": "2022-02-01",
            }
        )
    return out


# ----------------------------------------------------------------------------------------
# Checking.

SNAPSHOT_MODELS = (
    Programme,
    Programme.partners.through,
    Organisation,
    Place,
    CommunityGroup,
    GroupMember,
    Membership,
    PersonalToken,
    RepresentationTarget,
)


def snapshot() -> list[Any]:
    rows: list[Any] = []
    for model in SNAPSHOT_MODELS:
        fields = [f.attname for f in model._meta.concrete_fields]
        rows.append(tuple(model.objects.order_by("pk").values_list(*fields)))
    rows.append(User.objects.order_by("pk").values_list("pk", "username", "is_active"))
    rows.append(AuditEvent.objects.count())
    return [tuple(r) if not isinstance(r, int) else r for r in rows]


def _leaks(body: str, url: str, names: list[str], ids: list[int]) -> list[str]:
    # The URL the user asked for may be echoed back (the language switch keeps it): that
    # reveals nothing the user did not type.
    for echo in (url, quote(url), escape(url)):
        body = body.replace(echo, "")
    found = [f"name {n!r}" for n in names if n in body]
    found += [f"id {i}" for i in ids if re.search(rf"(?<![0-9]){i}(?![0-9])", body)]
    return found


def _writes(queries: list[dict[str, Any]]) -> bool:
    """Whether any statement but the session's wrote to the database."""
    return any(
        q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))
        and "django_session" not in q["sql"]
        for q in queries
    )


@dataclass
class Checker:
    world: World
    violations: list[str] = field(default_factory=list)
    baseline: list[Any] | None = None

    def request(
        self,
        client: Client,
        who: str,
        method: str,
        route: Route,
        url: str,
        data: dict[str, Any] | None,
        *,
        foreign: bool,
        hidden: tuple[list[str], list[int]],
        case: str,
    ) -> HttpResponse:
        # A full snapshot after every request would be slow: take one only when a request
        # wrote something, and compare it with the one before.
        if self.baseline is None:
            self.baseline = snapshot()
        kwargs: dict[str, Any] = {}
        if method != "GET" and route.is_api:
            kwargs = {"data": json.dumps(data or {}), "content_type": "application/json"}
        elif method != "GET":
            kwargs = {"data": data or {}}
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method.lower())(url, **kwargs)
        where = f"{who} {method} {url} [{route.name}, {case}]"
        status = response.status_code
        if status >= 500:
            self.violations.append(f"{where}: answered {status}")
        if foreign and case == "foreign object" and status not in (404, 405):
            self.violations.append(f"{where}: a foreign object answered {status}, not 404")
        if _writes(queries.captured_queries):
            after = snapshot()
            if foreign and after != self.baseline:
                self.violations.append(f"{where}: the database changed")
            self.baseline = after
        body = (
            b"".join(response).decode("utf-8", "replace")
            if response.streaming
            else (response.content.decode("utf-8", "replace"))
        )
        for leak in _leaks(body, url, *hidden):
            self.violations.append(f"{where}: the response shows foreign {leak}")
        return response


def _variants(
    route: Route,
    registry: dict[str, dict[str, str]],
    own: dict[str, Any],
    bundles: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], bool]]:
    """(objects, is_foreign) for the user's own objects and every foreign substitution."""
    kinds = {registry[route.name][k] for k in route.kwargs if k != "format"}
    seen: dict[str, tuple[dict[str, Any], bool]] = {}

    def add(objects: dict[str, Any], foreign: bool) -> None:
        key = route.url(_fill(route, registry, objects))
        previous = seen.get(key)
        seen[key] = (objects, foreign or (previous[1] if previous else False))

    add(dict(own), False)
    for bundle in bundles:
        relevant = kinds & set(bundle)
        if not relevant:
            continue
        add({**own, **{k: bundle[k] for k in relevant}}, True)
        for kind in relevant:
            add({**own, kind: bundle[kind]}, True)
    yield from seen.values()


def _fill(
    route: Route, registry: dict[str, dict[str, str]], objects: dict[str, Any]
) -> dict[str, str]:
    mapping = registry.get(route.name, {})
    values = {}
    for kwarg in route.kwargs:
        if kwarg == "format":
            values[kwarg] = "json"
        else:
            kind = mapping[kwarg]
            values[kwarg] = _value(kind, objects[kind])
    return values


def _stay_signed_in(client: Client, user: User) -> None:
    """Sign in again if the last request signed out (the sign-out route does)."""
    if client.session.get("_auth_user_id") != str(user.pk):
        client.force_login(user)


def access_violations(
    world: World,
    *,
    registry: dict[str, dict[str, str]] = KWARG_REGISTRY,
    only: Callable[[Route], bool] | None = None,
) -> list[str]:
    """Walk every route for every role and return what broke the rules (empty: all good)."""
    checker = Checker(world)
    routes = walk_routes()
    names = {route.name for route in routes}
    for stale in sorted(set(registry) - names):
        checker.violations.append(f"{stale} is in the access matrix but no longer a route")
    runnable = []
    for route in routes:
        needed = set(route.kwargs) - {"format"}
        known = registry.get(route.name, {})
        if needed - set(known):
            checker.violations.append(
                f"{route.name} ({route.label}) takes {sorted(needed)}: "
                f"add {route.name} to the access matrix (KWARG_REGISTRY)"
            )
            continue
        if only is None or only(route):
            runnable.append(route)
    for route in runnable:
        url = route.url(_fill(route, registry, world.own[Role.LEAD]))
        match = resolve(url)
        if match.url_name != route.name.rsplit(":", 1)[-1]:
            checker.violations.append(f"{route.name}: built {url}, which resolves elsewhere")

    # Anonymous visitors.
    anonymous = Client(raise_request_exception=False)
    everything = world.hidden[Role.VIEWER]
    for route in runnable:
        url = route.url(_fill(route, registry, world.own[Role.LEAD]))
        for method in ("GET", "POST"):
            response = checker.request(
                anonymous,
                "anonymous",
                method,
                route,
                url,
                {},
                foreign=True,
                hidden=everything,
                case="anonymous",
            )
            if route.name in OPEN_ROUTES:
                continue
            if route.is_api and response.status_code != 401:
                checker.violations.append(
                    f"anonymous {method} {url} [{route.name}]: answered "
                    f"{response.status_code}, not 401"
                )
            if not route.is_api and not (
                response.status_code == 302 and response["Location"].startswith("/accounts/login/")
            ):
                checker.violations.append(
                    f"anonymous {method} {url} [{route.name}]: answered "
                    f"{response.status_code}, not a redirect to the login page"
                )

    # Every role, own and foreign objects, in a savepoint each so roles do not affect
    # one another.
    for role in ROLES:
        user = world.users[role]
        client = Client(raise_request_exception=False)
        client.force_login(user)
        hidden = world.hidden[role]
        with transaction.atomic():
            for route in runnable:
                for objects, foreign in _variants(
                    route, registry, world.own[role], world.bundles[role]
                ):
                    url = route.url(_fill(route, registry, objects))
                    case = "foreign object" if foreign else "own object"
                    response = checker.request(
                        client,
                        role,
                        "GET",
                        route,
                        url,
                        None,
                        foreign=foreign,
                        hidden=hidden,
                        case=case,
                    )
                    if role == Role.LEAD and not foreign and response.status_code == 404:
                        checker.violations.append(
                            f"lead GET {url} [{route.name}]: own object answered 404; "
                            "does KWARG_REGISTRY fill this route right?"
                        )
                    # The format-suffix twin of an API route reaches the same view: reading
                    # it is enough there.
                    methods = [] if "format" in route.kwargs else ["POST"]
                    methods += ["PATCH"] if route.is_api and route.kwargs == ("pk",) else []
                    for method in methods:
                        payloads = (
                            [PATCH_PAYLOADS.get(route.name, {})]
                            if method == "PATCH"
                            else post_payloads(route.name, objects, world, foreign=foreign)
                        )
                        for data in payloads:
                            checker.request(
                                client,
                                role,
                                method,
                                route,
                                url,
                                data,
                                foreign=foreign,
                                hidden=hidden,
                                case=case,
                            )
                            _stay_signed_in(client, user)
                url = route.url(_fill(route, registry, world.own[role]))
                for bundle in world.bundles[role] if "format" not in route.kwargs else []:
                    for data in body_foreign_payloads(route.name, bundle, world, role):
                        checker.request(
                            client,
                            role,
                            "POST",
                            route,
                            url,
                            data,
                            foreign=True,
                            hidden=hidden,
                            case="foreign object in the body",
                        )
                        _stay_signed_in(client, user)
            transaction.set_rollback(True)
        checker.baseline = None
    return checker.violations


def _report(violations: list[str]) -> str:
    shown = "\n".join(violations[:60])
    more = f"\n… and {len(violations) - 60} more" if len(violations) > 60 else ""
    return f"{len(violations)} access-matrix violations:\n{shown}{more}"


def test_every_route_keeps_foreign_objects_out_of_sight(world: World) -> None:
    violations = access_violations(world)
    assert not violations, _report(violations)


def test_the_walk_covers_pages_api_and_format_suffixes() -> None:
    routes = walk_routes()
    names = {route.name for route in routes}
    assert {"communities:member_edit", "api:group-detail", "api:schema", "core:healthz"} <= names
    suffixed = [r for r in routes if r.name == "api:group-detail" and "format" in r.kwargs]
    assert suffixed, "the format-suffix variant of the router routes is walked"
    assert not any(r.label.startswith(("admin/", "static/")) for r in routes)


# ----------------------------------------------------------------------------------------
# The matrix catches a view written without the selector, and a route nobody registered.


def leaky_group(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = CommunityGroup.objects.get(pk=pk)  # no selector, no policy: the bug on purpose
    return HttpResponse(f"<h1>{escape(group.name)}</h1>")


def forgotten_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return HttpResponse("")


leaky_urls = types.ModuleType("leaky_urls")
leaky_urls.urlpatterns = [  # type: ignore[attr-defined]
    *real_urls.urlpatterns,
    path("p/<slug:slug>/leaky/<int:pk>/", leaky_group, name="leaky"),
    path("p/<slug:slug>/forgotten/<int:pk>/", forgotten_view, name="forgotten"),
]
for _handler in ("handler400", "handler403", "handler404", "handler500"):
    setattr(leaky_urls, _handler, getattr(real_urls, _handler))


@override_settings(ROOT_URLCONF=leaky_urls)
def test_the_matrix_reports_a_view_that_skips_the_selector(world: World) -> None:
    registry = {**KWARG_REGISTRY, "leaky": {"slug": "programme", "pk": "group"}}
    violations = access_violations(
        world, registry=registry, only=lambda route: route.name in ("leaky", "forgotten")
    )
    leaky = [v for v in violations if "[leaky," in v]
    assert any("a foreign object answered 200" in v for v in leaky), _report(violations)
    assert any(f"name 'FOREIGN-GROUP-{TAG}'" in v for v in leaky), _report(violations)
    assert any("add forgotten to the access matrix" in v for v in violations)
